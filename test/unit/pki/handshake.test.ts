/**
 * The emulator's model of the reference listener's handshake (harness/pki/handshake.ts): one row
 * per certificate shape, the verdict under Envoy's default validator (trusted_ca, one trust
 * domain) and under the SPIFFE validator (example.org + partner.example). The rows are what Envoy
 * 1.40 did with these shapes on this machine; the scenario files pin the same on real Envoy
 * (adversarial/certificates.yaml, inbound/federation.yaml).
 */
import type { CertificateDescription } from '../../../harness/pki/pki';
import { TestPki, mintDescribed } from '../../../harness/pki/pki';
import { clientHandshake, peerValidatorFor, usesSpiffeValidator, type PeerValidator } from '../../../harness/pki/handshake';

const S = 'spiffe://example.org/ns/shop/sa/store';
const P = 'spiffe://partner.example/ns/pay/sa/api';
const H = -3_600_000;

let pki: TestPki;
let single: PeerValidator;
let federated: PeerValidator;
beforeAll(async () => {
  pki = await TestPki.create({ trustDomains: ['example.org', 'partner.example'], extra: { rogue: { trustDomain: 'example.org', trusted: false } } });
  federated = peerValidatorFor(pki.bundles());
  single = peerValidatorFor(new Map([['example.org', [pki.own.certPem]]]));
});

type Row = [name: string, d: CertificateDescription | null, trustedCa: boolean, spiffe: boolean];
// prettier-ignore
const rows: Row[] = [
  ['no client certificate',            null,                                                                            true,  false],
  ['own SVID',                         { sans: [{ uri: S }] },                                                          true,  true],
  ['partner SVID',                     { sans: [{ uri: P }], issuer: 'partner.example' },                               false, true],
  ['partner CA claims own ID',         { sans: [{ uri: S }], issuer: 'partner.example' },                               false, false],
  ['own CA claims partner ID',         { sans: [{ uri: P }] },                                                          true,  false],
  ['outsider CA, own name',            { sans: [{ uri: S }], issuer: 'rogue' },                                         false, false],
  ['trust-domain ID',                  { sans: [{ uri: 'spiffe://example.org' }] },                                     true,  false],
  ['trust-domain ID + slash',          { sans: [{ uri: 'spiffe://example.org/' }] },                                    true,  true],
  ['partner first, own second',        { sans: [{ uri: P }, { uri: S }] },                                              true,  false],
  ['own first, partner second',        { sans: [{ uri: S }, { uri: P }] },                                              true,  true],
  ['https URI first',                  { sans: [{ uri: 'https://x.test/' }, { uri: S }] },                              true,  false],
  ['DNS SAN first',                    { sans: [{ dns: 'x.test' }, { uri: S }] },                                       true,  true],
  ['DNS SAN only',                     { sans: [{ dns: 'x.test' }] },                                                   true,  false],
  ['CN only',                          { cn: S },                                                                       true,  false],
  ['cA true + keyCertSign',            { sans: [{ uri: S }], ca: true, keyUsage: ['digitalSignature', 'keyCertSign'] }, true,  false],
  ['cA true',                          { sans: [{ uri: S }], ca: true },                                                true,  false],
  ['no basicConstraints',              { sans: [{ uri: S }], ca: null },                                                true,  true],
  ['EKU serverAuth only',              { sans: [{ uri: S }], eku: ['serverAuth'] },                                     false, true],
  ['EKU codeSigning only',             { sans: [{ uri: S }], eku: ['codeSigning'] },                                    false, true],
  ['no EKU',                           { sans: [{ uri: S }], eku: [] },                                                 true,  true],
  ['keyUsage without digitalSignature', { sans: [{ uri: S }], keyUsage: ['keyEncipherment'] },                          false, false],
  ['no keyUsage',                      { sans: [{ uri: S }], keyUsage: [] },                                            true,  false],
  ['keyCertSign on a leaf',            { sans: [{ uri: S }], keyUsage: ['digitalSignature', 'keyCertSign'] },           true,  false],
  ['cRLSign on a leaf',                { sans: [{ uri: S }], keyUsage: ['digitalSignature', 'cRLSign'] },               true,  false],
  ['expired',                          { sans: [{ uri: S }], notBefore: new Date(Date.now() + 48 * H), notAfter: new Date(Date.now() + H) }, false, false],
  ['not yet valid',                    { sans: [{ uri: S }], notBefore: new Date(Date.now() - H), notAfter: new Date(Date.now() - 48 * H) }, false, false],
  ['self-signed',                      { sans: [{ uri: S }], selfSigned: true },                                        false, false],
  ['the trust root itself',            { authorityCertificate: 'example.org' },                                         false, false],
];

test.each(rows)('%s: trusted_ca %p, spiffe %p', async (_name, d, trustedCa, spiffe) => {
  const chain = d === null ? undefined : (await mintDescribed(pki, d)).chainPem;
  expect(clientHandshake(chain, single).accepted).toBe(trustedCa);
  expect(clientHandshake(chain, federated).accepted).toBe(spiffe);
});

test('a refusal says why', async () => {
  const chain = (await mintDescribed(pki, { sans: [{ uri: S }], issuer: 'partner.example' })).chainPem;
  expect(clientHandshake(chain, federated)).toEqual({ accepted: false, reason: expect.stringMatching(/unknown CA/) });
  expect(clientHandshake(undefined, federated)).toEqual({ accepted: false, reason: expect.stringMatching(/requires one/) });
});

test('the SPIFFE validator once more than one trust domain is trusted', () => {
  expect([1, 2, 3].map(usesSpiffeValidator)).toEqual([false, true, true]);
  expect(single.kind).toBe('trusted-ca');
  expect(federated.kind).toBe('spiffe');
});
