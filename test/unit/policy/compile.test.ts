/**
 * Policy → plugin configuration (harness/policy/compile.ts): the document as compact JSON with
 * keys in document order and nothing added, and its digest (sha256 of its canonical form).
 */
import * as path from 'node:path';
import { compilePolicy, compilePolicyFile, compilePolicyText, policyDigest } from '../../../harness/policy/compile';
import { privateAddressGrants } from '../../../harness/policy/private-addresses';

const EXAMPLE = path.resolve(__dirname, '../../../examples/shop/policy.yaml');
/** The policy digest: sha256 of the canonical form, computed by the module (assembly/policy/digest.ts). */
const sha256 = (s: string) => policyDigest(s);

describe('the shop example', () => {
  const r = compilePolicyFile(EXAMPLE);

  it('is valid', () => {
    expect(r.errors).toEqual([]);
    expect(r.ok).toBe(true);
  });

  it('compiles to the document as JSON, keys in document order, nothing added', () => {
    expect(r.json).toBe(
      '{"trustDomain":"example.org","mode":"enforce","identity":{"from":"peer-certificate"},' +
        '"inbound":{"default":"deny","rules":[' +
        '{"name":"no-admin","action":"deny","paths":["/admin","/admin/*"]},' +
        '{"name":"store-creates-charges","action":"allow","from":["spiffe://example.org/ns/shop/sa/store"],"methods":["POST"],"paths":["/charges","/charges/*"]},' +
        '{"name":"try-new-reader","mode":"audit","from":["spiffe://example.org/ns/shop/*"],"methods":["GET"],"paths":["/charges/{*}/receipt"]}]},' +
        '"egress":{"default":"deny","rules":[' +
        '{"name":"billing-to-stripe","from":["spiffe://example.org/ns/shop/sa/billing"],"hosts":["api.stripe.com","*.stripe.com"],"ports":[443]}]}}',
    );
    expect(JSON.parse(r.json)).toEqual(r.policy);
  });

  it('digest: the policy digest of the JSON (the module computes it); digest12 its first 12 digits', () => {
    expect(r.digest).toBe(sha256(r.json));
    expect(r.digest).toMatch(/^[0-9a-f]{64}$/);
    expect(r.digest12).toBe(r.digest.slice(0, 12));
  });

  it('normalized: every default filled in (for analysis and rendering, never in the JSON)', () => {
    expect(r.normalized!.inbound!.rules.map((x) => [x.name, x.action, x.mode])).toEqual([
      ['no-admin', 'deny', 'enforce'],
      ['store-creates-charges', 'allow', 'enforce'],
      ['try-new-reader', 'allow', 'audit'],
    ]);
    expect(r.normalized!.egress!.rules[0]).toMatchObject({ name: 'billing-to-stripe', action: 'allow', mode: 'enforce', path: 'egress.rules[0]', tunnel: 'tls' });
    expect(r.normalized!.inbound!.rules[0].tunnel).toBeUndefined();
  });
});

describe('egress rule options', () => {
  const r = compilePolicy({ trustDomain: 'example.org', egress: { rules: [
    { name: 'stripe', hosts: ['*.stripe.com'] },
    { name: 'legacy', hosts: ['legacy.internal'], tunnel: 'any', privateAddresses: ['10.0.0.0/8', 'fd00::/8'] },
    { name: 'metadata-shadow', mode: 'audit', hosts: ['metadata.internal'], privateAddresses: ['169.254.169.254/32'] },
    { name: 'no-evil', action: 'deny', hosts: ['evil.example'], tunnel: 'any' },
    { name: 'db', hosts: ['db.internal'], ports: [5432], privateAddresses: ['192.168.10.0/24'] },
    { name: 'metadata', cidrs: ['169.254.169.254/32'] },
    { name: 'no-ten', action: 'deny', cidrs: ['10.0.0.0/8'] },
  ] } }, 'p.json', undefined, { role: 'egress' });

  it('are valid, written to the JSON as given, normalized with tunnel: tls by default', () => {
    expect(r.errors).toEqual([]);
    expect(r.json).toContain('"tunnel":"any","privateAddresses":["10.0.0.0/8","fd00::/8"]');
    expect(r.normalized!.egress!.rules.map((x) => [x.name, x.tunnel, x.privateAddresses])).toEqual([
      ['stripe', 'tls', undefined],
      ['legacy', 'any', ['10.0.0.0/8', 'fd00::/8']],
      ['metadata-shadow', 'tls', ['169.254.169.254/32']],
      ['no-evil', 'any', undefined],
      ['db', 'tls', ['192.168.10.0/24']],
      ['metadata', 'tls', undefined],
      ['no-ten', 'tls', undefined],
    ]);
  });

  it('privateAddressGrants: per enforced allow rule, its privateAddresses and cidrs, in policy order (audit and deny rules grant nothing)', () => {
    expect(privateAddressGrants(r.normalized!)).toEqual([
      { rule: 'legacy', cidrs: ['10.0.0.0/8', 'fd00::/8'] },
      { rule: 'db', cidrs: ['192.168.10.0/24'] },
      { rule: 'metadata', cidrs: ['169.254.169.254/32'] },
    ]);
    expect(privateAddressGrants(compilePolicy({ trustDomain: 'example.org', inbound: {} }, 'p.json').normalized!)).toEqual([]);
  });
});

