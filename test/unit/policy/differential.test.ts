/**
 * The TypeScript policy code against the Wasm filter's pure code (build/testkit.wasm, the same
 * AssemblyScript the filter runs): configuration errors, matchers and decisions must agree, for
 * fixed cases and for random inputs. A difference is a bug on one side (or an unpinned choice
 * that belongs in test/vectors/). Matchers get two kinds of input: random strings (which check
 * validity and refusals: they almost never match) and cases built to match or to just miss
 * (test/support/match-cases.ts), where both sides must give the known answer. The fast-check
 * seed is printed and replayable (test/unit/fuzz/gen.ts), with the match counts per property.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { compilePolicy, compilePolicyText } from '../../../harness/policy/compile';
import { decideEgress, decideInbound, type Decision } from '../../../harness/policy/evaluate';
import type { NormalizedPolicy, Role } from '../../../harness/policy/model';
import {
  canonicalPath, cidrError, hostPatternError, matchCidr, matchHost, matchPath, parseAuthority, pathPatternError,
} from '../../../harness/policy/patterns';
import { validatePolicyValue } from '../../../harness/policy/validate';
import { loadTestkit } from '../wasm/testkit';
import { cidrMatchCase, hostMatchCase, pathMatchCase, type MatchCase } from '../../support/match-cases';
import { RUNS, expectShare, params, reportFuzz, tally, timeoutFor } from '../fuzz/gen';

const tk = loadTestkit();
reportFuzz('test/unit/policy/differential.test.ts');
/** Runs of each matcher property: 20000, or MESHGATE_FUZZ_RUNS when set. */
const MATCHER_RUNS = process.env.MESHGATE_FUZZ_RUNS ? RUNS : 20000;
const FIXTURES = path.join(__dirname, 'fixtures');
const sorted = (xs: string[]) => [...xs].sort();

