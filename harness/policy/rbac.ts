/**
 * The inbound part of a policy as Envoy's own RBAC HTTP filter (envoy.filters.http.rbac,
 * `envoy.extensions.filters.http.rbac.v3.RBAC`), for differential runs (the same scenario against
 * meshgate and against RBAC) and benchmarks. Everything RBAC can express is rendered as typed
 * data; `unsupported` lists, with the reason, what it cannot.
 *
 * Shape: meshgate evaluates enforced deny rules first, then enforced allow rules, then `default`.
 * RBAC has one action per filter, so the rendering is two filters, in this order:
 *   1. DENY  — `rules`: the enforced deny rules; `shadow_rules`: the audit deny rules.
 *   2. ALLOW — `rules`: the enforced allow rules (no policy matching → 403: the default deny);
 *              `shadow_rules`: the audit allow rules. With `default: allow` the enforced allow
 *              rules cannot change an outcome and the filter only carries the shadow rules.
 * A filter with nothing to do is left out. Global `mode: audit` moves the enforced rules to
 * `shadow_rules` (nothing is enforced). The DENY filter also carries meshgate's first check, the
 * canonical-path rule, as a policy named `non_canonical_path`: six small url_path regexes, one per
 * way a path can be non-canonical (one regex for the whole grammar exceeds RE2's default program
 * size limit of 100 in Envoy).
 *
 * Matchers: each field renders through its entry in the field table (fields.ts FieldRbac; the
 * entries in rbac-entries.ts) on the principal side (who) or the permission side (what) of a
 * policy; a negated list as not_id / not_rule. Within a rule fields AND (and_rules / and_ids),
 * entries OR (or_rules / or_ids).
 */
import { compileList, fieldsOf, listOf, type FieldRbac, type MatchField, type RequestFacts } from './fields';
import type { NormalizedPolicy, NormalizedRule } from './model';
import {
  allOf, anyOf, header, or, RBAC_TYPE, re, single, URI_SAN,
  type IdContext, type Permission, type Principal, type RbacFilterConfig, type RbacHttpFilter, type RbacMatcherFilter, type RbacPolicy,
  type RbacRender, type XdsMatcher, type XdsOnMatch, type XdsPredicate,
} from './rbac-types';

export { SPIFFE_ID_REGEX } from './rbac-entries';
export * from './rbac-types';

type PrincipalRbac = Extract<FieldRbac<unknown>, { side: 'principal' }>;
type PermissionRbac = Extract<FieldRbac<unknown>, { side: 'permission' }>;

/** The inbound fields RBAC renders, on each side of a policy. */
function sideFields(side: 'principal' | 'permission'): MatchField[] {
  return fieldsOf('inbound').filter((f) => f.rbac?.side === side);
}

/** A rule's list, compiled; undefined when omitted. */
function compiled(rule: NormalizedRule, f: MatchField, negated: boolean): unknown[] | undefined {
  const list = listOf(rule, negated ? f.negation : f.name);
  return list === undefined ? undefined : compileList(f, list, { action: rule.action, negated });
}

/** The rule's permission (its permission-side fields). */
function permissionOf(policy: NormalizedPolicy, rule: NormalizedRule): Permission {
  const parts: Permission[] = [];
  for (const f of sideFields('permission')) {
    const rbac = f.rbac as PermissionRbac;
    const list = (entries: unknown[]): Permission =>
      or(entries.map((e) => rbac.entry(e, policy.trustDomain)), (rules) => (rules.some((r) => 'any' in r) ? { any: true } : { or_rules: { rules } }));
    const pos = compiled(rule, f, false);
    const neg = compiled(rule, f, true);
    if (pos) parts.push(list(pos));
    if (neg) parts.push({ not_rule: list(neg) });
  }
  const real = parts.filter((x) => !('any' in x));
  if (real.length === 0) return { any: true };
  return or(real, (rules) => ({ and_rules: { rules } }));
}

/**
 * The rule's principal (its principal-side fields), or null when the rule can never match. With
 * `identity.from: local` the identity is a constant, so the fields are decided here.
 */
