/** `meshgate test <scenario...>`: the scenario runner (harness/scenario/run.ts); last line `N passed, N failed`. */
import { Option, type Command } from 'commander';
import { formatResult, runScenarioFiles } from '../scenario/run';
import { startTarget } from '../scenario/targets/factory';
import type { Protocol, Target } from '../scenario/types';
import { EXIT_PROBLEM, Exit, type Io } from './io';

export interface TestFlags {
  target: Target | 'both';
  coverage?: boolean;
  requireCoverage?: boolean;
  strict?: boolean;
  protocol?: Protocol | 'both';
}

export function registerTest(program: Command, io: Io): Command {
  return program
    .command('test')
    .description('run scenario files against the emulator, real Envoy, or both; last line: N passed, N failed')
    .argument('<scenario...>', 'scenario YAML files')
    .addOption(new Option('--target <target>', 'where requests go').choices(['emulator', 'envoy', 'both']).default('emulator'))
    .addOption(new Option('--protocol <protocol>', 'send every request over this protocol (both: each file twice); default: as each file says').choices(['http1', 'h2', 'both']))
    .option('--coverage', 'report which rules the scenarios exercised')
    .option('--require-coverage', 'fail when a rule is hit by no scenario')
    .option('--strict', 'a request that pins no rule (or, for a refusal before the filter, no status) is an error')
    .action(async (files: string[], o: TestFlags) => {
      const targets: Target[] = o.target === 'both' ? ['envoy', 'emulator'] : [o.target];
      const protocols: Protocol[] | undefined = o.protocol === 'both' ? ['http1', 'h2'] : o.protocol && [o.protocol];
      const summary = await runScenarioFiles(files, { targets, protocols, strict: o.strict, onResult: (r) => io.out(formatResult(r)), onMessage: io.err }, startTarget);
      let uncovered = 0;
      if (o.coverage || o.requireCoverage) {
        for (const c of summary.coverage) {
          io.out(`coverage ${c.file}:`);
          for (const rule of c.rules) {
            if (rule.decisions === 0) uncovered++;
            io.out(`  ${rule.decisions === 0 ? 'NEVER HIT' : `${rule.decisions} decision(s)`.padEnd(9)}  ${rule.name}`);
          }
        }
      }
      if (summary.bypasses > 0) io.out(`${summary.bypasses} bypass(es): requests the policy denies reached the upstream`);
      io.out(`${summary.passed} passed, ${summary.failed} failed`);
      if (summary.failed > 0 || (o.requireCoverage && uncovered > 0)) throw new Exit(EXIT_PROBLEM);
    });
}
