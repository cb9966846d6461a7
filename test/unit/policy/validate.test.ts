/**
 * Policy validation (harness/policy/source.ts, validate.ts): invalid policies under fixtures/ with
 * the exact `FILE:LINE:COL: message` lines `meshgate validate` prints — every problem, sorted by
 * position, in the filter's words.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LineCounter, parseDocument, type Node, type YAMLMap } from 'yaml';
import { compilePolicy, compilePolicyFile, compilePolicyText } from '../../../harness/policy/compile';
import { formatDiagnostic, quoteValue } from '../../../harness/policy/diagnostics';
import { formatPath, parentPath, parsePolicySource } from '../../../harness/policy/source';
import { validatePolicyValue } from '../../../harness/policy/validate';

const FIXTURES = path.join(__dirname, 'fixtures');
const lines = (name: string): string[] => {
  const r = compilePolicyText(fs.readFileSync(path.join(FIXTURES, name), 'utf8'), name);
  return r.errors.map(formatDiagnostic);
};

describe('invalid policy files: exact output', () => {
  const cases: Array<[string, string[]]> = [
    ['invalid-fields.yaml', [
      'invalid-fields.yaml:2:14: trustDomain: trust domain has a character outside [a-z0-9._-]: "Example.ORG"',
      'invalid-fields.yaml:3:7: mode: must be "enforce" or "audit": "warn"',
      'invalid-fields.yaml:4:1: extra: unknown field',
      'invalid-fields.yaml:6:12: inbound.default: must be "deny" or "allow": "reject"',
      'invalid-fields.yaml:7:3: inbound.policy: unknown field',
      'invalid-fields.yaml:9:13: inbound.rules[0].name: rule name must match [A-Za-z0-9_-]{1,64}: "a b"',
      'invalid-fields.yaml:10:7: inbound.rules[0].hosts: unknown field (hosts is an egress field)',
      'invalid-fields.yaml:12:11: inbound.rules[0].from[0]: trust domain has a character outside [a-z0-9._-]: "spiffe://Example.ORG/ns/shop/sa/store"',
      'invalid-fields.yaml:14:11: inbound.rules[0].from[2]: a segment prefix needs a non-empty path before "/*" (use "*" for the whole trust domain): "spiffe://example.org/*"',
      'invalid-fields.yaml:15:11: inbound.rules[0].from[3]: path has an empty segment: "spiffe://example.org/ns//x"',
      "invalid-fields.yaml:16:11: inbound.rules[0].from[4]: path has a '.' or '..' segment: \"spiffe://example.org/ns/./x\"",
      "invalid-fields.yaml:17:11: inbound.rules[0].from[5]: path ends with '/': \"spiffe://example.org/ns/\"",
      'invalid-fields.yaml:18:11: inbound.rules[0].from[6]: path has a character outside [A-Za-z0-9._-]: "spiffe://example.org/ns/a b"',
      'invalid-fields.yaml:19:11: inbound.rules[0].from[7]: SPIFFE ID must start with "spiffe://": "http://example.org/ns/a"',
      'invalid-fields.yaml:20:17: inbound.rules[0].methods[0]: method must be 1 to 32 upper-case letters: "get"',
      'invalid-fields.yaml:20:28: inbound.rules[0].methods[2]: must be a string, got a number',
      'invalid-fields.yaml:20:31: inbound.rules[0].methods[3]: method must be 1 to 32 upper-case letters: ""',
      'invalid-fields.yaml:21:15: inbound.rules[0].paths[0]: path pattern has an empty segment: "/a/"',
      'invalid-fields.yaml:21:22: inbound.rules[0].paths[1]: path pattern must start with \'/\', or be \'*\' or a suffix pattern ("*.json"): "x"',
      'invalid-fields.yaml:21:27: inbound.rules[0].paths[2]: \'*\' is only allowed alone, as the whole last segment ("/a/*") or as a leading suffix wildcard ("*.json"): "/a*"',
      "invalid-fields.yaml:21:34: inbound.rules[0].paths[3]: '{**}' must be the last segment: \"/a/{**}/b\"",
      'invalid-fields.yaml:21:47: inbound.rules[0].paths[4]: \'{\' and \'}\' are only allowed as whole "{*}" or "{**}" segments: "/a/{x}" (use "{*}" for one segment: named parameters like "{x}" do not exist here)',
      'invalid-fields.yaml:21:57: inbound.rules[0].paths[5]: a suffix pattern ("*.json") cannot contain \'/\': "*.js/x"',
      "invalid-fields.yaml:21:67: inbound.rules[0].paths[6]: path pattern has a '.' or '..' segment: \"/a/../b\"",
      "invalid-fields.yaml:21:78: inbound.rules[0].paths[7]: path pattern has a character outside [A-Za-z0-9-._~!$&'()+,;=:@]: \"/a%20b\"",
      'invalid-fields.yaml:23:7: inbound.rules[1].name2: unknown field (did you mean "name"?)',
      'invalid-fields.yaml:24:14: inbound.rules[2].name: duplicate rule name (also rules[1]): "ok"',
      'invalid-fields.yaml:24:24: inbound.rules[2].from: must not be empty',
      'invalid-fields.yaml:24:38: inbound.rules[2].notPaths: must not be empty',
      'invalid-fields.yaml:25:7: inbound.rules[3].name: required',
      'invalid-fields.yaml:25:15: inbound.rules[3].action: must be "allow" or "deny": "permit"',
      'invalid-fields.yaml:26:13: inbound.rules[3].mode: must be "enforce" or "audit": "dry"',
      'invalid-fields.yaml:27:7: inbound.rules[4]: must be an object, got a number',
      'invalid-fields.yaml:29:10: egress.rules: must be a list, got an object',
    ]],
    ['invalid-egress.yaml', [
      'invalid-egress.yaml:6:15: egress.rules[0].hosts[0]: host must be lower case: "API.stripe.com"',
      "invalid-egress.yaml:6:49: egress.rules[0].hosts[2]: host must not end with '.': \"stripe.com.\"",
      'invalid-egress.yaml:6:64: egress.rules[0].hosts[3]: host looks like an IP address (IP literals belong in cidrs): "127.0.0.1"',
      'invalid-egress.yaml:6:77: egress.rules[0].hosts[4]: \'*\' is only allowed as a leading "*." label: "*stripe.com"',
      "invalid-egress.yaml:6:92: egress.rules[0].hosts[5]: host has a label that is empty, longer than 63 bytes, outside [a-z0-9-] or starts/ends with '-': \"a_b.com\"",
      'invalid-egress.yaml:6:103: egress.rules[0].hosts[6]: host must be a DNS name without a port (IP literals belong in cidrs): "api.stripe.com:443"',
      'invalid-egress.yaml:6:125: egress.rules[0].hosts[7]: host has a non-ASCII character (use the A-label form, xn--...): "bücher.de"',
      'invalid-egress.yaml:7:15: egress.rules[0].ports[0]: port must be an integer 1..65535: 0',
      'invalid-egress.yaml:7:23: egress.rules[0].ports[2]: port must be an integer 1..65535: 70000',
      'invalid-egress.yaml:7:30: egress.rules[0].ports[3]: port must be an integer 1..65535: 1.5',
      'invalid-egress.yaml:7:35: egress.rules[0].ports[4]: must be a number, got a string',
      'invalid-egress.yaml:8:15: egress.rules[0].cidrs[0]: CIDR address has bits set beyond the prefix length: "10.0.0.1/8"',
      'invalid-egress.yaml:8:43: egress.rules[0].cidrs[2]: CIDR needs a prefix length ("10.0.0.0/8"): "10.0.0.0"',
      'invalid-egress.yaml:8:55: egress.rules[0].cidrs[3]: CIDR address is not a dotted-quad IPv4 address (decimal, no leading zeros): "010.0.0.0/8"',
      'invalid-egress.yaml:8:70: egress.rules[0].cidrs[4]: IPv4 CIDR prefix length must be 0..32: "10.0.0.0/33"',
      'invalid-egress.yaml:8:85: egress.rules[0].cidrs[5]: CIDR address has bits set beyond the prefix length: "2001:db8::1/32"',
      'invalid-egress.yaml:8:103: egress.rules[0].cidrs[6]: IPv6 CIDR prefix length must be 0..128: "::1/129"',
      'invalid-egress.yaml:8:114: egress.rules[0].cidrs[7]: CIDR prefix length has a leading zero: "10.0.0.0/08"',
      'invalid-egress.yaml:9:7: egress.rules[0].methods: unknown field (methods is an inbound field)',
      'invalid-egress.yaml:10:7: egress.rules[0].paths: unknown field (paths is an inbound field)',
      'invalid-egress.yaml:11:17: egress.rules[0].notCidrs: must be a list, got a string',
    ]],
    ['invalid-identity.yaml', [
      'invalid-identity.yaml:5:7: identity.trustedProxies[0]: path has a character outside [A-Za-z0-9._-]: "spiffe://example.org/ns/gw/sa/gw/*"',
      'invalid-identity.yaml:6:7: identity.trustedProxies[1]: SPIFFE ID must start with "spiffe://": "example.org/gw"',
      'invalid-identity.yaml:7:7: identity.trustedProxies[2]: must be a string, got a number',
      'invalid-identity.yaml:8:3: identity.id: only allowed with identity.from: local',
      'invalid-identity.yaml:9:3: identity.extra: unknown field',
    ]],
    ['invalid-identity-local.yaml', ['invalid-identity-local.yaml:3:3: identity.id: required with identity.from: local']],
    ['invalid-identity-source.yaml', [
      'invalid-identity-source.yaml:3:9: identity.from: must be "peer-certificate", "xfcc" or "local": "mtls"',
      'invalid-identity-source.yaml:4:19: identity.trustedProxies: must not be empty',
    ]],
    ['empty.yaml', ['empty.yaml:1:1: (document): must be an object, got null']],
    ['not-a-mapping.yaml', ['not-a-mapping.yaml:1:1: (document): must be an object, got a list']],
    ['yaml-syntax.yaml', ['yaml-syntax.yaml:5:14: YAML: this "[" is never closed: add "]" where the list ends']],
    ['yaml-two-documents.yaml', ['yaml-two-documents.yaml:3:1: YAML: a policy file holds one YAML document']],
    ['yaml-features.yaml', [
      'yaml-features.yaml:5:7: inbound.rules[0]: anchors are not supported in a policy (&rule)',
      'yaml-features.yaml:7:7: inbound.rules[1]: aliases are not supported in a policy (*rule): write the value out',
      'yaml-features.yaml:9:7: inbound.rules[2].name: duplicate key (first at 8:7)',
      'yaml-features.yaml:10:23: inbound.rules[2].methods[0]: explicit tags are not supported in a policy (!!str): quote strings instead',
      'yaml-features.yaml:11:15: inbound.rules[2].paths[0]: .inf cannot be written as JSON',
      'yaml-features.yaml:13:9: inbound.rules[3]: mapping keys must be plain strings',
    ]],
    ['minimal.yaml', []],
    ['invalid-egress-options.yaml', [
      'invalid-egress-options.yaml:5:7: inbound.rules[0].tunnel: unknown field (tunnel is an egress rule option)',
      'invalid-egress-options.yaml:6:7: inbound.rules[0].privateAddresses: unknown field (privateAddresses is an egress rule option)',
      'invalid-egress-options.yaml:14:15: egress.rules[1].tunnel: must be "tls" or "any": "udp"',
      'invalid-egress-options.yaml:15:26: egress.rules[1].privateAddresses[0]: CIDR address has bits set beyond the prefix length: "10.0.0.1/8"',
      'invalid-egress-options.yaml:15:38: egress.rules[1].privateAddresses[1]: CIDR needs a prefix length ("10.0.0.0/8"): "metadata"',
      'invalid-egress-options.yaml:15:48: egress.rules[1].privateAddresses[2]: IPv4 CIDR prefix length must be 0..32: "127.0.0.0/33"',
      'invalid-egress-options.yaml:19:25: egress.rules[2].privateAddresses: only allowed on allow rules (the networks the names this rule allows may resolve to)',
      'invalid-egress-options.yaml:21:25: egress.rules[3].privateAddresses: must not be empty',
    ]],
  ];
  it.each(cases)('%s', (name, expected) => {
    expect(lines(name)).toEqual(expected);
  });

  it('every fixture is in the table', () => {
    const listed = new Set(cases.map(([n]) => n));
    expect(fs.readdirSync(FIXTURES).filter((f) => f.endsWith('.yaml') && !listed.has(f) && !f.startsWith('analyze-'))).toEqual([]);
  });
});

describe('messages', () => {
  it.each([
    ['a role requires its section', 'trustDomain: example.org\n', 'egress', ['p.yaml:1:1: egress: required by the meshgate_egress filter']],
    ['without a role neither section is required', 'trustDomain: example.org\n', undefined, []],
    ['a missing trustDomain points at the document', 'inbound: {}\n', undefined, ['p.yaml:1:1: trustDomain: required']],
    ['a wrong type gets one message, not one per keyword', 'trustDomain: [x]\nmode: 1\ninbound: {rules: [{name: 7}]}\n', undefined, [
      'p.yaml:1:14: trustDomain: must be a string, got a list',
      'p.yaml:2:7: mode: must be a string, got a number',
      'p.yaml:3:26: inbound.rules[0].name: must be a string, got a number',
    ]],
    ['an empty value is null', 'trustDomain:\ninbound:\n', undefined, [
      'p.yaml:1:13: trustDomain: must be a string, got null',
      'p.yaml:2:9: inbound: must be an object, got null',
    ]],
    ['JSON is YAML', '{"trustDomain": "example.org", "inbound": {"rules": [{"name": "a", "methods": ["get"]}]}}', undefined, [
      'p.yaml:1:80: inbound.rules[0].methods[0]: method must be 1 to 32 upper-case letters: "get"',
    ]],
    ['YAML 1.2: on and yes are strings', 'trustDomain: example.org\nmode: on\n', undefined, ['p.yaml:2:7: mode: must be "enforce" or "audit": "on"']],
    ['a key that only looks like a field', 'trustDomain: example.org\n"inbound ": {}\n', undefined, ['p.yaml:2:1: inbound : unknown field (did you mean "inbound"?)']],
    ['a key named __proto__ is just an unknown field', 'trustDomain: example.org\n__proto__: {}\n', undefined, ['p.yaml:2:1: __proto__: unknown field']],
  ] as const)('%s', (_n, text, role, expected) => {
    const r = compilePolicyText(text, 'p.yaml', role ? { role } : {});
    expect(r.errors.map(formatDiagnostic)).toEqual(expected);
  });

  it('the SNI filter (connection): identity.from xfcc is refused, naming identity.from; the HTTP egress filter takes it', () => {
    const text = 'trustDomain: example.org\nidentity: {from: xfcc, trustedProxies: ["spiffe://example.org/gw"]}\negress: {}\n';
    expect(compilePolicyText(text, 'p.yaml', { role: 'egress', connection: true }).errors.map(formatDiagnostic)).toEqual([
      'p.yaml:2:18: identity.from: not available to a network filter (meshgate_egress_sni): a TCP connection has no request headers; use peer-certificate or local: "xfcc"',
    ]);
    expect(compilePolicyText(text, 'p.yaml', { role: 'egress' }).errors).toEqual([]);
    expect(compilePolicyText(text.replace('xfcc, trustedProxies: ["spiffe://example.org/gw"]', 'local, id: "spiffe://example.org/me"'), 'p.yaml', { role: 'egress', connection: true }).errors).toEqual([]);
  });

  it('values in messages: JSON-quoted like the filter, control bytes as \\u00XX, cut at 256 bytes', () => {
    expect(quoteValue('/a\nb"\\')).toBe('"/a\\u000ab\\"\\\\"');
    expect(quoteValue('a\u007f')).toBe('"a\\u007f"');
    expect(quoteValue('ä')).toBe('"ä"');
    expect(quoteValue(70000)).toBe('70000');
    expect(quoteValue('x'.repeat(300))).toBe(`"${'x'.repeat(256)}"...`);
    // a multi-byte character cut at byte 256: its first byte(s) as \u00XX, like the filter
    expect(quoteValue('x'.repeat(255) + 'ä')).toBe(`"${'x'.repeat(255)}\\u00c3"...`);
  });

  it('positions are 1-based and point at the value, the key for unknown fields', () => {
    const text = 'trustDomain: example.org\ninbound:\n  rules:\n    - name: r\n      form: ["*"]\n      from: ["*", "spiffe://x.org/a//b"]\n';
    expect(compilePolicyText(text, 'p.yaml').errors.map(formatDiagnostic)).toEqual([
      'p.yaml:5:7: inbound.rules[0].form: unknown field',
      'p.yaml:6:19: inbound.rules[0].from[1]: path has an empty segment: "spiffe://x.org/a//b"',
    ]);
  });
});

describe('sources', () => {
  it('a file on disk: the same diagnostics, named by the path given', () => {
    const file = path.join(FIXTURES, 'invalid-identity-local.yaml');
    expect(compilePolicyFile(file).errors.map(formatDiagnostic)).toEqual([`${file}:3:3: identity.id: required with identity.from: local`]);
  });

  it('a missing file is an error, not an exception', () => {
    const r = compilePolicyFile(path.join(FIXTURES, 'no-such.yaml'));
    expect(r.ok).toBe(false);
    expect(r.errors.map(formatDiagnostic)).toEqual([`${path.join(FIXTURES, 'no-such.yaml')}: cannot read the policy: no such file`]);
  });

  it('an inline mapping in a scenario file: positions in the scenario file', () => {
    const scenario = [
      'name: inline',
      'role: inbound',
      'policy:',
      '  trustDomain: example.org',
      '  inbound:',
      '    rules:',
      '      - name: r',
      '        methods: [get]',
      'requests: []',
      '',
    ].join('\n');
    const lc = new LineCounter();
    const doc = parseDocument(scenario, { lineCounter: lc });
    const node = (doc.contents as YAMLMap).get('policy', true) as Node;
    const r = compilePolicy(node, 'scenario.yaml', lc);
    expect(r.errors.map(formatDiagnostic)).toEqual(['scenario.yaml:8:19: inbound.rules[0].methods[0]: method must be 1 to 32 upper-case letters: "get"']);
  });

  it('a plain object: the same messages, no positions', () => {
    const r = compilePolicy({ trustDomain: 'example.org', inbound: { rules: [{ name: 'r', paths: ['/a/'] }] } }, 'inline');
    expect(r.errors.map(formatDiagnostic)).toEqual(['inline: inbound.rules[0].paths[0]: path pattern has an empty segment: "/a/"']);
    expect(compilePolicy({ trustDomain: 'example.org', inbound: { rules: [{ name: 'r', ports: [Infinity] }] } }, 'inline').errors.map(formatDiagnostic)).toEqual([
      'inline: inbound.rules[0].ports[0]: Infinity cannot be written as JSON',
    ]);
  });

  it('locates any JSON path, falling back to the nearest existing ancestor', () => {
    const src = parsePolicySource('trustDomain: example.org\ninbound:\n  rules:\n    - name: a\n      from: ["*"]\n', 'p.yaml');
    expect(src.locate('inbound.rules[0].from[0]')).toEqual({ line: 5, col: 14 });
    expect(src.locate('inbound.rules[0].from', 'key')).toEqual({ line: 5, col: 7 });
    expect(src.locate('inbound.rules[0].paths')).toEqual({ line: 4, col: 7 });
    expect(src.locate('egress')).toEqual({ line: 1, col: 1 });
    expect(formatPath(['inbound', 'rules', 2, 'from', 0])).toBe('inbound.rules[2].from[0]');
    expect(parentPath('inbound.rules[2].from[0]')).toBe('inbound.rules[2].from');
    expect(parentPath('inbound.rules[2]')).toBe('inbound.rules');
    expect(parentPath('trustDomain')).toBe('(document)');
  });

  it('validatePolicyValue: the problems of a plain value, with where they point', () => {
    expect(validatePolicyValue({ trustDomain: 'x', inbound: { rules: [{}] }, other: 1 })).toEqual([
      { path: 'other', message: 'other: unknown field', at: 'key' },
      { path: 'inbound.rules[0].name', message: 'inbound.rules[0].name: required', at: 'value' },
    ]);
  });
});
