/**
 * TestPki: one trusted CA per trust domain named by it, declared authorities (trusted or not),
 * one bundle per trusted trust domain, and described certificates minted by the named issuer.
 */
import { X509Certificate } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { TestCa } from '../../../harness/pki/ca';
import { TestPki, mintDescribed } from '../../../harness/pki/pki';

let pki: TestPki;
beforeAll(async () => {
  pki = await TestPki.create({
    trustDomains: ['example.org', 'partner.example'],
    extra: { third: { trustDomain: 'third.example', trusted: true }, rogue: { trustDomain: 'example.org', trusted: false } },
  });
});

const subjectOf = (pem: string) => new X509Certificate(pem).subject;

test('one CA per trust domain, named by it; declared authorities by their name', () => {
  expect(pki.authority('example.org').trustDomain).toBe('example.org');
  expect(pki.authority('partner.example').trustDomain).toBe('partner.example');
  expect(pki.authority('rogue').trustDomain).toBe('example.org');
  expect(pki.authority('rogue').certPem).not.toBe(pki.own.certPem);
  expect(() => pki.authority('nobody')).toThrow(/no authority "nobody"/);
});

test('bundles: trusted CAs by trust domain, own first; untrusted authorities in none', () => {
  const bundles = pki.bundles();
  expect([...bundles.keys()]).toEqual(['example.org', 'partner.example', 'third.example']);
  expect(bundles.get('example.org')).toEqual([pki.own.certPem]);
  expect(bundles.get('third.example')).toEqual([pki.authority('third').certPem]);
  expect([...bundles.values()].flat()).not.toContain(pki.authority('rogue').certPem);
});

test('writeBundles: one PEM file per trust domain', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meshgate-pki-'));
  try {
    const files = pki.writeBundles(dir);
    expect(files.map((f) => [f.trustDomain, path.basename(f.file)])).toEqual([
      ['example.org', 'bundle-example.org.pem'],
      ['partner.example', 'bundle-partner.example.pem'],
      ['third.example', 'bundle-third.example.pem'],
    ]);
    expect(fs.readFileSync(files[1].file, 'utf8')).toBe(pki.authority('partner.example').certPem);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('issuerOf: an implicit trust domain CA for its IDs, else the own CA', () => {
  expect(pki.issuerOf('spiffe://partner.example/ns/a/sa/b')).toBe(pki.authority('partner.example'));
  expect(pki.issuerOf('spiffe://third.example/ns/a/sa/b')).toBe(pki.own);
  expect(pki.issuerOf('spiffe://nowhere.example/x')).toBe(pki.own);
});

test('mintDescribed: signed by the named issuer, the own CA by default', async () => {
  const partner = await mintDescribed(pki, { sans: [{ uri: 'spiffe://example.org/ns/shop/sa/store' }], issuer: 'partner.example' });
  expect(new X509Certificate(partner.certPem).verify(new X509Certificate(pki.authority('partner.example').certPem).publicKey)).toBe(true);
  const own = await mintDescribed(pki, { sans: [{ uri: 'spiffe://example.org/ns/shop/sa/store' }] });
  expect(new X509Certificate(own.certPem).issuer).toBe(subjectOf(pki.own.certPem));
  const root = await mintDescribed(pki, { authorityCertificate: 'partner.example' });
  expect(root.certPem).toBe(pki.authority('partner.example').certPem);
});

test('reuses a given own CA; refuses an authority named like a trust domain', async () => {
  const own = await TestCa.create({ trustDomain: 'example.org' });
  expect((await TestPki.create({ trustDomains: ['example.org'], own })).own).toBe(own);
  await expect(TestPki.create({ trustDomains: ['example.org'], extra: { 'example.org': { trustDomain: 'x.test', trusted: false } } })).rejects.toThrow(/already the CA of trust domain/);
});
