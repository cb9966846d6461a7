/**
 * `meshgate explain` through the module's trace (assembly/policy/trace.ts): per rule and field
 * answers, the reasons (rule, default with nearest, invalid, audit), identity resolution by the
 * policy's own source, records, and agreement with `meshgate eval` (the filter in the emulator).
 */
import * as path from 'node:path';
import { main } from '../../../harness/cli';
import { sharedTestkit } from '../../../harness/engine/testkit';
import { repoRoot } from '../../../harness/envoy/paths';
import { evalRequest } from '../../../harness/eval';
import { compilePolicy, compilePolicyFile } from '../../../harness/policy/compile';
import { explainRequest, formatExplanation, type ExplainRequest } from '../../../harness/rollout/explain';
import { requestOfRecord } from '../../../harness/rollout/explain-record';

const SHOP = path.join(repoRoot(), 'test', 'scenarios', 'policies', 'shop-inbound.yaml');
const STORE = 'spiffe://example.org/ns/shop/sa/store';
const BILLING = 'spiffe://example.org/ns/shop/sa/billing';
const PROXY = 'spiffe://example.org/ns/mesh/sa/gateway';
const tk = sharedTestkit();
const shop = compilePolicyFile(SHOP);

describe('the trace', () => {
  it('walks deny, allow, then audit rules, with every field answered', () => {
    const e = explainRequest(tk, shop, { role: 'inbound', peer: STORE, method: 'POST', path: '/charges/ch_1' });
    expect([e.decision, e.rule, e.by]).toEqual(['allow', 'store-creates-charges', 'rule']);
    expect(e.rules.map((r) => [r.phase, r.name, r.evaluated, r.matched, r.stoppedAt])).toEqual([
      ['deny', 'no-admin', true, false, 'paths'],
      ['allow', 'store-creates-charges', true, true, null],
      ['audit', 'try-new-reader', true, false, 'methods'],
    ]);
    expect(e.rules[2].fields).toEqual([
      { field: 'from', matched: true, entries: ['spiffe://example.org/ns/shop/*'] },
      { field: 'methods', matched: false, entries: ['GET'] },
      { field: 'paths', matched: false, entries: ['/charges/{*}/receipt'] },
    ]);
  });

  it('a deny rule decides first; later rules are not reached', () => {
    const e = explainRequest(tk, shop, { role: 'inbound', peer: STORE, method: 'POST', path: '/admin' });
    expect([e.decision, e.rule]).toEqual(['deny', 'no-admin']);
    expect(e.rules.find((r) => r.name === 'store-creates-charges')!.evaluated).toBe(false);
  });

  it('default deny names the nearest allow rule and its failing field; audit rules are listed', () => {
    const e = explainRequest(tk, shop, { role: 'inbound', peer: BILLING, method: 'GET', path: '/charges/1/receipt' });
    expect([e.decision, e.rule, e.by]).toEqual(['deny', 'default', 'default']);
    expect(e.nearest).toEqual({ rule: 'store-creates-charges', field: 'from', matched: 1, of: 3 });
    expect(e.audit).toEqual([{ rule: 'try-new-reader', action: 'allow' }]);
    expect(e.why).toMatch(/nearest allow rule store-creates-charges/);
  });

  it('an invalid request evaluates no rule and says why', () => {
    const e = explainRequest(tk, shop, { role: 'inbound', peer: STORE, method: 'POST', path: '/charges/../admin' });
    expect([e.decision, e.rule, e.by, e.reason, e.rules]).toEqual(['deny', 'non_canonical_path', 'invalid', 'non_canonical_path', []]);
  });

  it('negations, egress hosts and ports, global audit mode', () => {
    const p = compilePolicy({
      trustDomain: 'example.org', mode: 'audit',
      egress: { default: 'deny', rules: [{ name: 'stripe', from: [BILLING], hosts: ['*.stripe.com'], notHosts: ['files.stripe.com'], ports: [443] }] },
    }, 'inline');
    const at = (host: string, port?: number) => explainRequest(tk, p, { role: 'egress', peer: BILLING, host, port });
    expect([at('api.stripe.com').decision, at('api.stripe.com').rule]).toEqual(['allow', 'stripe']);
    const files = at('files.stripe.com');
    expect([files.decision, files.rule, files.rules[0].stoppedAt]).toEqual(['audit_deny', 'default', 'notHosts']);
    expect(at('api.stripe.com', 8443).rules[0].fields.map((f) => [f.field, f.matched])).toEqual([
      ['from', true], ['hosts', true], ['notHosts', true], ['ports', false],
    ]);
  });

  it('the identity comes from the policy\'s own source (xfcc: a trusted proxy speaks for the caller)', () => {
    const p = compilePolicy({
      trustDomain: 'example.org', identity: { from: 'xfcc', trustedProxies: [PROXY] },
      inbound: { rules: [{ name: 'store', from: [STORE] }] },
    }, 'inline');
    const forwarded = explainRequest(tk, p, { role: 'inbound', peer: PROXY, xfcc: `By=${PROXY};URI=${STORE}` });
    expect([forwarded.identity, forwarded.decision]).toEqual([{ authenticated: true, id: STORE, reason: 'ok', source: 'xfcc' }, 'allow']);
    const bare = explainRequest(tk, p, { role: 'inbound', peer: PROXY });
    expect([bare.identity.reason, bare.decision]).toEqual(['no_xfcc', 'deny']);
    const foreign = explainRequest(tk, p, { role: 'inbound', peer: 'spiffe://other.org/x' });
    expect(foreign.identity.reason).toBe('foreign_trust_domain');
  });

  it('prints every rule with its fields', () => {
    const lines = formatExplanation(explainRequest(tk, shop, { role: 'inbound', peer: STORE, method: 'GET', path: '/admin/x' }));
    expect(lines.slice(0, 4)).toEqual([
      `policy   ${shop.digest12} (inbound, default deny)`,
      'request  GET /admin/x',
      `caller   ${STORE}  [identity from peer-certificate, in the trust domain]`,
      'decision deny  rule=no-admin',
    ]);
    expect(lines).toContain('  no-admin: match  <- decides');
    expect(lines).toContain('    + paths      ["/admin","/admin/*"]');
  });
});

