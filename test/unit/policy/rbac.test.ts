/**
 * The RBAC renderer (harness/policy/rbac.ts): the full output for the shop example, the variants
 * (audit, default allow, identity sources), and the regexes checked against the shared vectors.
 * test/unit/policy/rbac-envoy.test.ts loads the output into a real Envoy.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { compilePolicy, compilePolicyFile } from '../../../harness/policy/compile';
import type { NormalizedPolicy } from '../../../harness/policy/model';
import { isCanonicalPath, matchFrom } from '../../../harness/policy/patterns';
import {
  NON_CANONICAL_PATH_REGEXES, RBAC_TYPE, renderRbac, renderRbacMatcher, SPIFFE_ID_REGEX,
  type Principal, type StringMatcher, type TypedExtension, type XdsMatcher, type XdsOnMatch, type XdsPredicate, type XdsStringMatcher,
} from '../../../harness/policy/rbac';
import { decideInbound } from '../../../harness/policy/evaluate';
import { isValidSpiffeId } from '../../../harness/policy/spiffe';

const ROOT = path.resolve(__dirname, '../../..');
const vectors = <T>(name: string): T => JSON.parse(fs.readFileSync(path.join(ROOT, 'test/vectors', name), 'utf8')) as T;
const policyOf = (doc: object): NormalizedPolicy => {
  const r = compilePolicy(doc, 'inline');
  expect(r.errors).toEqual([]);
  return r.normalized!;
};

/** RE2 full-match semantics in JS for the subset of syntax the renderer uses. */
const re2 = (regex: string) => {
  const dotAll = regex.startsWith('(?s)');
  const ci = regex.startsWith('(?i)');
  const body = regex.replace(/^\(\?[si]\)/, '');
  return new RegExp(`^(?:${body})$`, (dotAll ? 's' : '') + (ci ? 'i' : ''));
};

const VALID_ID = { authenticated: { principal_name: { safe_regex: { regex: SPIFFE_ID_REGEX } } } };

const NON_CANONICAL = {
  name: 'non_canonical_path',
  policy: {
    permissions: NON_CANONICAL_PATH_REGEXES.map((regex) => ({ url_path: { path: { safe_regex: { regex } } } })),
    principals: [{ any: true }],
  },
};

describe('the shop example', () => {
  const r = compilePolicyFile(path.join(ROOT, 'examples/shop/policy.yaml'));
  const out = renderRbac(r.normalized!);

  it('renders a DENY filter (canonical paths, no-admin) and an ALLOW filter (store, the audit reader as shadow)', () => {
    expect(out.filters).toEqual([
      {
        name: 'meshgate.rbac.deny',
        typed_config: {
          '@type': RBAC_TYPE,
          rules: {
            action: 'DENY',
            policies: {
              [NON_CANONICAL.name]: NON_CANONICAL.policy,
              'no-admin': {
                permissions: [{ or_rules: { rules: [
                  { url_path: { path: { exact: '/admin', ignore_case: true } } },
                  { url_path: { path: { prefix: '/admin/', ignore_case: true } } },
                ] } }],
                principals: [{ any: true }],
              },
            },
          },
          rules_stat_prefix: 'meshgate_deny_',
          track_per_rule_stats: true,
        },
      },
      {
        name: 'meshgate.rbac.allow',
        typed_config: {
          '@type': RBAC_TYPE,
          rules: {
            action: 'ALLOW',
            policies: {
              'store-creates-charges': {
                permissions: [{ and_rules: { rules: [
                  { header: { name: ':method', string_match: { exact: 'POST' } } },
                  { or_rules: { rules: [{ url_path: { path: { exact: '/charges' } } }, { url_path: { path: { prefix: '/charges/' } } }] } },
                ] } }],
                principals: [{ authenticated: { principal_name: { exact: 'spiffe://example.org/ns/shop/sa/store' } } }],
              },
            },
          },
          rules_stat_prefix: 'meshgate_allow_',
          shadow_rules: {
            action: 'ALLOW',
            policies: {
              'try-new-reader': {
                permissions: [{ and_rules: { rules: [
                  { header: { name: ':method', string_match: { exact: 'GET' } } },
                  { url_path: { path: { safe_regex: { regex: '/charges/[^/]+/receipt' } } } },
                ] } }],
                principals: [{ and_ids: { ids: [
                  { authenticated: { principal_name: { prefix: 'spiffe://example.org/ns/shop/' } } },
                  VALID_ID,
                ] } }],
              },
            },
          },
          shadow_rules_stat_prefix: 'meshgate_allow_audit_',
          track_per_rule_stats: true,
        },
      },
    ]);
  });

  it('lists what RBAC cannot express, with the reason', () => {
    expect(out.unsupported.map((u) => u.split(':')[0])).toEqual([
      'multi-SAN refusal',
      'SPIFFE ID length',
      "non_canonical_path with '#'",
      'outcomes',
      'egress',
    ]);
    expect(out.unsupported[0]).toContain('matches when ANY URI SAN');
  });
});

