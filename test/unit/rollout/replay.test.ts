/**
 * Replay (harness/rollout/replay*.ts): records decided again by the compiled module, the changes
 * classified and grouped. Every decision here comes from build/testkit.wasm.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { compilePolicy } from '../../../harness/policy/compile';
import type { DecisionRecord } from '../../../harness/records/record';
import { changeKind, ChangeGroups, replayLogs } from '../../../harness/rollout/replay';
import { RecordDecider, PolicyCompileError } from '../../../harness/rollout/replay-decide';

const BILLING = 'spiffe://example.org/ns/shop/sa/billing';
const STORE = 'spiffe://example.org/ns/shop/sa/store';

const egressPolicy = (rules: object[], mode = 'enforce') =>
  compilePolicy({ trustDomain: 'example.org', mode, egress: { default: 'deny', rules } }, 'p.yaml').json;
const STRIPE = { name: 'billing-to-stripe', from: [BILLING], hosts: ['api.stripe.com', '*.stripe.com'], ports: [443] };

const rec = (r: Partial<DecisionRecord>): DecisionRecord => ({ role: 'egress', identity: BILLING, connect: false, decision: 'allow', rule: 'x', policy: 'p', ...r });

describe('changeKind', () => {
  it.each([
    ['allow', 'r', 'deny', 'default', 'allow-to-deny'],
    ['audit_deny', 'default', 'deny', 'default', 'allow-to-deny'],
    ['deny', 'default', 'allow', 'r', 'deny-to-allow'],
    ['deny', 'default', 'audit_deny', 'default', 'deny-to-allow'],
    ['allow', 'a', 'allow', 'b', 'rule-change'],
    ['allow', 'default', 'audit_deny', 'default', 'rule-change'],
    ['deny', 'a', 'deny', 'a', undefined],
  ] as const)('%s %s → %s %s: %s', (d0, r0, d1, r1, kind) => {
    expect(changeKind({ decision: d0, rule: r0 }, { decision: d1, rule: r1 })).toBe(kind);
  });
});

describe('RecordDecider (the module)', () => {
  const d = new RecordDecider(egressPolicy([STRIPE]));

  it.each([
    ['origin-form https', rec({ method: 'POST', scheme: 'https', authority: 'api.stripe.com' }), 'allow', 'billing-to-stripe'],
    ['another port', rec({ method: 'GET', scheme: 'https', authority: 'api.stripe.com:8443' }), 'deny', 'default'],
    ['another caller', rec({ identity: STORE, method: 'GET', scheme: 'https', authority: 'files.stripe.com' }), 'deny', 'default'],
    ['unauthenticated', rec({ identity: null, method: 'GET', scheme: 'https', authority: 'api.stripe.com' }), 'deny', 'default'],
    ['an empty label', rec({ method: 'CONNECT', connect: true, authority: 'api.stripe.com..:443' }), 'deny', 'bad_host'],
    ['no authority', rec({ method: 'GET', scheme: 'https' }), 'deny', 'bad_authority'],
    ['CONNECT, tunnel to the same name', rec({ method: 'CONNECT', connect: true, authority: 'api.stripe.com:443', sni: 'api.stripe.com' }), 'allow', 'billing-to-stripe'],
    ['CONNECT, tunnel to another name', rec({ method: 'CONNECT', connect: true, authority: 'api.stripe.com:443', rule: 'tunnel_sni_mismatch', sni: 'evil.example' }), 'deny', 'tunnel_sni_mismatch'],
    ['CONNECT, plain bytes in the tunnel', rec({ method: 'CONNECT', connect: true, authority: 'api.stripe.com:443', rule: 'tunnel_not_tls', sni: '-' }), 'deny', 'tunnel_not_tls'],
    ['CONNECT, ECH in the tunnel', rec({ method: 'CONNECT', connect: true, authority: 'api.stripe.com:443', rule: 'tunnel_ech', sni: 'api.stripe.com' }), 'deny', 'tunnel_ech'],
    ['SNI', rec({ role: 'egress-sni', sni: 'api.stripe.com', port: 443 }), 'allow', 'billing-to-stripe'],
    ['SNI, another port', rec({ role: 'egress-sni', sni: 'api.stripe.com', port: 8443 }), 'deny', 'default'],
    ['SNI, no server name', rec({ role: 'egress-sni', decision: 'deny', rule: 'no_sni', sni: '-', port: 443 }), 'deny', 'no_sni'],
    ['SNI, not TLS', rec({ role: 'egress-sni', decision: 'deny', rule: 'not_tls', sni: '-', port: 443 }), 'deny', 'not_tls'],
    ['SNI, ECH (the record keeps the outer name)', rec({ role: 'egress-sni', decision: 'deny', rule: 'ech', sni: 'api.stripe.com', port: 443 }), 'deny', 'ech'],
    ['SNI, a name that is no host name', rec({ role: 'egress-sni', decision: 'deny', rule: 'bad_sni', sni: 'a?b', port: 443 }), 'deny', 'bad_sni'],
  ])('%s', (_what, r, decision, rule) => {
    expect(d.decide(r)).toEqual({ decision, rule });
  });

  it('a tunnel rule with `tunnel: any` lets the plain bytes through; audit mode turns refusals into audit_deny', () => {
    const plain = rec({ method: 'CONNECT', connect: true, authority: 'api.stripe.com:443', rule: 'tunnel_not_tls', decision: 'deny', sni: '-' });
    expect(new RecordDecider(egressPolicy([{ ...STRIPE, tunnel: 'any' }])).decide(plain)).toEqual({ decision: 'allow', rule: 'billing-to-stripe' });
    expect(new RecordDecider(egressPolicy([STRIPE], 'audit')).decide(plain)).toEqual({ decision: 'audit_deny', rule: 'tunnel_not_tls' });
  });

  it('a policy without the role\'s section is an error naming the role', () => {
    const inboundOnly = compilePolicy({ trustDomain: 'example.org', inbound: { rules: [] } }, 'p.yaml').json;
    expect(() => new RecordDecider(inboundOnly).decide(rec({ authority: 'api.stripe.com' }))).toThrow(PolicyCompileError);
  });
});

describe('ChangeGroups', () => {
  it('groups by kind, identity and the two outcomes, counting all and keeping three examples', () => {
    const g = new ChangeGroups();
    const r = rec({ method: 'GET', scheme: 'https', authority: 'api.stripe.com', rule: 'billing-to-stripe' });
    for (let i = 1; i <= 5; i++) g.add('allow-to-deny', r, { decision: 'deny', rule: 'default' }, { file: 'a.log', line: i });
    g.add('allow-to-deny', { ...r, identity: STORE }, { decision: 'deny', rule: 'default' }, { file: 'a.log', line: 6 });
    g.add('rule-change', r, { decision: 'allow', rule: 'other' }, { file: 'a.log', line: 7 });
    const s = g.sorted();
    expect(s.map((x) => [x.kind, x.identity, x.count, x.examples.map((e) => e.line)])).toEqual([
      ['allow-to-deny', BILLING, 5, [1, 2, 3]],
      ['allow-to-deny', STORE, 1, [6]],
      ['rule-change', BILLING, 1, [7]],
    ]);
    expect(s[0].examples[0].request).toBe('GET https://api.stripe.com');
    expect(g.counts).toEqual({ 'allow-to-deny': 6, 'deny-to-allow': 0, 'rule-change': 1 });
  });
});

describe('replayLogs', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meshgate-replay-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('against the recorded policy nothing changes; without a rule its requests flip', async () => {
    const log = path.join(dir, 'egress.log');
    const entry = (authority: string, identity: string, decision: string, rule: string) =>
      JSON.stringify({ role: 'egress', method: 'GET', scheme: 'https', authority, meshgate: `decision=${decision} rule=${rule} identity=${identity} policy=p` });
    fs.writeFileSync(log, [entry('api.stripe.com', BILLING, 'allow', 'billing-to-stripe'), entry('files.stripe.com', BILLING, 'allow', 'billing-to-stripe'), entry('api.stripe.com', STORE, 'deny', 'default'), 'junk'].join('\n'));
    const same = await replayLogs([log], egressPolicy([STRIPE]));
    expect([same.records, same.unchanged, same.changes, same.skipped.bad]).toEqual([3, 3, { 'allow-to-deny': 0, 'deny-to-allow': 0, 'rule-change': 0 }, 1]);
    const narrowed = await replayLogs([log], egressPolicy([{ ...STRIPE, hosts: ['api.stripe.com'] }, { name: 'store-too', from: [STORE], hosts: ['api.stripe.com'] }]));
    expect(narrowed.changes).toEqual({ 'allow-to-deny': 1, 'deny-to-allow': 1, 'rule-change': 0 });
    expect(narrowed.groups.map((g) => [g.kind, g.identity, g.before.rule, g.after.rule, g.examples[0].line])).toEqual([
      ['allow-to-deny', BILLING, 'billing-to-stripe', 'default', 2],
      ['deny-to-allow', STORE, 'default', 'store-too', 3],
    ]);
  });
});
