// The counters of one policy (docs/internals.md §3), all defined at configure time so zero
// counters show in /stats: meshgate.<filter>.{allowed,denied,audit_would_deny,invalid_request,
// default} and meshgate.<filter>.rule.<name> per rule (requests or connections the rule decided,
// or for an audit rule: matched); <filter> is `inbound`, `egress` or `egress_sni`. The egress
// HTTP filter also counts CONNECT tunnels reset for their first bytes: meshgate.egress.tunnel_denied. Envoy shares a counter name across worker VMs, so the totals are per process.
//
// Counted in module memory per request and handed to Envoy on the root context's timer (flush()):
// a `proxy_increment_metric` is a host call (≈ 0.4 µs each in Envoy 1.40 on the bench machine,
// two per request), a flush is one call per counter that moved, a few times a second. /stats
// therefore trails the traffic by at most one timer period (filter/root.ts TICK_MS).
import { defineCounter, incrementMetric } from "../proxywasm";
import { Policy } from "../policy/policy";
import { Decision, DECISION_ALLOW, DECISION_DENY, BY_RULE, BY_DEFAULT, BY_INVALID, MAX_AUDIT } from "../policy/decide";

const ALLOWED: i32 = 0;
const DENIED: i32 = 1;
const AUDIT_WOULD_DENY: i32 = 2;
const INVALID_REQUEST: i32 = 3;
const BY_DEFAULT_SLOT: i32 = 4;
const TUNNEL_DENIED: i32 = 5;
const FIRST_RULE: i32 = 6;

export class PolicyCounters {
  /** Metric ids by slot: the five totals, then one per rule. */
  private readonly ids: StaticArray<u32>;
  /** Counts not yet handed to Envoy, by slot. */
  private readonly pending: StaticArray<u32>;
  /** The slots whose pending count is not 0, each once: a flush visits only these, so it costs
   *  O(counters moved), not O(rules) (the native runtime flushes after every request). */
  private readonly moved: StaticArray<i32>;
  private movedCount: i32 = 0;

  /** `name`: the filter's counter name (`egress`, `egress_sni`, ...); `tunnels`: define tunnel_denied. */
  constructor(p: Policy, name: string, tunnels: bool) {
    const prefix = "meshgate." + name + ".";
    const n = FIRST_RULE + p.ruleCount;
    this.ids = new StaticArray<u32>(n);
    this.pending = new StaticArray<u32>(n);
    this.moved = new StaticArray<i32>(n);
    this.ids[ALLOWED] = defineCounter(prefix + "allowed");
    this.ids[DENIED] = defineCounter(prefix + "denied");
    this.ids[AUDIT_WOULD_DENY] = defineCounter(prefix + "audit_would_deny");
    this.ids[INVALID_REQUEST] = defineCounter(prefix + "invalid_request");
    this.ids[BY_DEFAULT_SLOT] = defineCounter(prefix + "default");
    if (tunnels) this.ids[TUNNEL_DENIED] = defineCounter(prefix + "tunnel_denied");
    for (let i = 0; i < p.ruleCount; i++) this.ids[FIRST_RULE + i] = defineCounter(prefix + "rule." + p.ruleName(i));
  }

  // @ts-ignore: decorator
  @inline
  private add(slot: i32): void {
    const c = unchecked(this.pending[slot]);
    if (c == 0) unchecked(this.moved[this.movedCount++] = slot);
    unchecked(this.pending[slot] = c + 1);
  }

  /** Counts one decision (in module memory; flush() hands the counts to Envoy). */
  count(d: Decision): void {
    this.add(d.decision == DECISION_ALLOW ? ALLOWED : d.decision == DECISION_DENY ? DENIED : AUDIT_WOULD_DENY);
    if (d.by == BY_RULE) this.add(FIRST_RULE + d.rule);
    else if (d.by == BY_DEFAULT) this.add(BY_DEFAULT_SLOT);
    else if (d.by == BY_INVALID) this.add(INVALID_REQUEST);
    const audits = d.auditCount < MAX_AUDIT ? d.auditCount : MAX_AUDIT;
    for (let k = 0; k < audits; k++) this.add(FIRST_RULE + d.auditRule(k));
  }

  /** Counts a CONNECT tunnel reset for its first bytes. */
  countTunnelDenied(): void {
    this.add(TUNNEL_DENIED);
  }

  /** Hands every pending count to Envoy: one proxy_increment_metric per counter that moved, in
   *  the order they first moved. */
  flush(): void {
    const n = this.movedCount;
    this.movedCount = 0;
    for (let k = 0; k < n; k++) {
      const slot = unchecked(this.moved[k]);
      const c = unchecked(this.pending[slot]);
      unchecked(this.pending[slot] = 0);
      incrementMetric(unchecked(this.ids[slot]), <i64>c);
    }
  }
}
