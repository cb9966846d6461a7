/**
 * Plugin configuration → Policy (assembly/policy/config.ts): the field rules of
 * docs/internals.md §1, every error collected with its JSON field path and value, the digest.
 */
import { createHash } from 'node:crypto';
import { loadTestkit } from './testkit';

const tk = loadTestkit();
const TD = { trustDomain: 'example.org' };

describe('valid documents', () => {
  it.each([
    ['minimal inbound', 'inbound', { ...TD, inbound: {} }, { rules: 0, deny: 0, allow: 0, audit: 0 }],
    ['minimal egress', 'egress', { ...TD, egress: { default: 'allow', rules: [] } }, { rules: 0, deny: 0, allow: 0, audit: 0 }],
    ['shop example, inbound', 'inbound', {
      ...TD, mode: 'enforce', identity: { from: 'peer-certificate' },
      inbound: { default: 'deny', rules: [
        { name: 'no-admin', action: 'deny', paths: ['/admin', '/admin/*'] },
        { name: 'store-creates-charges', action: 'allow', from: ['spiffe://example.org/ns/shop/sa/store'], methods: ['POST'], paths: ['/charges', '/charges/*'] },
        { name: 'try-new-reader', mode: 'audit', from: ['spiffe://example.org/ns/shop/*'], methods: ['GET'], paths: ['/charges/{*}/receipt'] },
      ] },
      egress: { default: 'deny', rules: [
        { name: 'billing-to-stripe', from: ['spiffe://example.org/ns/shop/sa/billing'], hosts: ['api.stripe.com', '*.stripe.com'], ports: [443] },
      ] },
    }, { rules: 3, deny: 1, allow: 1, audit: 1 }],
    ['every field', 'inbound', {
      ...TD, mode: 'audit', federatesWith: ['other.org', 'x.org'], identity: { from: 'xfcc', trustedProxies: ['spiffe://example.org/ns/gw/sa/gw'] },
      inbound: { rules: [{ name: 'A_z-09', action: 'deny', mode: 'enforce', from: ['*', 'spiffe://other.org/x', 'spiffe://example.org/ns/*'],
        notFrom: ['spiffe://example.org/ns/x'], methods: ['GET', 'PATCH'], notMethods: ['DELETE'], paths: ['*', '/', '/a/*', '*.json', '/a/{*}/{**}'], notPaths: ['/*'] }] },
      egress: { rules: [{ name: 'e', from: ['*'], notFrom: ['spiffe://x.org/y'], hosts: ['a.com', '*.com'], notHosts: ['b.a.com'], ports: [1, 65535, 443.0],
        notPorts: [80], cidrs: ['0.0.0.0/0', '::/0', '10.0.0.0/8', 'fe80::/10'], notCidrs: ['10.1.0.0/16'] }] },
    }, { rules: 1, deny: 1, allow: 0, audit: 0 }],
    ['identity local', 'egress', { ...TD, identity: { from: 'local', id: 'spiffe://example.org/ns/a/sa/b' }, egress: {} }, { rules: 0 }],
    ['federated names anywhere, federatesWith last', 'inbound', {
      ...TD, identity: { from: 'xfcc', trustedProxies: ['spiffe://partner.example/gw'] },
      inbound: { rules: [{ name: 'p', from: ['spiffe://partner.example/ns/*', 'spiffe://example.org/a'], notFrom: ['spiffe://partner.example/x'] }] },
      federatesWith: ['partner.example'],
    }, { rules: 1 }],
    ['the same rule name in both sections', 'inbound', { ...TD, inbound: { rules: [{ name: 'a' }] }, egress: { rules: [{ name: 'a' }] } }, { rules: 1 }],
    ['egress rule options tunnel and privateAddresses', 'egress', { ...TD, egress: { rules: [
      { name: 'legacy', hosts: ['legacy.example'], tunnel: 'any', privateAddresses: ['10.0.0.0/8', '169.254.169.254/32', 'fd00::/8'] },
      { name: 'stripe', hosts: ['*.stripe.com'], tunnel: 'tls' },
      { name: 'no-evil', action: 'deny', hosts: ['evil.example'], tunnel: 'any' },
    ] } }, { rules: 3, allow: 2, deny: 1 }],
    ['the SNI filter with identity local', 'egress-sni', { ...TD, identity: { from: 'local', id: 'spiffe://example.org/ns/a/sa/b' }, egress: {} }, { rules: 0 }],
    ['the SNI filter with identity peer-certificate (a gateway)', 'egress-sni', { ...TD, identity: { from: 'peer-certificate' }, egress: { rules: [{ name: 'r' }] } }, { rules: 1 }],
    ['xfcc on the HTTP egress filter', 'egress', { ...TD, identity: { from: 'xfcc', trustedProxies: ['spiffe://example.org/gw'] }, egress: {} }, { rules: 0 }],
  ] as const)('%s', (_n, role, doc, counts) => {
    const r = tk.compile(role, doc);
    expect(r.errors).toEqual([]);
    expect(r.ok).toBe(true);
    expect(r).toMatchObject(counts);
  });
});

