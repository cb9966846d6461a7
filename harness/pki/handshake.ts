/**
 * What the reference listener's TLS handshake does with a client certificate, as a pure function
 * of the certificate (the emulator's model of Envoy 1.40 + BoringSSL; each point is pinned on real
 * Envoy by test/scenarios/adversarial/certificates.yaml and test/scenarios/inbound/federation.yaml,
 * and tabled in test/unit/pki/handshake.test.ts):
 *
 * Both validators:
 * - BoringSSL refuses a client whose keyUsage is present without digitalSignature: the key may not
 *   sign the handshake (CertificateVerify; alert illegal_parameter).
 * - The chain must end at a CA of the bundle, every certificate in date.
 *
 * `trusted_ca` (Envoy's default validator; one trust domain):
 * - no client certificate: accepted (the filter judges the caller unauthenticated);
 * - an extKeyUsage without clientAuth is refused (the SSL-client purpose check).
 *
 * `envoy.tls.cert_validator.spiffe` (several trust domains; spiffe_validator.cc):
 * - no client certificate: refused (the validator always asks SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
 *   whatever `require_client_certificate` says);
 * - certificatePrecheck: basicConstraints cA true, a keyUsage with keyCertSign or cRLSign, or NO
 *   keyUsage at all (X509_get_key_usage then reports every bit) is refused;
 * - getTrustBundleStore: the bundle is the one of the trust domain of the FIRST URI SAN (other SAN
 *   types skipped, later URI SANs ignored); that URI must start with `spiffe://` and have a `/`
 *   after the trust domain (`spiffe://td` alone has none), and its trust domain must have a bundle;
 * - extKeyUsage is not checked (the validator's own X509_STORE_CTX has no purpose).
 */
import { X509Certificate } from 'node:crypto';
import * as x509 from '@peculiar/x509';

export type PeerValidator =
  /** Envoy's default validator with `trusted_ca`: these CA certificates. */
  | { kind: 'trusted-ca'; cas: string[] }
  /** The SPIFFE validator: CA certificates per trust domain. */
  | { kind: 'spiffe'; bundles: Map<string, string[]> };

export type HandshakeVerdict = { accepted: true } | { accepted: false; reason: string };

const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';

/** The verdict on `chainPem` (leaf first), or on no client certificate (`undefined`). */
export function clientHandshake(chainPem: string | undefined, validator: PeerValidator, now = new Date()): HandshakeVerdict {
  if (chainPem === undefined) {
    return validator.kind === 'spiffe' ? refused('no client certificate (the SPIFFE validator requires one)') : { accepted: true };
  }
  const leafPem = chainPem.split(/(?<=-----END CERTIFICATE-----\n?)/)[0];
  const leaf = new x509.X509Certificate(leafPem);
  const ku = leaf.getExtension(x509.KeyUsagesExtension);
  if (ku && !(ku.usages & x509.KeyUsageFlags.digitalSignature)) return refused('keyUsage without digitalSignature: the key may not sign the handshake');

  let cas: string[];
  if (validator.kind === 'spiffe') {
    if (leaf.getExtension(x509.BasicConstraintsExtension)?.ca) return refused('cert precheck: basicConstraints cA true');
    if (!ku) return refused('cert precheck: no keyUsage (read as every bit set)');
    if (ku.usages & (x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign)) return refused('cert precheck: keyCertSign or cRLSign');
    const td = trustDomainOfFirstUriSan(leaf);
    const bundle = td === undefined ? undefined : validator.bundles.get(td);
    if (!bundle) return refused(`no trust bundle store for ${td === undefined ? 'the first URI SAN' : `trust domain ${td}`}`);
    cas = bundle;
  } else {
    const eku = leaf.getExtension(x509.ExtendedKeyUsageExtension);
    if (eku && !eku.usages.map(String).includes(CLIENT_AUTH)) return refused('extKeyUsage without clientAuth');
    cas = validator.cas;
  }
  const cert = new X509Certificate(leafPem);
  if (!cas.some((pem) => issuedBy(cert, new X509Certificate(pem)))) return refused('unknown CA: the chain ends at no CA of the bundle');
  if (now < new Date(cert.validFrom) || now > new Date(cert.validTo)) return refused('certificate expired or not yet valid');
  return { accepted: true };
}

function refused(reason: string): HandshakeVerdict {
  return { accepted: false, reason };
}

function issuedBy(cert: X509Certificate, ca: X509Certificate): boolean {
  if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) return false;
  const now = new Date();
  return now >= new Date(ca.validFrom) && now <= new Date(ca.validTo);
}

/** SPIFFEValidator::extractTrustDomain of the first URI SAN; undefined when it yields none. */
function trustDomainOfFirstUriSan(leaf: x509.X509Certificate): string | undefined {
  const san = leaf.getExtension(x509.SubjectAlternativeNameExtension);
  const uri = san?.names.items.find((n) => n.type === 'url')?.value;
  const prefix = 'spiffe://';
  if (uri === undefined || !uri.startsWith(prefix)) return undefined;
  const slash = uri.indexOf('/', prefix.length);
  return slash < 0 ? undefined : uri.slice(prefix.length, slash);
}

/**
 * Which validator the reference configs use for these bundles: the SPIFFE validator once more
 * than one trust domain is trusted (a partner CA may then vouch only for partner IDs); Envoy's
 * default validator with `trusted_ca` for one (client certificates stay optional).
 */
export function peerValidatorFor(bundles: Map<string, string[]>): PeerValidator {
  return usesSpiffeValidator(bundles.size) ? { kind: 'spiffe', bundles } : { kind: 'trusted-ca', cas: [...bundles.values()].flat() };
}

export function usesSpiffeValidator(trustDomains: number): boolean {
  return trustDomains > 1;
}
