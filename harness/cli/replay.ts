/**
 * `meshgate replay <log...> --policy new.yaml`: the decision records of access logs (`-`: stdin)
 * decided again with another policy by the compiled module (harness/rollout/replay.ts); prints
 * the changes grouped by kind, identity and rule with counts and examples. `--fail-on` turns a
 * kind of change into exit 1 (harness/cli/io.ts's table), for CI.
 */
import { Option, type Command } from 'commander';
import { RECORD_ROLES, type RecordRole } from '../records/record';
import { replayLogs, type ChangeGroup, type ChangeKind, type ReplayReport } from '../rollout/replay';
import { compileOrReport, EXIT_PROBLEM, Exit, FORMATS, type Format, type Io } from './io';

export type FailOn = 'deny-to-allow' | 'allow-to-deny' | 'any';
const FAIL_ON: FailOn[] = ['deny-to-allow', 'allow-to-deny', 'any'];

interface ReplayFlags {
  policy: string;
  failOn?: FailOn;
  format: Format;
  role?: RecordRole;
}

const TITLES: Record<ChangeKind, string> = { 'allow-to-deny': 'allow → deny', 'deny-to-allow': 'deny → allow', 'rule-change': 'rule changes (same outcome)' };

/** Whether the report has a change `--fail-on` names. */
export function failsOn(r: ReplayReport, failOn: FailOn | undefined): boolean {
  if (failOn === undefined) return false;
  if (failOn === 'any') return r.changes['allow-to-deny'] + r.changes['deny-to-allow'] > 0;
  return r.changes[failOn] > 0;
}

function outcomeText(o: ChangeGroup['before']): string {
  return `${o.rule} (${o.decision})`;
}

export function formatReplay(r: ReplayReport, policyFile: string): string[] {
  const digests = Object.entries(r.policy).map(([role, d]) => `${role} ${d}`).join(', ');
  const lines = [
    `replayed ${r.records} records against ${policyFile} (${digests || 'no records'})`,
    `  ${r.unchanged} unchanged, ${r.changes['allow-to-deny']} allow → deny, ${r.changes['deny-to-allow']} deny → allow, ${r.changes['rule-change']} rule changes`,
  ];
  const recorded = Object.entries(r.recordedPolicies).map(([d, n]) => `${d} (${n})`).join(', ');
  if (recorded) lines.push(`  recorded under policy ${recorded}`);
  for (const kind of Object.keys(TITLES) as ChangeKind[]) {
    const groups = r.groups.filter((g) => g.kind === kind);
    if (groups.length === 0) continue;
    lines.push('', `${TITLES[kind]}: ${r.changes[kind]}`);
    for (const g of groups) {
      lines.push(`  ${String(g.count).padStart(6)}  ${g.role} ${g.identity ?? '(unauthenticated)'}: ${outcomeText(g.before)} → ${outcomeText(g.after)}`);
      for (const e of g.examples) lines.push(`          ${e.file}:${e.line}  ${e.request}${e.time ? `  ${e.time}` : ''}`);
    }
  }
  return lines;
}

export function registerReplay(program: Command, io: Io): Command {
  return program
    .command('replay')
    .description('decide the access log\'s decision records again with another policy (the compiled module) and report what would change')
    .argument('<log...>', 'access-log files of the reference configs (docs/records.md); - reads stdin')
    .requiredOption('--policy <file>', 'the policy to replay against (- reads stdin)')
    .addOption(new Option('--fail-on <kind>', 'exit 1 when a change of this kind is found (any: either flip)').choices(FAIL_ON))
    .addOption(new Option('--role <role>', 'role of records without a `role` key').choices([...RECORD_ROLES]))
    .addOption(new Option('--format <format>', 'text, or one JSON document').choices(FORMATS).default('text'))
    .action(async (logs: string[], o: ReplayFlags) => {
      const compiled = compileOrReport(o.policy, io);
      // an unreadable log or a policy without the log's role ends as `meshgate: <message>`, exit 1
      const report = await replayLogs(logs, compiled.json, { role: o.role });
      for (const m of report.skipped.messages) io.err(`meshgate: ${m}`);
      if (o.format === 'json') io.out(JSON.stringify(report, null, 2));
      else for (const l of formatReplay(report, o.policy)) io.out(l);
      if (failsOn(report, o.failOn)) throw new Exit(EXIT_PROBLEM);
    });
}
