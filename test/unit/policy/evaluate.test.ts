/**
 * The reference evaluator (harness/policy/evaluate.ts) that scenario expectations rest on: the
 * shop example (examples/shop/policy.yaml) as a matrix — a fixed column of callers against each request — and the
 * egress reasons. differential.test.ts holds it to the Wasm filter on random policies.
 */
import * as path from 'node:path';
import { compilePolicy, compilePolicyFile } from '../../../harness/policy/compile';
import { decideEgress, decideInbound, type Decision } from '../../../harness/policy/evaluate';

const shop = compilePolicyFile(path.resolve(__dirname, '../../../examples/shop/policy.yaml')).normalized!;
const ID = {
  store: 'spiffe://example.org/ns/shop/sa/store',
  reader: 'spiffe://example.org/ns/shop/sa/reader',
  billing: 'spiffe://example.org/ns/shop/sa/billing',
  partner: 'spiffe://partner.org/ns/shop/sa/store',
  anon: null,
} as const;
const COLUMN = ['store', 'reader', 'billing', 'partner', 'anon'] as const;
const cell = (d: Decision) => `${d.decision}/${d.rule}${d.audit.map((a) => `+${a.rule}:${a.wouldBe}`).join('')}`;

describe('the shop example, inbound', () => {
  const S = 'allow/store-creates-charges', D = 'deny/default', A = 'deny/no-admin', N = 'deny/non_canonical_path', R = '+try-new-reader:allow';
  it.each([
    //                                 store      reader     billing    partner anon
    ['POST', '/charges',               S,         D,         D,         D,      D],
    ['POST', '/charges/ch_1?x=1',      S,         D,         D,         D,      D],
    ['POST', '/Charges',               D,         D,         D,         D,      D],
    ['GET', '/charges/ch_1/receipt',   D + R,     D + R,     D + R,     D,      D],
    ['GET', '/admin',                  A,         A,         A,         A,      A],
    ['POST', '/ADMIN/users',           A,         A,         A,         A,      A],
    ['POST', '/charges//x',            N,         N,         N,         N,      N],
    ['POST', '/charges/%2e%2e/admin',  N,         N,         N,         N,      N],
  ])('%s %s', (method, p, ...cells) => {
    expect(COLUMN.map((w) => cell(decideInbound(shop, { identity: ID[w], method, path: p })))).toEqual(cells);
  });

  it('a default deny names the nearest allow rule and the field that failed', () => {
    expect(decideInbound(shop, { identity: ID.reader, method: 'POST', path: '/charges' }).nearest).toEqual({ rule: 'store-creates-charges', field: 'from' });
    expect(decideInbound(shop, { identity: ID.store, method: 'GET', path: '/charges' }).nearest).toEqual({ rule: 'store-creates-charges', field: 'methods' });
  });

  it('a caller whose certificate carries no valid SPIFFE ID is unauthenticated', () => {
    expect(decideInbound(shop, { identity: 'spiffe://example.org/ns/shop/sa/store/', method: 'POST', path: '/charges' })).toMatchObject({ decision: 'deny', identity: null });
  });
});

describe('the shop example, egress', () => {
  it.each([
    ['api.stripe.com', 'https', 'allow/billing-to-stripe'],
    ['API.Stripe.com:443', 'https', 'allow/billing-to-stripe'],
    // A trailing dot reaching the filter is an empty label (Envoy's strip_trailing_host_dot
    // already removed one): refused before any rule, names and addresses alike.
    ['API.Stripe.com.:443', 'https', 'deny/bad_host'],
    ['api.stripe.com..', 'https', 'deny/bad_host'],
    ['api..stripe.com', 'https', 'deny/bad_host'],
    ['.api.stripe.com', 'https', 'deny/bad_host'],
    ['files.stripe.com', 'https', 'allow/billing-to-stripe'],
    ['stripe.com', 'https', 'deny/default'],
    ['api.stripe.com', 'http', 'deny/default'],
    ['api.stripe.com:8443', 'https', 'deny/default'],
    ['user@api.stripe.com', 'https', 'deny/userinfo'],
    ['api.stripe.com:0', 'https', 'deny/bad_port'],
    ['b\u00fccher.de', 'https', 'deny/non_ascii_host'],
    ['1.2.3.4', 'https', 'deny/default'],
    ['0x01020304', 'https', 'deny/ambiguous_ip'],
    ['0177.0.0.1', 'https', 'deny/ambiguous_ip'],
    ['127.1', 'https', 'deny/ambiguous_ip'],
    ['1.2.3.4.', 'https', 'deny/bad_host'],
    ['[::ffff:1.2.3.4]', 'https', 'deny/default'],
  ])('%s (%s)', (authority, scheme, want) => {
    expect(cell(decideEgress(shop, { identity: ID.billing, authority, scheme }))).toBe(want);
  });

  it('only billing', () => {
    expect(COLUMN.map((w) => cell(decideEgress(shop, { identity: ID[w], authority: 'api.stripe.com' })))).toEqual([
      'deny/default', 'deny/default', 'allow/billing-to-stripe', 'deny/default', 'deny/default',
    ]);
  });
});

describe('modes and identity sources', () => {
  const policy = (doc: object) => {
    const r = compilePolicy({ trustDomain: 'example.org', ...doc }, 'inline');
    expect(r.errors).toEqual([]);
    return r.normalized!;
  };

  it('global audit: a deny becomes audit_deny, an invalid request too', () => {
    const p = policy({ mode: 'audit', inbound: { rules: [{ name: 'd', action: 'deny', paths: ['/d'] }] } });
    expect(cell(decideInbound(p, { identity: null, method: 'GET', path: '/d' }))).toBe('audit_deny/d');
    expect(cell(decideInbound(p, { identity: null, method: 'GET', path: '/x' }))).toBe('audit_deny/default');
    expect(cell(decideInbound(p, { identity: null, method: 'GET', path: '//x' }))).toBe('audit_deny/non_canonical_path');
  });

  it('identity.from local: the policy\'s own id, whatever the peer', () => {
    const p = policy({ identity: { from: 'local', id: 'spiffe://example.org/ns/shop/sa/billing' }, egress: { rules: [{ name: 'b', from: ['spiffe://example.org/ns/shop/sa/billing'] }] } });
    expect(decideEgress(p, { identity: null, authority: 'a.example' })).toMatchObject({ decision: 'allow', rule: 'b', identity: 'spiffe://example.org/ns/shop/sa/billing' });
  });

  it('a policy without the section is refused, like the filter refuses it', () => {
    expect(() => decideEgress(policy({ inbound: {} }), { identity: null, authority: 'a.example' })).toThrow(/no egress section/);
  });
});
