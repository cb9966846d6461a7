/**
 * Static analysis (harness/policy/analyze.ts): the warnings for fixture policies, exactly, and a
 * property test that the analyzer's claims are sound — whatever it calls shadowed, unreachable,
 * never matching or disjoint really is, request by request, per the reference evaluator.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { analyzeCompiled } from '../../../harness/policy/analyze';
import { compilePolicy, compilePolicyText } from '../../../harness/policy/compile';
import { formatWarning, type Warning } from '../../../harness/policy/diagnostics';
import { ruleMatches } from '../../../harness/policy/evaluate';
import type { NormalizedPolicy, Role } from '../../../harness/policy/model';
import { parseAuthority } from '../../../harness/policy/patterns';
import { clean, subList } from './analyze-arbitraries';

const FIXTURES = path.join(__dirname, 'fixtures');
const warningsOf = (name: string): string[] => {
  const r = compilePolicyText(fs.readFileSync(path.join(FIXTURES, name), 'utf8'), name);
  expect(r.errors).toEqual([]);
  return analyzeCompiled(r).map(formatWarning);
};
const analyzeText = (text: string): Warning[] => {
  const r = compilePolicyText(text, 'p.yaml');
  expect(r.errors).toEqual([]);
  return analyzeCompiled(r);
};

describe('fixtures: exact warnings', () => {
  it('analyze-inbound.yaml', () => {
    const f = 'analyze-inbound.yaml';
    expect(warningsOf(f)).toEqual([
      `${f}:11:7: warning: inbound.rules[1]: rule "admin-tools" can never allow anything: every request it matches is denied by deny rule "no-admin" (inbound.rules[0]) [shadowed-by-deny]`,
      `${f}:14:7: warning: inbound.rules[2]: rule "no-admin-again" never decides: the earlier deny rule "no-admin" (inbound.rules[0]) matches every request it matches [shadowed-by-deny]`,
      `${f}:21:7: warning: inbound.rules[4]: rule "store-reads" is unreachable: the earlier allow rule "reads" (inbound.rules[3]) allows every request it matches first [unreachable]`,
      `${f}:25:7: warning: inbound.rules[5]: rule "reads-copy" has the same matchers as allow rule "reads" (inbound.rules[3]) [duplicate-rule]`,
      `${f}:29:7: warning: inbound.rules[6]: rule "partner" overlaps deny rule "no-deletes" (inbound.rules[10]): requests matching both are denied [allow-deny-overlap]`,
      `${f}:30:48: warning: inbound.rules[6].from[1]: "spiffe://partner.org/ns/x/sa/y" is listed twice [duplicate-entry]`,
      `${f}:32:7: warning: inbound.rules[7]: rule "everyone" overlaps deny rule "no-admin" (inbound.rules[0]): requests matching both are denied [allow-deny-overlap]`,
      `${f}:32:7: warning: inbound.rules[7]: rule "everyone" overlaps deny rule "no-admin-again" (inbound.rules[2]): requests matching both are denied [allow-deny-overlap]`,
      `${f}:32:7: warning: inbound.rules[7]: rule "everyone" overlaps deny rule "no-deletes" (inbound.rules[10]): requests matching both are denied [allow-deny-overlap]`,
      `${f}:33:14: warning: inbound.rules[7].from[0]: rule "everyone" lets any identity of example.org call any path [broad-identity]`,
      `${f}:33:19: warning: inbound.rules[7].from[1]: "spiffe://example.org/ns/web/sa/frontend" is already covered by "*" [duplicate-entry]`,
      `${f}:34:7: warning: inbound.rules[8]: rule "health" has no \`from\`: it admits unauthenticated callers too [unauthenticated-allow]`,
      `${f}:37:7: warning: inbound.rules[9]: audit rule "trial" can never match, so it will never log or count anything: every identity in \`from\` is also excluded by \`notFrom\` [never-matches]`,
    ]);
  });

  it('analyze-egress.yaml', () => {
    const f = 'analyze-egress.yaml';
    expect(warningsOf(f)).toEqual([
      `${f}:2:7: warning: mode: the whole policy is in audit mode: nothing is enforced, every deny is only logged and counted as a would-deny [global-audit]`,
      `${f}:8:15: warning: egress.rules[0].hosts[0]: "*.com" allows every name under the top-level domain "com" [broad-host]`,
      `${f}:8:24: warning: egress.rules[0].hosts[1]: "api.stripe.com" is already covered by "*.com" [duplicate-entry]`,
      `${f}:10:7: warning: egress.rules[1]: rule "both" can never match: it has both \`hosts\` and \`cidrs\`, but a target is either a name or an IP address (use two rules) [never-matches]`,
      `${f}:15:29: warning: egress.rules[2].cidrs[1]: "10.1.0.0/16" is already covered by "10.0.0.0/8" [duplicate-entry]`,
      `${f}:19:7: warning: egress.rules[4]: rule "metadata" can never allow anything: every request it matches is denied by deny rule "block-metadata" (egress.rules[3]) [shadowed-by-deny]`,
      `${f}:22:7: warning: egress.rules[5]: rule "anywhere" overlaps deny rule "block-metadata" (egress.rules[3]): requests matching both are denied [allow-deny-overlap]`,
      `${f}:23:14: warning: egress.rules[5].from[0]: rule "anywhere" lets any identity of example.org reach any destination [broad-identity]`,
      `${f}:25:7: warning: egress.rules[6]: rule "no-ports" can never match: every port in \`ports\` is also in \`notPorts\` [never-matches]`,
    ]);
  });

  it('the shop example: only the redundant api.stripe.com entry', () => {
    const r = compilePolicyText(fs.readFileSync(path.resolve(__dirname, '../../../examples/shop/policy.yaml'), 'utf8'), 'policy.yaml');
    expect(analyzeCompiled(r).map(formatWarning)).toEqual([
      'policy.yaml:30:15: warning: egress.rules[0].hosts[0]: "api.stripe.com" is already covered by "*.stripe.com" [duplicate-entry]',
    ]);
  });
});

describe('cases', () => {
  const TD = 'trustDomain: example.org\n';
  it.each([
    ['a clean policy has no warnings', `${TD}inbound:\n  rules:\n    - {name: a, from: ["spiffe://example.org/a"], paths: [/a]}\n    - {name: b, action: deny, paths: [/b]}\n`, []],
    ['an allow rule that only differs in case from a deny is shadowed (deny paths fold case)',
      `${TD}inbound:\n  rules:\n    - {name: d, action: deny, paths: [/admin]}\n    - {name: a, from: ["*"], paths: [/ADMIN]}\n`, ['shadowed-by-deny inbound.rules[1]']],
    ['a deny rule\'s notPaths are byte-exact: the exception itself is allowed...',
      `${TD}inbound:\n  rules:\n    - {name: d, action: deny, notPaths: [/public]}\n    - {name: a, from: ["*"], paths: [/public]}\n`, []],
    ['...but not its case variant, which the deny rule still denies',
      `${TD}inbound:\n  rules:\n    - {name: d, action: deny, notPaths: [/public]}\n    - {name: a, from: ["*"], paths: [/PUBLIC]}\n`, ['shadowed-by-deny inbound.rules[1]']],
    ['an earlier allow rule makes a later one unreachable; a later one never does',
      `${TD}inbound:\n  rules:\n    - {name: narrow, from: ["spiffe://example.org/a"], paths: [/x]}\n    - {name: wide, from: ["spiffe://example.org/a"], paths: ["/*"]}\n`, []],
    ['templates inside prefixes', `${TD}inbound:\n  rules:\n    - {name: wide, from: ["*"], paths: ["/v1/*"]}\n    - {name: narrow, from: ["*"], paths: ["/v1/{*}/items/{**}"]}\n`, ['unreachable inbound.rules[1]']],
    ['notMethods that exclude every method', `${TD}inbound:\n  rules:\n    - {name: a, from: ["*"], methods: [GET], notMethods: [GET], paths: [/a]}\n`, ['never-matches inbound.rules[0]']],
    ['notPaths "*" excludes everything', `${TD}inbound:\n  rules:\n    - {name: a, from: ["*"], notPaths: ["*"]}\n`, ['never-matches inbound.rules[0]']],
    ['no section at all', TD, ['no-sections (document)']],
    ['identity.from local: no unauthenticated callers; a federated own id is no news',
      `${TD}federatesWith: [other.org]\nidentity: {from: local, id: "spiffe://other.org/me"}\negress:\n  rules:\n    - {name: a, hosts: [a.example]}\n`, []],
    ['a rule without from under default allow is no news', `${TD}inbound:\n  default: allow\n  rules:\n    - {name: a, paths: [/a]}\n`, []],
    ['a wildcard under a wildcard', `${TD}egress:\n  rules:\n    - {name: a, from: ["*"], hosts: ["*.stripe.com", "*.api.stripe.com", "api.stripe.com"]}\n`,
      ['duplicate-entry egress.rules[0].hosts[1]', 'duplicate-entry egress.rules[0].hosts[2]']],
    ['::/0 holds every IPv4 network', `${TD}egress:\n  rules:\n    - {name: a, from: ["*"], cidrs: ["::/0", "10.0.0.0/8"]}\n`, ['duplicate-entry egress.rules[0].cidrs[1]']],
    ['egress rule options that cannot act: tunnel any on a deny rule, privateAddresses on an audit rule',
      `${TD}egress:\n  rules:\n    - {name: a, action: deny, hosts: [evil.example], tunnel: any}\n    - {name: b, mode: audit, from: ["*"], hosts: [meta.internal], privateAddresses: [169.254.169.254/32]}\n    - {name: c, from: ["*"], hosts: [db.internal], tunnel: any, privateAddresses: [10.0.0.0/8]}\n    - {name: d, action: deny, hosts: [x.example], tunnel: tls}\n`,
      ['inert-option egress.rules[0].tunnel', 'inert-option egress.rules[1].privateAddresses']],
    ['same matchers, other action: a duplicate, and the deny decides',
      `${TD}inbound:\n  rules:\n    - {name: a, from: ["*"], paths: [/a]}\n    - {name: b, action: deny, paths: [/a], from: ["*"]}\n`,
      ['shadowed-by-deny inbound.rules[0]', 'duplicate-rule inbound.rules[1]']],
  ] as const)('%s', (_n, text, expected) => {
    expect(analyzeText(text).map((w) => `${w.code} ${w.path}`)).toEqual(expected);
  });

  it('the duplicate-rule message says which decides', () => {
    const w = analyzeText(`${TD}inbound:\n  rules:\n    - {name: a, from: ["*"], paths: [/a]}\n    - {name: b, action: deny, paths: [/a], from: ["*"]}\n`);
    expect(w.find((x) => x.code === 'duplicate-rule')!.message).toBe('inbound.rules[1]: rule "b" has the same matchers as allow rule "a" (inbound.rules[0]); the deny rule decides');
  });

  it('codes can be left out', () => {
    const r = compilePolicyText(fs.readFileSync(path.join(FIXTURES, 'analyze-egress.yaml'), 'utf8'), 'e.yaml');
    const codes = new Set(analyzeCompiled(r, { ignore: ['duplicate-entry', 'global-audit'] }).map((w) => w.code));
    expect(codes.has('duplicate-entry') || codes.has('global-audit')).toBe(false);
    expect(codes.has('never-matches')).toBe(true);
  });

  it('an invalid policy has no warnings (its errors come first)', () => {
    expect(analyzeCompiled(compilePolicyText('trustDomain: X\n', 'p.yaml'))).toEqual([]);
  });
});

// ---- soundness --------------------------------------------------------------------------------

const ID_ENTRIES = ['*', 'spiffe://example.org/ns/a/*', 'spiffe://example.org/ns/a/sa/x', 'spiffe://example.org/ns/b/sa/x', 'spiffe://other.org/ns/a/*', 'spiffe://other.org/ns/a/sa/x', 'spiffe://example.org/ns/a/sa/*'];
const IDENTITIES = [null, 'spiffe://example.org/ns/a/sa/x', 'spiffe://example.org/ns/a/sa/y', 'spiffe://example.org/ns/a', 'spiffe://example.org/ns/b/sa/x', 'spiffe://other.org/ns/a/sa/x', 'spiffe://example.org', 'spiffe://example.org/ns/a/sa/x/z'];
const METHODS = ['GET', 'POST', 'DELETE'];
const PATH_PATTERNS = ['*', '/', '/a', '/A', '/a/*', '/a/b', '/a/b/*', '/A/*', '*.json', '*.JSON', '*b', '/a/{*}', '/a/{*}/b', '/{*}/b', '/a/{*}/{**}', '/{*}', '/b/*', '/a/b.json'];
const PATHS = ['/', '/a', '/A', '/a/', '/a/b', '/A/B', '/a/b/', '/a/b/c', '/a/x/b', '/b', '/b/b', '/a/b.json', '/x.JSON', '/a.json', '/a/B', '/c/b', '/a/x/y/z', '/ab'];
const HOST_PATTERNS = ['a.com', 'b.a.com', '*.a.com', '*.com', 'x.org', '*.b.a.com'];
const CIDRS = ['10.0.0.0/8', '10.1.0.0/16', '0.0.0.0/0', '::/0', '::1/128', '192.168.0.0/16'];
const AUTHORITIES = ['a.com', 'b.a.com', 'c.b.a.com', 'x.com', 'x.org', '10.1.2.3', '10.2.0.1', '192.168.1.1', '[::1]', '[2001:db8::1]', '8.8.8.8'];
const PORTS = [80, 443, 8080];

const inboundRule = fc.record({
  action: fc.constantFrom('allow', 'deny'),
  from: subList(ID_ENTRIES),
  notFrom: subList(ID_ENTRIES),
  methods: subList(METHODS),
  notMethods: subList(METHODS),
  paths: subList(PATH_PATTERNS),
  notPaths: subList(PATH_PATTERNS),
});
const egressRule = fc.record({
  action: fc.constantFrom('allow', 'deny'),
  from: subList(ID_ENTRIES),
  notFrom: subList(ID_ENTRIES),
  hosts: subList(HOST_PATTERNS),
  notHosts: subList(HOST_PATTERNS),
  ports: subList(PORTS),
  notPorts: subList(PORTS),
  cidrs: subList(CIDRS),
  notCidrs: subList(CIDRS),
});

/** Checks every claim the analyzer makes about a two-rule section against all sample requests. */
function checkClaims(role: Role, a: Record<string, unknown>, b: Record<string, unknown>): void {
  const r = compilePolicy({ trustDomain: 'example.org', federatesWith: ['other.org'], [role]: { rules: [clean(a, 'r0'), clean(b, 'r1')] } }, 'p');
  expect(r.errors).toEqual([]);
  const policy = r.normalized as NormalizedPolicy;
  const rules = policy[role]!.rules;
  const requests =
    role === 'inbound'
      ? IDENTITIES.flatMap((identity) => METHODS.flatMap((method) => PATHS.map((p) => ({ identity, method, path: p }))))
      : IDENTITIES.flatMap((identity) => AUTHORITIES.flatMap((au) => PORTS.map((port) => ({ identity, target: parseAuthority(`${au}:${port}`, { scheme: 'http', connect: false }) }))));
  const m = (i: number) => requests.map((q) => ruleMatches(policy, role, rules[i], q));
  const [m0, m1] = [m(0), m(1)];
  const warnings = analyzeCompiled(r);
  const on = (code: string, i: number) => warnings.some((w) => w.code === code && w.path === `${role}.rules[${i}]`);
  const implies = (x: boolean[], y: boolean[]) => x.every((v, k) => !v || y[k]);
  for (const i of [0, 1]) if (on('never-matches', i)) expect([i, (i ? m1 : m0).some(Boolean)]).toEqual([i, false]);
  if (on('shadowed-by-deny', 1) || on('unreachable', 1)) expect(implies(m1, m0)).toBe(true);
  if (on('shadowed-by-deny', 0)) expect(implies(m0, m1)).toBe(true);
  if (on('duplicate-rule', 1) && rules[0].action === rules[1].action) expect(m1).toEqual(m0);
  const [x, y] = rules;
  const liveAllowDeny = x.action !== y.action && !warnings.some((w) => ['never-matches', 'shadowed-by-deny', 'duplicate-rule'].includes(w.code));
  if (liveAllowDeny && !warnings.some((w) => w.code === 'allow-deny-overlap')) {
    expect(m0.some((v, k) => v && m1[k])).toBe(false);
  }
}

describe('soundness: every claim holds for every sample request', () => {
  it('inbound', () => {
    fc.assert(fc.property(inboundRule, inboundRule, (a, b) => checkClaims('inbound', a, b)), { numRuns: 400 });
  });
  it('egress', () => {
    fc.assert(fc.property(egressRule, egressRule, (a, b) => checkClaims('egress', a, b)), { numRuns: 400 });
  });
});
