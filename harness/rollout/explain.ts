/**
 * `meshgate explain`: why one request gets its decision, answered by the compiled module
 * (build/testkit.wasm: assembly/policy/trace.ts), never by a TypeScript model.
 *
 *   const e = explainRequest(sharedTestkit(), compiled, { role: 'inbound', peer: STORE, method: 'POST', path: '/charges' });
 *   e.decision, e.rule           // what the filter decides (equal to tk_decide_*'s line, or this throws)
 *   e.rules                      // every rule in evaluation order, every field's answer
 *   formatExplanation(e)         // the human form
 *
 * The caller is resolved by the policy's own identity source (a direct peer's SPIFFE ID and an
 * XFCC header), or given as resolved (an access-log record's identity / identity_reason).
 */
import type { CompileResult } from '../policy/compile';
import { parseDecision, type ExplainInput, type IdentityOut, type Testkit } from '../engine/testkit';
import { stripTrailingHostDot } from '../scenario/front';

export type Role = 'inbound' | 'egress';

/** One request, as flags or a record give it. */
export interface ExplainRequest {
  role: Role;
  /** The direct peer's SPIFFE ID (null/absent: no client certificate); resolved by `identity.from`. */
  peer?: string | null;
  /** The x-forwarded-client-cert header the filter receives. */
  xfcc?: string;
  /** The caller as the filter already resolved it (a record): the ID, or why unauthenticated. */
  resolved?: { id: string } | { reason: string };
  method?: string;
  path?: string;
  /** egress: the target as flags give it (host, port), or the filter's :authority (a record). */
  host?: string;
  port?: number;
  authority?: string;
  scheme?: string;
  connect?: boolean;
  /** egress: a TLS passthrough connection judged by this server name (the SNI filter). */
  sni?: string;
}

export interface FieldAnswer {
  field: string;
  matched: boolean;
  /** The field's entries as the policy lists them. */
  entries: unknown[];
}

export interface RuleTrace {
  name: string;
  index: number;
  action: 'allow' | 'deny';
  mode: 'enforce' | 'audit';
  /** Which pass of the evaluation looks at the rule: enforced deny rules, enforced allow rules, audit rules. */
  phase: 'deny' | 'allow' | 'audit';
  /** Whether the filter looks at it for this request. */
  evaluated: boolean;
  matched: boolean;
  /** The first field (in evaluation order) that did not match. */
  stoppedAt: string | null;
  fields: FieldAnswer[];
}

export interface Explanation {
  role: Role;
  policy: string;
  request: string;
  identity: IdentityOut & { source: string };
  decision: string;
  rule: string;
  by: 'rule' | 'default' | 'invalid';
  /** Invalid request: why (non_canonical_path, bad_host, ...). */
  reason?: string;
  /** In one sentence. */
  why: string;
  defaultAllow: boolean;
  auditMode: boolean;
  inTrustDomain: boolean;
  rules: RuleTrace[];
  nearest: { rule: string; field: string; matched: number; of: number } | null;
  audit: Array<{ rule: string; action: 'allow' | 'deny' }>;
  /** The decision line of tk_decide_* for the same request. */
  line: string;
}

/** Compiles `compiled` into the testkit for `role`; throws when the module refuses it. */
export function usePolicy(tk: Testkit, compiled: CompileResult, role: Role | 'egress-sni'): void {
  const r = tk.compile(role, compiled.json);
  if (!r.ok) throw new Error(`the module refused the policy (${role}): ${r.errors.join('; ')}`);
}

/** What the filter's facts reader hands to the decision for this request. */
export function decisionInput(r: ExplainRequest): ExplainInput {
  if (r.role === 'inbound') return { role: 'inbound', method: r.method ?? 'GET', path: r.path ?? '/' };
  if (r.sni !== undefined) return { role: 'sni', serverName: r.sni, port: r.port ?? 443 };
  return { role: 'egress', authority: r.authority ?? authorityOf(r), scheme: r.scheme ?? 'https', connect: Boolean(r.connect) };
}

/** host[:port] as the egress listener hands it to the filter (one trailing dot stripped, IPv6 bracketed). */
function authorityOf(r: ExplainRequest): string {
  const host = stripTrailingHostDot(r.host ?? '');
  const h = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  if (r.connect) return `${h}:${r.port ?? 443}`;
  return r.port !== undefined ? `${h}:${r.port}` : h;
}

/** Sets the caller in the testkit; returns it with where it came from. */
export function setCaller(tk: Testkit, compiled: CompileResult, r: ExplainRequest): IdentityOut & { source: string } {
  if (r.resolved !== undefined) {
    if ('id' in r.resolved) tk.setIdentity(r.resolved.id);
    else tk.setUnauthenticated(r.resolved.reason);
    const id = 'id' in r.resolved ? { authenticated: true, id: r.resolved.id, reason: 'ok' } : { authenticated: false, reason: r.resolved.reason };
    return { ...id, source: 'record' };
  }
  const source = String((compiled.policy as { identity?: { from?: string } } | null)?.identity?.from ?? 'peer-certificate');
  return { ...tk.resolveCaller(r.peer ?? null, r.xfcc ?? null), source };
}

