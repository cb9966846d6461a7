// The compiled policy for one filter role: what `compilePolicy` (config.ts) produces and
// `decideInbound` / `decideEgress` (decide.ts) read.
//
// Everything a request touches lives in the policy's Arena (unmanaged memory, invisible to the
// GC): the Rule records, their matcher tables, rule names, the trust domain. The Policy object
// itself is one small managed object. `dispose()` frees the arena; call it when a new
// configuration replaces this one (after the last stream using it is done), so repeated
// re-configures do not grow memory.
//
//   policy.role, policy.generation (unique per Policy), policy.digest (64 hex), policy.digest12, policy.auditMode, policy.defaultAllow
//   policy.ruleCount, policy.rule(i), policy.ruleName(i) (allocates: logs/counters at configure)
//   policy.denyCount / allowCount / auditCount (enforced deny, enforced allow, audit rules)
//   policy.identity: the IdentitySource of the policy's `identity` section (spiffe/sources.ts)

import { Arena } from "../util/arena";
import { IdentitySource } from "../spiffe/sources";

export const ROLE_INBOUND: i32 = 0;
export const ROLE_EGRESS: i32 = 1;

export function roleName(role: i32): string { return role == ROLE_EGRESS ? "egress" : "inbound"; }

export const ACTION_ALLOW: i32 = 0;
export const ACTION_DENY: i32 = 1;

/**
 * One rule, in the arena, followed by its matchers: one pointer per field code (fields.ts), 0 when
 * the field was omitted (matches anything). Allocate with Rule.create.
 */
// @ts-ignore: decorator
@unmanaged
export class Rule {
  action: i32;
  audit: bool;
  /** Egress `tunnel: any`: a CONNECT tunnel this rule allows may carry non-TLS bytes (default
   *  `tls`: its first bytes must be a ClientHello naming the CONNECT host). */
  tunnelAny: bool;
  /** Bit (1 << field code) per field present. */
  fieldMask: i32;
  fieldCount: i32;
  namePtr: usize;
  nameLen: i32;

  /** A zeroed rule with room for `codes` matcher pointers. */
  static create(arena: Arena, codes: i32): Rule {
    return changetype<Rule>(arena.alloc(offsetof<Rule>() + <usize>codes * sizeof<usize>()));
  }

  /** The compiled matcher of field `code` (a MatchField's compile() result), or 0. */
  // @ts-ignore: decorator
  @inline
  matcher(code: i32): usize {
    return load<usize>(changetype<usize>(this) + offsetof<Rule>() + <usize>code * sizeof<usize>());
  }

  setMatcher(code: i32, matcher: usize): void {
    store<usize>(changetype<usize>(this) + offsetof<Rule>() + <usize>code * sizeof<usize>(), matcher);
    this.fieldMask |= 1 << code;
    this.fieldCount++;
  }
}

let lastGeneration: u32 = 0;

/** A number no other Policy of this VM has (never 0): what cached per-identity results are for. */
function nextGeneration(): u32 {
  lastGeneration++;
  if (lastGeneration == 0) lastGeneration = 1;
  return lastGeneration;
}

export class Policy {
  role: i32 = ROLE_INBOUND;
  /** Tags results cached for this policy (Identity verdicts); unique per Policy object. */
  readonly generation: u32 = nextGeneration();
  /** The policy digest (digest.ts: sha256 of the canonical form), and its first 12 digits. */
  digest: string = "";
  digest12: string = "";
  auditMode: bool = false;
  defaultAllow: bool = false;
  tdPtr: usize = 0;
  tdLen: i32 = 0;
  /** Who the caller is: the source named by `identity.from`, with its options. */
  identity: IdentitySource | null = null;
  ruleCount: i32 = 0;
  /** u32 pointers to Rule records, in document order. */
  rules: usize = 0;
  /** i32 rule indices per class, in document order. */
  denyRules: usize = 0;
  denyCount: i32 = 0;
  allowRules: usize = 0;
  allowCount: i32 = 0;
  auditRules: usize = 0;
  auditCount: i32 = 0;
  readonly arena: Arena = new Arena();
  private disposed: bool = false;

  // @ts-ignore: decorator
  @inline
  rule(i: i32): Rule { return changetype<Rule>(<usize>load<u32>(this.rules + (<usize>i << 2))); }

  ruleName(i: i32): string {
    const r = this.rule(i);
    return String.UTF8.decodeUnsafe(r.namePtr, <usize>r.nameLen);
  }

  /** Index of the rule with this name, or -1 (tests, tooling). */
  ruleIndex(name: string): i32 {
    for (let i = 0; i < this.ruleCount; i++) if (this.ruleName(i) == name) return i;
    return -1;
  }

  /** Frees every table. The policy must not be used afterwards. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.identity = null;
    this.arena.dispose();
    this.rules = 0;
    this.ruleCount = 0;
    this.denyCount = this.allowCount = this.auditCount = 0;
  }
}