describe('invalid documents: every error, with its field path and value', () => {
  const cases: Array<[string, 'inbound' | 'egress' | 'egress-sni', object | string, string[]]> = [
    ['not JSON', 'inbound', 'not json', ["json: unexpected character 'n' at byte 0"]],
    ['duplicate key', 'inbound', '{"trustDomain":"a","trustDomain":"b","inbound":{}}', ['json: duplicate key "trustDomain" at byte 19']],
    ['not an object', 'inbound', '[]', ['(document): must be an object, got a list']],
    ['empty object', 'inbound', {}, ['trustDomain: required', 'inbound: required by the meshgate_inbound filter']],
    ['no section for the role', 'egress', { ...TD, inbound: {} }, ['egress: required by the meshgate_egress filter']],
    // A TCP connection carries no x-forwarded-client-cert: the SNI filter cannot use xfcc.
    ['xfcc on the SNI filter', 'egress-sni', { ...TD, identity: { from: 'xfcc', trustedProxies: ['spiffe://example.org/gw'] }, egress: {} }, [
      'identity.from: not available to a network filter (meshgate_egress_sni): a TCP connection has no request headers; use peer-certificate or local: "xfcc"',
    ]],
    ['egress rule options: where and what', 'egress', { ...TD,
      inbound: { rules: [{ name: 'i', tunnel: 'any', privateAddresses: ['10.0.0.0/8'] }] },
      egress: { rules: [
        { name: 'a', tunnel: 'udp', privateAddresses: ['10.0.0.1/8', 'x', 3, '127.0.0.0/8'] },
        { name: 'd', action: 'deny', privateAddresses: ['10.0.0.0/8'] },
        { name: 'e', privateAddresses: [], tunnel: true },
        { name: 'f', privateAddresses: '10.0.0.0/8' },
      ] } }, [
      'inbound.rules[0].tunnel: unknown field (tunnel is an egress rule option)',
      'inbound.rules[0].privateAddresses: unknown field (privateAddresses is an egress rule option)',
      'egress.rules[0].tunnel: must be "tls" or "any": "udp"',
      'egress.rules[0].privateAddresses[0]: CIDR address has bits set beyond the prefix length: "10.0.0.1/8"',
      'egress.rules[0].privateAddresses[1]: CIDR needs a prefix length ("10.0.0.0/8"): "x"',
      'egress.rules[0].privateAddresses[2]: must be a string, got a number',
      'egress.rules[1].privateAddresses: only allowed on allow rules (the networks the names this rule allows may resolve to)',
      'egress.rules[2].privateAddresses: must not be empty',
      'egress.rules[2].tunnel: must be a string, got a boolean',
      'egress.rules[3].privateAddresses: must be a list, got a string',
    ]],
    ['section not an object', 'inbound', { ...TD, inbound: [] }, ['inbound: must be an object, got a list']],
    ['trustDomain type', 'inbound', { trustDomain: 5, inbound: {} }, ['trustDomain: must be a string, got a number']],
    ['trustDomain empty', 'inbound', { trustDomain: '', inbound: {} }, ['trustDomain: trust domain is missing: ""']],
    ['trustDomain case', 'inbound', { trustDomain: 'Example.ORG', inbound: {} }, ['trustDomain: trust domain has a character outside [a-z0-9._-]: "Example.ORG"']],
    ['trustDomain with scheme', 'inbound', { trustDomain: 'spiffe://example.org', inbound: {} }, ['trustDomain: trust domain has a character outside [a-z0-9._-]: "spiffe://example.org"']],
    ['mode', 'inbound', { ...TD, mode: 'warn', inbound: {} }, ['mode: must be "enforce" or "audit": "warn"']],
    ['unknown top-level keys', 'inbound', { ...TD, inbound: {}, extra: true, Inbound: {} }, ['extra: unknown field', 'Inbound: unknown field']],
    ['default and rules', 'inbound', { ...TD, inbound: { default: 'reject', rules: {}, policy: 1 } },
      ['inbound.default: must be "deny" or "allow": "reject"', 'inbound.rules: must be a list, got an object', 'inbound.policy: unknown field']],
    ['rule shapes', 'inbound', { ...TD, inbound: { rules: [1, { name: 'a b' }, {}, { name: 'x'.repeat(65) }, { name: 'ok', action: 'permit', mode: 'dry', when: 1 }] } }, [
      'inbound.rules[0]: must be an object, got a number',
      'inbound.rules[1].name: rule name must match [A-Za-z0-9_-]{1,64}: "a b"',
      'inbound.rules[2].name: required',
      `inbound.rules[3].name: rule name must match [A-Za-z0-9_-]{1,64}: "${'x'.repeat(65)}"`,
      'inbound.rules[4].action: must be "allow" or "deny": "permit"',
      'inbound.rules[4].mode: must be "enforce" or "audit": "dry"',
      'inbound.rules[4].when: unknown field',
    ]],
    ['duplicate rule names', 'inbound', { ...TD, inbound: { rules: [{ name: 'a' }, { name: 'a' }, { name: 'b' }, { name: 'a' }] } }, [
      'inbound.rules[1].name: duplicate rule name (also rules[0]): "a"',
      'inbound.rules[3].name: duplicate rule name (also rules[0]): "a"',
    ]],
    ['identity: xfcc without proxies', 'inbound', { ...TD, identity: { from: 'xfcc' }, inbound: {} }, ['identity.trustedProxies: required with identity.from: xfcc']],
    ['identity: forbidden fields', 'inbound', { ...TD, identity: { trustedProxies: ['spiffe://example.org/gw'], id: 'spiffe://example.org/x' }, inbound: {} }, [
      'identity.trustedProxies: only allowed with identity.from: xfcc',
      'identity.id: only allowed with identity.from: local',
    ]],
    ['identity: local without id', 'inbound', { ...TD, identity: { from: 'local' }, inbound: {} }, ['identity.id: required with identity.from: local']],
    ['identity: bad source, unknown key', 'inbound', { ...TD, identity: { from: 'mtls', extra: 1 }, inbound: {} }, [
      'identity.from: must be "peer-certificate", "xfcc" or "local": "mtls"',
      'identity.extra: unknown field',
    ]],
    ['identity: empty proxies', 'inbound', { ...TD, identity: { from: 'xfcc', trustedProxies: [] }, inbound: {} }, ['identity.trustedProxies: must not be empty']],
    ['identity: proxies are exact IDs', 'inbound', { ...TD, identity: { from: 'xfcc', trustedProxies: ['spiffe://example.org/gw/*', 'x', 3] }, inbound: {} }, [
      'identity.trustedProxies[0]: path has a character outside [A-Za-z0-9._-]: "spiffe://example.org/gw/*"',
      'identity.trustedProxies[1]: SPIFFE ID must start with "spiffe://": "x"',
      'identity.trustedProxies[2]: must be a string, got a number',
    ]],
    ['identity: bad local id', 'inbound', { ...TD, identity: { from: 'local', id: 'spiffe://example.org//x' }, inbound: {} }, ['identity.id: path has an empty segment: "spiffe://example.org//x"']],
    ['inbound matchers', 'inbound', { ...TD, inbound: { rules: [{ name: 'r',
      from: ['*', 'spiffe://example.org/*', 'spiffe://Example.ORG/x', 'spiffe://example.org/a/', 'x', 'spiffe://example.org/a/*/*'],
      methods: ['get', 'GET', '', 'A'.repeat(33)], paths: ['/a/', 'x', '/*', '/a/{**}/b', '/a*', 7], notFrom: [], hosts: ['a'] }] } }, [
      'inbound.rules[0].from[1]: a segment prefix needs a non-empty path before "/*" (use "*" for the whole trust domain): "spiffe://example.org/*"',
      'inbound.rules[0].from[2]: trust domain has a character outside [a-z0-9._-]: "spiffe://Example.ORG/x"',
      'inbound.rules[0].from[3]: path ends with \'/\': "spiffe://example.org/a/"',
      'inbound.rules[0].from[4]: SPIFFE ID must start with "spiffe://": "x"',
      'inbound.rules[0].from[5]: path has a character outside [A-Za-z0-9._-]: "spiffe://example.org/a/*/*"',
      'inbound.rules[0].methods[0]: method must be 1 to 32 upper-case letters: "get"',
      'inbound.rules[0].methods[2]: method must be 1 to 32 upper-case letters: ""',
      `inbound.rules[0].methods[3]: method must be 1 to 32 upper-case letters: "${'A'.repeat(33)}"`,
      'inbound.rules[0].paths[0]: path pattern has an empty segment: "/a/"',
      'inbound.rules[0].paths[1]: path pattern must start with \'/\', or be \'*\' or a suffix pattern ("*.json"): "x"',
      'inbound.rules[0].paths[3]: \'{**}\' must be the last segment: "/a/{**}/b"',
      'inbound.rules[0].paths[4]: \'*\' is only allowed alone, as the whole last segment ("/a/*") or as a leading suffix wildcard ("*.json"): "/a*"',
      'inbound.rules[0].paths[5]: must be a string, got a number',
      'inbound.rules[0].notFrom: must not be empty',
      'inbound.rules[0].hosts: unknown field (hosts is an egress field)',
    ]],
    ['egress matchers (and the other section is validated too)', 'inbound', { ...TD, inbound: {}, egress: { rules: [{ name: 'r',
      hosts: ['API.x.com', '*.x.com', '127.0.0.1', 'a.com.'], ports: [0, 443, 70000, 1.5, '443'], cidrs: ['10.0.0.1/8', '10.0.0.0/8', 'x', '010.0.0.0/8'], methods: ['GET'], notCidrs: 'x' }] } }, [
      'egress.rules[0].hosts[0]: host must be lower case: "API.x.com"',
      'egress.rules[0].hosts[2]: host looks like an IP address (IP literals belong in cidrs): "127.0.0.1"',
      'egress.rules[0].hosts[3]: host must not end with \'.\': "a.com."',
      'egress.rules[0].ports[0]: port must be an integer 1..65535: 0',
      'egress.rules[0].ports[2]: port must be an integer 1..65535: 70000',
      'egress.rules[0].ports[3]: port must be an integer 1..65535: 1.5',
      'egress.rules[0].ports[4]: must be a number, got a string',
      'egress.rules[0].cidrs[0]: CIDR address has bits set beyond the prefix length: "10.0.0.1/8"',
      'egress.rules[0].cidrs[2]: CIDR needs a prefix length ("10.0.0.0/8"): "x"',
      'egress.rules[0].cidrs[3]: CIDR address is not a dotted-quad IPv4 address (decimal, no leading zeros): "010.0.0.0/8"',
      'egress.rules[0].methods: unknown field (methods is an inbound field)',
      'egress.rules[0].notCidrs: must be a list, got a string',
    ]],
    ['federatesWith: names, duplicates, the own domain; IDs of other trust domains', 'inbound', {
      ...TD, federatesWith: ['partner.example', 'Partner.example', 'partner.example', 'example.org'],
      identity: { from: 'local', id: 'spiffe://third.org/me' },
      inbound: { rules: [{ name: 'r', from: ['*', 'spiffe://third.org/ns/*', 'spiffe://partner.example/x'], notFrom: ['spiffe://example.org/y', 'spiffe://fourth.org/z'] }] },
    }, [
      'federatesWith[1]: trust domain has a character outside [a-z0-9._-]: "Partner.example"',
      'federatesWith[2]: duplicate trust domain (also federatesWith[0]): "partner.example"',
      'federatesWith[3]: is the policy\'s own trustDomain: "example.org"',
      'identity.id: trust domain is neither trustDomain nor in federatesWith (add "third.org" to federatesWith): "spiffe://third.org/me"',
      'inbound.rules[0].from[1]: trust domain is neither trustDomain nor in federatesWith (add "third.org" to federatesWith): "spiffe://third.org/ns/*"',
      'inbound.rules[0].notFrom[1]: trust domain is neither trustDomain nor in federatesWith (add "fourth.org" to federatesWith): "spiffe://fourth.org/z"',
    ]],
    ['federatesWith must be a non-empty list', 'inbound', { ...TD, federatesWith: [], inbound: {} }, ['federatesWith: must not be empty']],
    ['long values are truncated in messages', 'inbound', { ...TD, inbound: { rules: [{ name: 'r', from: ['spiffe://' + 'A'.repeat(300)] }] } },
      [`inbound.rules[0].from[0]: trust domain has a character outside [a-z0-9._-]: "spiffe://${'A'.repeat(247)}"...`]],
    ['control characters are escaped in messages', 'inbound', { ...TD, inbound: { rules: [{ name: 'r', paths: ['/a\nb"'] }] } },
      ['inbound.rules[0].paths[0]: path pattern has a character outside [A-Za-z0-9-._~!$&\'()+,;=:@]: "/a\\u000ab\\""']],
  ];
  it.each(cases)('%s', (_n, role, doc, errors) => {
    const r = tk.compile(role, doc);
    expect(r.errors).toEqual(errors);
    expect(r.ok).toBe(false);
  });
});

describe('digest', () => {
  it('is the sha256 of the canonical form (keys sorted, no whitespace), or of the bytes when not JSON', () => {
    const canonical = '{"inbound":{},"trustDomain":"example.org"}';
    for (const text of [canonical, '{"trustDomain":"example.org","inbound":{}}', '{ "trustDomain": "example.org", "inbound": {} }\n']) {
      expect(tk.compile('inbound', text).digest).toBe(createHash('sha256').update(canonical).digest('hex'));
    }
    expect(tk.compile('inbound', 'garbage').digest).toBe(createHash('sha256').update('garbage').digest('hex'));
  });
});