describe('variants', () => {
  const TD = { trustDomain: 'example.org', federatesWith: ['other.org'] };
  const names = (policy: NormalizedPolicy) =>
    renderRbac(policy).filters.map((f) => {
      const c = f.typed_config;
      const list = (x?: { action: string; policies: object }) => (x ? `${x.action}[${Object.keys(x.policies).join(',')}]` : '-');
      return `${f.name} rules=${list(c.rules)} shadow=${list(c.shadow_rules)}`;
    });

  it.each([
    ['no rules, default deny: only the canonical check, and an ALLOW filter without policies (deny all)', { ...TD, inbound: {} }, [
      'meshgate.rbac.deny rules=DENY[non_canonical_path] shadow=-',
      'meshgate.rbac.allow rules=ALLOW[] shadow=-',
    ]],
    ['default allow: allow rules cannot change an outcome', { ...TD, inbound: { default: 'allow', rules: [{ name: 'a', paths: ['/a'] }, { name: 'd', action: 'deny', paths: ['/d'] }] } }, [
      'meshgate.rbac.deny rules=DENY[non_canonical_path,d] shadow=-',
    ]],
    ['default allow with an audit allow rule: a shadow-only ALLOW filter', { ...TD, inbound: { default: 'allow', rules: [{ name: 'a', mode: 'audit', paths: ['/a'] }] } }, [
      'meshgate.rbac.deny rules=DENY[non_canonical_path] shadow=-',
      'meshgate.rbac.allow rules=- shadow=ALLOW[a]',
    ]],
    ['audit deny rules are the DENY filter\'s shadow rules', { ...TD, inbound: { rules: [{ name: 'd', action: 'deny', mode: 'audit', paths: ['/d'] }] } }, [
      'meshgate.rbac.deny rules=DENY[non_canonical_path] shadow=DENY[d]',
      'meshgate.rbac.allow rules=ALLOW[] shadow=-',
    ]],
    ['global audit: nothing enforced, the rules become shadow rules', { ...TD, mode: 'audit', inbound: { rules: [{ name: 'd', action: 'deny', paths: ['/d'] }, { name: 'a', paths: ['/a'] }, { name: 't', mode: 'audit' }] } }, [
      'meshgate.rbac.deny rules=- shadow=DENY[non_canonical_path,d]',
      'meshgate.rbac.allow rules=- shadow=ALLOW[a]',
    ]],
    ['a rule named non_canonical_path keeps its name', { ...TD, inbound: { rules: [{ name: 'non_canonical_path', action: 'deny', paths: ['/x'] }] } }, [
      'meshgate.rbac.deny rules=DENY[meshgate:non_canonical_path,non_canonical_path] shadow=-',
      'meshgate.rbac.allow rules=ALLOW[] shadow=-',
    ]],
    ['identity.from local: the identity is a constant, so rules that cannot match are left out', {
      ...TD, identity: { from: 'local', id: 'spiffe://example.org/ns/a/sa/me' },
      inbound: { rules: [{ name: 'mine', from: ['spiffe://example.org/ns/a/*'] }, { name: 'theirs', from: ['spiffe://example.org/ns/b/*'] }, { name: 'not-me', notFrom: ['spiffe://example.org/ns/a/sa/me'] }] },
    }, [
      'meshgate.rbac.deny rules=DENY[non_canonical_path] shadow=-',
      'meshgate.rbac.allow rules=ALLOW[mine] shadow=-',
    ]],
  ])('%s', (_n, doc, expected) => {
    expect(names(policyOf(doc))).toEqual(expected);
  });

  it('identity.from local: a matching rule needs no principal', () => {
    const out = renderRbac(policyOf({ ...TD, identity: { from: 'local', id: 'spiffe://example.org/ns/a/sa/me' }, inbound: { rules: [{ name: 'mine', from: ['spiffe://example.org/ns/a/*'], methods: ['GET'] }] } }));
    expect(out.filters[1].typed_config.rules!.policies.mine.principals).toEqual([{ any: true }]);
  });

  it('identity.from xfcc: nothing is rendered, and why', () => {
    const out = renderRbac(policyOf({ ...TD, identity: { from: 'xfcc', trustedProxies: ['spiffe://example.org/gw'] }, inbound: { rules: [{ name: 'a', from: ['*'] }] } }));
    expect(out.filters).toEqual([]);
    expect(out.unsupported).toEqual([expect.stringMatching(/^identity\.from: xfcc: RBAC cannot take the caller from the last x-forwarded-client-cert element/)]);
  });

  it('every matcher kind, and case folding where meshgate folds', () => {
    const out = renderRbac(policyOf({ ...TD, inbound: { rules: [
      { name: 'a', from: ['*', 'spiffe://other.org/x'], notFrom: ['spiffe://example.org/ns/bad/*'], methods: ['GET', 'HEAD'], notMethods: ['DELETE'],
        paths: ['/a/{*}/{**}', '*.json', '/x$(y)+z/{*}'], notPaths: ['/Secret', '/A/{*}/private'] },
      { name: 'd', action: 'deny', paths: ['/Admin/{*}/x', '*.PHP'], notPaths: ['/Admin/ok/x'] },
      { name: 'any-path', paths: ['/a', '*'] },
    ] } }));
    const pol = (f: number, n: string) => out.filters[f].typed_config.rules!.policies[n];
    expect(pol(1, 'a')).toEqual({
      permissions: [{ and_rules: { rules: [
        { or_rules: { rules: [{ header: { name: ':method', string_match: { exact: 'GET' } } }, { header: { name: ':method', string_match: { exact: 'HEAD' } } }] } },
        { not_rule: { header: { name: ':method', string_match: { exact: 'DELETE' } } } },
        { or_rules: { rules: [
          { url_path: { path: { safe_regex: { regex: '/a/[^/]+/.*' } } } },
          { url_path: { path: { suffix: '.json' } } },
          { url_path: { path: { safe_regex: { regex: '/x\\$\\(y\\)\\+z/[^/]+' } } } },
        ] } },
        { not_rule: { or_rules: { rules: [
          { url_path: { path: { exact: '/Secret', ignore_case: true } } },
          { url_path: { path: { safe_regex: { regex: '(?i)/A/[^/]+/private' } } } },
        ] } } },
      ] } }],
      principals: [{ and_ids: { ids: [
        { or_ids: { ids: [
          { and_ids: { ids: [{ authenticated: { principal_name: { prefix: 'spiffe://example.org/' } } }, VALID_ID] } },
          { authenticated: { principal_name: { exact: 'spiffe://other.org/x' } } },
        ] } },
        { not_id: { and_ids: { ids: [{ authenticated: { principal_name: { prefix: 'spiffe://example.org/ns/bad/' } } }, VALID_ID] } } },
      ] } }],
    });
    expect(pol(0, 'd')).toEqual({
      permissions: [{ and_rules: { rules: [
        { or_rules: { rules: [
          { url_path: { path: { safe_regex: { regex: '(?i)/Admin/[^/]+/x' } } } },
          { url_path: { path: { suffix: '.PHP', ignore_case: true } } },
        ] } },
        { not_rule: { url_path: { path: { exact: '/Admin/ok/x' } } } },
      ] } }],
      principals: [{ any: true }],
    });
    expect(pol(1, 'any-path')).toEqual({ permissions: [{ any: true }], principals: [{ any: true }] });
  });
});

