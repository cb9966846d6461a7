/**
 * TestCa.issue: every field of a CertificateSpec lands in the certificate as described, checked
 * with node:crypto and @peculiar/x509 reading the DER back; the defaults are the X.509-SVID leaf.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { TestCa, type CertificateSpec } from '../../../harness/pki/ca';

const STORE = 'spiffe://example.org/ns/shop/sa/store';
const WEB = 'spiffe://example.org/ns/web/sa/frontend';
const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
const CODE_SIGNING = '1.3.6.1.5.5.7.3.3';
const KU = x509.KeyUsageFlags;

let ca: TestCa;
let caCert: X509Certificate;
beforeAll(async () => {
  ca = await TestCa.create({ trustDomain: 'example.org' });
  caCert = new X509Certificate(ca.certPem);
});

async function issue(spec: CertificateSpec) {
  const minted = await ca.issue(spec);
  return { minted, node: new X509Certificate(minted.certPem), peculiar: new x509.X509Certificate(minted.certPem) };
}

function sanList(c: x509.X509Certificate): string[] {
  return (c.getExtension(x509.SubjectAlternativeNameExtension)?.names.items ?? []).map((n) => `${n.type}:${n.value}`);
}

test('the defaults are the X.509-SVID leaf profile', async () => {
  const { node, peculiar } = await issue({ sans: [{ uri: STORE }] });
  expect(sanList(peculiar)).toEqual([`url:${STORE}`]);
  expect(node.ca).toBe(false);
  expect(peculiar.getExtension(x509.BasicConstraintsExtension)?.critical).toBe(true);
  const ku = peculiar.getExtension(x509.KeyUsagesExtension)!;
  expect([ku.usages, ku.critical]).toEqual([KU.digitalSignature, true]);
  expect(node.keyUsage).toEqual([SERVER_AUTH, CLIENT_AUTH]);
  expect(node.subject).toContain('CN=store');
  expect(node.verify(caCert.publicKey)).toBe(true);
});

test('SANs keep the order given, every kind', async () => {
  const { peculiar, minted } = await issue({ sans: [{ uri: WEB }, { dns: 'a.test' }, { uri: STORE }, { email: 'x@example.org' }, { ip: '10.0.0.1' }, { uri: 'https://x.test/' }] });
  expect(sanList(peculiar)).toEqual([`url:${WEB}`, 'dns:a.test', `url:${STORE}`, 'email:x@example.org', 'ip:10.0.0.1', 'url:https://x.test/']);
  expect(minted.uris).toEqual([WEB, STORE, 'https://x.test/']);
  expect(minted.dnsNames).toEqual(['a.test']);
  expect(minted.ipAddresses).toEqual(['10.0.0.1']);
});

test('no sans: no SAN extension at all', async () => {
  const { peculiar, node } = await issue({ cn: STORE });
  expect(peculiar.getExtension(x509.SubjectAlternativeNameExtension)).toBeNull();
  expect(node.subject).toContain(`CN=${STORE}`);
});

test('cn "" leaves the CN out', async () => {
  const { node } = await issue({ sans: [{ uri: STORE }], cn: '' });
  expect(node.subject).not.toContain('CN=');
});

test.each([
  [['serverAuth'], [SERVER_AUTH]],
  [['clientAuth'], [CLIENT_AUTH]],
  [['codeSigning'], [CODE_SIGNING]],
] as const)('eku %j', async (eku, oids) => {
  expect((await issue({ sans: [{ uri: STORE }], eku: [...eku] })).node.keyUsage).toEqual(oids);
});

test('eku [] leaves the extension out', async () => {
  expect((await issue({ sans: [{ uri: STORE }], eku: [] })).peculiar.getExtension(x509.ExtendedKeyUsageExtension)).toBeNull();
});

test.each([
  [['keyEncipherment'], KU.keyEncipherment],
  [['digitalSignature', 'keyCertSign'], KU.digitalSignature | KU.keyCertSign],
  [['digitalSignature', 'cRLSign'], KU.digitalSignature | KU.cRLSign],
  [['keyAgreement'], KU.keyAgreement],
] as const)('keyUsage %j', async (keyUsage, bits) => {
  expect((await issue({ sans: [{ uri: STORE }], keyUsage: [...keyUsage] })).peculiar.getExtension(x509.KeyUsagesExtension)?.usages).toBe(bits);
});

test('keyUsage [] leaves the extension out', async () => {
  expect((await issue({ sans: [{ uri: STORE }], keyUsage: [] })).peculiar.getExtension(x509.KeyUsagesExtension)).toBeNull();
});

test('ca true, and ca null (no basicConstraints)', async () => {
  // (node's X509Certificate.ca is OpenSSL's X509_check_ca: false without keyCertSign; read the extension)
  const bc = (await issue({ sans: [{ uri: STORE }], ca: true })).peculiar.getExtension(x509.BasicConstraintsExtension)!;
  expect([bc.ca, bc.critical]).toEqual([true, true]);
  const absent = await issue({ sans: [{ uri: STORE }], ca: null });
  expect(absent.peculiar.getExtension(x509.BasicConstraintsExtension)).toBeNull();
});

test('validity window as given', async () => {
  const notBefore = new Date(Date.now() - 3 * 86_400_000);
  const notAfter = new Date(Date.now() - 86_400_000);
  const { node } = await issue({ sans: [{ uri: STORE }], notBefore, notAfter });
  expect(Math.abs(new Date(node.validFrom).getTime() - notBefore.getTime())).toBeLessThan(1000);
  expect(Math.abs(new Date(node.validTo).getTime() - notAfter.getTime())).toBeLessThan(1000);
});

test('selfSigned: its own issuer, its own key, no CA in the chain', async () => {
  const { node, minted } = await issue({ sans: [{ uri: STORE }], selfSigned: true });
  expect(node.issuer).toBe(node.subject);
  expect(node.verify(node.publicKey)).toBe(true);
  expect(node.verify(caCert.publicKey)).toBe(false);
  expect(minted.chainPem).toBe(minted.certPem);
});

test('asPresented: the CA certificate and key themselves', () => {
  const own = ca.asPresented();
  expect(own.certPem).toBe(ca.certPem);
  expect(new X509Certificate(own.certPem).checkPrivateKey(createPrivateKey(own.keyPem))).toBe(true);
  expect(own.uris).toEqual(['spiffe://example.org']);
});
