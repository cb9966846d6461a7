/**
 * learn (harness/rollout/learn*.ts): what each identity did folded into allow rules; the proposal
 * validates with no warnings; the scenario file names, per entry, a request its rule decides.
 */
import { parse } from 'yaml';
import type { DecisionRecord } from '../../../harness/records/record';
import { Learner, shortName } from '../../../harness/rollout/learn';
import { buildProposal, proposalBase } from '../../../harness/rollout/learn-proposal';
import { scenarioYaml } from '../../../harness/rollout/learn-scenarios';
import { RecordDecider } from '../../../harness/rollout/replay-decide';

const STORE = 'spiffe://example.org/ns/shop/sa/store';
const WEB = 'spiffe://example.org/ns/web/sa/frontend';
const PARTNER = 'spiffe://partner.example/ns/x/sa/y';

let clock = 0;
const time = () => new Date(Date.UTC(2026, 11, 4, 10, 0, clock++)).toISOString();
const inb = (identity: string | null, method: string, path: string, decision: DecisionRecord['decision'] = 'allow', rule = 'r'): DecisionRecord =>
  ({ time: time(), role: 'inbound', identity, method, path, connect: false, decision, rule, policy: 'p' });
const egr = (identity: string, authority: string, extra: Partial<DecisionRecord> = {}): DecisionRecord =>
  ({ time: time(), role: 'egress', identity, method: 'GET', scheme: 'https', authority, connect: false, decision: 'allow', rule: 'r', policy: 'p', ...extra });

function learned(records: DecisionRecord[], o = {}) {
  const l = new Learner();
  for (const r of records) l.add(r);
  return { l, rules: l.rules(o) };
}

describe('Learner', () => {
  it('inbound: one rule per identity and method set; ids generalized; only traffic that went through', () => {
    const { l, rules } = learned([
      ...Array.from({ length: 3 }, (_, i) => inb(STORE, 'POST', `/charges/ch_${i}1/refund`)),
      inb(STORE, 'POST', '/charges'),
      inb(WEB, 'GET', '/users/me'),
      inb(WEB, 'HEAD', '/users/me'),
      inb(WEB, 'GET', '/admin', 'deny', 'no-admin'),
      inb(null, 'GET', '/', 'allow', 'open'),
      inb(WEB, 'GET', '/a/../b', 'audit_deny', 'non_canonical_path'),
    ]);
    expect(rules.map((r) => [r.name, r.identity, r.methods, r.paths, r.seen.count])).toEqual([
      ['shop-store-post', STORE, ['POST'], ['/charges', '/charges/{*}/refund'], 4],
      ['web-frontend-get-head', WEB, ['GET', 'HEAD'], ['/users/me'], 2],
    ]);
    expect(l.skipped).toEqual({ denied: 1, unauthenticated: 1, invalid: 1 });
    expect(rules[0].seen.first! < rules[0].seen.last!).toBe(true);
  });

  it('egress: hosts per port set; *.parent only from the threshold of siblings; addresses as cidrs; plain tunnels apart', () => {
    const { rules } = learned([
      egr(STORE, 'a.s3.example.com'), egr(STORE, 'b.s3.example.com'),
      egr(STORE, 'api.stripe.com:443'), egr(STORE, 'API.Stripe.com'),
      egr(STORE, '10.0.0.7:8080', { scheme: 'http' }),
      egr(STORE, 'git.example.net:22', { method: 'CONNECT', connect: true, sni: '-' }),
      { ...egr(STORE, ''), role: 'egress-sni', sni: 'c.s3.example.com', port: 443 },
    ], { wildcardThreshold: 3 });
    expect(rules.map((r) => [r.name, r.hosts ?? r.cidrs, r.ports, r.tunnelAny ?? false])).toEqual([
      ['shop-store-443', ['*.s3.example.com', 'api.stripe.com'], [443], false],
      ['shop-store-ip-8080', ['10.0.0.7/32'], [8080], false],
      ['shop-store-22-tunnel', ['git.example.net'], [22], true],
    ]);
    const two = learned([egr(STORE, 'a.s3.example.com'), egr(STORE, 'b.s3.example.com')], { wildcardThreshold: 3 }).rules;
    expect(two[0].hosts).toEqual(['a.s3.example.com', 'b.s3.example.com']);
  });

  it('rule-name stems from SPIFFE IDs', () => {
    expect(shortName(STORE)).toBe('shop-store');
    expect(shortName('spiffe://example.org/billing/api/v2')).toBe('api-v2');
  });
});

describe('buildProposal', () => {
  it('keeps the current policy\'s trust settings, federates foreign callers, drops covered entries and has no warnings', () => {
    const { l, rules } = learned([
      inb(WEB, 'GET', '/users/me'), inb(WEB, 'GET', '/users/42'), inb(PARTNER, 'GET', '/status'),
    ]);
    const current = { trustDomain: 'example.org', identity: { from: 'xfcc' as const, trustedProxies: ['spiffe://example.org/ns/istio/sa/ingress'] } };
    const base = proposalBase(l, current);
    expect(base).toEqual({ trustDomain: 'example.org', federatesWith: ['partner.example'], identity: current.identity });
    const p = buildProposal(rules, base, ['learned']);
    expect(p.warnings).toEqual([]);
    expect(p.compiled.ok).toBe(true);
    const doc = parse(p.yaml);
    expect(doc.inbound.rules[0]).toEqual({ name: 'web-frontend-get', action: 'allow', from: [WEB], methods: ['GET'], paths: ['/users/{*}'] });
    expect(p.yaml).toMatch(/^# learned\n/);
    expect(p.yaml).toMatch(/# 2 requests, first .*, last /);
  });
});

describe('scenarioYaml', () => {
  it('names, per entry, a request the module decides with that rule (HEAD, where GET goes to an earlier rule)', () => {
    const { l, rules } = learned([inb(WEB, 'GET', '/users/42'), inb(WEB, 'GET', '/users/me'), inb(WEB, 'HEAD', '/users/me')]);
    const base = proposalBase(l);
    const p = buildProposal(rules, base, []);
    const uncovered: string[] = [];
    const doc = parse(scenarioYaml(p.rules, 'inbound', base, 'proposal.yaml', new RecordDecider(p.compiled.json), uncovered));
    expect(doc.identities).toEqual({ 'web-frontend': WEB });
    expect(doc.requests.map((r: any) => [r.method, r.path, r.rule])).toEqual([
      ['GET', '/users/42', 'web-frontend-get'],
      ['HEAD', '/users/me', 'web-frontend-get-head'],
    ]);
    expect(uncovered).toEqual([]);
  });
});
