/**
 * `meshgate stats`: what the filter's own counters (assembly/filter/counters.ts) say about a
 * policy — rules never hit, audit rules' would-deny (or would-allow) counts, the requests the
 * default decided — from a live Envoy's admin `/stats` or a saved copy of it.
 *
 * Counters: `meshgate.<filter>.{allowed,denied,audit_would_deny,invalid_request,default}` and
 * `meshgate.<filter>.rule.<name>` (requests a rule decided; for an audit rule, requests it
 * matched); <filter> is inbound, egress or egress_sni. Envoy prefixes them `wasmcustom.` (Wasm) or
 * `dynamicmodulescustom.` (the native module; the emulator puts nothing) and sums them over the
 * worker instances of the process.
 */
import type { CompileResult } from '../policy/compile';
import { METRIC_PREFIX } from '../envoy/decisions';
import type { NormalizedRule } from '../policy/model';

const COUNTER = new RegExp(`^${METRIC_PREFIX}meshgate\\.([a-z_]+)\\.(.+)$`);
const TOTALS = ['allowed', 'denied', 'audit_would_deny', 'invalid_request', 'default', 'tunnel_denied'] as const;

export interface RuleUse {
  name: string;
  action: 'allow' | 'deny';
  mode: 'enforce' | 'audit';
  /** Requests the rule decided; for an audit rule, requests it matched (would allow / would deny). */
  count: number;
}

export interface FilterStats {
  /** The counter name's filter: inbound, egress, egress_sni. */
  filter: string;
  totals: Partial<Record<(typeof TOTALS)[number], number>>;
  rules: RuleUse[];
  /** Enforced rules that decided nothing, and audit rules that matched nothing. */
  neverHit: string[];
  /** Audit deny rules and how many requests each would have denied. */
  auditWouldDeny: Record<string, number>;
  /** Audit allow rules and how many requests each would have allowed. */
  auditWouldAllow: Record<string, number>;
  /** Rules with a counter the policy does not have: the proxy runs another policy. */
  unknownRules: string[];
  /** Rules of the policy without a counter: the proxy runs another policy. */
  missingRules: string[];
}

/** Counter name → value from `/stats` text (`name: value` lines) or `/stats?format=json`. */
export function parseStats(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) {
    const doc = JSON.parse(trimmed) as { stats?: Array<{ name?: string; value?: unknown }> };
    for (const s of doc.stats ?? []) if (typeof s.name === 'string' && typeof s.value === 'number') out[s.name] = s.value;
    return out;
  }
  for (const line of trimmed.split('\n')) {
    const m = /^([^:\s]+): (\d+)$/.exec(line.trim());
    if (m) out[m[1]] = Number(m[2]);
  }
  return out;
}

/** The counters of each meshgate filter found, against the policy's section for that filter. */
export function policyStats(compiled: CompileResult, metrics: Record<string, number>): FilterStats[] {
  const byFilter = new Map<string, Record<string, number>>();
  for (const [name, value] of Object.entries(metrics)) {
    const m = COUNTER.exec(name);
    if (!m) continue;
    const f = byFilter.get(m[1]) ?? {};
    f[m[2]] = (f[m[2]] ?? 0) + value;
    byFilter.set(m[1], f);
  }
  const out: FilterStats[] = [];
  for (const [filter, counters] of [...byFilter].sort(([a], [b]) => a.localeCompare(b))) {
    const section = compiled.normalized?.[filter === 'inbound' ? 'inbound' : 'egress'];
    const rules: NormalizedRule[] = section?.rules ?? [];
    const totals: FilterStats['totals'] = {};
    for (const t of TOTALS) if (counters[t] !== undefined) totals[t] = counters[t];
    const uses: RuleUse[] = rules.map((r) => ({ name: r.name, action: r.action, mode: r.mode, count: counters[`rule.${r.name}`] ?? 0 }));
    const named = new Set(rules.map((r) => r.name));
    const audit = (action: string) => Object.fromEntries(uses.filter((u) => u.mode === 'audit' && u.action === action).map((u) => [u.name, u.count]));
    out.push({
      filter,
      totals,
      rules: uses,
      neverHit: uses.filter((u) => u.count === 0).map((u) => u.name),
      auditWouldDeny: audit('deny'),
      auditWouldAllow: audit('allow'),
      unknownRules: Object.keys(counters).filter((k) => k.startsWith('rule.') && !named.has(k.slice(5))).map((k) => k.slice(5)),
      missingRules: rules.filter((r) => counters[`rule.${r.name}`] === undefined).map((r) => r.name),
    });
  }
  return out;
}

/** The human form. */
export function formatStats(all: FilterStats[]): string[] {
  if (all.length === 0) return ['no meshgate counters found (is the filter loaded, and is this its admin /stats?)'];
  const lines: string[] = [];
  for (const s of all) {
    if (lines.length > 0) lines.push('');
    const t = s.totals;
    lines.push(`meshgate_${s.filter}: allowed ${t.allowed ?? 0}, denied ${t.denied ?? 0}, audit would-deny ${t.audit_would_deny ?? 0}, by default ${t.default ?? 0}, invalid requests ${t.invalid_request ?? 0}`);
    const width = Math.max(4, ...s.rules.map((r) => r.name.length));
    for (const r of s.rules) {
      const what = r.mode === 'audit' ? `audit ${r.action}: would ${r.action} ${r.count}` : `${r.action}: decided ${r.count}`;
      lines.push(`  ${r.name.padEnd(width)}  ${what}${r.count === 0 ? '  (never hit)' : ''}`);
    }
    lines.push(s.neverHit.length > 0 ? `never hit: ${s.neverHit.join(', ')}` : 'every rule was hit');
    if (s.unknownRules.length > 0 || s.missingRules.length > 0) {
      lines.push(`warning: the proxy's rules differ from this policy's (counters for ${s.unknownRules.join(', ') || 'none'} not in the policy; no counter for ${s.missingRules.join(', ') || 'none'})`);
    }
  }
  return lines;
}
