/**
 * Certificates for the wasm tests, minted with @peculiar/x509 on Node's WebCrypto, and the
 * URL-encodings in which Envoy's `connection.peer_certificate` property may carry them.
 * (A small self-contained minting helper: these tests only need SAN layouts, not a trust chain.)
 */
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

// typed against the DOM Crypto (absent from this project's lib); Node's webcrypto is the same API at runtime
(x509.cryptoProvider as unknown as { set(c: unknown): void }).set(webcrypto);

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
let keys: Promise<any> | undefined;

export interface SanLayout {
  /** URI SANs in order. */
  uris?: string[];
  /** DNS SANs, placed before the URIs. */
  dns?: string[];
  /** No subjectAltName extension at all. */
  noSan?: boolean;
  /** Two subjectAltName extensions (forbidden by RFC 5280). */
  duplicateSan?: boolean;
}

/** A self-signed certificate (PEM) with the given SANs. */
export async function mintPem(l: SanLayout): Promise<string> {
  const names: Array<{ type: 'dns' | 'url'; value: string }> = [
    ...(l.dns ?? []).map((value) => ({ type: 'dns' as const, value })),
    ...(l.uris ?? []).map((value) => ({ type: 'url' as const, value })),
  ];
  const extensions: x509.Extension[] = [new x509.BasicConstraintsExtension(false, undefined, true)];
  if (!l.noSan) extensions.push(new x509.SubjectAlternativeNameExtension(names));
  if (l.duplicateSan) extensions.push(new x509.SubjectAlternativeNameExtension([{ type: 'url', value: 'spiffe://td/dup' }]));
  return selfSigned('CN=meshgate-test,O=Acme', extensions);
}

/** A self-signed certificate (PEM) of the shared test key, valid 2024-2034. */
async function selfSigned(name: string, extensions: x509.Extension[]): Promise<string> {
  keys ??= webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '0a1b',
    name,
    notBefore: new Date(Date.UTC(2024, 0, 1)),
    notAfter: new Date(Date.UTC(2034, 0, 1)),
    signingAlgorithm: ALG,
    keys: await keys,
    extensions,
  });
  return cert.toString('pem');
}

/** A certificate shape of test/vectors/svid.json. */
export interface LeafShape {
  uris: string[];
  dns?: string[];
  cn?: string;
  basicConstraints: { ca: boolean } | null;
  keyUsage: Array<keyof typeof x509.KeyUsageFlags> | null;
  extKeyUsage: Array<'serverAuth' | 'clientAuth' | 'codeSigning'> | null;
}

/** A self-signed certificate (PEM) of the given shape (the filter never checks the chain). */
export async function mintShape(l: LeafShape): Promise<string> {
  const extensions: x509.Extension[] = [];
  if (l.basicConstraints) extensions.push(new x509.BasicConstraintsExtension(l.basicConstraints.ca, undefined, true));
  if (l.keyUsage) extensions.push(new x509.KeyUsagesExtension(l.keyUsage.reduce<number>((bits, k) => bits | x509.KeyUsageFlags[k], 0), true));
  if (l.extKeyUsage) extensions.push(new x509.ExtendedKeyUsageExtension(l.extKeyUsage.map((k) => x509.ExtendedKeyUsage[k])));
  const names = [...(l.dns ?? []).map((value) => ({ type: 'dns' as const, value })), ...l.uris.map((value) => ({ type: 'url' as const, value }))];
  if (names.length) extensions.push(new x509.SubjectAlternativeNameExtension(names));
  return selfSigned(`CN=${(l.cn ?? 'meshgate-test').replace(/([,+"\\<>;=])/g, '\\$1')},O=Acme`, extensions);
}

/** Envoy's form: every byte outside [A-Za-z0-9-._~] percent-encoded (upper-case hex). */
export const urlEncode = (pem: string): string => encodeURIComponent(pem).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
/** Only spaces and newlines encoded, lower-case hex (other writers). */
export const urlEncodeLight = (pem: string): string => pem.replace(/ /g, '%20').replace(/\n/g, '%0a');

/** DER bytes of a PEM certificate. */
export const derOf = (pem: string): Buffer => Buffer.from(pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
/** PEM around DER bytes (64-column base64). */
export const pemOf = (der: Buffer): string =>
  '-----BEGIN CERTIFICATE-----\n' + der.toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '') + '\n-----END CERTIFICATE-----\n';
