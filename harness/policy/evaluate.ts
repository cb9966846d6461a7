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
 * The identity is the caller's already-resolved identity: the peer certificate's single URI SAN,
 * or the XFCC identity a trusted proxy vouched for; null = unauthenticated. A string that is not a
 * valid SPIFFE ID counts as unauthenticated. With `identity.from: local` the policy's own `id` is
 * used whatever is passed.
 */
import { isEntryError, listOf, listsOf, type RequestFacts, type RuleList } from './fields';
import type { MatcherField, NormalizedPolicy, NormalizedRule, Role } from './model';
import { canonicalPath, parseAuthority, type AuthorityError } from './patterns';
import { isValidSpiffeId } from './spiffe';

export interface InboundRequest {
  identity: string | null;
  method: string;
  /** `:path`, query included. */
  path: string;
}

export interface EgressRequest {
  identity: string | null;
  /** CONNECT's authority, else `:authority`. */
  authority: string;
  /** `:scheme` (default "https"). */
  scheme?: string;
  connect?: boolean;
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

function effectiveIdentity(policy: NormalizedPolicy, identity: string | null): string | null {
  if (policy.identity.from === 'local') return policy.identity.id ?? null;
  return identity !== null && isValidSpiffeId(identity) ? identity : null;
}

function decide(policy: NormalizedPolicy, role: Role, f: Facts): Decision {
  const section = policy[role];
  if (!section) throw new Error(`the policy has no ${role} section (the meshgate_${role} filter refuses it)`);
  const rules = section.rules;
  const enforced = (action: 'allow' | 'deny') => rules.filter((r) => r.mode === 'enforce' && r.action === action);
  const audit = rules.filter((r) => r.mode === 'audit' && ruleMatches(policy, role, r, f)).map((r) => ({ rule: r.name, wouldBe: r.action }));
  const finish = (d: Omit<Decision, 'audit' | 'identity'>): Decision => ({
    ...d,
    decision: d.decision === 'deny' && policy.mode === 'audit' ? 'audit_deny' : d.decision,
    audit,
    identity: f.identity,
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

function invalid(policy: NormalizedPolicy, reason: string, identity: string | null): Decision {
  return { decision: policy.mode === 'audit' ? 'audit_deny' : 'deny', by: 'invalid', rule: reason, audit: [], identity };
}

/** Decides an inbound request. Throws when the policy has no `inbound` section. */
export function decideInbound(policy: NormalizedPolicy, req: InboundRequest): Decision {
  const identity = effectiveIdentity(policy, req.identity);
  if (!policy.inbound) throw new Error('the policy has no inbound section (the meshgate_inbound filter refuses it)');
  if (canonicalPath(req.path) === null) return invalid(policy, 'non_canonical_path', identity);
  return decide(policy, 'inbound', { identity, method: req.method, path: req.path });
}

/** Decides an egress request. Throws when the policy has no `egress` section. */
export function decideEgress(policy: NormalizedPolicy, req: EgressRequest): Decision {
  const identity = effectiveIdentity(policy, req.identity);
  if (!policy.egress) throw new Error('the policy has no egress section (the meshgate_egress filter refuses it)');
  const target = parseAuthority(req.authority, { scheme: req.scheme ?? 'https', connect: req.connect === true });
  if ('error' in target) return invalid(policy, (target as { error: AuthorityError }).error, identity);
  if ('ip' in target && !target.canonical) return invalid(policy, 'ambiguous_ip', identity);
  return decide(policy, 'egress', { identity, target });
}
