/**
 * `meshgate diff old.yaml new.yaml`: which request classes change decision or rule, without
 * traffic. The representatives of diff-space.ts are each traced by the module under both policies
 * (assembly/policy/trace.ts); a request's class is the vector of every rule field's answer under
 * both policies (plus the invalid-request reason), which is all the decision depends on — so every
 * request of a class is decided alike, and a class is reported once, by its first representative.
 *
 *   const d = diffPolicies(sharedTestkit(), oldCompiled, newCompiled, 'inbound');
 *   d.changed          // [{ request, old: {decision, rule}, new: {...}, change, members }]
 *   classOf(tk, oldCompiled, newCompiled, request)   // the class key of any request
 */
import type { CompileResult } from '../policy/compile';
import type { Testkit } from '../engine/testkit';
import { decisionInput, setCaller, usePolicy, type ExplainRequest, type Role } from './explain';
import { requestSpace } from './diff-space';

export interface Outcome {
  decision: string;
  rule: string;
}

/** `allow-to-deny` (now refused), `deny-to-allow` (now let through; audit_deny passes too),
 *  `audit` (allow ↔ audit_deny), `rule` (same decision, another rule or reason). */
export type Change = 'allow-to-deny' | 'deny-to-allow' | 'audit' | 'rule';
export type FailOn = 'deny-to-allow' | 'allow-to-deny' | 'any';
export const FAIL_ON: FailOn[] = ['deny-to-allow', 'allow-to-deny', 'any'];

export interface ChangedClass {
  /** The class's first representative. */
  request: ExplainRequest;
  old: Outcome;
  new: Outcome;
  change: Change;
  /** How many representatives fell in the class. */
  members: number;
  key: string;
}

export interface PolicyDiff {
  role: Role;
  old: string;
  new: string;
  /** Representatives evaluated, and the classes they fell in. */
  representatives: number;
  classes: number;
  changed: ChangedClass[];
}

/** The representatives as requests, identity outermost (the caller is resolved once per identity). */
function representatives(role: Role, oldC: CompileResult, newC: CompileResult): ExplainRequest[] {
  const s = requestSpace(role, [oldC, newC]);
  const out: ExplainRequest[] = [];
  for (const peer of s.identities) {
    if (role === 'inbound') {
      for (const method of s.methods) for (const path of s.paths) out.push({ role, peer, method, path });
    } else {
      for (const host of s.hosts) for (const port of s.ports) for (const connect of s.connect) out.push({ role, peer, host, port, connect, scheme: 'https' });
    }
  }
  return out;
}

/** One policy's part of a class key, and its outcome, for the request (policy and caller set). */
function judge(tk: Testkit, r: ExplainRequest): { key: string; outcome: Outcome } {
  const out = tk.explain(decisionInput(r));
  if (out.error) throw new Error(`diff: ${out.error} (${out.line})`);
  const t = out.trace;
  const key = t.by === 'invalid' ? `invalid:${t.reason}` : (t.rules as Array<{ fields: Array<{ matched: boolean }> }>).map((x) => x.fields.map((f) => (f.matched ? 1 : 0)).join('')).join('.');
  return { key, outcome: { decision: t.decision, rule: t.label } };
}

/** Judges every request under one policy. */
function judgeAll(tk: Testkit, c: CompileResult, role: Role, requests: ExplainRequest[]): Array<{ key: string; outcome: Outcome }> {
  usePolicy(tk, c, role);
  let peer: string | null | undefined;
  return requests.map((r, i) => {
    if (i === 0 || r.peer !== peer) {
      peer = r.peer ?? null;
      setCaller(tk, c, r);
    }
    return judge(tk, r);
  });
}

export function changeOf(a: Outcome, b: Outcome): Change | undefined {
  if (a.decision === b.decision) return a.rule === b.rule ? undefined : 'rule';
  if (b.decision === 'deny') return 'allow-to-deny';
  if (a.decision === 'deny') return 'deny-to-allow';
  return 'audit';
}

/** Whether a change fails `--fail-on`. */
export function fails(change: Change, on: FailOn): boolean {
  if (change === 'rule') return false;
  if (on === 'any') return true;
  return change === on;
}

/** The classes of `role` whose decision or rule differs between the two policies. */
export function diffPolicies(tk: Testkit, oldC: CompileResult, newC: CompileResult, role: Role): PolicyDiff {
  const reps = representatives(role, oldC, newC);
  return diffOver(tk, oldC, newC, role, reps);
}

/** The diff over given requests (the representatives, or any others: tests). */
export function diffOver(tk: Testkit, oldC: CompileResult, newC: CompileResult, role: Role, reps: ExplainRequest[]): PolicyDiff {
  const a = judgeAll(tk, oldC, role, reps);
  const b = judgeAll(tk, newC, role, reps);
  const classes = new Map<string, ChangedClass | null>();
  const members = new Map<string, number>();
  reps.forEach((r, i) => {
    const key = `${a[i].key}#${b[i].key}`;
    members.set(key, (members.get(key) ?? 0) + 1);
    if (classes.has(key)) return;
    const change = changeOf(a[i].outcome, b[i].outcome);
    classes.set(key, change === undefined ? null : { request: r, old: a[i].outcome, new: b[i].outcome, change, members: 0, key });
  });
  const changed = [...classes.values()].filter((c): c is ChangedClass => c !== null);
  for (const c of changed) c.members = members.get(c.key)!;
  return { role, old: oldC.digest12, new: newC.digest12, representatives: reps.length, classes: classes.size, changed };
}

/** The class key and outcomes of one request under both policies. */
export function classOf(tk: Testkit, oldC: CompileResult, newC: CompileResult, r: ExplainRequest): { key: string; old: Outcome; new: Outcome } {
  const [a] = judgeAll(tk, oldC, r.role, [r]);
  const [b] = judgeAll(tk, newC, r.role, [r]);
  return { key: `${a.key}#${b.key}`, old: a.outcome, new: b.outcome };
}

/** The request part of a table row. */
export function describeClass(r: ExplainRequest): string[] {
  const who = r.peer ?? '(no certificate)';
  if (r.role === 'inbound') return [who, r.method ?? 'GET', r.path ?? '/'];
  return [who, `${r.connect ? 'CONNECT ' : ''}${r.host}`, String(r.port)];
}

/** The human form: one row per changed class. */
export function formatDiff(d: PolicyDiff): string[] {
  const head = d.role === 'inbound' ? ['change', 'identity', 'method', 'path', 'old', 'new'] : ['change', 'identity', 'host', 'port', 'old', 'new'];
  const rows = d.changed.map((c) => [c.change, ...describeClass(c.request), `${c.old.decision} ${c.old.rule}`, `${c.new.decision} ${c.new.rule}`]);
  const lines = [`${d.role}: policy ${d.old} -> ${d.new}: ${d.changed.length} of ${d.classes} request classes change (${d.representatives} representatives evaluated by the module)`];
  if (rows.length === 0) return lines;
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const fmt = (r: string[]) => r.map((x, i) => (i === r.length - 1 ? x : x.padEnd(widths[i]))).join('  ');
  return [...lines, '', fmt(head), ...rows.map(fmt)];
}
