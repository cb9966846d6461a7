// Request-time evaluation (docs/design.md §3.2, docs/internals.md §2-3). Pure (no host
// call, no module state) and allocation-free: the evaluation (with its request facts) and the
// decision are caller-owned objects, pre-allocated once (per root), overwritten per request.
//
//   const ev = new Evaluation(new RequestFacts(identity));   // facts.ts, evaluation.ts
//   const d = new Decision();
//   ev.facts.setInbound(methodPtr, methodLen, pathPtr, pathLen);      // `:method`, `:path`
//   decideInbound(policy, ev, d);
//   ev.facts.setEgress(authorityPtr, authorityLen, schemePtr, schemeLen, isConnect);
//   decideEgress(policy, ev, d);
//   ev.facts.setServerName(refusal, namePtr, nameLen, port);          // TLS passthrough (SNI)
//   decideSni(policy, ev, d);
//
// Order: an invalid request (inbound: non-canonical path; egress: malformed authority, a name
// with an empty label (`bad_host`), or an IPv4
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
// order of the field codes (fields.ts: from, notFrom, methods, notMethods, paths, notPaths
// (inbound) / from, notFrom, hosts, notHosts, ports, notPorts, cidrs, notCidrs (egress)).
// Within a rule, fields AND; entries of a list OR; an omitted field matches anything; a `notX`
// field matches when X does not. A name target never matches `cidrs` and an IP literal never
// matches `hosts`, so a rule that lists both `hosts` and `cidrs` matches nothing (use two rules).
//
// How a decision is reported (filter state, debug line, 403 details) is the act step's business:
// filter/report.ts.

import { Policy, Rule, ACTION_DENY, ROLE_EGRESS, ROLE_INBOUND } from "./policy";
import { Identity } from "../spiffe/identity";
import { fieldMatches } from "./fields";
import { Evaluation } from "./evaluation";
import { TARGET_OK, TARGET_AMBIGUOUS_IP, targetReasonName } from "./host";

export const DECISION_ALLOW: i32 = 0;
export const DECISION_DENY: i32 = 1;
/** Global audit mode: the policy denies, the request goes through. */
export const DECISION_AUDIT_DENY: i32 = 2;

export const BY_RULE: i32 = 0;
export const BY_DEFAULT: i32 = 1;
export const BY_INVALID: i32 = 2;

/** Invalid-request reasons: egress uses the TARGET_* codes of host.ts (1..8, `bad_host` for an
 *  empty label); inbound: */
export const REASON_NON_CANONICAL_PATH: i32 = 100;
/** A programming error in the caller: decideInbound with an egress policy or vice versa (denied,
 *  never a trap). */
export const REASON_WRONG_ROLE: i32 = 101;

/** SNI filter refusals (egress/sni.ts): the connection's first bytes give no name to judge. */
export const REASON_NOT_TLS: i32 = 110;
export const REASON_NO_SNI: i32 = 111;
export const REASON_ECH: i32 = 112;
export const REASON_MALFORMED_CLIENT_HELLO: i32 = 113;
export const REASON_CLIENT_HELLO_TOO_LARGE: i32 = 114;
/** The server_name is not one valid host name (empty label, two trailing dots, IP literal, ...). */
export const REASON_BAD_SNI: i32 = 115;
/** CONNECT tunnel refusals (egress/tunnel.ts): the first tunnel bytes after an allowed CONNECT. */
export const REASON_TUNNEL_NOT_TLS: i32 = 120;
export const REASON_TUNNEL_NO_SNI: i32 = 121;
export const REASON_TUNNEL_ECH: i32 = 122;
export const REASON_TUNNEL_SNI_MISMATCH: i32 = 123;
export const REASON_TUNNEL_MALFORMED_CLIENT_HELLO: i32 = 124;

export const MAX_AUDIT: i32 = 64;

export function decisionName(d: i32): string {
  return d == DECISION_ALLOW ? "allow" : d == DECISION_DENY ? "deny" : "audit_deny";
}