describe('configuration errors: the same messages as proxy_on_configure', () => {
  const fixtureDocs = fs
    .readdirSync(FIXTURES)
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => [f, compilePolicyText(fs.readFileSync(path.join(FIXTURES, f), 'utf8'), f)] as const)
    .filter(([, r]) => r.json !== '' && r.source.errors.length === 0)
    .map(([f, r]) => [f, JSON.parse(r.json) as unknown] as const);
  const extra: Array<readonly [string, unknown]> = [
    ['every field', {
      trustDomain: 'example.org', mode: 'audit', federatesWith: ['other.org', 'x.org'], identity: { from: 'xfcc', trustedProxies: ['spiffe://example.org/ns/gw/sa/gw'] },
      inbound: { rules: [{ name: 'A_z-09', action: 'deny', mode: 'enforce', from: ['*', 'spiffe://other.org/x', 'spiffe://example.org/ns/*'],
        notFrom: ['spiffe://example.org/ns/x'], methods: ['GET', 'PATCH'], notMethods: ['DELETE'], paths: ['*', '/', '/a/*', '*.json', '/a/{*}/{**}'], notPaths: ['/*'] }] },
      egress: { rules: [{ name: 'e', from: ['*'], notFrom: ['spiffe://x.org/y'], hosts: ['a.com', '*.com'], notHosts: ['b.a.com'], ports: [1, 65535, 443.0],
        notPorts: [80], cidrs: ['0.0.0.0/0', '::/0', '10.0.0.0/8', 'fe80::/10'], notCidrs: ['10.1.0.0/16'] }] },
    }],
    ['types everywhere', { trustDomain: 5, mode: [], identity: 'x', inbound: { default: 1, rules: [{ name: 1, action: null, from: {}, methods: [true] }] }, egress: [] }],
    ['empty object', {}],
    ['not an object', []],
    ['duplicate names across and within sections', { trustDomain: 'a', inbound: { rules: [{ name: 'a' }, { name: 'a' }, { name: 'b' }, { name: 'a' }] }, egress: { rules: [{ name: 'a' }] } }],
    ['long values are cut', { trustDomain: 'example.org', inbound: { rules: [{ name: 'r', from: ['spiffe://' + 'A'.repeat(300)] }] } }],
    ['control characters', { trustDomain: 'example.org', inbound: { rules: [{ name: 'r', paths: ['/a\nb"', '/\u00e4\u007f'] }] } }],
    ['identity forbidden fields', { trustDomain: 'example.org', identity: { trustedProxies: ['spiffe://example.org/gw'], id: 'spiffe://example.org/x' }, inbound: {} }],
    ['identity bad source', { trustDomain: 'example.org', identity: { from: 'mtls', extra: 1, id: 'x' }, inbound: {} }],
    ['federatesWith problems', { trustDomain: 'example.org', federatesWith: ['a.org', 'A.org', 'a.org', 'example.org', 5, ''],
      identity: { from: 'xfcc', trustedProxies: ['spiffe://gw.org/gw', 'spiffe://a.org/gw'] },
      inbound: { rules: [{ name: 'r', from: ['*', 'spiffe://b.org/x', 'spiffe://b.org/ns/*', 'spiffe://a.org/x', 'spiffe://example.org/x'], notFrom: ['spiffe://c.org/y'] }] } }],
    ['federatesWith empty, and names before trustDomain', { federatesWith: [], inbound: { rules: [{ name: 'r', from: ['spiffe://b.org/x'] }] }, trustDomain: 'example.org' }],
    ['a foreign local id, trustDomain invalid', { trustDomain: 'Example.org', identity: { from: 'local', id: 'spiffe://b.org/me' }, egress: {} }],
    ['a foreign local id', { trustDomain: 'example.org', identity: { from: 'local', id: 'spiffe://b.org/me' }, egress: {} }],
    ['egress rule options', { trustDomain: 'example.org',
      inbound: { rules: [{ name: 'i', tunnel: 'any', privateAddresses: ['10.0.0.0/8'] }] },
      egress: { rules: [
        { name: 'ok', hosts: ['legacy.example'], tunnel: 'any', privateAddresses: ['10.0.0.0/8', '169.254.169.254/32', 'fd00::/8'] },
        { name: 'a', tunnel: 'udp', privateAddresses: ['10.0.0.1/8', 'x', 3, '127.0.0.0/33', '010.0.0.0/8'] },
        { name: 'd', action: 'deny', tunnel: 'tls', privateAddresses: ['10.0.0.0/8'] },
        { name: 'e', privateAddresses: [], tunnel: true },
        { name: 'f', privateAddresses: '10.0.0.0/8', action: 'deny' },
      ] } }],
  ];
  const cases = [...fixtureDocs, ...extra].flatMap(([n, doc]) => (['inbound', 'egress'] as const).map((role) => [`${n} (${role})`, doc, role] as const));

  it.each(cases)('%s', (_n, doc, role: Role) => {
    const mine = validatePolicyValue(doc, { role }).map((p) => p.message);
    const theirs = tk.compile(role, JSON.stringify(doc));
    expect(sorted(mine)).toEqual(sorted(theirs.errors));
    expect(theirs.ok).toBe(mine.length === 0);
  });

  // meshgate_egress_sni: the egress section, and no header-borne identity on a TCP connection.
  it.each([
    ['xfcc', { trustDomain: 'example.org', identity: { from: 'xfcc', trustedProxies: ['spiffe://example.org/gw'] }, egress: {} }],
    ['xfcc with problems of its own', { trustDomain: 'example.org', identity: { from: 'xfcc' }, egress: { rules: [{ name: 'r', privateAddresses: ['x'] }] } }],
    ['local', { trustDomain: 'example.org', identity: { from: 'local', id: 'spiffe://example.org/me' }, egress: {} }],
    ['peer-certificate, no egress section', { trustDomain: 'example.org', inbound: {} }],
  ])('the SNI filter: %s', (_n, doc) => {
    const mine = validatePolicyValue(doc, { role: 'egress', connection: true }).map((p) => p.message);
    const theirs = tk.compile('egress-sni', JSON.stringify(doc));
    expect(sorted(mine)).toEqual(sorted(theirs.errors));
    expect(theirs.ok).toBe(mine.length === 0);
  });

  it('the digest is the same', () => {
    const r = compilePolicyText(fs.readFileSync(path.resolve(__dirname, '../../../examples/shop/policy.yaml'), 'utf8'), 'p.yaml');
    expect(tk.compile('inbound', r.json).digest).toBe(r.digest);
  });
});

