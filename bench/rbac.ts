/**
 * The two native peers of meshgate, Envoy's RBAC HTTP filter, rendered from the same policy.
 *
 * rbac-classic: `renderRbac` (harness/policy/rbac.ts), i.e. policies and principals as Istio writes
 *   them — per rule one policy, `or_ids` of `authenticated.principal_name` exact matchers (a linear
 *   scan over the principals), a DENY filter then an ALLOW filter. One change: the DENY filter's
 *   `non_canonical_path` policy (six RE2 regexes over the path, meshgate's own canonical-path
 *   check) is left out. Istio does not express that check in RBAC; it relies on the connection
 *   manager's path normalization, which every bench variant has (normalize_path, merge_slashes,
 *   escaped slashes rejected), so every variant sees the same normalized paths. meshgate still
 *   runs its own check inside its measured cost.
 *
 * rbac-matcher: the same policy through RBAC's unified matcher (xds.type.matcher.v3.Matcher), the
 *   strongest native form: the deny rules as a matcher list on `:method`/`:path`, then the allow
 *   rule's method/path predicate, then an `exact_match_map` keyed by the peer's URI SAN
 *   (`envoy.matching.inputs.uri_san`): one hash lookup whatever the number of identities.
 *   Supported shape (what the bench policies use; anything else throws): deny rules without
 *   `from`/`not*`, and one allow rule whose `from` lists exact IDs, with optional methods/paths
 *   (exact or segment-prefix paths). Default deny.
 */
import type { NormalizedPolicy, NormalizedRule } from '../harness/policy/model';
import { renderRbac, type RbacHttpFilter, RBAC_TYPE } from '../harness/policy/rbac';
import { parsePathPattern } from '../harness/policy/patterns';

type Json = Record<string, unknown>;

/** Classic RBAC filters (renderRbac) minus the regex-based canonical-path policy. */
export function renderRbacClassic(policy: NormalizedPolicy): RbacHttpFilter[] {
  const r = renderRbac(policy, { statPrefix: 'bench_' });
  for (const f of r.filters) {
    const rules = f.typed_config.rules;
    if (rules) {
      for (const name of Object.keys(rules.policies)) if (name === 'non_canonical_path') delete rules.policies[name];
    }
  }
  // A DENY filter left without policies decides nothing: drop it.
  return r.filters.filter((f) => !f.typed_config.rules || Object.keys(f.typed_config.rules.policies).length > 0 || f.typed_config.shadow_rules);
}

const ACTION_TYPE = 'type.googleapis.com/envoy.config.rbac.v3.Action';
const HEADER_INPUT_TYPE = 'type.googleapis.com/envoy.type.matcher.v3.HttpRequestHeaderMatchInput';
const URI_SAN_INPUT_TYPE = 'type.googleapis.com/envoy.extensions.matching.common_inputs.ssl.v3.UriSanInput';

function action(name: string, act: 'ALLOW' | 'DENY'): Json {
  return { action: { name: 'envoy.filters.rbac.action', typed_config: { '@type': ACTION_TYPE, name, action: act } } };
}

function headerPredicate(header: string, match: Json): Json {
  return {
    single_predicate: {
      input: { name: `header${header}`, typed_config: { '@type': HEADER_INPUT_TYPE, header_name: header } },
      value_match: match,
    },
  };
}

function anyOf(preds: Json[]): Json {
  return preds.length === 1 ? preds[0] : { or_matcher: { predicate: preds } };
}

function allOf(preds: Json[]): Json | null {
  if (preds.length === 0) return null;
  return preds.length === 1 ? preds[0] : { and_matcher: { predicate: preds } };
}

function pathPredicate(pattern: string, ignoreCase: boolean): Json {
  const p = parsePathPattern(pattern);
  if ('error' in p) throw new Error(`rbac-matcher: bad path ${pattern}: ${p.error}`);
  const ic = ignoreCase ? { ignore_case: true } : {};
  if (p.kind === 'exact') return headerPredicate(':path', { exact: p.path, ...ic });
  if (p.kind === 'prefix') return headerPredicate(':path', { prefix: p.prefix, ...ic });
  throw new Error(`rbac-matcher: path pattern kind ${p.kind} is not supported by the bench renderer`);
}

/** Method and path predicates of a rule (no `not*` fields). */
function requestPredicates(rule: NormalizedRule, foldPaths: boolean): Json[] {
  if (rule.notMethods || rule.notPaths || rule.notFrom) throw new Error(`rbac-matcher: rule ${rule.name}: not* fields are not supported by the bench renderer`);
  const preds: Json[] = [];
  if (rule.methods) preds.push(anyOf(rule.methods.map((m) => headerPredicate(':method', { exact: m }))));
  if (rule.paths) preds.push(anyOf(rule.paths.map((p) => pathPredicate(p, foldPaths))));
  return preds;
}

/** The inbound section as one RBAC filter driven by the unified matcher. */
export function renderRbacMatcher(policy: NormalizedPolicy): RbacHttpFilter {
  const section = policy.inbound;
  if (!section) throw new Error('rbac-matcher: no inbound section');
  if (policy.identity.from !== 'peer-certificate') throw new Error('rbac-matcher: only identity.from peer-certificate maps onto the URI SAN input');
  if (section.default !== 'deny' || policy.mode !== 'enforce') throw new Error('rbac-matcher: only enforce mode with default deny is supported');
  const denies = section.rules.filter((r) => r.action === 'deny' && r.mode === 'enforce');
  const allows = section.rules.filter((r) => r.action === 'allow' && r.mode === 'enforce');
  if (allows.length !== 1) throw new Error('rbac-matcher: exactly one allow rule is supported');
  const allow = allows[0];
  if (!allow.from || allow.from.some((e) => e === '*' || e.endsWith('/*'))) throw new Error('rbac-matcher: the allow rule needs a from list of exact IDs');

  const deny = action('default', 'DENY');
  const map: Record<string, Json> = {};
  for (const id of allow.from) map[id] = action(allow.name, 'ALLOW');
  const identityTree: Json = {
    matcher_tree: {
      input: { name: 'envoy.matching.inputs.uri_san', typed_config: { '@type': URI_SAN_INPUT_TYPE } },
      exact_match_map: { map },
    },
    on_no_match: deny,
  };
  const allowPred = allOf(requestPredicates(allow, false));
  // Allow rule: its method/path predicate, then the identity map.
  const afterDenies: Json = allowPred
    ? { matcher: { matcher_list: { matchers: [{ predicate: allowPred, on_match: { matcher: identityTree } }] }, on_no_match: deny } }
    : { matcher: identityTree };
  let top: Json;
  if (denies.length === 0) {
    top = afterDenies.matcher as Json;
  } else {
    top = {
      matcher_list: {
        matchers: denies.map((r) => {
          if (r.from) throw new Error(`rbac-matcher: deny rule ${r.name} with from is not supported by the bench renderer`);
          const pred = allOf(requestPredicates(r, true));
          if (!pred) throw new Error(`rbac-matcher: deny rule ${r.name} matches everything`);
          return { predicate: pred, on_match: action(r.name, 'DENY') };
        }),
      },
      on_no_match: afterDenies,
    };
  }
  return { name: 'bench.rbac.matcher', typed_config: { '@type': RBAC_TYPE, matcher: top } as unknown as RbacHttpFilter['typed_config'] };
}
