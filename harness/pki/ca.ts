/**
 * A test certificate authority for one SPIFFE trust domain, minting X.509-SVIDs (and deliberately
 * broken ones, named by their defect) with @peculiar/x509 on Node's WebCrypto. Keys are EC P-256,
 * signatures ECDSA with SHA-256, keys exported as PKCS#8 PEM ("PRIVATE KEY").
 *
 * Profiles (SPIFFE X.509-SVID spec, sections 4 and 5):
 * - CA: basicConstraints cA=true (critical), keyUsage keyCertSign+cRLSign (critical), URI SAN
 *   `spiffe://<trust domain>`, subject key identifier.
 * - SVID (leaf): basicConstraints cA=false (critical), keyUsage digitalSignature (critical),
 *   extKeyUsage serverAuth+clientAuth, exactly one URI SAN (the SPIFFE ID), subject/authority key
 *   identifiers.
 * - Server certificate: leaf profile with DNS / IP SANs instead of (or besides) the URI SAN.
 *
 * `issue(spec)` mints whatever a test describes (CertificateSpec): SANs in a chosen order, subject
 * CN, EKU, key usage, basic constraints, validity, self-signed — the SVID profile above is only
 * its default.
 */
import { webcrypto } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import * as x509 from '@peculiar/x509';

// @peculiar/x509 is typed against the DOM's WebCrypto (this project compiles without the DOM lib,
// so its CryptoKey types resolve to `any`); Node's webcrypto is the same API at runtime.
x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

type Key = webcrypto.CryptoKey;
type KeyPair = webcrypto.CryptoKeyPair;

const EC_KEY = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGNING = { name: 'ECDSA', hash: 'SHA-256' } as const;
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** Defects `mintBad` can put in a certificate (the names scenario files use). */
export type BadCertKind = 'expired' | 'foreign-ca' | 'two-uri-sans' | 'non-spiffe-uri' | 'no-uri-san';
export const BAD_CERT_KINDS: readonly BadCertKind[] = ['expired', 'foreign-ca', 'two-uri-sans', 'non-spiffe-uri', 'no-uri-san'];

/** One subjectAltName entry, in the order the certificate lists them. */
export type SanSpec = { uri: string } | { dns: string } | { ip: string } | { email: string };

/** Extended key usages by their RFC 5280 names (4.2.1.12). */
export const EXT_KEY_USAGES = ['serverAuth', 'clientAuth', 'codeSigning', 'emailProtection'] as const;
export type ExtKeyUsageName = (typeof EXT_KEY_USAGES)[number];

/** keyUsage bits by their RFC 5280 names (4.2.1.3). */
export const KEY_USAGES = ['digitalSignature', 'nonRepudiation', 'keyEncipherment', 'dataEncipherment', 'keyAgreement', 'keyCertSign', 'cRLSign'] as const;
export type KeyUsageName = (typeof KEY_USAGES)[number];

/**
 * A certificate as a test describes it. Every field defaults to the X.509-SVID leaf profile, so a
 * description names only its defects.
 */
export interface CertificateSpec {
  /** subjectAltName entries in this order; default none (then no SAN extension at all). */
  sans?: SanSpec[];
  /** Subject CN; default: the last path segment of the first URI SAN; '' = no CN. */
  cn?: string;
  /** extKeyUsage; default [serverAuth, clientAuth]; [] = no extension. */
  eku?: ExtKeyUsageName[];
  /** keyUsage (critical); default [digitalSignature]; [] = no extension. */
  keyUsage?: KeyUsageName[];
  /** basicConstraints cA (critical); default false; null = no extension. */
  ca?: boolean | null;
  notBefore?: Date;
  notAfter?: Date;
  /** Signed with its own key (issuer = subject) instead of this CA's. */
  selfSigned?: boolean;
}

/** Paths written by `writeTo`. */
export interface CertFiles {
  certFile: string;
  keyFile: string;
  /** Leaf followed by its issuing CA certificate. */
  chainFile: string;
}