/** Counts a tk_*_match answer: 1 match, 0 no match, < 0 refused (invalid entry or target). */
const tallyMatch = (name: string, answer: number) => tally(name, answer === 1 ? 'match' : answer === 0 ? 'no match' : `refused (${answer})`);

describe('matchers on random strings: validity, refusals and agreement', () => {
  const chars = (alphabet: string[], maxLength: number) => fc.array(fc.constantFrom(...alphabet), { maxLength }).map((a) => a.join(''));
  const PATH_ALPHABET = ['/', '.', '%', '2', 'f', 'F', 'e', '5', 'c', 'a', 'A', '~', '-', '\\', ' ', '\u00e4', '?', '#', '*', '{', '}', 'b', '7', '0'];
  const HOST_ALPHABET = ['a', 'B', '0', '1', '9', 'x', '.', '-', '*', ':', '[', ']', '@', '_', '\u00fc', 'f', '2', '5'];

  it('canonical paths', () => {
    fc.assert(
      fc.property(chars(PATH_ALPHABET, 14), (p) => {
        const n = tk.num('tk_path_canonical', p);
        const c = canonicalPath(p);
        return c === null ? n === -1 : n === Buffer.byteLength(c);
      }),
      params(MATCHER_RUNS),
    );
  }, timeoutFor(MATCHER_RUNS));

  it('path patterns: validity, and agreement (byte-exact and case-folded)', () => {
    fc.assert(
      fc.property(chars(PATH_ALPHABET, 10), chars(PATH_ALPHABET, 10), fc.boolean(), (pattern, p, fold) => {
        const valid = tk.json<{ valid: boolean }>('tk_path_pattern', pattern).valid;
        if (valid !== (pathPatternError(pattern) === null)) return false;
        const want = tk.num('tk_path_match', pattern, p, fold);
        tallyMatch('paths random strings', want);
        if (want < 0) return !valid || canonicalPath(p) === null;
        return (want === 1) === matchPath(pattern, p, { caseInsensitive: fold });
      }),
      params(MATCHER_RUNS),
    );
  }, timeoutFor(MATCHER_RUNS));

  it('authorities', () => {
    fc.assert(
      fc.property(chars(HOST_ALPHABET, 14), fc.constantFrom('http', 'https', 'HTTPS', 'ftp', ''), fc.boolean(), (a, scheme, connect) => {
        const w = tk.json<{ ok: boolean; error?: string; name?: string; ip?: string; port?: number }>('tk_target', a, scheme, connect);
        const m = parseAuthority(a, { scheme, connect });
        if (!w.ok) return 'error' in m && m.error === w.error;
        if ('name' in m) return w.name === m.name && w.port === m.port;
        if ('ip' in m) return w.ip === m.ip && w.port === m.port;
        return false;
      }),
      params(MATCHER_RUNS),
    );
  }, timeoutFor(MATCHER_RUNS));

  it('hosts entries: validity, and agreement', () => {
    fc.assert(
      fc.property(chars(HOST_ALPHABET, 10), chars(HOST_ALPHABET, 10), (pattern, name) => {
        if ((tk.call('tk_host_pattern', pattern) === '') !== (hostPatternError(pattern) === null)) return false;
        const want = tk.num('tk_host_match', pattern, name);
        tallyMatch('hosts random strings', want);
        const target = parseAuthority(name, { scheme: 'http', connect: false });
        if (want === -1) return hostPatternError(pattern) !== null;
        if (want === -2) return 'error' in target;
        return (want === 1) === matchHost(pattern, target);
      }),
      params(MATCHER_RUNS),
    );
  }, timeoutFor(MATCHER_RUNS));

  it('cidrs entries: validity, and agreement', () => {
    const octet = fc.constantFrom('0', '1', '10', '127', '255', '256', '010', '0x7f', '');
    const v4 = fc.array(octet, { minLength: 1, maxLength: 5 }).map((a) => a.join('.'));
    const v6 = fc.array(fc.constantFrom('', '1', 'ffff', 'fe80', '0', '12345', 'db8', '2001'), { minLength: 1, maxLength: 9 }).map((a) => a.join(':'));
    const addr = fc.oneof(v4, v6);
    const bits = fc.constantFrom('', '0', '8', '16', '24', '32', '33', '64', '96', '128', '129', '08', 'x');
    const target = fc.oneof(v4, v6.map((s) => `[${s}]`), fc.constantFrom('a.com', '[::ffff:10.1.2.3]'));
    fc.assert(
      fc.property(addr, bits, fc.boolean(), target, (a, b, slash, t) => {
        const cidr = slash ? `${a}/${b}` : a;
        if (tk.call('tk_cidr', cidr) !== (cidrError(cidr) ?? '')) return false;
        const want = tk.num('tk_cidr_match', cidr, t);
        tallyMatch('cidrs random strings', want);
        const parsed = parseAuthority(t, { scheme: 'http', connect: false });
        if (want === -1) return cidrError(cidr) !== null;
        if (want === -2) return 'error' in parsed;
        return (want === 1) === matchCidr(cidr, parsed);
      }),
      params(MATCHER_RUNS),
    );
  }, timeoutFor(MATCHER_RUNS));
});

