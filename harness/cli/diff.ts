/**
 * `meshgate diff <old> <new>`: the request classes whose decision or rule changes, found without
 * traffic by tracing representatives of every rule boundary through the module
 * (harness/rollout/diff.ts). Both roles the two policies have in common, or `--role`. `--fail-on`
 * exits 1 when a change of that kind is found (CI); `--format json` prints the diffs.
 */
import { CommanderError, Option, type Command } from 'commander';
import { sharedTestkit } from '../engine/testkit';
import { diffPolicies, fails, formatDiff, FAIL_ON, type FailOn } from '../rollout/diff';
import type { Role } from '../rollout/explain';
import { compileOrReport, EXIT_PROBLEM, EXIT_USAGE, Exit, FORMATS, type Format, type Io } from './io';

export interface DiffFlags {
  role?: Role;
  failOn?: FailOn;
  format: Format;
}

export function registerDiff(program: Command, io: Io): Command {
  return program
    .command('diff')
    .description('which request classes change decision or rule between two policies, judged by the compiled module')
    .argument('<old>', 'the policy in force (YAML file)')
    .argument('<new>', 'the proposed policy (YAML file)')
    .addOption(new Option('--role <role>', 'only this section').choices(['inbound', 'egress']))
    .addOption(new Option('--fail-on <change>', 'exit 1 when a class changes this way').choices(FAIL_ON))
    .addOption(new Option('--format <format>', 'a table, or one JSON document').choices(FORMATS).default('text'))
    .action((oldFile: string, newFile: string, o: DiffFlags) => {
      const oldC = compileOrReport(oldFile, io);
      const newC = compileOrReport(newFile, io);
      const has = (c: typeof oldC, r: Role) => (c.policy as Record<string, unknown>)[r] !== undefined;
      const roles = (o.role ? [o.role] : (['inbound', 'egress'] as Role[])).filter((r) => has(oldC, r) && has(newC, r));
      if (roles.length === 0) throw new CommanderError(EXIT_USAGE, 'meshgate.diff', `the policies have no ${o.role ?? 'inbound or egress'} section in common`);
      const diffs = roles.map((r) => diffPolicies(sharedTestkit(), oldC, newC, r));
      if (o.format === 'json') io.out(JSON.stringify({ diffs }, null, 2));
      else diffs.forEach((d, i) => {
        if (i > 0) io.out('');
        for (const l of formatDiff(d)) io.out(l);
      });
      const failing = o.failOn ? diffs.flatMap((d) => d.changed).filter((c) => fails(c.change, o.failOn!)) : [];
      if (failing.length > 0) {
        io.err(`meshgate: ${failing.length} request class(es) change ${o.failOn === 'any' ? 'decision' : o.failOn}`);
        throw new Exit(EXIT_PROBLEM);
      }
    });
}
