// Request-time evaluation (DESIGN.md §2 "Evaluation", docs/internals.md §2-3). Pure, and
// allocation-free: facts and the decision are caller-owned objects, pre-allocated once (per
// stream context or per root), overwritten per request.
//
//   const facts = new InboundFacts(identity);          // identity: a caller-owned Identity
//   const d = new Decision();
//   policy.resolver!.resolve(cert, certLen, xfcc, xfccLen, identity);   // lengths < 0 = absent
//   facts.set(methodPtr, methodLen, pathPtr, pathLen);                  // `:method`, `:path`
//   decideInbound(policy, facts, d);
// (`facts.identity` may be re-pointed per request, e.g. at an Identity cached per connection.id
// via resolver.resolvePeer, finished per request with resolver.resolveFromPeer.)
//
//   const ef = new EgressFacts(identity);
//   ef.set(authorityPtr, authorityLen, schemePtr, schemeLen, isConnect);
//   decideEgress(policy, ef, d);
//
// Order: an invalid request (inbound: non-canonical path; egress: malformed authority or an IPv4
// literal in a non-canonical inet_aton form, `ambiguous_ip`; either:
// a policy of the other role, `wrong_role`) is denied first, with its reason (BY_INVALID, no rule
// evaluated). Then the enforced deny rules (the first
// matching one in document order decides: deny), then the enforced allow rules (the first
// matching one decides: allow), then `default`. Rules with `mode: audit` are evaluated on the
// side for every valid request and recorded (`auditCount`, `auditRule(k)`, and how many of them
// are deny rules) without changing the outcome. Global `mode: audit` turns a DENY into
// AUDIT_DENY (the request goes through; log and count it as a would-deny).
// For a default deny, `nearestRule` is the enforced allow rule with the most matching fields
// (ties: the earlier rule) and `nearestField` the first of its fields that did not match, in the
// order from, notFrom, methods, notMethods, paths, notPaths (inbound) / from, notFrom, hosts,
// notHosts, ports, notPorts, cidrs, notCidrs (egress).
// Within a rule, fields AND; entries of a list OR; an omitted field matches anything; a `notX`
// field matches when X does not. A name target never matches `cidrs` and an IP literal never
// matches `hosts`, so a rule that lists both `hosts` and `cidrs` matches nothing (use two rules).
//
// Log/filter-state helpers (no allocation, write into a StrBuf):
//   writeRuleLabel(p, d, b)          <rule name> | default | <invalid reason>
//   writeFilterState(p, d, id, b)    decision=<allow|deny|audit_deny> rule=<label> identity=<id|-> policy=<digest12>
//   writeDebugLine(p, d, id, b)      the filter state plus identity reason, nearest rule/field, audit rules

import { Identity, VERDICT_RULES, VERDICT_FROM, VERDICT_NOT_FROM } from "../spiffe/identity";
import { IdSet, MethodFacts } from "./matchers";
import {
  Policy, Rule, ACTION_DENY, ROLE_EGRESS, ROLE_INBOUND,
  F_FROM, F_NOT_FROM, F_METHODS, F_NOT_METHODS, F_PATHS, F_NOT_PATHS, F_HOSTS, F_NOT_HOSTS,
  F_PORTS, F_NOT_PORTS, F_CIDRS, F_NOT_CIDRS,
} from "./policy";
import { PathFacts } from "./path";
import { EgressTarget, TARGET_OK, TARGET_AMBIGUOUS_IP, targetReasonName } from "./host";
import { StrBuf } from "../util/strbuf";
import { identityReasonName } from "../spiffe/identity";
import { fieldName } from "./policy";

export const DECISION_ALLOW: i32 = 0;
export const DECISION_DENY: i32 = 1;
/** Global audit mode: the policy denies, the request goes through. */
export const DECISION_AUDIT_DENY: i32 = 2;

export const BY_RULE: i32 = 0;
export const BY_DEFAULT: i32 = 1;
export const BY_INVALID: i32 = 2;