/** A built host target spelled with a trailing dot ("a.com.", "a.com.:80"): an empty label. */
const dotted = (c: MatchCase) => /\.(:[0-9]+)?$/.test(c.target);

describe('matchers on cases built to match or to just miss: the known answer on both sides', () => {
  /** Checks one case: the wasm answer (1/0) and the TypeScript one both equal the built answer. */
  function check(name: string, c: MatchCase, wasm: number, ts: boolean): void {
    tallyMatch(name, wasm);
    expect({ case: c, wasm, ts }).toEqual({ case: c, wasm: c.expect ? 1 : 0, ts: c.expect });
  }
  const http = { scheme: 'http', connect: false };

  it.each([
    ['paths', pathMatchCase, (c: MatchCase) => [tk.num('tk_path_match', c.pattern, c.target, c.fold), matchPath(c.pattern, c.target, { caseInsensitive: c.fold })] as const],
    ['hosts', hostMatchCase.filter((c) => !dotted(c)), (c: MatchCase) => [tk.num('tk_host_match', c.pattern, c.target), matchHost(c.pattern, parseAuthority(c.target, http))] as const],
    ['cidrs', cidrMatchCase, (c: MatchCase) => [tk.num('tk_cidr_match', c.pattern, c.target), matchCidr(c.pattern, parseAuthority(c.target, http))] as const],
  ] as const)('%s', (field, arb, answers) => {
    const name = `${field} built cases`;
    fc.assert(fc.property(arb, (c) => check(name, c, ...answers(c))), params(MATCHER_RUNS));
    expectShare(name, 'match', 0.3);
    expectShare(name, 'no match', 0.1);
  }, timeoutFor(MATCHER_RUNS));

  it('hosts: a target with a trailing dot reaching the filter is refused before matching (bad_host), on both sides', () => {
    fc.assert(
      fc.property(hostMatchCase.filter(dotted), (c) => {
        expect({ target: c.target, wasm: tk.num('tk_host_match', c.pattern, c.target), ts: parseAuthority(c.target, http) })
          .toEqual({ target: c.target, wasm: -2, ts: { error: 'bad_host' } });
      }),
      params(MATCHER_RUNS),
    );
  }, timeoutFor(MATCHER_RUNS));
});

// ---- decisions --------------------------------------------------------------------------------

