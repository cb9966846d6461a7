// The counters of one policy (docs/internals.md §3), all defined at configure time so zero
// counters show in /stats: meshgate.<role>.{allowed,denied,audit_would_deny,invalid_request,
// default} and meshgate.<role>.rule.<name> per rule (requests the rule decided, or for an audit
// rule: matched). Envoy shares a counter name across worker VMs, so the totals are per process.
import { defineCounter, incrementMetric } from "../proxywasm";
import { Policy, roleName } from "../policy/policy";
import { Decision, DECISION_ALLOW, DECISION_DENY, BY_RULE, BY_DEFAULT, BY_INVALID } from "../policy/decide";

export class PolicyCounters {
  readonly allowed: u32;
  readonly denied: u32;
  readonly auditWouldDeny: u32;
  readonly invalidRequest: u32;
  readonly byDefault: u32;
  private readonly rules: StaticArray<u32>;

  constructor(p: Policy) {
    const prefix = "meshgate." + roleName(p.role) + ".";
    this.allowed = defineCounter(prefix + "allowed");
    this.denied = defineCounter(prefix + "denied");
    this.auditWouldDeny = defineCounter(prefix + "audit_would_deny");
    this.invalidRequest = defineCounter(prefix + "invalid_request");
    this.byDefault = defineCounter(prefix + "default");
    this.rules = new StaticArray<u32>(p.ruleCount);
    for (let i = 0; i < p.ruleCount; i++) unchecked(this.rules[i] = defineCounter(prefix + "rule." + p.ruleName(i)));
  }

  count(d: Decision): void {
    if (d.decision == DECISION_ALLOW) incrementMetric(this.allowed);
    else if (d.decision == DECISION_DENY) incrementMetric(this.denied);
    else incrementMetric(this.auditWouldDeny);
    if (d.by == BY_RULE) incrementMetric(unchecked(this.rules[d.rule]));
    else if (d.by == BY_DEFAULT) incrementMetric(this.byDefault);
    else if (d.by == BY_INVALID) incrementMetric(this.invalidRequest);
    for (let k = 0; k < d.auditCount && k < 64; k++) incrementMetric(unchecked(this.rules[d.auditRule(k)]));
  }
}