/** Invalid-request reasons: egress uses the TARGET_* codes of host.ts (1..7); inbound: */
export const REASON_NON_CANONICAL_PATH: i32 = 100;
/** A programming error in the caller: decideInbound with an egress policy or vice versa (denied,
 *  never a trap). */
export const REASON_WRONG_ROLE: i32 = 101;

export const MAX_AUDIT: i32 = 64;

export function decisionName(d: i32): string {
  return d == DECISION_ALLOW ? "allow" : d == DECISION_DENY ? "deny" : "audit_deny";
}

/** Inputs of an inbound decision. The byte views must stay valid while deciding. */
export class InboundFacts {
  readonly method: MethodFacts = new MethodFacts();
  readonly path: PathFacts = new PathFacts();

  constructor(public identity: Identity) {}

  set(methodPtr: usize, methodLen: i32, pathPtr: usize, pathLen: i32): void {
    this.method.set(methodPtr, methodLen);
    this.path.set(pathPtr, pathLen);
  }
}

/** Inputs of an egress decision. */
export class EgressFacts {
  readonly target: EgressTarget = new EgressTarget();

  constructor(public identity: Identity) {}

  /** authority: CONNECT's request authority, else `:authority`; scheme: `:scheme`. */
  set(authorityPtr: usize, authorityLen: i32, schemePtr: usize, schemeLen: i32, isConnect: bool): void {
    this.target.parse(authorityPtr, authorityLen, schemePtr, schemeLen, isConnect);
  }
}

export class Decision {
  decision: i32 = DECISION_DENY;
  by: i32 = BY_DEFAULT;
  /** Deciding rule index (BY_RULE), else -1. */
  rule: i32 = -1;
  /** BY_INVALID: REASON_NON_CANONICAL_PATH or a TARGET_* code. */
  reason: i32 = 0;
  /** Default deny: nearest enforced allow rule (-1 if none), its first failing field (F_*), and
   *  how many of its fieldCount fields matched. */
  nearestRule: i32 = -1;
  nearestField: i32 = -1;
  nearestMatched: i32 = 0;
  /** Matching audit rules: count (all), first MAX_AUDIT indices, how many are deny rules. */
  auditCount: i32 = 0;
  auditDenyCount: i32 = 0;
  private readonly audit: StaticArray<i32> = new StaticArray<i32>(MAX_AUDIT);

  auditRule(k: i32): i32 { return unchecked(this.audit[k]); }

  reset(): void {
    this.decision = DECISION_DENY;
    this.by = BY_DEFAULT;
    this.rule = -1;
    this.reason = 0;
    this.nearestRule = -1;
    this.nearestField = -1;
    this.nearestMatched = 0;
    this.auditCount = 0;
    this.auditDenyCount = 0;
  }

  recordAudit(rule: i32, deny: bool): void {
    if (this.auditCount < MAX_AUDIT) unchecked(this.audit[this.auditCount] = rule);
    this.auditCount++;
    if (deny) this.auditDenyCount++;
  }
}

// ---- evaluation -----------------------------------------------------------------------------

// The request being decided (module state instead of a per-call object: no allocation).
let cId: Identity | null = null;
let cInTd: bool = false;
let cIn: InboundFacts | null = null;
let cEg: EgressFacts | null = null;

// Whether the current identity is in `set`, the `from` (VERDICT_FROM) or `notFrom`
// (VERDICT_NOT_FROM) list of rule i. For the first VERDICT_RULES rules the answer is remembered
// in the Identity (a connection's cached peer keeps it across requests).
function idListMatches(set: IdSet, i: i32, list: i32): bool {
  const id = cId!;
  if (i >= VERDICT_RULES) return set.match(id, cInTd);
  const known = id.recalled(list, i);
  if (known >= 0) return known != 0;
  const m = set.match(id, cInTd);
  id.remember(list, i, m);
  return m;
}