const ID_ENTRIES = ['*', 'spiffe://example.org/ns/a/*', 'spiffe://example.org/ns/a/sa/x', 'spiffe://other.org/ns/a/*', 'spiffe://other.org/ns/a/sa/x'];
const IDENTITIES = [null, 'spiffe://example.org/ns/a/sa/x', 'spiffe://example.org/ns/a', 'spiffe://example.org/ns/b/sa/x', 'spiffe://other.org/ns/a/sa/x', 'spiffe://example.org', 'not-an-id'];
const PATH_PATTERNS = ['*', '/', '/a', '/A', '/a/*', '/a/b', '*.json', '/a/{*}', '/a/{*}/{**}', '/{*}/b'];
const PATHS = ['/', '/a', '/A', '/a/', '/a/b', '/A/B', '/a/b.json', '/x.JSON', '/b/b', '/a//b', '/a/%2e', '/a?x=1'];
const METHODS = ['GET', 'POST', 'DELETE', 'CONNECT', 'PURGE', 'GE', 'GETS', 'PROPFIND'];
const HOSTS = ['a.com', '*.a.com', '*.com', 'x.org'];
const CIDRS = ['10.0.0.0/8', '::/0', '0.0.0.0/0', '::1/128'];
const AUTHORITIES = ['a.com', 'b.a.com', 'A.COM.', 'x.org:8443', '10.1.2.3', '0x0a000001', '[::1]', '[::ffff:10.0.0.1]:443', 'user@a.com', 'a..com', 'x.com:0'];

const list = <T>(pool: readonly T[]) => fc.option(fc.uniqueArray(fc.constantFrom(...pool), { minLength: 1, maxLength: 3 }), { nil: undefined });
const common = { action: fc.constantFrom('allow', 'deny'), mode: fc.constantFrom('enforce', 'enforce', 'audit'), from: list(ID_ENTRIES), notFrom: list(ID_ENTRIES) };
const inboundRule = fc.record({ ...common, methods: list(METHODS), notMethods: list(METHODS), paths: list(PATH_PATTERNS), notPaths: list(PATH_PATTERNS) });
const egressRule = fc.record({ ...common, hosts: list(HOSTS), notHosts: list(HOSTS), ports: list([80, 443, 8443]), notPorts: list([80]), cidrs: list(CIDRS), notCidrs: list(CIDRS) });
const section = <R>(rule: fc.Arbitrary<R>) =>
  fc.record({ default: fc.constantFrom('allow', 'deny'), rules: fc.array(rule, { maxLength: 4 }), audit: fc.boolean() });

function build(role: Role, s: { default: string; rules: Array<Record<string, unknown>>; audit: boolean }): { doc: object; policy: NormalizedPolicy } {
  const rules = s.rules.map((r, i) => {
    const out: Record<string, unknown> = { name: `r${i}` };
    for (const [k, v] of Object.entries(r)) if (v !== undefined) out[k] = v;
    return out;
  });
  const doc = { trustDomain: 'example.org', federatesWith: ['other.org'], ...(s.audit ? { mode: 'audit' } : {}), [role]: { default: s.default, rules } };
  const r = compilePolicy(doc, 'p');
  expect(r.errors).toEqual([]);
  return { doc, policy: r.normalized! };
}

/** The testkit's decision line for a TS decision. */
const line = (d: Decision) =>
  `${d.decision} rule=${d.rule} nearest=${d.nearest?.rule ?? '-'} field=${d.nearest?.field ?? '-'} audit=${d.audit.length ? d.audit.map((a) => `${a.rule}:${a.wouldBe}`).join(',') : '-'}`;

describe('decisions: the reference evaluator decides like the filter', () => {
  it('inbound', () => {
    fc.assert(
      fc.property(section(inboundRule), (s) => {
        const { doc, policy } = build('inbound', s);
        expect(tk.compile('inbound', doc).errors).toEqual([]);
        for (const identity of IDENTITIES) {
          for (const method of METHODS) {
            for (const p of PATHS) {
              const mine = line(decideInbound(policy, { identity, method, path: p }));
              expect([identity, method, p, mine]).toEqual([identity, method, p, tk.decideInbound(identity, method, p)]);
            }
          }
        }
      }),
      params(150),
    );
  });

  it('egress', () => {
    fc.assert(
      fc.property(section(egressRule), (s) => {
        const { doc, policy } = build('egress', s);
        expect(tk.compile('egress', doc).errors).toEqual([]);
        for (const identity of IDENTITIES) {
          for (const authority of AUTHORITIES) {
            const mine = line(decideEgress(policy, { identity, authority, scheme: 'https' }));
            expect([identity, authority, mine]).toEqual([identity, authority, tk.decideEgress(identity, authority, 'https', false)]);
          }
        }
      }),
      params(150),
    );
  });
});