function principalOfRule(policy: NormalizedPolicy, rule: NormalizedRule): Principal | null {
  const td = policy.trustDomain;
  const fields = sideFields('principal');
  if (policy.identity.from === 'local') {
    const request: RequestFacts = { trustDomain: td, identity: policy.identity.id ?? null };
    const ok = fields.every((f) =>
      [false, true].every((negated) => {
        const list = compiled(rule, f, negated);
        return list === undefined || list.some((e) => f.matches(e, request)) !== negated;
      }),
    );
    return ok ? { any: true } : null;
  }
  const parts: Principal[] = [];
  for (const f of fields) {
    const rbac = f.rbac as PrincipalRbac;
    const list = (entries: unknown[]) => or(entries.map((e) => rbac.entry(e, td)), (ids): Principal => ({ or_ids: { ids } }));
    const pos = compiled(rule, f, false);
    const neg = compiled(rule, f, true);
    if (pos) parts.push(list(pos));
    if (neg) parts.push({ not_id: list(neg) });
  }
  if (parts.length === 0) return { any: true };
  return or(parts, (ids) => ({ and_ids: { ids } }));
}

/**
 * RE2 regexes (full match on the path without the query) that together match exactly the
 * non-canonical paths of docs/internals.md §2 — except a '#', which url_path never sees (it cuts
 * the fragment; Envoy's codec rejects or strips fragments first).
 */
export const NON_CANONICAL_PATH_REGEXES: readonly string[] = [
  // does not start with '/'
  '(?s)[^/].*',
  // an empty segment
  '(?s).*//.*',
  // a "." or ".." segment
  '(?s).*/\\.\\.?(?:/.*)?',
  // a segment with parameters whose name is empty, "." or ".." ("/..;x/")
  '(?s).*/\\.{0,2};.*',
  // a byte ≤ 0x20, 0x7F, ≥ 0x80, '#', '\\', or one Envoy percent-encodes (" < > ` { } | ^)
  '(?s).*[^\\x21\\x24-\\x3b\\x3d\\x3f-\\x5b\\x5d\\x5f\\x61-\\x7a\\x7e].*',
  // '%' not followed by two hex digits
  '(?s).*%(?:[0-9A-Fa-f]?|[0-9A-Fa-f]?[^0-9A-Fa-f].*)',
  // %2F, %5C, or a percent-encoded unreserved byte (- . 0-9 A-Z _ a-z ~)
  '(?s).*%(?:2[D-Fd-f]|3[0-9]|[46][1-9A-Fa-f]|5[0-9AaCcFf]|7[0-9AaEe]).*',
];

function nonCanonicalPolicy(): RbacPolicy {
  return {
    permissions: NON_CANONICAL_PATH_REGEXES.map((regex): Permission => ({ url_path: { path: { safe_regex: { regex } } } })),
    principals: [{ any: true }],
  };
}

// ---- filters --------------------------------------------------------------------------------

export interface RbacOptions {
  /** Prefix of the filters' stat names (default "meshgate_"): `<prefix>deny_` and `<prefix>allow_`. */
  statPrefix?: string;
}

