/**
 * The test CA: minted certificates are checked with node:crypto (an independent X.509 parser) and
 * @peculiar/x509 for the fields Node does not expose (key usage bits, criticality), then used in a
 * real TLS handshake on 127.0.0.1.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tls from 'node:tls';
import * as x509 from '@peculiar/x509';
import { BAD_CERT_KINDS, TestCa, type BadCertKind, type MintedCert } from '../../../harness/pki/ca';

const TD = 'example.org';
const STORE = 'spiffe://example.org/ns/shop/sa/store';
const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';

let ca: TestCa;
let caCert: X509Certificate;

beforeAll(async () => {
  ca = await TestCa.create({ trustDomain: TD });
  caCert = new X509Certificate(ca.certPem);
});

/** The SAN entries node:crypto reports, e.g. ["URI:spiffe://…", "DNS:localhost"]. */
function sans(cert: X509Certificate): string[] {
  return cert.subjectAltName ? cert.subjectAltName.split(', ') : [];
}

function ext<T extends x509.Extension>(pem: string, type: new (raw: ArrayBuffer) => T): T {
  const found = new x509.X509Certificate(pem).getExtension(type);
  if (!found) throw new Error(`missing extension ${type.name}`);
  return found;
}

describe('CA certificate', () => {
  test('is a self-signed CA of the trust domain', () => {
    expect(caCert.ca).toBe(true);
    expect(caCert.issuer).toBe(caCert.subject);
    expect(caCert.verify(caCert.publicKey)).toBe(true);
    expect(sans(caCert)).toEqual([`URI:spiffe://${TD}`]);
    expect(caCert.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    const ku = ext(ca.certPem, x509.KeyUsagesExtension);
    expect(ku.critical).toBe(true);
    expect(ku.usages).toBe(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign);
  });

  test('its key matches its certificate', () => {
    expect(caCert.checkPrivateKey(createPrivateKey(ca.keyPem))).toBe(true);
  });
});

describe('mintSvid', () => {
  let svid: MintedCert;
  let cert: X509Certificate;
  beforeAll(async () => {
    svid = await ca.mintSvid(STORE);
    cert = new X509Certificate(svid.certPem);
  });

  test('has exactly one URI SAN, the SPIFFE ID', () => {
    expect(sans(cert)).toEqual([`URI:${STORE}`]);
    expect(svid.uris).toEqual([STORE]);
  });

  test('is signed by the CA and names it as issuer', () => {
    expect(cert.verify(caCert.publicKey)).toBe(true);
    expect(cert.issuer).toBe(caCert.subject);
    expect(cert.checkIssued(caCert)).toBe(true);
  });

  test('has the X.509-SVID leaf profile', () => {
    expect(cert.ca).toBe(false);
    expect(cert.keyUsage).toEqual(expect.arrayContaining([SERVER_AUTH, CLIENT_AUTH]));
    const ku = ext(svid.certPem, x509.KeyUsagesExtension);
    expect(ku.critical).toBe(true);
    expect(ku.usages & x509.KeyUsageFlags.digitalSignature).toBeTruthy();
    expect(ku.usages & (x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign)).toBe(0);
    const bc = ext(svid.certPem, x509.BasicConstraintsExtension);
    expect(bc.critical).toBe(true);
    expect(bc.ca).toBe(false);
  });

  test('is valid now', () => {
    const now = Date.now();
    expect(new Date(cert.validFrom).getTime()).toBeLessThan(now);
    expect(new Date(cert.validTo).getTime()).toBeGreaterThan(now);
  });

  test('key and chain belong together', () => {
    expect(cert.checkPrivateKey(createPrivateKey(svid.keyPem))).toBe(true);
    const chain = svid.chainPem.split(/(?<=-----END CERTIFICATE-----\n)/).filter((s) => s.trim());
    expect(chain).toHaveLength(2);
    expect(new X509Certificate(chain[0]).fingerprint256).toBe(cert.fingerprint256);
    expect(new X509Certificate(chain[1]).fingerprint256).toBe(caCert.fingerprint256);
  });

  test('can carry DNS SANs besides the URI SAN', async () => {
    const c = new X509Certificate((await ca.mintSvid(STORE, { dnsNames: ['billing.test'] })).certPem);
    expect(sans(c)).toEqual([`URI:${STORE}`, 'DNS:billing.test']);
  });

  test('serial numbers differ', async () => {
    const other = new X509Certificate((await ca.mintSvid(STORE)).certPem);
    expect(other.serialNumber).not.toBe(cert.serialNumber);
  });
});

describe('mintBad: one named defect each', () => {
  const table: Array<[BadCertKind, (c: X509Certificate, id: string) => void]> = [
    ['expired', (c) => {
      expect(new Date(c.validTo).getTime()).toBeLessThan(Date.now());
      expect(c.verify(caCert.publicKey)).toBe(true);
    }],
    ['foreign-ca', (c, id) => {
      expect(c.verify(caCert.publicKey)).toBe(false);
      expect(sans(c)).toEqual([`URI:${id}`]);
    }],
    ['two-uri-sans', (c, id) => {
      expect(sans(c)).toEqual([`URI:${id}`, `URI:spiffe://${TD}/ns/test/sa/second-uri-san`]);
      expect(c.verify(caCert.publicKey)).toBe(true);
    }],
    ['non-spiffe-uri', (c) => {
      expect(sans(c)).toEqual(['URI:https://example.org/ns/shop/sa/store']);
    }],
    ['no-uri-san', (c) => {
      expect(sans(c).filter((s) => s.startsWith('URI:'))).toEqual([]);
      expect(c.verify(caCert.publicKey)).toBe(true);
    }],
  ];

  test('the table covers every kind', () => {
    expect(table.map(([k]) => k).sort()).toEqual([...BAD_CERT_KINDS].sort());
  });

  test.each(table)('%s', async (kind, check) => {
    const bad = await ca.mintBad(kind, STORE);
    expect(bad.defect).toBe(kind);
    const c = new X509Certificate(bad.certPem);
    expect(c.checkPrivateKey(createPrivateKey(bad.keyPem))).toBe(true);
    check(c, STORE);
  });

  test('foreign-ca certificates chain to one stable foreign CA', async () => {
    const foreign = await ca.foreignCa();
    const a = new X509Certificate((await ca.mintBad('foreign-ca')).certPem);
    const b = new X509Certificate((await ca.mintBad('foreign-ca')).certPem);
    const fc = new X509Certificate(foreign.certPem);
    expect(a.verify(fc.publicKey) && b.verify(fc.publicKey)).toBe(true);
    expect(foreign.trustDomain).toBe(TD);
  });

  test('default SPIFFE ID names the defect', async () => {
    expect((await ca.mintBad('expired')).uris).toEqual([`spiffe://${TD}/ns/test/sa/expired`]);
  });
});

describe('mintServer', () => {
  test('DNS names and IP literals become DNS and IP SANs', async () => {
    const s = await ca.mintServer(['api.stripe.com', 'localhost', '127.0.0.1']);
    const c = new X509Certificate(s.certPem);
    expect(sans(c)).toEqual(['DNS:api.stripe.com', 'DNS:localhost', 'IP Address:127.0.0.1']);
    expect(c.checkHost('api.stripe.com')).toBe('api.stripe.com');
    expect(c.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(c.verify(caCert.publicKey)).toBe(true);
  });
});

describe('writeTo and a real TLS handshake', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meshgate-pki-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('writes PEM files and returns their paths', async () => {
    const { caFile } = ca.writeTo(dir);
    const files = (await ca.mintSvid(STORE)).writeTo(dir, 'store');
    expect(fs.readFileSync(caFile, 'utf8')).toBe(ca.certPem);
    expect(path.basename(files.certFile)).toBe('store.pem');
    expect(path.basename(files.keyFile)).toBe('store-key.pem');
    expect(path.basename(files.chainFile)).toBe('store-chain.pem');
    expect(fs.statSync(files.keyFile).mode & 0o777).toBe(0o600);
  });

  /**
   * Handshake with a server for `localhost` that requires a client certificate from the CA.
   * Resolves with the peer URI SAN the server saw; rejects when either side refuses the handshake.
   */
  async function handshake(client: MintedCert): Promise<string> {
    const server = await ca.mintServer(['localhost']);
    const srv = tls.createServer({ cert: server.chainPem, key: server.keyPem, ca: ca.certPem, requestCert: true, rejectUnauthorized: true });
    const seen = new Promise<string>((resolve, reject) => {
      srv.on('secureConnection', (s) => {
        resolve(s.getPeerCertificate().subjectaltname ?? '');
        s.end();
      });
      srv.on('tlsClientError', (e) => reject(e));
    });
    seen.catch(() => undefined);
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as { port: number }).port;
    const socket = tls.connect({ port, host: '127.0.0.1', servername: 'localhost', ca: ca.certPem, cert: client.chainPem, key: client.keyPem });
    socket.on('error', () => undefined);
    socket.resume();
    try {
      return await seen;
    } finally {
      socket.destroy();
      await new Promise((r) => srv.close(r));
    }
  }

  test('an SVID is accepted as a client certificate', async () => {
    expect(await handshake(await ca.mintSvid(STORE))).toBe(`URI:${STORE}`);
  });

  test('a foreign-CA certificate is refused', async () => {
    await expect(handshake(await ca.mintBad('foreign-ca', STORE))).rejects.toThrow();
  });

  test('an expired certificate is refused', async () => {
    await expect(handshake(await ca.mintBad('expired', STORE))).rejects.toThrow();
  });
});