function fieldMatches(r: Rule, i: i32, f: i32): bool {
  switch (f) {
    case F_FROM: return idListMatches(r.from!, i, VERDICT_FROM);
    case F_NOT_FROM: return !idListMatches(r.notFrom!, i, VERDICT_NOT_FROM);
    case F_METHODS: return r.methods!.match(cIn!.method);
    case F_NOT_METHODS: return !r.notMethods!.match(cIn!.method);
    case F_PATHS: return r.paths!.match(cIn!.path);
    case F_NOT_PATHS: return !r.notPaths!.match(cIn!.path);
    case F_HOSTS: return r.hosts!.match(cEg!.target);
    case F_NOT_HOSTS: return !r.notHosts!.match(cEg!.target);
    case F_PORTS: return r.ports!.match(cEg!.target.port);
    case F_NOT_PORTS: return !r.notPorts!.match(cEg!.target.port);
    case F_CIDRS: return r.cidrs!.match(cEg!.target);
    case F_NOT_CIDRS: return !r.notCidrs!.match(cEg!.target);
  }
  return false;
}

function ruleMatches(p: Policy, i: i32): bool {
  const r = p.rule(i);
  let mask = r.fieldMask;
  // fields in F_* order: the lowest set bit first
  while (mask != 0) {
    const f = ctz(mask);
    if (!fieldMatches(r, i, f)) return false;
    mask &= mask - 1;
  }
  return true;
}

let sFirstMiss: i32 = -1;

/** Number of the rule's fields that match; the first that does not in sFirstMiss (-1 if none). */
function ruleScore(p: Policy, i: i32): i32 {
  const r = p.rule(i);
  let mask = r.fieldMask;
  let n = 0;
  sFirstMiss = -1;
  while (mask != 0) {
    const f = ctz(mask);
    if (fieldMatches(r, i, f)) n++;
    else if (sFirstMiss < 0) sFirstMiss = f;
    mask &= mask - 1;
  }
  return n;
}

function evaluate(p: Policy, out: Decision): void {
  // enforced deny rules
  for (let k = 0; k < p.denyCount; k++) {
    const i = load<i32>(p.denyRules + (<usize>k << 2));
    if (ruleMatches(p, i)) {
      out.decision = DECISION_DENY;
      out.by = BY_RULE;
      out.rule = i;
      break;
    }
  }
  if (out.by != BY_RULE) {
    for (let k = 0; k < p.allowCount; k++) {
      const i = load<i32>(p.allowRules + (<usize>k << 2));
      if (ruleMatches(p, i)) {
        out.decision = DECISION_ALLOW;
        out.by = BY_RULE;
        out.rule = i;
        break;
      }
    }
  }
  if (out.by != BY_RULE) {
    out.by = BY_DEFAULT;
    out.decision = p.defaultAllow ? DECISION_ALLOW : DECISION_DENY;
    if (!p.defaultAllow) {
      let best = -1, bestScore = -1, bestMiss = -1;
      for (let k = 0; k < p.allowCount; k++) {
        const i = load<i32>(p.allowRules + (<usize>k << 2));
        const s = ruleScore(p, i);
        if (s > bestScore) { best = i; bestScore = s; bestMiss = sFirstMiss; }
      }
      out.nearestRule = best;
      out.nearestField = bestMiss;
      out.nearestMatched = best >= 0 ? bestScore : 0;
    }
  }
  for (let k = 0; k < p.auditCount; k++) {
    const i = load<i32>(p.auditRules + (<usize>k << 2));
    if (ruleMatches(p, i)) out.recordAudit(i, p.rule(i).action == ACTION_DENY);
  }
  if (out.decision == DECISION_DENY && p.auditMode) out.decision = DECISION_AUDIT_DENY;
}

/** Whether the identity is in the policy's trust domain; starts (or keeps) its remembered rule
 *  results for this policy. */
function beginIdentity(p: Policy, id: Identity): bool {
  if (id.verdictGen != p.generation) id.beginVerdicts(p.generation, id.inTrustDomain(p.tdPtr, p.tdLen));
  return id.verdictInTd;
}

