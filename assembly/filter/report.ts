// How a decision is reported, for the act step (filter/root.ts) and the tests: the filter-state
// value, the debug line and the rule label of the 403 details (docs/internals.md §3). No host
// call and no allocation: everything is written into a caller-owned StrBuf.
//
//   writeRuleLabel(p, d, b)          <rule name> | default | <invalid reason>
//   writeFilterState(p, d, id, b)    decision=<allow|deny|audit_deny> rule=<label> identity=<id|-> policy=<digest12>
//                                    [identity_reason=<why unauthenticated>]   (only with identity=-)
//   writeServerName(f, b)            " sni=<name|->" (TLS passthrough and tunnels, appended to the filter state)
//   writeDebugLine(p, d, id, b)      the filter state plus nearest rule/field, audit rules
//   FilterStateWriter                writeFilterState per request, rewriting only what changed
//   DenyDetails                      the 403's details `meshgate_denied[<label>]`, likewise
import { Policy, ACTION_DENY } from "../policy/policy";
import { Decision, BY_RULE, BY_INVALID, BY_DEFAULT, MAX_AUDIT, decisionName, invalidReasonName } from "../policy/decide";
import { fieldName } from "../policy/fields";
import { Identity, identityReasonName } from "../spiffe/identity";
import { StrBuf } from "../util/strbuf";
import { EgressTarget, TARGET_OK } from "../policy/host";

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

/** The `wasm.meshgate` filter-state value (docs/internals.md §3): for an unauthenticated caller,
 *  why (`identity_reason=svid_root_id`, ...), so the access log says it too. */
export function writeFilterState(p: Policy, d: Decision, id: Identity, b: StrBuf): void {
  writeStateHead(p, d, b);
  writeStateIdentity(p, id, b);
}

/** The filter state up to its identity: `decision=<d> rule=<label> identity=`. */
function writeStateHead(p: Policy, d: Decision, b: StrBuf): void {
  b.str("decision=").str(decisionName(d.decision)).str(" rule=");
  writeRuleLabel(p, d, b);
  b.str(" identity=");
}

/** The rest: `<id|-> policy=<digest12>[ identity_reason=<why>]`. */
function writeStateIdentity(p: Policy, id: Identity, b: StrBuf): void {
  if (id.authenticated) b.bytes(id.ptr, id.len); else b.byte(0x2D);
  b.str(" policy=").str(p.digest12);
  if (!id.authenticated) b.str(" identity_reason=").str(identityReasonName(id.reason));
}

/**
 * ` sni=<name>`: the judged server name (lower case, trailing dot removed) when it was valid,
 * else the name as sent with every byte outside 0x21..0x7E except '=' shown as '?' (so the
 * record stays one space-separated line), else `-` (no name).
 */
export function writeServerName(t: EgressTarget, rawPtr: usize, rawLen: i32, b: StrBuf): void {
  b.str(" sni=");
  if (t.reason == TARGET_OK && !t.isIp && t.nameLen > 0) { b.bytes(t.name, t.nameLen); return; }
  if (rawLen <= 0) { b.byte(0x2D); return; }
  const n = rawLen < MAX_SHOWN ? rawLen : MAX_SHOWN;
  for (let i = 0; i < n; i++) {
    const c = <u32>load<u8>(rawPtr + <usize>i);
    b.byte(c < 0x21 || c > 0x7E || c == 0x3D ? 0x3F : c);
  }
}
const MAX_SHOWN: i32 = 255;

/** The per-decision debug line: filter state + why (nearest rule, audit). */
export function writeDebugLine(p: Policy, d: Decision, id: Identity, b: StrBuf): void {
  writeFilterState(p, d, id, b);
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

/** Which decision and label a memoized text was written for (FilterStateWriter, DenyDetails). */
class LabelKey {
  private decision: i32 = -1; // -1: nothing written yet
  private by: i32 = 0;
  private rule: i32 = 0;
  private reason: i32 = 0;

  /** Whether `d` has the decision and label of the text written last. */
  same(d: Decision): bool {
    return d.decision == this.decision && d.by == this.by && d.rule == this.rule && d.reason == this.reason;
  }

  take(d: Decision): void {
    this.decision = d.decision;
    this.by = d.by;
    this.rule = d.rule;
    this.reason = d.reason;
  }

  forget(): void { this.decision = -1; }
}

/**
 * writeFilterState for every request of one policy, without re-serialising what did not change:
 * the head `decision=<d> rule=<label> identity=` is rewritten only when the decision or its rule
 * differs from the previous request's, and nothing at all when the identity is also the previous
 * one (the same Identity object at the same version: a connection's requests, a repeated caller).
 */
export class FilterStateWriter {
  /** The value of the last write(). */
  readonly value: StrBuf = new StrBuf(256);
  private policy: Policy | null = null;
  // what `value` says: the decision and label, and which identity (object and version)
  private readonly head: LabelKey = new LabelKey();
  /** Bytes of `value` before the identity. */
  private headLen: i32 = 0;
  private identity: usize = 0;
  private identityVersion: u64 = 0;

  /** The policy of the next write()s (configure time). */
  setPolicy(p: Policy): void {
    this.policy = p;
    this.head.forget();
  }

  /** The filter-state value of `d` for `id`: `value`, valid until the next call. */
  write(d: Decision, id: Identity): StrBuf {
    const b = this.value;
    const p = this.policy!;
    if (!this.head.same(d)) {
      writeStateHead(p, d, b.clear());
      this.headLen = b.len;
      this.head.take(d);
    } else if (changetype<usize>(id) == this.identity && id.version == this.identityVersion) {
      return b;
    }
    b.len = this.headLen;
    writeStateIdentity(p, id, b);
    this.identity = changetype<usize>(id);
    this.identityVersion = id.version;
    return b;
  }
}

/** The details of an HTTP deny's 403, `meshgate_denied[<rule|default|reason>]`: rewritten only
 *  when the label differs from the previous deny's. */
export class DenyDetails {
  /** The value of the last write(). */
  readonly value: StrBuf = new StrBuf(96);
  private policy: Policy | null = null;
  private readonly label: LabelKey = new LabelKey();

  /** The policy of the next write()s (configure time). */
  setPolicy(p: Policy): void {
    this.policy = p;
    this.label.forget();
  }

  write(d: Decision): StrBuf {
    const b = this.value;
    if (this.label.same(d)) return b;
    b.clear().str("meshgate_denied[");
    writeRuleLabel(this.policy!, d, b);
    b.str("]");
    this.label.take(d);
    return b;
  }
}