/**
 * Explains one request through the module. Throws when the trace does not describe the decision
 * the module makes for the same request (tk_decide_*): an explanation must never disagree with
 * the filter.
 */
export function explainRequest(tk: Testkit, compiled: CompileResult, r: ExplainRequest): Explanation {
  usePolicy(tk, compiled, r.sni !== undefined ? 'egress-sni' : r.role);
  const identity = setCaller(tk, compiled, r);
  const input = decisionInput(r);
  const out = tk.explain(input);
  const line = tk.decide(input);
  const t = out.trace;
  if (out.error) throw new Error(`explain: ${out.error} (${line})`);
  const d = parseDecision(line);
  if (out.line !== line || d.decision !== t.decision || d.rule !== t.label) {
    throw new Error(`explain: the trace (${t.decision} ${t.label}) disagrees with the module's decision (${line})`);
  }
  const rules: RuleTrace[] = t.rules.map((x: Omit<RuleTrace, 'fields'> & { fields: Array<{ field: string; matched: boolean }> }) => ({
    ...x,
    fields: x.fields.map((f) => ({ ...f, entries: entriesOf(compiled, r.role, x.index, f.field) })),
  }));
  const e: Explanation = {
    role: r.role,
    policy: compiled.digest12,
    request: describeRequest(input),
    identity,
    decision: t.decision,
    rule: t.label,
    by: t.by,
    ...(t.reason !== undefined ? { reason: t.reason } : {}),
    why: '',
    defaultAllow: t.defaultAllow,
    auditMode: t.auditMode,
    inTrustDomain: t.inTrustDomain,
    rules,
    nearest: t.nearest,
    audit: t.audit,
    line,
  };
  e.why = whyOf(e);
  return e;
}

function entriesOf(compiled: CompileResult, role: Role, index: number, field: string): unknown[] {
  const section = (compiled.policy as Record<string, { rules?: Array<Record<string, unknown>> }> | null)?.[role];
  const v = section?.rules?.[index]?.[field];
  return Array.isArray(v) ? v : [];
}

function describeRequest(i: ExplainInput): string {
  if (i.role === 'inbound') return `${i.method} ${i.path}`;
  if (i.role === 'sni') return `TLS server_name ${i.serverName} port ${i.port}`;
  return `${i.connect ? 'CONNECT ' : ''}${i.scheme}://${i.authority}`;
}

function whyOf(e: Explanation): string {
  const verdict = e.decision === 'audit_deny' ? 'would deny (global audit mode lets it through)' : e.decision === 'allow' ? 'allowed' : 'denied';
  if (e.by === 'invalid') return `${verdict}: the request is invalid (${e.reason}); no rule is evaluated`;
  if (e.by === 'rule') {
    const r = e.rules.find((x) => x.name === e.rule)!;
    return `${verdict} by ${r.action} rule ${r.name}: ${r.action === 'deny' ? 'the first matching deny rule' : 'no deny rule matched; the first matching allow rule'}`;
  }
  if (e.defaultAllow) return `${verdict} by the default (allow): no rule matched`;
  const near = e.nearest ? `; nearest allow rule ${e.nearest.rule} (${e.nearest.matched} of ${e.nearest.of} fields matched, ${e.nearest.field} did not)` : '';
  return `${verdict} by the default (deny): no rule matched${near}`;
}

/** The human form: the request, the caller, the decision, then every rule in evaluation order. */
export function formatExplanation(e: Explanation): string[] {
  const lines: string[] = [];
  lines.push(`policy   ${e.policy} (${e.role}, default ${e.defaultAllow ? 'allow' : 'deny'}${e.auditMode ? ', mode audit' : ''})`);
  lines.push(`request  ${e.request}`);
  const who = e.identity.authenticated ? e.identity.id! : `unauthenticated (${e.identity.reason})`;
  lines.push(`caller   ${who}  [identity from ${e.identity.source}${e.identity.authenticated ? (e.inTrustDomain ? ', in the trust domain' : ', federated') : ''}]`);
  lines.push(`decision ${e.decision}  rule=${e.rule}`);
  lines.push(`why      ${e.why}`);
  if (e.audit.length > 0) lines.push(`audit    ${e.audit.map((a) => `${a.rule} would ${a.action}`).join(', ')}`);
  const phases: Array<[RuleTrace['phase'], string]> = [
    ['deny', 'enforced deny rules (first match denies)'],
    ['allow', 'enforced allow rules (first match allows)'],
    ['audit', 'audit rules (recorded, never enforced)'],
  ];
  for (const [phase, title] of phases) {
    const rules = e.rules.filter((r) => r.phase === phase);
    if (rules.length === 0) continue;
    lines.push('', `${title}:`);
    for (const r of rules) {
      const mark = r.name === e.rule && e.by === 'rule' ? '  <- decides' : '';
      const state = r.matched ? 'match' : `no match (stopped at ${r.stoppedAt})`;
      lines.push(`  ${r.name}: ${state}${r.evaluated ? '' : ' [not reached]'}${mark}`);
      for (const f of r.fields) lines.push(`    ${f.matched ? '+' : '-'} ${f.field.padEnd(10)} ${JSON.stringify(f.entries)}`);
    }
  }
  return lines;
}
