/**
 * Scenario files describing certificates (`authorities:`, `certificates:`, `cert: <name>`): what
 * the loader keeps, and an error naming file:line:col for every mistake, all of them at once.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadScenario, ScenarioError } from '../../../harness/scenario/load';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meshgate-scenario-certs-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const HEAD = `name: t
role: inbound
policy:
  trustDomain: example.org
  inbound: {default: deny, rules: [{name: any, from: ["*"]}]}
identities:
  store: spiffe://example.org/ns/shop/sa/store
`;

function load(body: string) {
  const file = path.join(dir, `s${Math.random().toString(36).slice(2)}.yaml`);
  fs.writeFileSync(file, HEAD + body);
  return { file, run: () => loadScenario(file, { strict: true }) };
}

function errorsOf(body: string): string[] {
  const { file, run } = load(body);
  try {
    run();
  } catch (e) {
    if (e instanceof ScenarioError) return e.messages.map((m) => m.replace(file, 'FILE'));
    throw e;
  }
  throw new Error('expected the file to be refused');
}

test('descriptions, authorities and requests presenting them', () => {
  const s = load(`authorities:
  rogue: {trustDomain: example.org}
  third: {trustDomain: third.example, trusted: true}
certificates:
  attacker-first: {sans: [{uri: "spiffe://example.org/ns/web/sa/w"}, {dns: a.test}, {ip: 10.0.0.1}, {email: a@b.c}], cn: "", eku: [serverAuth], keyUsage: [digitalSignature, keyCertSign], ca: null, issuer: rogue}
  late: {sans: [{uri: "spiffe://example.org/ns/a/sa/b"}], notBefore: +1h, notAfter: 2d, selfSigned: true}
  root: {authorityCertificate: third}
requests:
  - {cert: attacker-first, expect: deny, status: 0}
  - {as: store, cert: expired, expect: deny, status: 0}
`).run();
  expect(s.authorities).toEqual({ rogue: { trustDomain: 'example.org', trusted: false }, third: { trustDomain: 'third.example', trusted: true } });
  expect(s.certificates!['attacker-first']).toEqual({
    sans: [{ uri: 'spiffe://example.org/ns/web/sa/w' }, { dns: 'a.test' }, { ip: '10.0.0.1' }, { email: 'a@b.c' }],
    cn: '',
    eku: ['serverAuth'],
    keyUsage: ['digitalSignature', 'keyCertSign'],
    ca: null,
    issuer: 'rogue',
  });
  const late = s.certificates!.late;
  expect(late.notBefore!.getTime() - Date.now()).toBeGreaterThan(3_500_000);
  expect(late.notAfter!.getTime() - Date.now()).toBeGreaterThan(47 * 3_600_000);
  expect(s.certificates!.root).toEqual({ authorityCertificate: 'third' });
  expect(s.requests[0]).toMatchObject({ as: 'cert:attacker-first', certificate: 'attacker-first', cert: undefined });
  expect(s.requests[1]).toMatchObject({ as: 'store', cert: 'expired' });
  expect(s.requests[1].certificate).toBeUndefined();
  expect(s.federatesWith).toEqual([]);
});

test('every mistake, each with its position', () => {
  expect(
    errorsOf(`authorities:
  example.org: {trustDomain: x.test}
  bad: {trustDomain: Upper.Case, colour: red}
certificates:
  expired: {sans: [{uri: "spiffe://example.org/x"}]}
  a: {sans: [{url: "spiffe://example.org/x"}], eku: [anyUsage], keyUsage: digitalSignature, ca: maybe, issuer: nobody, notAfter: tomorrow, colour: red}
  b: {authorityCertificate: example.org, cn: x}
requests:
  - {as: store, cert: a, expect: deny, status: 0}
  - {cert: nothing, expect: deny, status: 0}
`),
  ).toEqual([
    'FILE:9:3: authorities.example.org: already the CA of trust domain example.org (the policy\'s own or federated)',
    'FILE:10:34: authorities.bad: unknown field "colour"',
    'FILE:10:22: authorities.bad.trustDomain: required, a trust domain name ([a-z0-9._-]+)',
    'FILE:12:3: certificates.expired: the name of a built-in certificate (expired, foreign-ca, two-uri-sans, non-spiffe-uri, no-uri-san, none)',
    'FILE:13:14: certificates.a.sans[0]: must be one of {uri: …}, {dns: …}, {ip: …}, {email: …}',
    'FILE:13:53: certificates.a.eku: "anyUsage" is not one of serverAuth, clientAuth, codeSigning, emailProtection',
    'FILE:13:75: certificates.a.keyUsage: must be a list of digitalSignature, nonRepudiation, keyEncipherment, dataEncipherment, keyAgreement, keyCertSign, cRLSign',
    'FILE:13:97: certificates.a.ca: must be true, false or null (no basicConstraints)',
    'FILE:13:112: certificates.a.issuer: unknown authority "nobody" (known: example.org)',
    'FILE:13:130: certificates.a.notAfter: must be a time relative to now (-2d, +1h, 30m) or an ISO date',
    'FILE:13:140: certificates.a: unknown field "colour" (sans, cn, eku, keyUsage, ca, notBefore, notAfter, selfSigned, issuer, authorityCertificate)',
    'FILE:14:6: certificates.b: authorityCertificate presents that CA\'s own certificate; it takes no other field',
    'FILE:16:10: requests[0].as: not with a described certificate: "a" says whom it claims to be',
    'FILE:17:12: requests[1].cert: must be one of expired, foreign-ca, two-uri-sans, non-spiffe-uri, no-uri-san, a, b',
    'FILE:17:5: requests[1].as: required: an identity name or "none"',
  ]);
});