export class Decision {
  decision: i32 = DECISION_DENY;
  by: i32 = BY_DEFAULT;
  /** Deciding rule index (BY_RULE), else -1. */
  rule: i32 = -1;
  /** BY_INVALID: REASON_NON_CANONICAL_PATH or a TARGET_* code. */
  reason: i32 = 0;
  /** Default deny: nearest enforced allow rule (-1 if none) and its first failing field (F_*).
   *  (How many of its fields matched is the trace's business: trace.ts counts them.) */
  nearestRule: i32 = -1;
  nearestField: i32 = -1;
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

// Whether all fields of rule i match; if not, ev.firstMiss is the first field code that did not.
// Inlined into the loops below: a rule costs no call, its fields one jump-table dispatch each.
// @ts-ignore: decorator
@inline
function ruleMatches(p: Policy, i: i32, ev: Evaluation): bool {
  const r = p.rule(i);
  ev.rule = i;
  let mask = r.fieldMask;
  let all = true;
  // fields in code order: the lowest set bit first
  while (mask != 0) {
    const f = ctz(mask);
    if (!fieldMatches(r, f, ev)) { all = false; ev.firstMiss = f; break; }
    mask &= mask - 1;
  }
  return all;
}

/** The first rule of class list `list` (`n` rule indices, document order) whose fields all
 *  match, or -1. */
// @ts-ignore: decorator
@inline
function firstMatch(p: Policy, list: usize, n: i32, ev: Evaluation): i32 {
  for (let k = 0; k < n; k++) {
    const i = load<i32>(list + (<usize>k << 2));
    if (ruleMatches(p, i, ev)) return i;
  }
  return -1;
}

/** Number of the rule's fields that match, and the first that does not in ev.firstMiss; stops
 *  early (returning at most `beat`) once the rest cannot lift the count above `beat`. */
// @ts-ignore: decorator
@inline
function ruleScore(p: Policy, i: i32, ev: Evaluation, beat: i32): i32 {
  const r = p.rule(i);
  ev.rule = i;
  let mask = r.fieldMask;
  let n = 0;
  ev.firstMiss = -1;
  while (mask != 0 && n + popcnt(mask) > beat) {
    const f = ctz(mask);
    if (fieldMatches(r, f, ev)) n++;
    else if (ev.firstMiss < 0) ev.firstMiss = f;
    mask &= mask - 1;
  }
  return n;
}

/**
 * Default deny: the nearest enforced allow rule (most matching fields, ties: the earlier rule)
 * and its first failing field. Every allow rule has just failed (ev.firstMiss: the last one's
 * first miss), so a lone allow rule is the answer without asking its fields again, and a rule
 * that cannot beat the best so far (fieldCount − 1 ≤ best score) is not scored.
 */
function nearestRule(p: Policy, ev: Evaluation, out: Decision): void {
  const n = p.allowCount;
  if (n == 1) {
    out.nearestRule = load<i32>(p.allowRules);
    out.nearestField = ev.firstMiss;
    return;
  }
  let best = -1, bestScore = -1, bestMiss = -1;
  for (let k = 0; k < n; k++) {
    const i = load<i32>(p.allowRules + (<usize>k << 2));
    if (p.rule(i).fieldCount - 1 <= bestScore) continue;
    const s = ruleScore(p, i, ev, bestScore);
    if (s > bestScore) { best = i; bestScore = s; bestMiss = ev.firstMiss; }
  }
  out.nearestRule = best;
  out.nearestField = bestMiss;
}

function evaluate(p: Policy, ev: Evaluation, out: Decision): void {
  // enforced deny rules, then enforced allow rules: the first match decides
  let i = firstMatch(p, p.denyRules, p.denyCount, ev);
  if (i >= 0) {
    out.decision = DECISION_DENY;
    out.by = BY_RULE;
    out.rule = i;
  } else {
    i = firstMatch(p, p.allowRules, p.allowCount, ev);
    if (i >= 0) {
      out.decision = DECISION_ALLOW;
      out.by = BY_RULE;
      out.rule = i;
    }
  }
  if (out.by != BY_RULE) {
    out.by = BY_DEFAULT;
    out.decision = p.defaultAllow ? DECISION_ALLOW : DECISION_DENY;
    if (!p.defaultAllow && p.allowCount > 0) nearestRule(p, ev, out);
  }
  for (let k = 0; k < p.auditCount; k++) {
    const a = load<i32>(p.auditRules + (<usize>k << 2));
    if (ruleMatches(p, a, ev)) out.recordAudit(a, p.rule(a).action == ACTION_DENY);
  }
  if (out.decision == DECISION_DENY && p.auditMode) out.decision = DECISION_AUDIT_DENY;
}

/** Whether the identity is in the policy's trust domain; starts (or keeps) its remembered rule
 *  results for this policy. */
// @ts-ignore: decorator
@inline
function beginIdentity(p: Policy, id: Identity): bool {
  if (id.verdictGen != p.generation) id.beginVerdicts(p.generation, id.inTrustDomain(p.tdPtr, p.tdLen));
  return id.verdictInTd;
}

function invalid(p: Policy, out: Decision, reason: i32): void {
  out.by = BY_INVALID;
  out.reason = reason;
  out.decision = p.auditMode ? DECISION_AUDIT_DENY : DECISION_DENY;
}

/** The rules and the default decide a valid request. */
// @ts-ignore: decorator
@inline
function decideValid(p: Policy, ev: Evaluation, out: Decision): void {
  ev.inTrustDomain = beginIdentity(p, ev.facts.identity);
  evaluate(p, ev, out);
}

/** Decides an inbound request (ev.facts.setInbound). Allocates nothing. */
export function decideInbound(p: Policy, ev: Evaluation, out: Decision): void {
  out.reset();
  if (p.role != ROLE_INBOUND) { invalid(p, out, REASON_WRONG_ROLE); return; }
  if (!ev.facts.path.canonical) { invalid(p, out, REASON_NON_CANONICAL_PATH); return; }
  decideValid(p, ev, out);
}

/** Decides an egress request (ev.facts.setEgress). Allocates nothing. */
export function decideEgress(p: Policy, ev: Evaluation, out: Decision): void {
  out.reset();
  if (p.role != ROLE_EGRESS) { invalid(p, out, REASON_WRONG_ROLE); return; }
  const target = ev.facts.target;
  if (target.reason != TARGET_OK) { invalid(p, out, target.reason); return; }
  // "0177.0.0.1", "127.1", "0x7f000001"...: Envoy dials another address or asks DNS (host.ts).
  if (target.isIp && !target.canonicalIp) { invalid(p, out, TARGET_AMBIGUOUS_IP); return; }
  decideValid(p, ev, out);
}

/**
 * Decides a TLS passthrough connection (ev.facts.setServerName): a refusal the facts reader found
 * in the ClientHello first, then a server_name that is not a valid host name (`bad_sni`), then
 * the egress rules with the judged (name, port). Allocates nothing.
 */
export function decideSni(p: Policy, ev: Evaluation, out: Decision): void {
  out.reset();
  if (p.role != ROLE_EGRESS) { invalid(p, out, REASON_WRONG_ROLE); return; }
  const f = ev.facts;
  if (f.refusal != 0) { invalid(p, out, f.refusal); return; }
  if (f.target.reason != TARGET_OK || f.target.isIp) { invalid(p, out, REASON_BAD_SNI); return; }
  decideValid(p, ev, out);
}

/** The name of an invalid-request reason. */
export function invalidReasonName(reason: i32): string {
  switch (reason) {
    case REASON_NON_CANONICAL_PATH: return "non_canonical_path";
    case REASON_WRONG_ROLE: return "wrong_role";
    case REASON_NOT_TLS: return "not_tls";
    case REASON_NO_SNI: return "no_sni";
    case REASON_ECH: return "ech";
    case REASON_MALFORMED_CLIENT_HELLO: return "malformed_client_hello";
    case REASON_CLIENT_HELLO_TOO_LARGE: return "client_hello_too_large";
    case REASON_BAD_SNI: return "bad_sni";
    case REASON_TUNNEL_NOT_TLS: return "tunnel_not_tls";
    case REASON_TUNNEL_NO_SNI: return "tunnel_no_sni";
    case REASON_TUNNEL_ECH: return "tunnel_ech";
    case REASON_TUNNEL_SNI_MISMATCH: return "tunnel_sni_mismatch";
    case REASON_TUNNEL_MALFORMED_CLIENT_HELLO: return "tunnel_malformed_client_hello";
  }
  return targetReasonName(reason);
}

/** Whether the policy is for the egress filter. */
export function isEgress(p: Policy): bool { return p.role == ROLE_EGRESS; }
