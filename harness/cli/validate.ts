/** `meshgate validate <policy...>`: errors as FILE:LINE:COL: message, then static-analysis warnings. */
import type { Command } from 'commander';
import { compilePolicyFile } from '../policy/compile';
import { formatDiagnostic, formatWarning } from '../policy/diagnostics';
import { analyzeCompiled } from '../policy/analyze';
import { EXIT_PROBLEM, Exit, type Io } from './io';

export interface ValidateFlags {
  strict?: boolean;
  quiet?: boolean;
}

export function registerValidate(program: Command, io: Io): Command {
  return program
    .command('validate')
    .description('check policy files: FILE:LINE:COL: message per error (exit 1), warnings from static analysis (exit 0 unless --strict)')
    .argument('<policy...>', 'policy YAML files')
    .option('--strict', 'treat warnings as errors (exit 1)')
    .option('--quiet', 'print errors only, no warnings and no summary')
    .action((files: string[], o: ValidateFlags) => {
      let errors = 0;
      let warnings = 0;
      for (const file of files) {
        const r = compilePolicyFile(file);
        for (const e of r.errors) io.err(formatDiagnostic(e));
        errors += r.errors.length;
        if (!r.ok) continue;
        const w = analyzeCompiled(r);
        warnings += w.length;
        if (o.quiet) continue;
        for (const x of w) io.err(formatWarning(x));
        if (r.errors.length === 0) io.out(`${file}: ok (policy ${r.digest12}${w.length ? `, ${w.length} warning(s)` : ''})`);
      }
      if (errors > 0 || (o.strict && warnings > 0)) throw new Exit(EXIT_PROBLEM);
    });
}