export interface MintedCert {
  /** The leaf certificate alone. */
  certPem: string;
  /** PKCS#8 private key of the leaf. */
  keyPem: string;
  /** The leaf followed by the certificate of the CA that signed it (what a TLS peer presents). */
  chainPem: string;
  /** The URI SANs put in the certificate (for an SVID: the SPIFFE ID). */
  uris: string[];
  dnsNames: string[];
  ipAddresses: string[];
  notBefore: Date;
  notAfter: Date;
  /** For certificates from `mintBad`: the defect. */
  defect?: BadCertKind;
  /** Writes `<name>.pem`, `<name>-key.pem`, `<name>-chain.pem` into `dir`. */
  writeTo(dir: string, name: string): CertFiles;
}

export interface MintOptions {
  /** DNS SANs to add (an X.509-SVID may carry DNS SANs besides its one URI SAN). */
  dnsNames?: string[];
  /** IP address SANs to add. */
  ipAddresses?: string[];
  notBefore?: Date;
  notAfter?: Date;
  /** Subject common name; default: the last path segment of the SPIFFE ID. */
  commonName?: string;
}

interface LeafParams {
  uris: string[];
  dnsNames: string[];
  ipAddresses: string[];
  notBefore: Date;
  notAfter: Date;
  commonName: string;
  defect?: BadCertKind;
}

/** Extension lists of the leaf profile, as a spec says them. */
const SVID_EKU: ExtKeyUsageName[] = ['serverAuth', 'clientAuth'];
const SVID_KEY_USAGE: KeyUsageName[] = ['digitalSignature'];

export class TestCa {
  private foreign: Promise<TestCa> | undefined;

  private constructor(
    readonly trustDomain: string,
    private readonly keys: KeyPair,
    private readonly cert: x509.X509Certificate,
    /** PEM of the CA certificate: the trust bundle of the trust domain. */
    readonly certPem: string,
    /** PKCS#8 PEM of the CA key. */
    readonly keyPem: string,
  ) {}

