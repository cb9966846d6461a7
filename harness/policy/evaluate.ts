/**
 * The filter's decision in TypeScript (docs/design.md §3.2, docs/internals.md §2,
 * assembly/policy/decide.ts): what a request against a policy should come to, for scenario
 * expectations, static analysis and differential tests against the Wasm filter.
 *
 * Order: an invalid request (inbound: a non-canonical path; egress: a malformed authority, or an
 * IPv4 literal in an inet_aton form other than the plain dotted quad — `ambiguous_ip`, since
 * Envoy does not dial what inet_aton reads: "0177.0.0.1" becomes 177.0.0.1, "127.1" or
 * "0x7f000001" go to DNS as names) is denied first with its reason. Then the enforced deny rules (the first matching one in document
 * order decides), then the enforced allow rules (likewise), then `default`. Audit rules are
 * evaluated for every valid request and reported, never deciding. Global `mode: audit` turns a
 * deny into `audit_deny` (the request goes through). For a default deny, `nearest` is the
 * enforced allow rule with the most matching fields (ties: the earlier) and the first of its
 * fields that did not match.
 *
 * The identity is either the caller's already-resolved identity (the peer certificate's single
 * URI SAN, or the XFCC identity a trusted proxy vouched for; null = unauthenticated) or what the
 * request presents (a PresentedCaller: the peer's certificate facts and XFCC), resolved by the
 * policy's identity source as the filter does (caller.ts). A resolved string still has to be a
 * valid SPIFFE ID with a path, of `trustDomain` or `federatesWith`, else the caller is
 * unauthenticated with the filter's reason (`invalid_spiffe_id`, `svid_root_id`,
 * `foreign_trust_domain`) in `identityReason`. With `identity.from: local` the policy's own `id`
 * is used whatever is passed.
 */
import { isEntryError, listOf, listsOf, type RequestFacts, type RuleList } from './fields';
import type { MatcherField, NormalizedPolicy, NormalizedRule, Role } from './model';
import { canonicalPath, parseAuthority, type AuthorityError } from './patterns';
import { admitId, resolveCaller, type Caller, type PresentedCaller } from './caller';
import type { IdentityReason } from './svid';

/** A resolved identity (null: unauthenticated) or what the request presents. */
export type RequestIdentity = string | null | PresentedCaller;

export interface InboundRequest {
  identity: RequestIdentity;
  method: string;
  /** `:path`, query included. */
  path: string;
  /** The other request headers (lower-case names, in order), for fields that match headers. */
  headers?: readonly (readonly [string, string])[];
}

export interface EgressRequest {
  identity: RequestIdentity;
  /** CONNECT's authority, else `:authority`. */
  authority: string;
  /** `:scheme` (default "https"). */
  scheme?: string;
  connect?: boolean;
  /** The other request headers (lower-case names, in order), for fields that match headers. */
  headers?: readonly (readonly [string, string])[];
}

export type Outcome = 'allow' | 'deny' | 'audit_deny';

export interface Decision {
  decision: Outcome;
  by: 'rule' | 'default' | 'invalid';
  /** The deciding rule's name, `default`, or the invalid-request reason (`non_canonical_path`, ...). */
  rule: string;
  /** Audit rules that matched, in document order, with what they would have done. */
  audit: Array<{ rule: string; wouldBe: 'allow' | 'deny' }>;
  /** Default deny only: the nearest enforced allow rule and its first failing field. */
  nearest?: { rule: string; field: MatcherField };
  /** The identity the decision used (null: unauthenticated). */
  identity: string | null;
  /** Why the caller is unauthenticated, when known (an unauthenticated `null` says nothing). */
  identityReason?: IdentityReason;
}

/** The request's side of a decision: what the fields read (the trust domain comes from the policy). */
type Facts = Omit<RequestFacts, 'trustDomain'>;

/** One list of the rule against the request; an invalid entry matches nothing. */
function listMatches(policy: NormalizedPolicy, rule: NormalizedRule, { field, negated, name }: RuleList, facts: Facts): boolean {
  const request: RequestFacts = { ...facts, trustDomain: policy.trustDomain };
  const hit = listOf(rule, name)!.some((entry) => {
    const c = field.parse(entry as never, { action: rule.action, negated });
    return !isEntryError(c) && field.matches(c, request);
  });
  return hit !== negated;
}

/** The lists the rule has, in evaluation order. */
function presentLists(rule: NormalizedRule, role: Role): RuleList[] {
  return listsOf(role).filter((l) => listOf(rule, l.name) !== undefined);
}

