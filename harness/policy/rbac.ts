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
 * Matchers:
 *   from "spiffe://td/a/b"      authenticated.principal_name exact
 *   from "spiffe://td/ns/x/*"   authenticated.principal_name prefix "spiffe://td/ns/x/", and
 *                               the URI SAN is a valid SPIFFE ID (safe_regex SPIFFE_ID_REGEX)
 *   from "*"                    exact "spiffe://td", or prefix "spiffe://td/" and a valid ID
 *                               (the regex does not contain the trust domain, so its RE2
 *                               program stays under Envoy's size limit whatever the name)
 *   notFrom                     not_id
 *   methods / notMethods        header ":method" exact / not_rule
 *   paths / notPaths            url_path (path without the query) exact / prefix / suffix,
 *                               templates as safe_regex; ignore_case (regex: (?i)) where meshgate
 *                               folds case: `paths` of deny rules, `notPaths` of allow rules
 * Within a rule fields AND (and_rules / and_ids), entries OR (or_rules / or_ids).
 */
import { type NormalizedPolicy, type NormalizedRule } from './model';
import { matchFrom, parseFromEntry, parsePathPattern, pathFold, type PathPattern } from './patterns';

// ---- the Envoy types used (proto3 JSON names) -----------------------------------------------

export interface StringMatcher {
  exact?: string;
  prefix?: string;
  suffix?: string;
  safe_regex?: { regex: string };
  ignore_case?: boolean;
}

export type Permission =
  | { any: true }
  | { and_rules: { rules: Permission[] } }
  | { or_rules: { rules: Permission[] } }
  | { not_rule: Permission }
  | { header: { name: string; string_match: StringMatcher } }
  | { url_path: { path: StringMatcher } };

export type Principal =
  | { any: true }
  | { and_ids: { ids: Principal[] } }
  | { or_ids: { ids: Principal[] } }
  | { not_id: Principal }
  | { authenticated: { principal_name: StringMatcher } };

export interface RbacPolicy {
  permissions: Permission[];
  principals: Principal[];
}

export interface RbacRules {
  action: 'ALLOW' | 'DENY';
  policies: Record<string, RbacPolicy>;
}

export interface RbacFilterConfig {
  '@type': 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC';
  rules?: RbacRules;
  rules_stat_prefix?: string;
  shadow_rules?: RbacRules;
  shadow_rules_stat_prefix?: string;
  track_per_rule_stats?: boolean;
}

/** An entry of the HTTP connection manager's `http_filters`. */
export interface RbacHttpFilter {
  name: string;
  typed_config: RbacFilterConfig;
}

export interface RbacRender {
  /** In order, before the router (and in place of the meshgate_inbound filter). */
  filters: RbacHttpFilter[];
  /** What RBAC cannot express, one sentence each, with the reason. */
  unsupported: string[];
}

export const RBAC_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC' as const;

// ---- matchers -------------------------------------------------------------------------------

/** RE2 syntax: escape every byte that is not a letter or digit (RE2 accepts `\` + punctuation). */
function reEscape(s: string): string {
  return s.replace(/[^A-Za-z0-9]/g, (c) => `\\${c}`);
}

/** One segment of a valid SPIFFE ID path: [A-Za-z0-9._-]+ but not "." or "..". */
const SPIFFE_SEGMENT = '(?:[A-Za-z0-9_-][A-Za-z0-9._-]*|\\.(?:[A-Za-z0-9_-][A-Za-z0-9._-]*|\\.[A-Za-z0-9._-]+))';

/** RE2 (full match) for a syntactically valid SPIFFE ID (any trust domain; lengths unchecked). */
export const SPIFFE_ID_REGEX = `spiffe://[a-z0-9._-]+(?:/${SPIFFE_SEGMENT})*`;

const VALID_ID: Principal = { authenticated: { principal_name: { safe_regex: { regex: SPIFFE_ID_REGEX } } } };

function or<T>(items: T[], wrap: (xs: T[]) => T): T {
  return items.length === 1 ? items[0] : wrap(items);
}

function principalOf(entry: string, trustDomain: string): Principal {
  const e = parseFromEntry(entry);
  if ('error' in e) throw new Error(`rbac: invalid from entry ${JSON.stringify(entry)}: ${e.error} (validate first)`);
  const san = (m: StringMatcher): Principal => ({ authenticated: { principal_name: m } });
  if (e.kind === 'exact') return san({ exact: e.id });
  if (e.kind === 'prefix') return { and_ids: { ids: [san({ prefix: e.prefix }), VALID_ID] } };
  const root = `spiffe://${trustDomain}`;
  return { or_ids: { ids: [san({ exact: root }), { and_ids: { ids: [san({ prefix: `${root}/` }), VALID_ID] } }] } };
}

/** A template as RE2; `one` is the class of a `{*}` segment's bytes. */
function pathRegex(p: Extract<PathPattern, { kind: 'template' }>, one = '[^/]'): string {
  let re = '';
  for (const s of p.segments) {
    if (s.kind === 'literal') re += `/${reEscape(s.text)}`;
    else if (s.kind === 'one') re += `/${one}+`;
    else re += '/.*';
  }
  return re;
}

function pathPermission(pattern: string, fold: boolean): Permission {
  const p = parsePathPattern(pattern);
  if ('error' in p) throw new Error(`rbac: invalid path pattern ${JSON.stringify(pattern)}: ${p.error} (validate first)`);
  const ic = fold ? { ignore_case: true } : {};
  switch (p.kind) {
    case 'any':
      return { any: true };
    case 'exact':
      return { url_path: { path: { exact: p.path, ...ic } } };
    case 'prefix':
      return { url_path: { path: { prefix: p.prefix, ...ic } } };
    case 'suffix':
      return { url_path: { path: { suffix: p.suffix, ...ic } } };
    case 'template':
      return { url_path: { path: { safe_regex: { regex: (fold ? '(?i)' : '') + pathRegex(p) } } } };
  }
}

function methodPermission(methods: string[]): Permission {
  return or(
    methods.map((m): Permission => ({ header: { name: ':method', string_match: { exact: m } } })),
    (rules) => ({ or_rules: { rules } }),
  );
}

/** The rule's permission (method and path fields). */
function permissionOf(rule: NormalizedRule): Permission {
  const parts: Permission[] = [];
  if (rule.methods) parts.push(methodPermission(rule.methods));
  if (rule.notMethods) parts.push({ not_rule: methodPermission(rule.notMethods) });
  const paths = (list: string[], fold: boolean): Permission =>
    or(list.map((p) => pathPermission(p, fold)), (rules) => (rules.some((r) => 'any' in r) ? { any: true } : { or_rules: { rules } }));
  if (rule.paths) parts.push(paths(rule.paths, pathFold(rule.action, 'paths')));
  if (rule.notPaths) parts.push({ not_rule: paths(rule.notPaths, pathFold(rule.action, 'notPaths')) });
  const real = parts.filter((x) => !('any' in x));
  if (real.length === 0) return { any: true };
  return or(real, (rules) => ({ and_rules: { rules } }));
}

/**
 * The rule's principal (from, notFrom), or null when the rule can never match. With
 * `identity.from: local` the identity is a constant, so the fields are decided here.
 */
function principalOfRule(policy: NormalizedPolicy, rule: NormalizedRule): Principal | null {
  const td = policy.trustDomain;
  if (policy.identity.from === 'local') {
    const id = policy.identity.id ?? null;
    const fromOk = rule.from === undefined || rule.from.some((e) => matchFrom(e, id, td));
    const notOk = rule.notFrom === undefined || !rule.notFrom.some((e) => matchFrom(e, id, td));
    return fromOk && notOk ? { any: true } : null;
  }
  const parts: Principal[] = [];
  const list = (entries: string[]) => or(entries.map((e) => principalOf(e, td)), (ids) => ({ or_ids: { ids } }));
  if (rule.from) parts.push(list(rule.from));
  if (rule.notFrom) parts.push({ not_id: list(rule.notFrom) });
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
  // a byte ≤ 0x20, 0x7F, ≥ 0x80, '#' or '\\'
  '(?s).*[^\\x21\\x22\\x24-\\x5b\\x5d-\\x7e].*',
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
      out[r.name] = { permissions: [permissionOf(r)], principals: [principal] };
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
  if (rules.some((r) => r.from || r.notFrom) && policy.identity.from === 'peer-certificate') {
    unsupported.push(
      "multi-SAN refusal: meshgate treats a peer certificate with more than one URI SAN as unauthenticated (it is not an X.509-SVID); RBAC's authenticated.principal_name matches when ANY URI SAN (then any DNS SAN, then the subject) matches",
    );
  }
  const entries = rules.flatMap((r) => [...(r.from ?? []), ...(r.notFrom ?? [])]);
  if (entries.some((e) => e.endsWith('*'))) {
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

/** xds.type.matcher.v3 (proto3 JSON names), the subset used. */
export interface XdsStringMatcher {
  exact?: string;
  prefix?: string;
  suffix?: string;
  safe_regex?: { google_re2: Record<string, never>; regex: string };
  ignore_case?: boolean;
}
export interface TypedExtension {
  name: string;
  typed_config: Record<string, unknown> & { '@type': string };
}
export type XdsPredicate =
  | { single_predicate: { input: TypedExtension; value_match: XdsStringMatcher } }
  | { or_matcher: { predicate: XdsPredicate[] } }
  | { and_matcher: { predicate: XdsPredicate[] } }
  | { not_matcher: XdsPredicate };
export type XdsOnMatch = { action: TypedExtension } | { matcher: XdsMatcher };
export interface XdsMatcher {
  matcher_list?: { matchers: Array<{ predicate: XdsPredicate; on_match: XdsOnMatch }> };
  matcher_tree?: { input: TypedExtension; exact_match_map: { map: Record<string, XdsOnMatch> } };
  on_no_match?: XdsOnMatch;
}

export interface RbacMatcherFilter {
  name: string;
  typed_config: { '@type': typeof RBAC_TYPE; matcher?: XdsMatcher; shadow_matcher?: XdsMatcher; rules_stat_prefix?: string; shadow_rules_stat_prefix?: string };
}

const URI_SAN: TypedExtension = {
  name: 'envoy.matching.inputs.uri_san',
  typed_config: { '@type': 'type.googleapis.com/envoy.extensions.matching.common_inputs.ssl.v3.UriSanInput' },
};
const header = (name: string): TypedExtension => ({
  name: 'envoy.matching.inputs.request_headers',
  typed_config: { '@type': 'type.googleapis.com/envoy.type.matcher.v3.HttpRequestHeaderMatchInput', header_name: name },
});
const single = (input: TypedExtension, value_match: XdsStringMatcher): XdsPredicate => ({ single_predicate: { input, value_match } });
const re = (regex: string): XdsStringMatcher => ({ safe_regex: { google_re2: {}, regex } });
const anyOf = (ps: XdsPredicate[]): XdsPredicate => (ps.length === 1 ? ps[0] : { or_matcher: { predicate: ps } });
const allOf = (ps: XdsPredicate[]): XdsPredicate => (ps.length === 1 ? ps[0] : { and_matcher: { predicate: ps } });
const rbacAction = (name: string, action: 'ALLOW' | 'DENY'): XdsOnMatch => ({
  action: { name: 'envoy.filters.rbac.action', typed_config: { '@type': 'type.googleapis.com/envoy.config.rbac.v3.Action', name, action } },
});

/** NON_CANONICAL_PATH_REGEXES for `:path` with its query (the matcher API has no url_path input). */
export const NON_CANONICAL_REQUEST_PATH_REGEXES: readonly string[] = [
  '(?s)[^/].*',
  '(?s)[^?]*//.*',
  '(?s)[^?]*/\\.\\.?(?:[/?].*)?',
  '(?s)[^?]*/\\.{0,2};.*',
  '(?s)[^?]*[^\\x21\\x22\\x24-\\x5b\\x5d-\\x7e].*',
  '(?s)[^?]*%(?:[0-9A-Fa-f]?|[0-9A-Fa-f]?[^0-9A-Fa-f].*)',
  '(?s)[^?]*%(?:2[D-Fd-f]|3[0-9]|[46][1-9A-Fa-f]|5[0-9AaCcFf]|7[0-9AaEe]).*',
];

/** A `paths` entry as a predicate on `:path` (query included). null = any path. */
function pathPredicate(pattern: string, fold: boolean): XdsPredicate | null {
  const p = parsePathPattern(pattern);
  if ('error' in p) throw new Error(`rbac: invalid path pattern ${JSON.stringify(pattern)}: ${p.error} (validate first)`);
  const ic = fold ? { ignore_case: true } : {};
  const path = header(':path');
  switch (p.kind) {
    case 'any':
      return null;
    case 'exact':
      return anyOf([single(path, { exact: p.path, ...ic }), single(path, { prefix: `${p.path}?`, ...ic })]);
    case 'prefix':
      return single(path, { prefix: p.prefix, ...ic });
    case 'suffix':
      return single(path, re(`${fold ? '(?i)' : ''}(?s)[^?]*${reEscape(p.suffix)}(?:\\?.*)?`));
    case 'template': {
      // on `:path` a segment stops at '?' too; a final {**} takes the query along
      const body = pathRegex(p, '[^/?]');
      return single(path, re(`${fold ? '(?i)' : ''}(?s)${body}${body.endsWith('/.*') ? '' : '(?:\\?.*)?'}`));
    }
  }
}

/** A list of path entries; null = matches everything. */
function pathsPredicate(list: string[], fold: boolean): XdsPredicate | null {
  const ps: XdsPredicate[] = [];
  for (const e of list) {
    const p = pathPredicate(e, fold);
    if (p === null) return null;
    ps.push(p);
  }
  return anyOf(ps);
}

/** The identity context of a branch: one exact URI SAN of the map, or any other caller. */
type IdContext = { exact: string } | { other: true };

/**
 * A `from`/`notFrom` list as a predicate in a branch: true / false when decided by the branch,
 * else a predicate on the URI SAN input (prefix entries and "*", each with the validity regex).
 */
function idPredicate(entries: string[], ctx: IdContext, td: string): boolean | XdsPredicate {
  if ('exact' in ctx) return entries.some((e) => matchFrom(e, ctx.exact, td));
  const ps: XdsPredicate[] = [];
  const valid = single(URI_SAN, re(SPIFFE_ID_REGEX));
  for (const entry of entries) {
    const e = parseFromEntry(entry);
    if ('error' in e) throw new Error(`rbac: invalid from entry ${JSON.stringify(entry)}: ${e.error} (validate first)`);
    if (e.kind === 'exact') continue; // every exact ID has its own branch
    if (e.kind === 'prefix') ps.push(allOf([single(URI_SAN, { prefix: e.prefix }), valid]));
    else ps.push(anyOf([single(URI_SAN, { exact: `spiffe://${td}` }), allOf([single(URI_SAN, { prefix: `spiffe://${td}/` }), valid])]));
  }
  return ps.length === 0 ? false : anyOf(ps);
}

/** The rule's predicate in a branch; false = cannot match there, null = matches everything. */
function rulePredicate(policy: NormalizedPolicy, rule: NormalizedRule, ctx: IdContext): XdsPredicate | null | false {
  const parts: XdsPredicate[] = [];
  if (rule.from) {
    const p = idPredicate(rule.from, ctx, policy.trustDomain);
    if (p === false) return false;
    if (p !== true) parts.push(p);
  }
  if (rule.notFrom) {
    const p = idPredicate(rule.notFrom, ctx, policy.trustDomain);
    if (p === true) return false;
    if (p !== false) parts.push({ not_matcher: p });
  }
  const methods = (ms: string[]) => anyOf(ms.map((m) => single(header(':method'), { exact: m })));
  if (rule.methods) parts.push(methods(rule.methods));
  if (rule.notMethods) parts.push({ not_matcher: methods(rule.notMethods) });
  if (rule.paths) {
    const p = pathsPredicate(rule.paths, pathFold(rule.action, 'paths'));
    if (p !== null) parts.push(p);
  }
  if (rule.notPaths) {
    const p = pathsPredicate(rule.notPaths, pathFold(rule.action, 'notPaths'));
    if (p === null) return false;
    parts.push({ not_matcher: p });
  }
  return parts.length === 0 ? null : allOf(parts);
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
    const ids = new Set<string>();
    for (const r of ordered) for (const e of [...(r.from ?? []), ...(r.notFrom ?? [])]) if (e !== '*' && !e.endsWith('/*')) ids.add(e);
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
  if (policy.identity.from === 'peer-certificate' && section.rules.some((r) => r.from || r.notFrom)) {
    unsupported.push('SPIFFE ID length: prefix entries and "*" check URI SAN validity with a regex that cannot bound lengths: an otherwise valid ID over 2048 bytes is accepted');
  }
  unsupported.push("non_canonical_path with '#': Envoy's codec rejects or strips fragments before any filter");
  if (policy.egress) unsupported.push('egress: not rendered (only the inbound section maps onto the RBAC HTTP filter)');
  return { filters: [{ name: 'meshgate.rbac.matcher', typed_config: cfg }], unsupported };
}