describe('JSON output', () => {
  it.each([
    ['key order is the document\'s, not the schema\'s', 'inbound:\n  rules: []\n  default: allow\ntrustDomain: example.org\n',
      '{"inbound":{"rules":[],"default":"allow"},"trustDomain":"example.org"}'],
    ['no defaults are added', 'trustDomain: example.org\ninbound: {}\n', '{"trustDomain":"example.org","inbound":{}}'],
    ['comments and layout do not matter', '# c\ntrustDomain:   "example.org"   # c\ninbound:\n  {}\n', '{"trustDomain":"example.org","inbound":{}}'],
    ['YAML numbers become JSON numbers', 'trustDomain: example.org\negress:\n  rules: [{name: a, ports: [0x1BB, 8080, 1e1]}]\n',
      '{"trustDomain":"example.org","egress":{"rules":[{"name":"a","ports":[443,8080,10]}]}}'],
    ['strings are escaped as JSON', 'trustDomain: example.org\ninbound:\n  rules: [{name: a, paths: ["/ä"]}]\n',
      '{"trustDomain":"example.org","inbound":{"rules":[{"name":"a","paths":["/ä"]}]}}'],
  ])('%s', (_n, yaml, json) => {
    const r = compilePolicyText(yaml, 'p.yaml');
    expect(r.json).toBe(json);
    expect(r.digest).toBe(sha256(json));
  });

  it('layout-only changes keep the digest; any change of content changes it', () => {
    const a = compilePolicyText('trustDomain: example.org\ninbound: {default: deny}\n', 'a.yaml');
    const b = compilePolicyText('# same policy\ntrustDomain: "example.org"\ninbound:\n  default: deny\n', 'b.yaml');
    const c = compilePolicyText('trustDomain: example.org\ninbound: {}\n', 'c.yaml');
    expect(b.digest).toBe(a.digest);
    expect(c.digest).not.toBe(a.digest); // the same meaning, but not the same configuration
  });

  it('an invalid policy still compiles to JSON (for tests that hand the filter a configuration it must refuse)', () => {
    const r = compilePolicyText('trustDomain: Example.ORG\ninbound: {}\n', 'p.yaml');
    expect(r.ok).toBe(false);
    expect(r.json).toBe('{"trustDomain":"Example.ORG","inbound":{}}');
    expect(r.digest).toBe(sha256(r.json));
    expect(r.normalized).toBeUndefined();
  });

  it('YAML that cannot be read has no JSON', () => {
    const r = compilePolicyText('trustDomain: [', 'p.yaml');
    expect(r.ok).toBe(false);
    expect([r.json, r.digest, r.digest12, r.policy]).toEqual(['', '', '', null]);
  });

  it('a plain object compiles to the same JSON as the YAML that spells it', () => {
    const obj = { trustDomain: 'example.org', inbound: { rules: [{ name: 'r', paths: ['/a'] }] } };
    const fromObj = compilePolicy(obj, 'inline');
    const fromYaml = compilePolicyText('trustDomain: example.org\ninbound:\n  rules:\n    - name: r\n      paths: [/a]\n', 'p.yaml');
    expect(fromObj.ok).toBe(true);
    expect(fromObj.json).toBe(JSON.stringify(obj));
    expect(fromObj.json).toBe(fromYaml.json);
    expect(fromObj.digest).toBe(fromYaml.digest);
  });

  it('a role option requires that section', () => {
    expect(compilePolicyFile(EXAMPLE, { role: 'egress' }).ok).toBe(true);
    expect(compilePolicyText('trustDomain: example.org\ninbound: {}\n', 'p.yaml', { role: 'egress' }).ok).toBe(false);
  });
});
