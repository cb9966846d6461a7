/**
 * `meshgate validate <policy...>`: errors as FILE:LINE:COL: message, then static-analysis
 * warnings; `-` reads the policy from stdin; a WasmPlugin/TrafficExtension manifest has each
 * meshgate pluginConfig in it checked, with positions in the manifest; `--format json` prints one JSON object instead:
 *
 *   { "files": [{ "file", "ok", "digest", "digest12", "errors": [Diagnostic], "warnings": [Warning] }],
 *     "errors": N, "warnings": N }
 *
 * (Diagnostic/Warning: harness/policy/diagnostics.ts). Exit codes as harness/cli/io.ts says.
 */
import * as fs from 'node:fs';
import { Option, type Command } from 'commander';
import { compilePolicyFile, compilePolicyText, type CompileResult } from '../policy/compile';
import { formatDiagnostic, formatWarning, type Diagnostic, type Warning } from '../policy/diagnostics';
import { analyzeCompiled } from '../policy/analyze';
import { compileIstioManifest, looksLikeIstioResource } from '../render/istio-input';
import { EXIT_PROBLEM, Exit, type Io } from './io';

export interface ValidateFlags {
  strict?: boolean;
  quiet?: boolean;
  format?: 'text' | 'json';
}

/** The name stdin's policy goes by in positions. */
export const STDIN_NAME = '<stdin>';

/** One file's verdict, as `--format json` prints it. */
export interface FileVerdict {
  file: string;
  ok: boolean;
  /** The policy digest ("" when the YAML could not be read). */
  digest: string;
  digest12: string;
  errors: Diagnostic[];
  warnings: Warning[];
}

function verdict(file: string, r: CompileResult): FileVerdict {
  return { file, ok: r.ok, digest: r.digest, digest12: r.digest12, errors: r.errors, warnings: analyzeCompiled(r) };
}

/** Compiles and analyzes each file (`-`: stdin, read once). */
export function validateFiles(files: string[]): FileVerdict[] {
  return files.flatMap((file) => {
    if (file !== '-') {
      // A WasmPlugin / TrafficExtension manifest: check each meshgate pluginConfig in it.
      const text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : undefined;
      if (text !== undefined && looksLikeIstioResource(text)) {
        // (a manifest without a meshgate plugin comes back as one failed result saying so)
        return compileIstioManifest(file, text).map((r) => verdict(file, r));
      }
      return [verdict(file, compilePolicyFile(file))];
    }
    let text: string;
    try {
      text = fs.readFileSync(0, 'utf8');
    } catch (e) {
      const message = `cannot read the policy: ${(e as Error).message}`;
      return [{ file: STDIN_NAME, ok: false, digest: '', digest12: '', errors: [{ file: STDIN_NAME, line: 0, col: 0, path: '', message }], warnings: [] }];
    }
    return [verdict(STDIN_NAME, compilePolicyText(text, STDIN_NAME))];
  });
}

export function registerValidate(program: Command, io: Io): Command {
  return program
    .command('validate')
    .description('check policy files: FILE:LINE:COL: message per error (exit 1), warnings from static analysis (exit 0 unless --strict)')
    .argument('<policy...>', 'policy YAML files (- reads stdin)')
    .option('--strict', 'treat warnings as errors (exit 1)')
    .option('--quiet', 'print errors only, no warnings and no summary')
    .addOption(new Option('--format <format>', 'text (FILE:LINE:COL lines, the default) or json (one object on stdout)').choices(['text', 'json']))
    .action((files: string[], o: ValidateFlags) => {
      const verdicts = validateFiles(files);
      const errors = verdicts.reduce((n, v) => n + v.errors.length, 0);
      const warnings = verdicts.reduce((n, v) => n + v.warnings.length, 0);
      if (o.format === 'json') {
        const shown = o.quiet ? verdicts.map((v) => ({ ...v, warnings: [] })) : verdicts;
        io.out(JSON.stringify({ files: shown, errors, warnings: o.quiet ? 0 : warnings }, null, 2));
      } else {
        for (const v of verdicts) {
          for (const e of v.errors) io.err(formatDiagnostic(e));
          if (!v.ok || o.quiet) continue;
          for (const x of v.warnings) io.err(formatWarning(x));
          io.out(`${v.file}: ok (policy ${v.digest12}${v.warnings.length ? `, ${v.warnings.length} warning(s)` : ''})`);
        }
      }
      if (errors > 0 || (o.strict && warnings > 0)) throw new Exit(EXIT_PROBLEM);
    });
}