/** Renders the inbound section as RBAC filters. Throws when the policy has no inbound section. */
export function renderRbac(policy: NormalizedPolicy, options: RbacOptions = {}): RbacRender {
  const section = policy.inbound;
  if (!section) throw new Error('rbac: the policy has no inbound section');
  const prefix = options.statPrefix ?? 'meshgate_';
  const unsupported: string[] = [];

  if (policy.identity.from === 'xfcc') {
    unsupported.push(
      'identity.from: xfcc: RBAC cannot take the caller from the last x-forwarded-client-cert element, and only when the direct peer is a trusted proxy that appended it; nothing is rendered, since leaving out rules that use from/notFrom would change what is allowed',
    );
    return { filters: [], unsupported };
  }

  const globalAudit = policy.mode === 'audit';
  const policies = (rules: NormalizedRule[]): Record<string, RbacPolicy> => {
    const out: Record<string, RbacPolicy> = {};
    for (const r of rules) {
      const principal = principalOfRule(policy, r);
      if (principal === null) continue; // cannot match (identity.from: local)
      out[r.name] = { permissions: [permissionOf(policy, r)], principals: [principal] };
    }
    return out;
  };
  const rules = section.rules;
  const pick = (action: 'allow' | 'deny', mode: 'enforce' | 'audit') => rules.filter((r) => r.action === action && r.mode === mode);
  const enforcedDeny = pick('deny', 'enforce');
  const enforcedAllow = pick('allow', 'enforce');
  const auditDeny = pick('deny', 'audit');
  const auditAllow = pick('allow', 'audit');
  const filters: RbacHttpFilter[] = [];

  // 1. DENY: the canonical-path check, then the deny rules
  {
    const cfg: RbacFilterConfig = { '@type': RBAC_TYPE };
    const canonicalName = rules.some((r) => r.name === 'non_canonical_path') ? 'meshgate:non_canonical_path' : 'non_canonical_path';
    const denyPolicies = (list: NormalizedRule[]) => ({ [canonicalName]: nonCanonicalPolicy(), ...policies(list) });
    if (!globalAudit) {
      cfg.rules = { action: 'DENY', policies: denyPolicies(enforcedDeny) };
      cfg.rules_stat_prefix = `${prefix}deny_`;
    }
    if (globalAudit) {
      cfg.shadow_rules = { action: 'DENY', policies: denyPolicies(enforcedDeny) };
      cfg.shadow_rules_stat_prefix = `${prefix}deny_audit_`;
    } else if (auditDeny.length > 0) {
      cfg.shadow_rules = { action: 'DENY', policies: policies(auditDeny) };
      cfg.shadow_rules_stat_prefix = `${prefix}deny_audit_`;
    }
    filters.push({ name: 'meshgate.rbac.deny', typed_config: { ...cfg, track_per_rule_stats: true } });
  }

  // 2. ALLOW (the default deny lives here: no ALLOW policy matching → 403)
  {
    const cfg: RbacFilterConfig = { '@type': RBAC_TYPE };
    const defaultDeny = section.default === 'deny';
    if (!globalAudit && defaultDeny) {
      cfg.rules = { action: 'ALLOW', policies: policies(enforcedAllow) };
      cfg.rules_stat_prefix = `${prefix}allow_`;
    }
    const shadow = globalAudit ? (defaultDeny ? enforcedAllow : []) : auditAllow;
    if (shadow.length > 0 || (globalAudit && defaultDeny)) {
      cfg.shadow_rules = { action: 'ALLOW', policies: policies(shadow) };
      cfg.shadow_rules_stat_prefix = `${prefix}allow_audit_`;
    }
    if (cfg.rules || cfg.shadow_rules) filters.push({ name: 'meshgate.rbac.allow', typed_config: { ...cfg, track_per_rule_stats: true } });
  }

  // what does not carry over
  if (namesCallers(rules) && policy.identity.from === 'peer-certificate') {
    unsupported.push(
      "multi-SAN refusal: meshgate treats a peer certificate with more than one URI SAN as unauthenticated (it is not an X.509-SVID); RBAC's authenticated.principal_name matches when ANY URI SAN (then any DNS SAN, then the subject) matches",
    );
  }
  if (principalEntries(rules).some(({ entry, rbac }) => rbac.identity(entry) === null)) {
    unsupported.push(
      'SPIFFE ID length: "*" and prefix entries check that the URI SAN is a valid SPIFFE ID with a regex, which cannot bound lengths within RE2\'s program size limit: RBAC also accepts an otherwise valid ID longer than 2048 bytes (or with a trust domain over 255), which meshgate treats as unauthenticated',
    );
  }
  unsupported.push(
    "non_canonical_path with '#': url_path cuts the fragment, so RBAC never sees a '#' (Envoy's codec rejects or strips fragments before any filter); every other non-canonical path is denied by the non_canonical_path policy",
  );
  if (globalAudit && (auditDeny.length > 0 || auditAllow.length > 0)) {
    unsupported.push(
      `audit rules under mode: audit (${[...auditDeny, ...auditAllow].map((r) => r.name).join(', ')}): each RBAC filter has one shadow rule set, which here holds the policy's own rules; the audit rules are left out`,
    );
  }
  if (section.default === 'allow' && enforcedAllow.length > 0) {
    unsupported.push(
      `allow rules under default: allow (${enforcedAllow.map((r) => r.name).join(', ')}): they cannot change an outcome and are left out, so RBAC has no per-rule counters for them`,
    );
  }
  unsupported.push(
    'outcomes: RBAC denies with its own body ("RBAC: access denied") and details (rbac_access_denied_matched_policy[<rule>]) and counts in http.<stat_prefix>.rbac.*; meshgate\'s meshgate_denied[<rule>] details, meshgate.inbound.* counters, nearest-rule debug lines and wasm.meshgate filter state have no RBAC equivalent',
  );
  if (policy.egress) {
    unsupported.push('egress: not rendered (only the inbound section maps onto the RBAC HTTP filter)');
  }
  return { filters, unsupported };
}

