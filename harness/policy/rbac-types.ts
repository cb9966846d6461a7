/**
 * The Envoy types the RBAC renderings use (proto3 JSON names) — the RBAC HTTP filter
 * (`envoy.extensions.filters.http.rbac.v3.RBAC`) with its policies, and the subset of the unified
 * matcher API (`xds.type.matcher.v3`) — plus small constructors for them. Typed data, never
 * strings (STYLE.md 11).
 */

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

/** The identity context of a branch of the matcher form: one exact URI SAN of its identity map,
 *  or any other caller. */
export type IdContext = { exact: string } | { other: true };

/** One item as itself, several wrapped (`or_rules`, `or_ids`, ...). */
export function or<T>(items: T[], wrap: (xs: T[]) => T): T {
  return items.length === 1 ? items[0] : wrap(items);
}

export const URI_SAN: TypedExtension = {
  name: 'envoy.matching.inputs.uri_san',
  typed_config: { '@type': 'type.googleapis.com/envoy.extensions.matching.common_inputs.ssl.v3.UriSanInput' },
};
export const header = (name: string): TypedExtension => ({
  name: 'envoy.matching.inputs.request_headers',
  typed_config: { '@type': 'type.googleapis.com/envoy.type.matcher.v3.HttpRequestHeaderMatchInput', header_name: name },
});
export const single = (input: TypedExtension, value_match: XdsStringMatcher): XdsPredicate => ({ single_predicate: { input, value_match } });
export const re = (regex: string): XdsStringMatcher => ({ safe_regex: { google_re2: {}, regex } });
export const anyOf = (ps: XdsPredicate[]): XdsPredicate => (ps.length === 1 ? ps[0] : { or_matcher: { predicate: ps } });
export const allOf = (ps: XdsPredicate[]): XdsPredicate => (ps.length === 1 ? ps[0] : { and_matcher: { predicate: ps } });
