// Why a request got its decision (`meshgate explain`): every rule in the filter's own evaluation
// order with every field's answer, written as JSON. Testkit only (assembly/testkit.ts): the filter
// module never imports this file, so build/meshgate.wasm and its hot path are unchanged.
//
//   decideInbound(p, ev, d);                 // the real decision first (decide.ts)
//   const ok = writeTrace(p, ev, d, buf);    // then the trace, over the same facts
//
// The trace asks each field the same question decide.ts does — the field's own matcher
// (fields.ts fieldMatches, negation applied) — but asks every field of every rule instead of stopping
// at the first miss. From those answers it derives the outcome on its own (first matching deny
// rule, else first matching allow rule, else the default; the nearest allow rule; the matching
// audit rules) and returns whether that equals `d`: false means the trace does not describe what
// the filter decided, and the caller must refuse to print it.
//
// JSON: {"decision","by":"rule|default|invalid","label","reason"?,"inTrustDomain","consistent",
//   "rules":[{"name","index","action","mode","phase":"deny|allow|audit","evaluated","matched",
//   "stoppedAt":<field|null>,"fields":[{"field","matched"}...]}...],
//   "nearest":{"rule","field","matched"}|null,"audit":[{"rule","action"}...]}
// `evaluated`: the filter looks at the rule for this request (deny rules up to the first match;
// allow rules up to the first match when no deny rule matched, all of them when the default denies
// — the nearest is chosen among them; audit rules always). An invalid request evaluates no rule.

import { StrBuf } from "../util/strbuf";
import { Policy, Rule, ACTION_DENY } from "./policy";
import { Evaluation } from "./evaluation";
import { fieldMatches, fieldName } from "./fields";
import {
  Decision, DECISION_ALLOW, DECISION_DENY, DECISION_AUDIT_DENY, BY_RULE, BY_DEFAULT, BY_INVALID, MAX_AUDIT,
  decisionName, invalidReasonName,
} from "./decide";

const PHASE_DENY: i32 = 0;
const PHASE_ALLOW: i32 = 1;
const PHASE_AUDIT: i32 = 2;

/** Field `code` of rule `i`, answered by the field's matcher exactly as decide.ts asks it. */
function fieldAnswer(r: Rule, i: i32, code: i32, ev: Evaluation): bool {
  ev.rule = i;
  return fieldMatches(r, code, ev);
}

/** One rule's answers: how many fields matched and the first that did not (-1: none). */
class RuleAnswer {
  matched: i32 = 0;
  firstMiss: i32 = -1;
}

function answer(p: Policy, i: i32, ev: Evaluation, a: RuleAnswer): RuleAnswer {
  const r = p.rule(i);
  a.matched = 0;
  a.firstMiss = -1;
  let mask = r.fieldMask;
  while (mask != 0) {
    const f = ctz(mask);
    if (fieldAnswer(r, i, f, ev)) a.matched++;
    else if (a.firstMiss < 0) a.firstMiss = f;
    mask &= mask - 1;
  }
  return a;
}

function writeRule(p: Policy, i: i32, phase: i32, evaluated: bool, ev: Evaluation, b: StrBuf): void {
  const r = p.rule(i);
  const a = answer(p, i, ev, new RuleAnswer());
  b.str("{\"name\":").json(r.namePtr, r.nameLen).str(",\"index\":").int(i);
  b.str(",\"action\":\"").str(r.action == ACTION_DENY ? "deny" : "allow").str("\",\"mode\":\"").str(r.audit ? "audit" : "enforce");
  b.str("\",\"phase\":\"").str(phase == PHASE_DENY ? "deny" : phase == PHASE_ALLOW ? "allow" : "audit");
  b.str("\",\"evaluated\":").str(evaluated ? "true" : "false");
  b.str(",\"matched\":").str(a.firstMiss < 0 ? "true" : "false").str(",\"stoppedAt\":");
  if (a.firstMiss < 0) b.str("null"); else b.byte(0x22).str(fieldName(a.firstMiss)).byte(0x22);
  b.str(",\"fields\":[");
  let mask = r.fieldMask;
  let first = true;
  while (mask != 0) {
    const f = ctz(mask);
    if (!first) b.byte(0x2C);
    first = false;
    b.str("{\"field\":\"").str(fieldName(f)).str("\",\"matched\":").str(fieldAnswer(r, i, f, ev) ? "true" : "false").byte(0x7D);
    mask &= mask - 1;
  }
  b.str("]}");
}

function ruleAt(list: usize, k: i32): i32 { return load<i32>(list + (<usize>k << 2)); }

/** The first rule of `list` (count n) whose fields all match, or -1. */
function firstMatch(p: Policy, list: usize, n: i32, ev: Evaluation, a: RuleAnswer): i32 {
  for (let k = 0; k < n; k++) {
    const i = ruleAt(list, k);
    if (answer(p, i, ev, a).firstMiss < 0) return i;
  }
  return -1;
}

/**
 * Writes the trace of decision `d` (just made by decideInbound/Egress/Sni with `ev`) to `b`;
 * returns whether the trace's own outcome equals `d`. Allocates (testkit only).
 */
