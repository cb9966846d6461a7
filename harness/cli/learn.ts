/**
 * `meshgate learn <log...> [--policy current.yaml]`: a least-privilege policy proposal from the
 * decision records of access logs (harness/rollout/learn*.ts), as commented YAML on stdout or
 * `--out`; `--scenarios` also writes a scenario file whose requests cover every proposed rule
 * (one per role: with both roles, `<name>.inbound.yaml` and `<name>.egress.yaml`).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CommanderError, Option, type Command } from 'commander';
import { RECORD_ROLES, type RecordRole } from '../records/record';
import { learnLogs } from '../rollout/learn-logs';
import { scenarioYaml } from '../rollout/learn-scenarios';
import { RecordDecider } from '../rollout/replay-decide';
import { compileOrReport, EXIT_USAGE, type Io } from './io';

interface LearnFlags {
  policy?: string;
  out?: string;
  scenarios?: string;
  subtreeThreshold: number;
  wildcardThreshold: number;
  role?: RecordRole;
}

function count(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 2) throw new CommanderError(EXIT_USAGE, 'meshgate.learn', `not a whole number ≥ 2: "${value}"`);
  return n;
}

/** Where each role's scenarios go: the path itself for one role, `<name>.<role><ext>` for two. */
export function scenarioPaths(file: string, roles: Array<'inbound' | 'egress'>): Record<string, string> {
  if (roles.length === 1) return { [roles[0]]: file };
  const ext = path.extname(file);
  return Object.fromEntries(roles.map((r) => [r, `${file.slice(0, file.length - ext.length)}.${r}${ext || '.yaml'}`]));
}

export function registerLearn(program: Command, io: Io): Command {
  return program
    .command('learn')
    .description('propose a least-privilege policy from the access log\'s decision records (what each identity was seen doing)')
    .argument('<log...>', 'access-log files of the reference configs (docs/records.md); - reads stdin')
    .option('--policy <file>', 'the current policy: its trustDomain, federatesWith and identity settings are kept')
    .option('--out <file>', 'write the proposal here (default: stdout)')
    .option('--scenarios <file>', 'also write a scenario file covering every proposed rule (needs --out)')
    .option('--subtree-threshold <n>', 'distinct child paths of one parent that make it parent/*', count, 8)
    .option('--wildcard-threshold <n>', 'distinct sibling host names under one parent that make it *.parent', count, 3)
    .addOption(new Option('--role <role>', 'role of records without a `role` key').choices([...RECORD_ROLES]))
    .action(async (logs: string[], o: LearnFlags) => {
      if (o.scenarios && !o.out) throw new CommanderError(EXIT_USAGE, 'meshgate.learn', '--scenarios needs --out (the scenario file names the proposal file)');
      const current = o.policy ? compileOrReport(o.policy, io).policy ?? undefined : undefined;
      const r = await learnLogs(logs, { current, role: o.role, subtreeThreshold: o.subtreeThreshold, wildcardThreshold: o.wildcardThreshold, file: o.out });
      for (const m of r.tally.describe()) io.err(`meshgate: ${m}`);
      for (const w of r.proposal.warnings) io.err(w);
      if (!o.out) {
        io.out(r.proposal.yaml.replace(/\n$/, ''));
        return;
      }
      fs.writeFileSync(o.out, r.proposal.yaml);
      const rules = r.proposal.rules;
      io.err(`meshgate: ${rules.length} rules for ${new Set(rules.map((x) => x.identity)).size} identities written to ${o.out}`);
      if (!o.scenarios) return;
      const roles = (['inbound', 'egress'] as const).filter((role) => rules.some((x) => x.role === role));
      const decider = new RecordDecider(r.proposal.compiled.json);
      const uncovered: string[] = [];
      for (const [role, file] of Object.entries(scenarioPaths(o.scenarios, roles))) {
        const rel = path.relative(path.dirname(path.resolve(file)), path.resolve(o.out));
        fs.writeFileSync(file, scenarioYaml(rules, role as 'inbound' | 'egress', r.base, rel, decider, uncovered));
        io.err(`meshgate: ${role} scenarios written to ${file}`);
      }
      // a rule every one of whose requests an earlier rule decides: the scenarios cannot cover it
      if (uncovered.length) io.err(`meshgate: no learned request reaches ${uncovered.join(', ')} (earlier rules decide them all)`);
    });
}