describe('regexes against the shared vectors', () => {
  const nonCanonical = NON_CANONICAL_PATH_REGEXES.map(re2);
  const denied = (p: string) => nonCanonical.some((r) => r.test(p.split('?')[0]));

  it('the non_canonical_path policy matches exactly the non-canonical paths of paths.json (but for "#")', () => {
    const v = vectors<{ canonical: Array<{ path: string; canonical: boolean }> }>('paths.json');
    for (const c of v.canonical) {
      if (c.path.split('?')[0].includes('#')) continue; // url_path cuts the fragment
      if (c.path.split('?')[0] === '') continue; // no request has an empty path
      expect([c.path, denied(c.path)]).toEqual([c.path, !c.canonical]);
    }
  });

  it('... and on random paths', () => {
    const alphabet = ['/', '.', '%', '2', 'f', 'F', 'e', '5', 'c', 'a', 'Z', '~', '-', '\\', ' ', '\u00e4', '\u007f', 'g', '0', '3', '7'];
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...alphabet), { minLength: 1, maxLength: 12 }), (chars) => {
        const p = chars.join('');
        return denied(p) === !isCanonicalPath(p);
      }),
      { numRuns: 30000 },
    );
  });

  /** RBAC's principal semantics for a peer with one URI SAN (or none: null). */
  const stringMatch = (m: StringMatcher, v: string): boolean => {
    if (m.exact !== undefined) return v === m.exact;
    if (m.prefix !== undefined) return v.startsWith(m.prefix);
    if (m.suffix !== undefined) return v.endsWith(m.suffix);
    return re2(m.safe_regex!.regex).test(v);
  };
  const principalMatches = (p: Principal, san: string | null): boolean => {
    if ('any' in p) return true;
    if ('and_ids' in p) return p.and_ids.ids.every((x) => principalMatches(x, san));
    if ('or_ids' in p) return p.or_ids.ids.some((x) => principalMatches(x, san));
    if ('not_id' in p) return !principalMatches(p.not_id, san);
    return san !== null && stringMatch(p.authenticated.principal_name, san);
  };

  it.each(['*', 'spiffe://example.org/ns/a/*', 'spiffe://example.org/a/*', 'spiffe://example.org/ns/a/sa/x'])(
    'from %s: the principal admits exactly the callers meshgate admits (single URI SAN, up to 2048 bytes)',
    (entry) => {
      const out = renderRbac(policyOf({ trustDomain: 'example.org', inbound: { rules: [{ name: 'r', from: [entry] }] } }));
      const principal = out.filters[1].typed_config.rules!.policies.r.principals[0];
      const ids = vectors<Array<{ id: string }>>('spiffe-ids.json').map((x) => x.id);
      const extra = ['spiffe://example.org', 'spiffe://example.org/ns/a', 'spiffe://example.org/ns/a/sa/x', 'spiffe://example.org/ns/a/./x', 'spiffe://example.org/ns/a//x',
        'spiffe://example.org/ns/a/..', 'spiffe://example.org/ns/a/...', 'spiffe://example.orgx/a', 'spiffe://exampleXorg/a', 'spiffe://example.org/a/', 'spiffe://other.org/ns/a/sa/x'];
      for (const san of [null, ...ids, ...extra]) {
        if (san !== null && Buffer.byteLength(san) > 2048) continue; // not expressible (listed in `unsupported`)
        const caller = san !== null && isValidSpiffeId(san) ? san : null; // meshgate: an invalid ID is unauthenticated
        expect([san, principalMatches(principal, san)]).toEqual([san, matchFrom(entry, caller, 'example.org')]);
      }
    },
  );

  it('the SPIFFE ID regex does not grow with the trust domain', () => {
    expect(SPIFFE_ID_REGEX).not.toContain('example');
  });

  it('templates: the regex matches what the pattern matches', () => {
    const v = vectors<{ patterns: Array<{ pattern: string; valid: boolean; matches?: string[]; nonMatches?: string[]; denyMatches?: string[] }> }>('paths.json');
    for (const c of v.patterns.filter((x) => x.valid && x.pattern.includes('{'))) {
      const out = renderRbac(policyOf({ trustDomain: 'example.org', inbound: { rules: [{ name: 'a', paths: [c.pattern] }, { name: 'd', action: 'deny', paths: [c.pattern] }] } }));
      type M = { safe_regex?: { regex: string }; prefix?: string; ignore_case?: boolean } | 'any';
      const regexOf = (f: number, n: string): M => {
        const perm = out.filters[f].typed_config.rules!.policies[n].permissions[0] as { any?: true; url_path?: { path: M } };
        return perm.any ? 'any' : perm.url_path!.path;
      };
      const allow = regexOf(1, 'a');
      const deny = regexOf(0, 'd');
      const test = (m: M, p: string) => {
        const path = p.split('?')[0];
        if (m === 'any') return true; // "/{**}"
        if (m.safe_regex) return re2(m.safe_regex.regex).test(path);
        return m.ignore_case ? path.toLowerCase().startsWith(m.prefix!.toLowerCase()) : path.startsWith(m.prefix!); // "/a/{**}"
      };
      for (const p of c.matches ?? []) expect([c.pattern, p, test(allow, p), test(deny, p)]).toEqual([c.pattern, p, true, true]);
      for (const p of c.nonMatches ?? []) expect([c.pattern, p, test(allow, p)]).toEqual([c.pattern, p, false]);
      for (const p of c.denyMatches ?? []) expect([c.pattern, p, test(allow, p), test(deny, p)]).toEqual([c.pattern, p, false, true]);
    }
  });
});