// ---- the unified matcher form ---------------------------------------------------------------

const rbacAction = (name: string, action: 'ALLOW' | 'DENY'): XdsOnMatch => ({
  action: { name: 'envoy.filters.rbac.action', typed_config: { '@type': 'type.googleapis.com/envoy.config.rbac.v3.Action', name, action } },
});

/** NON_CANONICAL_PATH_REGEXES for `:path` with its query (the matcher API has no url_path input). */
export const NON_CANONICAL_REQUEST_PATH_REGEXES: readonly string[] = [
  '(?s)[^/].*',
  '(?s)[^?]*//.*',
  '(?s)[^?]*/\\.\\.?(?:[/?].*)?',
  '(?s)[^?]*/\\.{0,2};.*',
  '(?s)[^?]*[^\\x21\\x24-\\x3b\\x3d\\x3f-\\x5b\\x5d\\x5f\\x61-\\x7a\\x7e].*',
  '(?s)[^?]*%(?:[0-9A-Fa-f]?|[0-9A-Fa-f]?[^0-9A-Fa-f].*)',
  '(?s)[^?]*%(?:2[D-Fd-f]|3[0-9]|[46][1-9A-Fa-f]|5[0-9AaCcFf]|7[0-9AaEe]).*',
];

/**
 * A list in a branch: true when an entry matches every request there, false when none can
 * match, else the entries' predicates OR-ed.
 */
function listPredicate(f: MatchField, entries: unknown[], branch: IdContext, trustDomain: string): boolean | XdsPredicate {
  const ps: XdsPredicate[] = [];
  for (const e of entries) {
    const p = f.rbac!.predicate(e, branch, trustDomain);
    if (p === true) return true;
    if (p !== false) ps.push(p);
  }
  return ps.length === 0 ? false : anyOf(ps);
}

/** The rule's predicate in a branch; false = cannot match there, null = matches everything. */
function rulePredicate(policy: NormalizedPolicy, rule: NormalizedRule, branch: IdContext): XdsPredicate | null | false {
  const parts: XdsPredicate[] = [];
  for (const f of fieldsOf('inbound')) {
    if (!f.rbac) continue;
    for (const negated of [false, true]) {
      const list = compiled(rule, f, negated);
      if (list === undefined) continue;
      const p = listPredicate(f, list, branch, policy.trustDomain);
      if (p === !negated) continue; // holds for every request here
      if (p === negated) return false;
      parts.push(negated ? { not_matcher: p as XdsPredicate } : (p as XdsPredicate));
    }
  }
  return parts.length === 0 ? null : allOf(parts);
}

/** The rules' principal-side entries, compiled, in order, each with its field's rendering. */
function principalEntries(rules: NormalizedRule[]): Array<{ entry: unknown; rbac: PrincipalRbac }> {
  return rules.flatMap((r) =>
    sideFields('principal').flatMap((f) =>
      [false, true].flatMap((negated) => (compiled(r, f, negated) ?? []).map((entry) => ({ entry, rbac: f.rbac as PrincipalRbac }))),
    ),
  );
}

/** Some rule names the caller (has a principal-side list). */
function namesCallers(rules: NormalizedRule[]): boolean {
  return rules.some((r) => sideFields('principal').some((f) => listOf(r, f.name) !== undefined || listOf(r, f.negation) !== undefined));
}