function invalid(p: Policy, out: Decision, reason: i32): void {
  out.by = BY_INVALID;
  out.reason = reason;
  out.decision = p.auditMode ? DECISION_AUDIT_DENY : DECISION_DENY;
}

/** Decides an inbound request. Allocates nothing. */
export function decideInbound(p: Policy, facts: InboundFacts, out: Decision): void {
  out.reset();
  if (p.role != ROLE_INBOUND) { invalid(p, out, REASON_WRONG_ROLE); return; }
  if (!facts.path.canonical) { invalid(p, out, REASON_NON_CANONICAL_PATH); return; }
  cId = facts.identity;
  cInTd = beginIdentity(p, facts.identity);
  cIn = facts;
  cEg = null;
  evaluate(p, out);
  cIn = null;
}

/** Decides an egress request. Allocates nothing. */
export function decideEgress(p: Policy, facts: EgressFacts, out: Decision): void {
  out.reset();
  if (p.role != ROLE_EGRESS) { invalid(p, out, REASON_WRONG_ROLE); return; }
  if (facts.target.reason != TARGET_OK) { invalid(p, out, facts.target.reason); return; }
  // "0177.0.0.1", "127.1", "0x7f000001"...: Envoy dials another address or asks DNS (host.ts).
  if (facts.target.isIp && !facts.target.canonicalIp) { invalid(p, out, TARGET_AMBIGUOUS_IP); return; }
  cId = facts.identity;
  cInTd = beginIdentity(p, facts.identity);
  cEg = facts;
  cIn = null;
  evaluate(p, out);
  cEg = null;
}

/** The name of an invalid-request reason. */
export function invalidReasonName(reason: i32): string {
  if (reason == REASON_NON_CANONICAL_PATH) return "non_canonical_path";
  if (reason == REASON_WRONG_ROLE) return "wrong_role";
  return targetReasonName(reason);
}

function ruleNameInto(p: Policy, i: i32, b: StrBuf): void {
  const r = p.rule(i);
  b.bytes(r.namePtr, r.nameLen);
}

/** `<rule name>`, `default`, or the invalid-request reason (`non_canonical_path`, ...). */
export function writeRuleLabel(p: Policy, d: Decision, b: StrBuf): void {
  if (d.by == BY_RULE) ruleNameInto(p, d.rule, b);
  else if (d.by == BY_INVALID) b.str(invalidReasonName(d.reason));
  else b.str("default");
}

/** The `wasm.meshgate` filter-state value (docs/internals.md §3). */
export function writeFilterState(p: Policy, d: Decision, id: Identity, b: StrBuf): void {
  b.str("decision=").str(decisionName(d.decision)).str(" rule=");
  writeRuleLabel(p, d, b);
  b.str(" identity=");
  if (id.authenticated) b.bytes(id.ptr, id.len); else b.byte(0x2D);
  b.str(" policy=").str(p.digest12);
}

/** The per-decision debug line: filter state + why (identity reason, nearest rule, audit). */
export function writeDebugLine(p: Policy, d: Decision, id: Identity, b: StrBuf): void {
  writeFilterState(p, d, id, b);
  if (!id.authenticated) b.str(" identity_reason=").str(identityReasonName(id.reason));
  if (d.by == BY_DEFAULT && d.nearestRule >= 0) {
    b.str(" nearest=");
    ruleNameInto(p, d.nearestRule, b);
    b.str(" failed_field=").str(fieldName(d.nearestField));
  }
  if (d.auditCount > 0) {
    b.str(" audit=");
    const n = d.auditCount < MAX_AUDIT ? d.auditCount : MAX_AUDIT;
    for (let k = 0; k < n; k++) {
      if (k > 0) b.byte(0x2C);
      const i = d.auditRule(k);
      ruleNameInto(p, i, b);
      b.byte(0x3A).str(p.rule(i).action == ACTION_DENY ? "would_deny" : "would_allow");
    }
  }
}

/** Whether the policy is for the egress filter. */
export function isEgress(p: Policy): bool { return p.role == ROLE_EGRESS; }