  /** Creates a self-signed CA for `trustDomain` (valid from 7 days ago for 30 days). */
  static async create(options: { trustDomain: string; commonName?: string }): Promise<TestCa> {
    const { trustDomain } = options;
    const keys = await generateKeys();
    const now = Date.now();
    const cert = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: serialNumber(),
      name: `CN=${options.commonName ?? `meshgate test CA ${trustDomain}`}, O=meshgate test`,
      notBefore: new Date(now - 7 * DAY),
      notAfter: new Date(now + 30 * DAY),
      signingAlgorithm: SIGNING,
      keys: keys,
      extensions: [
        new x509.BasicConstraintsExtension(true, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        new x509.SubjectAlternativeNameExtension([{ type: 'url', value: `spiffe://${trustDomain}` }]),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      ],
    });
    return new TestCa(trustDomain, keys, cert, cert.toString('pem') + '\n', await exportKeyPem(keys.privateKey));
  }

  /** `spiffe://<trust domain>`. */
  get trustDomainId(): string {
    return `spiffe://${this.trustDomain}`;
  }

  /** An X.509-SVID for `spiffeId` (valid from 5 minutes ago for 24 hours unless told otherwise). */
  mintSvid(spiffeId: string, opts: MintOptions = {}): Promise<MintedCert> {
    return this.mintLeaf(this.leafParams([spiffeId], opts, lastSegment(spiffeId)));
  }

  /**
   * A certificate with one named defect, otherwise an SVID for `spiffeId`
   * (default `spiffe://<td>/ns/test/sa/<defect>`):
   * - `expired`: validity ended a day ago;
   * - `foreign-ca`: signed by another CA (same trust domain name, different key: `foreignCa()`);
   * - `two-uri-sans`: the SPIFFE ID plus a second SPIFFE ID in the same trust domain;
   * - `non-spiffe-uri`: the one URI SAN is `https://…` instead of `spiffe://…`;
   * - `no-uri-san`: no URI SAN at all (a DNS SAN `<defect>.test` only).
   */
  async mintBad(kind: BadCertKind, spiffeId?: string, opts: MintOptions = {}): Promise<MintedCert> {
    const id = spiffeId ?? `spiffe://${this.trustDomain}/ns/test/sa/${kind}`;
    const base = this.leafParams([id], opts, lastSegment(id));
    switch (kind) {
      case 'expired':
        return this.mintLeaf({ ...base, notBefore: new Date(Date.now() - 2 * DAY), notAfter: new Date(Date.now() - DAY), defect: kind });
      case 'foreign-ca': {
        const other = await this.foreignCa();
        return { ...(await other.mintSvid(id, opts)), defect: kind };
      }
      case 'two-uri-sans':
        return this.mintLeaf({ ...base, uris: [id, `spiffe://${this.trustDomain}/ns/test/sa/second-uri-san`], defect: kind });
      case 'non-spiffe-uri':
        return this.mintLeaf({ ...base, uris: [id.replace(/^spiffe:\/\//, 'https://')], defect: kind });
      case 'no-uri-san':
        return this.mintLeaf({ ...base, uris: [], dnsNames: [...base.dnsNames, `${kind}.test`], defect: kind });
    }
  }

  /**
   * A server certificate for DNS names and/or IP addresses (`['api.stripe.com', 'localhost',
   * '127.0.0.1']`: IP literals become IP SANs).
   */
  mintServer(names: string[], opts: MintOptions = {}): Promise<MintedCert> {
    const ips = names.filter((n) => net.isIP(n) !== 0);
    const dns = names.filter((n) => net.isIP(n) === 0);
    const params = this.leafParams([], opts, names[0] ?? 'server');
    return this.mintLeaf({ ...params, dnsNames: [...dns, ...params.dnsNames], ipAddresses: [...ips, ...params.ipAddresses] });
  }

  /** A second CA with the same trust domain name but its own key (what `foreign-ca` certificates chain to). */
  foreignCa(): Promise<TestCa> {
    this.foreign ??= TestCa.create({ trustDomain: this.trustDomain, commonName: `meshgate FOREIGN test CA ${this.trustDomain}` });
    return this.foreign;
  }

  /** Writes the CA certificate (the trust bundle) as `<name>.pem` and returns its path. */
  writeTo(dir: string, name = 'ca'): { caFile: string } {
    fs.mkdirSync(dir, { recursive: true });
    const caFile = path.join(dir, `${name}.pem`);
    fs.writeFileSync(caFile, this.certPem);
    return { caFile };
  }

  private leafParams(uris: string[], opts: MintOptions, commonName: string): LeafParams {
    const now = Date.now();
    return {
      uris,
      dnsNames: opts.dnsNames ?? [],
      ipAddresses: opts.ipAddresses ?? [],
      notBefore: opts.notBefore ?? new Date(now - 5 * MINUTE),
      notAfter: opts.notAfter ?? new Date(now + DAY),
      commonName: opts.commonName ?? commonName,
    };
  }

  private async mintLeaf(p: LeafParams): Promise<MintedCert> {
    const sans: SanSpec[] = [...p.uris.map((uri) => ({ uri })), ...p.dnsNames.map((dns) => ({ dns })), ...p.ipAddresses.map((ip) => ({ ip }))];
    const cert = await this.issue({ sans, cn: p.commonName, notBefore: p.notBefore, notAfter: p.notAfter });
    return p.defect ? { ...cert, defect: p.defect } : cert;
  }

  /**
   * A certificate as `spec` describes it, signed by this CA (or by itself with `selfSigned`);
   * valid from 5 minutes ago for 24 hours unless told otherwise.
   */
  async issue(spec: CertificateSpec): Promise<MintedCert> {
    const keys = await generateKeys();
    const sans = spec.sans ?? [];
    const now = Date.now();
    const notBefore = spec.notBefore ?? new Date(now - 5 * MINUTE);
    const notAfter = spec.notAfter ?? new Date(now + DAY);
    const firstUri = sans.find((s): s is { uri: string } => 'uri' in s)?.uri;
    const cn = spec.cn ?? (firstUri !== undefined ? lastSegment(firstUri) : 'leaf');
    const subject = cn === '' ? 'O=meshgate test' : `CN=${escapeDn(cn)}, O=meshgate test`;
    const signer = spec.selfSigned ? keys : this.keys;
    const extensions: x509.Extension[] = [];
    if (spec.ca !== null) extensions.push(new x509.BasicConstraintsExtension(spec.ca ?? false, undefined, true));
    const ku = spec.keyUsage ?? SVID_KEY_USAGE;
    if (ku.length) extensions.push(new x509.KeyUsagesExtension(ku.reduce<number>((bits, u) => bits | x509.KeyUsageFlags[u], 0), true));
    const eku = spec.eku ?? SVID_EKU;
    if (eku.length) extensions.push(new x509.ExtendedKeyUsageExtension(eku.map((u) => x509.ExtendedKeyUsage[u])));
    extensions.push(await x509.SubjectKeyIdentifierExtension.create(keys.publicKey));
    extensions.push(await x509.AuthorityKeyIdentifierExtension.create(signer.publicKey));
    if (sans.length) extensions.push(new x509.SubjectAlternativeNameExtension(sans.map(generalName)));
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: serialNumber(),
      subject,
      issuer: spec.selfSigned ? subject : this.cert.subject,
      notBefore,
      notAfter,
      signingAlgorithm: SIGNING,
      publicKey: keys.publicKey,
      signingKey: signer.privateKey,
      extensions,
    });
    const certPem = cert.toString('pem') + '\n';
    const keyPem = await exportKeyPem(keys.privateKey);
    const chainPem = spec.selfSigned ? certPem : certPem + this.certPem;
    const pick = (k: 'uri' | 'dns' | 'ip') => sans.flatMap((s) => (k in s ? [(s as Record<string, string>)[k]] : []));
    return minted({ certPem, keyPem, chainPem, uris: pick('uri'), dnsNames: pick('dns'), ipAddresses: pick('ip'), notBefore, notAfter });
  }

  /** This CA's own certificate and key, as a client would present them (a signing certificate used as a leaf). */
  asPresented(): MintedCert {
    return minted({
      certPem: this.certPem,
      keyPem: this.keyPem,
      chainPem: this.certPem,
      uris: [this.trustDomainId],
      dnsNames: [],
      ipAddresses: [],
      notBefore: this.cert.notBefore,
      notAfter: this.cert.notAfter,
    });
  }
}

function generalName(s: SanSpec): x509.JsonGeneralName {
  if ('uri' in s) return { type: 'url', value: s.uri };
  if ('dns' in s) return { type: 'dns', value: s.dns };
  if ('ip' in s) return { type: 'ip', value: s.ip };
  return { type: 'email', value: s.email };
}

function minted(c: Omit<MintedCert, 'writeTo' | 'defect'>): MintedCert {
  return { ...c, writeTo: (dir: string, name: string) => writeCertFiles(dir, name, c) };
}

/** Writes `<name>.pem`, `<name>-key.pem` (mode 0600), `<name>-chain.pem` into `dir`. */
export function writeCertFiles(dir: string, name: string, c: { certPem: string; keyPem: string; chainPem: string }): CertFiles {
  fs.mkdirSync(dir, { recursive: true });
  const certFile = path.join(dir, `${name}.pem`);
  const keyFile = path.join(dir, `${name}-key.pem`);
  const chainFile = path.join(dir, `${name}-chain.pem`);
  fs.writeFileSync(certFile, c.certPem);
  fs.writeFileSync(keyFile, c.keyPem, { mode: 0o600 });
  fs.writeFileSync(chainFile, c.chainPem);
  return { certFile, keyFile, chainFile };
}

async function generateKeys(): Promise<KeyPair> {
  return (await webcrypto.subtle.generateKey(EC_KEY, true, ['sign', 'verify'])) as KeyPair;
}

async function exportKeyPem(key: Key): Promise<string> {
  const der = await webcrypto.subtle.exportKey('pkcs8', key);
  return x509.PemConverter.encode(der, 'PRIVATE KEY') + '\n';
}

/** 16 random bytes, high bit clear (a positive INTEGER) and first byte non-zero (minimal encoding). */
function serialNumber(): string {
  const bytes = webcrypto.getRandomValues(new Uint8Array(16));
  bytes[0] = (bytes[0] & 0x7f) | 0x01;
  return Buffer.from(bytes).toString('hex');
}

function lastSegment(uri: string): string {
  const s = uri.replace(/\/+$/, '').split('/').pop();
  return s || 'svid';
}

/** RFC 4514 escaping for the characters that would change the DN's structure. */
function escapeDn(value: string): string {
  return value.replace(/([,+"\\<>;=])/g, '\\$1');
}