/**
 * The same decisions as renderRbac's filters, as ONE RBAC filter using the unified matcher API
 * (`matcher`), for benchmarks: the canonical-path check first, then an exact-match map on the
 * peer's URI SAN (envoy.matching.inputs.uri_san) holding, per identity named in the policy, that
 * identity's rules in meshgate's order (deny rules, then allow rules, then `default`) with `from`
 * and `notFrom` already decided; callers not in the map (other IDs, no certificate, several URI
 * SANs — the input joins them with ',', which no key and no validity regex matches) go through the
 * rules that can still apply to them. Enforced rules only: audit rules are listed as unsupported
 * (a matcher yields one action per request). Global `mode: audit` renders it as `shadow_matcher`.
 */
export function renderRbacMatcher(policy: NormalizedPolicy, options: RbacOptions = {}): { filters: RbacMatcherFilter[]; unsupported: string[] } {
  const section = policy.inbound;
  if (!section) throw new Error('rbac: the policy has no inbound section');
  const unsupported: string[] = [];
  if (policy.identity.from === 'xfcc') {
    unsupported.push('identity.from: xfcc: RBAC cannot take the caller from the last x-forwarded-client-cert element a trusted proxy appended; nothing is rendered');
    return { filters: [], unsupported };
  }
  const enforced = section.rules.filter((r) => r.mode === 'enforce');
  const ordered = [...enforced.filter((r) => r.action === 'deny'), ...enforced.filter((r) => r.action === 'allow')];
  const audit = section.rules.filter((r) => r.mode === 'audit');
  if (audit.length > 0) unsupported.push(`audit rules (${audit.map((r) => r.name).join(', ')}): a matcher yields one action per request, so rules that only count and log are left out`);
  const defaultAction = rbacAction('default', section.default === 'allow' ? 'ALLOW' : 'DENY');

  const branch = (ctx: IdContext): XdsOnMatch => {
    const matchers: Array<{ predicate: XdsPredicate; on_match: XdsOnMatch }> = [];
    for (const r of ordered) {
      const p = rulePredicate(policy, r, ctx);
      if (p === false) continue;
      const on_match = rbacAction(r.name, r.action === 'deny' ? 'DENY' : 'ALLOW');
      if (p === null) {
        // matches everything: it decides every request that gets this far
        if (matchers.length === 0) return on_match;
        return { matcher: { matcher_list: { matchers }, on_no_match: on_match } };
      }
      matchers.push({ predicate: p, on_match });
    }
    return matchers.length === 0 ? defaultAction : { matcher: { matcher_list: { matchers }, on_no_match: defaultAction } };
  };

  let rules: XdsOnMatch;
  if (policy.identity.from === 'local') {
    rules = branch({ exact: policy.identity.id! });
  } else {
    const ids = new Set(principalEntries(ordered).flatMap(({ entry, rbac }) => rbac.identity(entry) ?? []));
    const other = branch({ other: true });
    if (ids.size === 0) rules = other;
    else {
      const map: Record<string, XdsOnMatch> = {};
      for (const id of ids) map[id] = branch({ exact: id });
      rules = { matcher: { matcher_tree: { input: URI_SAN, exact_match_map: { map } }, on_no_match: other } };
    }
  }
  const nonCanonical = anyOf(NON_CANONICAL_REQUEST_PATH_REGEXES.map((r) => single(header(':path'), re(r))));
  const matcher: XdsMatcher = { matcher_list: { matchers: [{ predicate: nonCanonical, on_match: rbacAction('non_canonical_path', 'DENY') }] }, on_no_match: rules };
  const prefix = options.statPrefix ?? 'meshgate_';
  const cfg: RbacMatcherFilter['typed_config'] =
    policy.mode === 'audit'
      ? { '@type': RBAC_TYPE, shadow_matcher: matcher, shadow_rules_stat_prefix: `${prefix}audit_` }
      : { '@type': RBAC_TYPE, matcher, rules_stat_prefix: prefix };
  if (policy.identity.from === 'peer-certificate' && namesCallers(section.rules)) {
    unsupported.push('SPIFFE ID length: prefix entries and "*" check URI SAN validity with a regex that cannot bound lengths: an otherwise valid ID over 2048 bytes is accepted');
  }
  unsupported.push("non_canonical_path with '#': Envoy's codec rejects or strips fragments before any filter");
  if (policy.egress) unsupported.push('egress: not rendered (only the inbound section maps onto the RBAC HTTP filter)');
  return { filters: [{ name: 'meshgate.rbac.matcher', typed_config: cfg }], unsupported };
}