describe('agrees with meshgate eval (the filter in the emulator)', () => {
  const requests: ExplainRequest[] = [
    { role: 'inbound', peer: STORE, method: 'POST', path: '/charges' },
    { role: 'inbound', peer: STORE, method: 'GET', path: '/charges' },
    { role: 'inbound', peer: BILLING, method: 'GET', path: '/charges/1/receipt' },
    { role: 'inbound', peer: null, method: 'DELETE', path: '/admin/users' },
    { role: 'inbound', peer: STORE, method: 'POST', path: '/charges/%2e%2e/admin' },
  ];
  it.each(requests.map((r) => [`${r.peer ?? 'none'} ${r.method} ${r.path}`, r]))('%s', async (_n, r) => {
    const e = explainRequest(tk, shop, r);
    const v = await evalRequest({ compiled: shop, role: 'inbound', identity: r.peer ?? undefined, method: r.method, path: r.path });
    expect([e.decision, e.rule]).toEqual([v.decision, v.rule]);
  });
});

describe('records', () => {
  it('reads a decision record (docs/records.md) with the reader replay uses', () => {
    const rec = (o: Record<string, unknown>) => JSON.stringify(o);
    expect(requestOfRecord(rec({ role: 'inbound', method: 'POST', path: '/x', meshgate: `decision=allow rule=r identity=${STORE} policy=abc` }))).toEqual({
      request: { role: 'inbound', resolved: { id: STORE }, method: 'POST', path: '/x' },
      logged: { decision: 'allow', rule: 'r', policy: 'abc' },
    });
    expect(requestOfRecord('{"meshgate":"decision=deny rule=default identity=- policy=abc identity_reason=svid_root_id","method":"GET","path":"/"}', 'inbound').request.resolved)
      .toEqual({ reason: 'svid_root_id' });
    expect(requestOfRecord({ role: 'egress', authority: 'api.stripe.com:443', method: 'CONNECT', meshgate: 'decision=deny rule=default identity=- policy=abc identity_reason=no_peer_certificate' }).request)
      .toEqual({ role: 'egress', resolved: { reason: 'no_peer_certificate' }, connect: true, scheme: 'https', authority: 'api.stripe.com:443' });
    expect(() => requestOfRecord({ method: 'GET', meshgate: 'decision=allow rule=r identity=- policy=abc' })).toThrow(/no role/);
    expect(() => requestOfRecord({ role: 'inbound', method: 'GET', path: '/', meshgate: '-', details: 'codec_error' })).toThrow(/not a decision.*codec_error/);
    expect(() => requestOfRecord({ role: 'inbound', path: '/', meshgate: 'decision=allow rule=r identity=- policy=abc' })).toThrow(/inbound record without method/);
  });

  it('explain --record compares with what the proxy logged', async () => {
    const out: string[] = [];
    const record = JSON.stringify({ role: 'inbound', method: 'GET', path: '/charges/1/receipt', meshgate: `decision=allow rule=old-rule identity=${BILLING} policy=aaaaaaaaaaaa` });
    expect(await main(['explain', '--policy', SHOP, '--record', record], { out: (s) => out.push(s), err: (s) => out.push(s) })).toBe(0);
    expect(out.at(-1)).toBe('record   the proxy logged allow rule=old-rule under policy aaaaaaaaaaaa: DIFFERENT from this policy');
  });

  it('--format json prints the explanation', async () => {
    const out: string[] = [];
    const code = await main(['explain', '--policy', SHOP, '--role', 'inbound', '--identity', STORE, '--method', 'POST', '--path', '/charges', '--format', 'json'], { out: (s) => out.push(s), err: (s) => out.push(s) });
    expect(code).toBe(0);
    const e = JSON.parse(out.join('\n'));
    expect([e.decision, e.rule, e.line]).toEqual(['allow', 'store-creates-charges', 'allow rule=store-creates-charges nearest=- field=- audit=-']);
  });
});

