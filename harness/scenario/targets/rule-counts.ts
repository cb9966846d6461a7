/**
 * Coverage from the filter's own counters (assembly/filter/counters.ts): `meshgate.<filter>.rule.<name>`
 * counts every request or connection a rule decided and, for an audit rule, every one it matched
 * — which no single record says (the record names only the deciding rule). Envoy prefixes
 * custom metrics (`wasmcustom.` or `dynamicmodulescustom.`: METRIC_PREFIX); the emulator does not.
 */
import { METRIC_PREFIX, decisionCount, waitForDecisions } from '../../envoy/decisions';
import type { EnvoyProcess } from '../../envoy/process';

const RULE_COUNTER = new RegExp(`^${METRIC_PREFIX}meshgate\\.[a-z_]+\\.rule\\.(.+)$`);

/** Rule name → count, from metrics by name (every filter of the process summed). */
export function ruleCountsOf(metrics: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, value] of Object.entries(metrics)) {
    const m = RULE_COUNTER.exec(name);
    if (m) out[m[1]] = (out[m[1]] ?? 0) + value;
  }
  return out;
}

/** The rule counts an Envoy moved since `before`, once the filter has flushed the decisions its
 *  access log records (`meshgate` field `decision=…`): its counters trail by one timer period. */
export async function envoyRuleCounts(envoy: EnvoyProcess, accessLog: Record<string, string>[], before: Record<string, number>): Promise<Record<string, number>> {
  const decided = accessLog.filter((e) => typeof e.meshgate === 'string' && e.meshgate.startsWith('decision=')).length;
  const after = ruleCountsOf(await waitForDecisions(envoy, decisionCount(before) + decided));
  const base = ruleCountsOf(before);
  return Object.fromEntries(Object.entries(after).map(([k, v]) => [k, v - (base[k] ?? 0)]));
}
