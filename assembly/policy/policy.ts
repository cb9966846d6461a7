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
//   policy.resolver: IdentityResolver for the policy's `identity` section

import { Arena } from "../util/arena";
import { IdentityResolver } from "../spiffe/identity";
import { IdSet, MethodSet, PortSet } from "./matchers";
import { PathSet } from "./path";
import { HostSet, CidrSet } from "./host";

export const ROLE_INBOUND: i32 = 0;
export const ROLE_EGRESS: i32 = 1;

export function roleName(role: i32): string { return role == ROLE_EGRESS ? "egress" : "inbound"; }

export const ACTION_ALLOW: i32 = 0;
export const ACTION_DENY: i32 = 1;

// Rule fields, in evaluation (and "first field that did not match") order per role.
export const F_FROM: i32 = 0;
export const F_NOT_FROM: i32 = 1;
export const F_METHODS: i32 = 2;
export const F_NOT_METHODS: i32 = 3;
export const F_PATHS: i32 = 4;
export const F_NOT_PATHS: i32 = 5;
export const F_HOSTS: i32 = 6;
export const F_NOT_HOSTS: i32 = 7;
export const F_PORTS: i32 = 8;
export const F_NOT_PORTS: i32 = 9;
export const F_CIDRS: i32 = 10;
export const F_NOT_CIDRS: i32 = 11;
export const F_COUNT: i32 = 12;

export function fieldName(f: i32): string {
  switch (f) {
    case F_FROM: return "from";
    case F_NOT_FROM: return "notFrom";
    case F_METHODS: return "methods";
    case F_NOT_METHODS: return "notMethods";
    case F_PATHS: return "paths";
    case F_NOT_PATHS: return "notPaths";
    case F_HOSTS: return "hosts";
    case F_NOT_HOSTS: return "notHosts";
    case F_PORTS: return "ports";
    case F_NOT_PORTS: return "notPorts";
    case F_CIDRS: return "cidrs";
    case F_NOT_CIDRS: return "notCidrs";
  }
  return "-";
}

/** The field code of a rule key, or -1. */
export function fieldCode(key: string): i32 {
  for (let f = 0; f < F_COUNT; f++) if (fieldName(f) == key) return f;
  return -1;
}

/** Whether the field exists for the role. */
export function fieldInRole(f: i32, role: i32): bool {
  if (f <= F_NOT_FROM) return true;
  return role == ROLE_INBOUND ? f <= F_NOT_PATHS : f >= F_HOSTS;
}

/** One rule, in the arena. A null matcher = the field was omitted (matches anything). */
// @ts-ignore: decorator
@unmanaged
export class Rule {
  action: i32;
  audit: bool;
  /** Bit (1 << F_*) per field present. */
  fieldMask: i32;
  fieldCount: i32;
  namePtr: usize;
  nameLen: i32;
  from: IdSet | null;
  notFrom: IdSet | null;
  methods: MethodSet | null;
  notMethods: MethodSet | null;
  paths: PathSet | null;
  notPaths: PathSet | null;
  hosts: HostSet | null;
  notHosts: HostSet | null;
  ports: PortSet | null;
  notPorts: PortSet | null;
  cidrs: CidrSet | null;
  notCidrs: CidrSet | null;
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
  /** Lowercase hex sha256 of the exact configuration bytes, and its first 12 digits. */
  digest: string = "";
  digest12: string = "";
  auditMode: bool = false;
  defaultAllow: bool = false;
  tdPtr: usize = 0;
  tdLen: i32 = 0;
  identitySource: i32 = 0;
  resolver: IdentityResolver | null = null;
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
    this.resolver = null;
    this.arena.dispose();
    this.rules = 0;
    this.ruleCount = 0;
    this.denyCount = this.allowCount = this.auditCount = 0;
  }
}