it('refuses a trace that disagrees with the module\'s decision', () => {
  const lying = { ...tk, decide: () => 'deny rule=default nearest=- field=- audit=-' };
  expect(() => explainRequest(lying, shop, { role: 'inbound', peer: STORE, method: 'POST', path: '/charges' })).toThrow(/disagrees with the module's decision/);
});

it('an SNI record: the judged server name and port; a ClientHello refusal has nothing to trace', () => {
  const p = compilePolicy({ trustDomain: 'example.org', egress: { rules: [{ name: 'stripe', from: [BILLING], hosts: ['api.stripe.com'], ports: [443] }] } }, 'inline');
  const state = (rule: string, sni: string) => `decision=${rule === 'stripe' ? 'allow' : 'deny'} rule=${rule} identity=${BILLING} policy=abc sni=${sni}`;
  const ok = requestOfRecord({ role: 'egress-sni', port: '443', meshgate: state('stripe', 'api.stripe.com') });
  expect(ok.request).toEqual({ role: 'egress', resolved: { id: BILLING }, sni: 'api.stripe.com', port: 443 });
  expect(explainRequest(tk, p, ok.request)).toMatchObject({ decision: 'allow', rule: 'stripe', request: 'TLS server_name api.stripe.com port 443' });
  expect(() => requestOfRecord({ role: 'egress-sni', port: '443', meshgate: state('ech', 'api.stripe.com') })).toThrow(/ech.*nothing to trace/);
});