export function writeTrace(p: Policy, ev: Evaluation, d: Decision, b: StrBuf): bool {
  const a = new RuleAnswer();
  let consistent = true;
  const invalid = d.by == BY_INVALID;
  // the outcome, from the fields' answers alone
  const denyWin = invalid ? -1 : firstMatch(p, p.denyRules, p.denyCount, ev, a);
  const allowWin = invalid || denyWin >= 0 ? -1 : firstMatch(p, p.allowRules, p.allowCount, ev, a);
  const winner = denyWin >= 0 ? denyWin : allowWin;
  const byDefault = !invalid && winner < 0;
  let nearest = -1, nearestScore = -1, nearestMiss = -1;
  if (byDefault && !p.defaultAllow) {
    for (let k = 0; k < p.allowCount; k++) {
      const i = ruleAt(p.allowRules, k);
      answer(p, i, ev, a);
      if (a.matched > nearestScore) { nearest = i; nearestScore = a.matched; nearestMiss = a.firstMiss; }
    }
  }
  let base = denyWin >= 0 ? DECISION_DENY : allowWin >= 0 ? DECISION_ALLOW : p.defaultAllow ? DECISION_ALLOW : DECISION_DENY;
  if (invalid) base = DECISION_DENY;
  const decision = base == DECISION_DENY && p.auditMode ? DECISION_AUDIT_DENY : base;
  if (decision != d.decision) consistent = false;
  if (!invalid && (winner >= 0 ? d.by != BY_RULE || d.rule != winner : d.by != BY_DEFAULT)) consistent = false;
  if (byDefault && (d.nearestRule != nearest || d.nearestField != (nearest >= 0 ? nearestMiss : -1))) consistent = false;
  // audit rules, in order
  let audits = 0;
  if (!invalid) {
    for (let k = 0; k < p.auditCount; k++) {
      const i = ruleAt(p.auditRules, k);
      if (answer(p, i, ev, a).firstMiss >= 0) continue;
      if (audits >= d.auditCount || (audits < MAX_AUDIT && d.auditRule(audits) != i)) consistent = false;
      audits++;
    }
  }
  if (audits != d.auditCount) consistent = false;

  b.str("{\"decision\":\"").str(decisionName(d.decision)).str("\",\"by\":\"");
  b.str(invalid ? "invalid" : d.by == BY_RULE ? "rule" : "default").str("\",\"label\":");
  if (d.by == BY_RULE) { const r = p.rule(d.rule); b.json(r.namePtr, r.nameLen); }
  else if (invalid) b.jsonStr(invalidReasonName(d.reason));
  else b.str("\"default\"");
  if (invalid) b.str(",\"reason\":").jsonStr(invalidReasonName(d.reason));
  b.str(",\"defaultAllow\":").str(p.defaultAllow ? "true" : "false");
  b.str(",\"auditMode\":").str(p.auditMode ? "true" : "false");
  b.str(",\"inTrustDomain\":").str(ev.inTrustDomain ? "true" : "false");
  b.str(",\"consistent\":").str(consistent ? "true" : "false").str(",\"rules\":[");
  let n = 0;
  if (!invalid) {
    for (let k = 0; k < p.denyCount; k++) {
      const i = ruleAt(p.denyRules, k);
      if (n++ > 0) b.byte(0x2C);
      writeRule(p, i, PHASE_DENY, denyWin < 0 || k <= indexIn(p.denyRules, p.denyCount, denyWin), ev, b);
    }
    for (let k = 0; k < p.allowCount; k++) {
      const i = ruleAt(p.allowRules, k);
      if (n++ > 0) b.byte(0x2C);
      const reached = denyWin < 0 && (allowWin < 0 ? byDefault : k <= indexIn(p.allowRules, p.allowCount, allowWin));
      writeRule(p, i, PHASE_ALLOW, reached, ev, b);
    }
    for (let k = 0; k < p.auditCount; k++) {
      if (n++ > 0) b.byte(0x2C);
      writeRule(p, ruleAt(p.auditRules, k), PHASE_AUDIT, true, ev, b);
    }
  }
  b.str("],\"nearest\":");
  if (d.by == BY_DEFAULT && d.nearestRule >= 0) {
    const r = p.rule(d.nearestRule);
    b.str("{\"rule\":").json(r.namePtr, r.nameLen).str(",\"field\":\"").str(fieldName(d.nearestField));
    b.str("\",\"matched\":").int(answer(p, d.nearestRule, ev, a).matched).str(",\"of\":").int(r.fieldCount).byte(0x7D);
  } else b.str("null");
  b.str(",\"audit\":[");
  const shown = d.auditCount < MAX_AUDIT ? d.auditCount : MAX_AUDIT;
  for (let k = 0; k < shown; k++) {
    if (k > 0) b.byte(0x2C);
    const r = p.rule(d.auditRule(k));
    b.str("{\"rule\":").json(r.namePtr, r.nameLen).str(",\"action\":\"").str(r.action == ACTION_DENY ? "deny" : "allow").str("\"}");
  }
  b.str("]}");
  return consistent;
}

/** The position of rule `i` in class list `list`, or n. */
function indexIn(list: usize, n: i32, i: i32): i32 {
  for (let k = 0; k < n; k++) if (ruleAt(list, k) == i) return k;
  return n;
}
