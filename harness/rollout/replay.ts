/**
 * `meshgate replay`'s work: every decision record decided again with a new policy through the
 * compiled module (replay-decide.ts), compared with what the record says happened. Streaming:
 * only the groups of changes are kept (one per kind × rule change × identity, with a few
 * examples each), never the records.
 *
 * Kinds of change:
 *   allow-to-deny  the request went through (allow, or audit_deny) and would now be denied
 *   deny-to-allow  the request was denied and would now go through
 *   rule-change    the same outcome, decided by another rule (or allow ↔ audit_deny)
 */
import { readRecords, RecordTally, type ReadOptions, type Where } from '../records/read';
import type { DecisionRecord } from '../records/record';
import { RecordDecider, type Outcome } from './replay-decide';

export type ChangeKind = 'allow-to-deny' | 'deny-to-allow' | 'rule-change';
export const CHANGE_KINDS: readonly ChangeKind[] = ['allow-to-deny', 'deny-to-allow', 'rule-change'];
/** Examples kept per group. */
const EXAMPLES = 3;

export interface ChangeExample extends Where {
  /** The request as the record shows it (`GET /charges`, `CONNECT api.stripe.com:443`, `sni api.stripe.com:443`). */
  request: string;
  time?: string;
}

export interface ChangeGroup {
  kind: ChangeKind;
  role: DecisionRecord['role'];
  identity: string | null;
  before: Outcome;
  after: Outcome;
  count: number;
  examples: ChangeExample[];
}

export interface ReplayReport {
  records: number;
  unchanged: number;
  changes: Record<ChangeKind, number>;
  /** Largest groups first. */
  groups: ChangeGroup[];
  /** The policy digests (12 digits) the records were decided with, and how many each. */
  recordedPolicies: Record<string, number>;
  /** The new policy's digest per role replayed. */
  policy: Record<string, string>;
  /** Lines that were not records, and requests meshgate did not decide. */
  skipped: { bad: number; undecided: number; blank: number; messages: string[] };
}

/** Which kind of change `before` → `after` is, if any. */
export function changeKind(before: Outcome, after: Outcome): ChangeKind | undefined {
  const blockedBefore = before.decision === 'deny';
  const blockedAfter = after.decision === 'deny';
  if (!blockedBefore && blockedAfter) return 'allow-to-deny';
  if (blockedBefore && !blockedAfter) return 'deny-to-allow';
  if (before.rule !== after.rule || before.decision !== after.decision) return 'rule-change';
  return undefined;
}

/** The request of a record in one short line. */
export function describeRequest(r: DecisionRecord): string {
  if (r.role === 'inbound') return `${r.method} ${r.path}`;
  if (r.role === 'egress-sni') return `sni ${r.sni}:${r.port}`;
  const target = r.connect ? `CONNECT ${r.authority ?? '-'}` : `${r.method ?? '-'} ${r.scheme ?? '-'}://${r.authority ?? '-'}${r.path ?? ''}`;
  return r.connect && r.sni !== undefined ? `${target} (tunnel sni ${r.sni})` : target;
}

/** Groups changes as they come: keyed by kind, role, identity and the two outcomes. */
export class ChangeGroups {
  private readonly groups = new Map<string, ChangeGroup>();
  readonly counts: Record<ChangeKind, number> = { 'allow-to-deny': 0, 'deny-to-allow': 0, 'rule-change': 0 };

  add(kind: ChangeKind, r: DecisionRecord, after: Outcome, where: Where): void {
    this.counts[kind]++;
    const key = [kind, r.role, r.identity ?? '', r.decision, r.rule, after.decision, after.rule].join('\u0000');
    let g = this.groups.get(key);
    if (!g) {
      g = { kind, role: r.role, identity: r.identity, before: { decision: r.decision, rule: r.rule }, after, count: 0, examples: [] };
      this.groups.set(key, g);
    }
    g.count++;
    if (g.examples.length < EXAMPLES) g.examples.push({ ...where, request: describeRequest(r), ...(r.time ? { time: r.time } : {}) });
  }

  /** Kinds in CHANGE_KINDS order, then the largest groups first. */
  sorted(): ChangeGroup[] {
    return [...this.groups.values()].sort((a, b) => CHANGE_KINDS.indexOf(a.kind) - CHANGE_KINDS.indexOf(b.kind) || b.count - a.count);
  }
}

/** Replays the records of `files` (`-`: stdin) against the policy (plugin configuration JSON). */
export async function replayLogs(files: string[], policyJson: string, o: ReadOptions = {}): Promise<ReplayReport> {
  const decider = new RecordDecider(policyJson);
  const tally = new RecordTally();
  const groups = new ChangeGroups();
  const recordedPolicies: Record<string, number> = {};
  let unchanged = 0;
  for await (const { record, where } of readRecords(files, tally, o)) {
    recordedPolicies[record.policy] = (recordedPolicies[record.policy] ?? 0) + 1;
    const after = decider.decide(record);
    const kind = changeKind(record, after);
    if (kind === undefined) unchanged++;
    else groups.add(kind, record, after, where);
  }
  return {
    records: tally.records,
    unchanged,
    changes: groups.counts,
    groups: groups.sorted(),
    recordedPolicies,
    policy: Object.fromEntries(decider.digests),
    skipped: { bad: tally.bad, undecided: tally.undecided, blank: tally.blank, messages: tally.describe() },
  };
}