// ---- the unified matcher form -----------------------------------------------------------------

describe('renderRbacMatcher', () => {
  /** The xds matcher semantics, for the subset the renderer emits. */
  interface Req { san: string | null; method: string; path: string }
  const input = (i: TypedExtension, q: Req): string | null => {
    const t = i.typed_config as { '@type': string; header_name?: string };
    if (t['@type'].endsWith('UriSanInput')) return q.san;
    return t.header_name === ':method' ? q.method : t.header_name === ':path' ? q.path : null;
  };
  const str = (m: XdsStringMatcher, v: string | null): boolean => {
    if (v === null) return false;
    const f = (x: string) => (m.ignore_case ? x.toLowerCase() : x);
    if (m.exact !== undefined) return f(v) === f(m.exact);
    if (m.prefix !== undefined) return f(v).startsWith(f(m.prefix));
    if (m.suffix !== undefined) return f(v).endsWith(f(m.suffix));
    const flags = /^((?:\(\?[si]\))*)/.exec(m.safe_regex!.regex)![1];
    const body = m.safe_regex!.regex.slice(flags.length);
    return new RegExp(`^(?:${body})$`, (flags.includes('s') ? 's' : '') + (flags.includes('i') ? 'i' : '')).test(v);
  };
  const pred = (p: XdsPredicate, q: Req): boolean => {
    if ('single_predicate' in p) return str(p.single_predicate.value_match, input(p.single_predicate.input, q));
    if ('or_matcher' in p) return p.or_matcher.predicate.some((x) => pred(x, q));
    if ('and_matcher' in p) return p.and_matcher.predicate.every((x) => pred(x, q));
    return !pred(p.not_matcher, q);
  };
  const onMatch = (o: XdsOnMatch, q: Req): { name: string; action: string } | null =>
    'action' in o ? { name: String(o.action.typed_config.name), action: String(o.action.typed_config.action) } : run(o.matcher, q);
  const run = (m: XdsMatcher, q: Req): { name: string; action: string } | null => {
    if (m.matcher_list) {
      for (const x of m.matcher_list.matchers) if (pred(x.predicate, q)) return onMatch(x.on_match, q);
    } else if (m.matcher_tree) {
      const v = input(m.matcher_tree.input, q);
      const hit = v === null ? undefined : m.matcher_tree.exact_match_map.map[v];
      if (hit) return onMatch(hit, q);
    }
    return m.on_no_match ? onMatch(m.on_no_match, q) : null;
  };

  const IDS = ['*', 'spiffe://example.org/ns/a/*', 'spiffe://example.org/ns/a/sa/x', 'spiffe://example.org/ns/b/sa/y', 'spiffe://other.org/ns/a/*', 'spiffe://other.org/x'];
  const SANS = [null, 'spiffe://example.org/ns/a/sa/x', 'spiffe://example.org/ns/a/sa/z', 'spiffe://example.org/ns/a', 'spiffe://example.org/ns/b/sa/y', 'spiffe://other.org/x',
    'spiffe://other.org/ns/a/q', 'spiffe://example.org', 'spiffe://example.org/ns/a/../x', 'spiffe://example.org/ns/a/sa/x,spiffe://example.org/ns/b/sa/y', 'https://example.org/ns/a/sa/x'];
  const PATTERNS = ['*', '/', '/a', '/A', '/a/*', '/a/b', '*.json', '/a/{*}', '/a/{*}/{**}', '/{*}/b'];
  const PATHS = ['/', '/a', '/A', '/a?x', '/a/', '/a/b', '/A/B', '/a/b.json', '/x.JSON?y', '/b/b', '/a?x/b', '/a//b', '/a/%2e', '/a/b?c=/d', '/a%3F/b'];
  const list = <T>(pool: readonly T[]) => fc.option(fc.uniqueArray(fc.constantFrom(...pool), { minLength: 1, maxLength: 3 }), { nil: undefined });
  const rule = fc.record({ action: fc.constantFrom('allow', 'deny'), from: list(IDS), notFrom: list(IDS), methods: list(['GET', 'POST']), notMethods: list(['POST']), paths: list(PATTERNS), notPaths: list(PATTERNS) });

  it('decides like meshgate (enforced rules), for every caller, method and path', () => {
    fc.assert(
      fc.property(fc.array(rule, { maxLength: 4 }), fc.constantFrom('allow', 'deny'), (rules, dflt) => {
        const doc = { trustDomain: 'example.org', federatesWith: ['other.org'], inbound: { default: dflt, rules: rules.map((r, i) => ({ name: `r${i}`, ...Object.fromEntries(Object.entries(r).filter(([, v]) => v !== undefined)) })) } };
        const policy = policyOf(doc);
        const m = renderRbacMatcher(policy).filters[0].typed_config.matcher!;
        for (const san of SANS) {
          for (const method of ['GET', 'POST']) {
            for (const p of PATHS) {
              const want = decideInbound(policy, { identity: san, method, path: p });
              const got = run(m, { san, method, path: p });
              expect([san, method, p, got]).toEqual([san, method, p, { name: want.rule, action: want.decision.toUpperCase() }]);
            }
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('identity.from local decides identities up front; xfcc renders nothing; audit rules are listed', () => {
    const local = renderRbacMatcher(policyOf({ trustDomain: 'example.org', identity: { from: 'local', id: 'spiffe://example.org/me' },
      inbound: { rules: [{ name: 'mine', from: ['spiffe://example.org/me'], methods: ['GET'] }, { name: 'other', from: ['spiffe://example.org/you'] }] } }));
    expect(JSON.stringify(local.filters)).not.toContain('uri_san');
    expect(JSON.stringify(local.filters)).not.toContain('"other"');
    expect(renderRbacMatcher(policyOf({ trustDomain: 'example.org', identity: { from: 'xfcc', trustedProxies: ['spiffe://example.org/gw'] }, inbound: {} })).filters).toEqual([]);
    const shop = renderRbacMatcher(compilePolicyFile(path.join(ROOT, 'examples/shop/policy.yaml')).normalized!);
    expect(shop.unsupported[0]).toMatch(/^audit rules \(try-new-reader\)/);
    expect(Object.keys(shop.filters[0].typed_config)).toEqual(['@type', 'matcher', 'rules_stat_prefix']);
  });

  it('global audit: the matcher becomes the shadow matcher', () => {
    const out = renderRbacMatcher(policyOf({ trustDomain: 'example.org', mode: 'audit', inbound: { rules: [{ name: 'd', action: 'deny', paths: ['/d'] }] } }));
    expect(Object.keys(out.filters[0].typed_config)).toEqual(['@type', 'shadow_matcher', 'shadow_rules_stat_prefix']);
  });
});