export function ruleMatches(policy: NormalizedPolicy, role: Role, rule: NormalizedRule, f: Facts): boolean {
  return presentLists(rule, role).every((l) => listMatches(policy, rule, l, f));
}

/** The caller the filter would see; reason null when an unauthenticated caller was given. */
function effectiveCaller(policy: NormalizedPolicy, identity: RequestIdentity): Caller | { identity: null; reason: null } {
  if (policy.identity.from === 'local') return admitId(policy, policy.identity.id ?? '');
  if (identity === null) return { identity: null, reason: null };
  return typeof identity === 'string' ? admitId(policy, identity) : resolveCaller(policy, identity);
}

/** The decision's identity fields for a caller. */
function reported(c: ReturnType<typeof effectiveCaller>): Pick<Decision, 'identity' | 'identityReason'> {
  return c.identity === null && c.reason !== null ? { identity: null, identityReason: c.reason } : { identity: c.identity };
}

function decide(policy: NormalizedPolicy, role: Role, f: Facts, who: Pick<Decision, 'identity' | 'identityReason'>): Decision {
  const section = policy[role];
  if (!section) throw new Error(`the policy has no ${role} section (the meshgate_${role} filter refuses it)`);
  const rules = section.rules;
  const enforced = (action: 'allow' | 'deny') => rules.filter((r) => r.mode === 'enforce' && r.action === action);
  const audit = rules.filter((r) => r.mode === 'audit' && ruleMatches(policy, role, r, f)).map((r) => ({ rule: r.name, wouldBe: r.action }));
  const finish = (d: Omit<Decision, 'audit' | 'identity'>): Decision => ({
    ...d,
    decision: d.decision === 'deny' && policy.mode === 'audit' ? 'audit_deny' : d.decision,
    audit,
    ...who,
  });
  const deny = enforced('deny').find((r) => ruleMatches(policy, role, r, f));
  if (deny) return finish({ decision: 'deny', by: 'rule', rule: deny.name });
  const allow = enforced('allow').find((r) => ruleMatches(policy, role, r, f));
  if (allow) return finish({ decision: 'allow', by: 'rule', rule: allow.name });
  if (section.default === 'allow') return finish({ decision: 'allow', by: 'default', rule: 'default' });
  let nearest: Decision['nearest'];
  let best = -1;
  for (const r of enforced('allow')) {
    const lists = presentLists(r, role);
    const matched = lists.filter((l) => listMatches(policy, r, l, f));
    if (matched.length > best) {
      best = matched.length;
      const miss = lists.find((l) => !matched.includes(l));
      nearest = miss ? { rule: r.name, field: miss.name } : undefined;
    }
  }
  return finish({ decision: 'deny', by: 'default', rule: 'default', ...(nearest ? { nearest } : {}) });
}

function invalid(policy: NormalizedPolicy, reason: string, who: Pick<Decision, 'identity' | 'identityReason'>): Decision {
  return { decision: policy.mode === 'audit' ? 'audit_deny' : 'deny', by: 'invalid', rule: reason, audit: [], ...who };
}

/** Decides an inbound request. Throws when the policy has no `inbound` section. */
export function decideInbound(policy: NormalizedPolicy, req: InboundRequest): Decision {
  const who = reported(effectiveCaller(policy, req.identity));
  if (!policy.inbound) throw new Error('the policy has no inbound section (the meshgate_inbound filter refuses it)');
  if (canonicalPath(req.path) === null) return invalid(policy, 'non_canonical_path', who);
  return decide(policy, 'inbound', { identity: who.identity, method: req.method, path: req.path, headers: req.headers ?? [] }, who);
}

/** Decides an egress request. Throws when the policy has no `egress` section. */
export function decideEgress(policy: NormalizedPolicy, req: EgressRequest): Decision {
  const who = reported(effectiveCaller(policy, req.identity));
  if (!policy.egress) throw new Error('the policy has no egress section (the meshgate_egress filter refuses it)');
  const target = parseAuthority(req.authority, { scheme: req.scheme ?? 'https', connect: req.connect === true });
  if ('error' in target) return invalid(policy, (target as { error: AuthorityError }).error, who);
  if ('ip' in target && !target.canonical) return invalid(policy, 'ambiguous_ip', who);
  return decide(policy, 'egress', { identity: who.identity, target, headers: req.headers ?? [] }, who);
}
