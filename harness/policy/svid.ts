/**
 * The caller's identity as the filter judges it (assembly/spiffe/identity.ts, svid.ts): the
 * reason names, the SPIFFE-ID rules every caller ID must pass, and the X.509-SVID leaf rules a
 * direct peer's certificate must pass (X.509-SVID spec §2, §4; test/vectors/svid.json), in the
 * filter's order — the first failing one is reported:
 *   1. exactly one URI SAN                       no_uri_san, multiple_uri_sans
 *   2. a valid SPIFFE ID with a non-root path    invalid_spiffe_id, svid_root_id
 *   3. basicConstraints cA false (or absent)     svid_ca_leaf
 *   4. keyUsage, if present: digitalSignature, no keyCertSign / cRLSign   svid_key_usage
 *   5. extKeyUsage, if present: lists clientAuth  svid_ext_key_usage
 */
import * as x509 from '@peculiar/x509';
import { isValidSpiffeId, idPathOf } from './spiffe';

export type IdentityReason =
  | 'ok'
  | 'no_peer_certificate'
  | 'malformed_peer_certificate'
  | 'no_uri_san'
  | 'multiple_uri_sans'
  | 'invalid_spiffe_id'
  | 'untrusted_xfcc_peer'
  | 'no_xfcc'
  | 'malformed_xfcc'
  | 'xfcc_by_mismatch'
  | 'not_resolved'
  | 'svid_root_id'
  | 'svid_ca_leaf'
  | 'svid_key_usage'
  | 'svid_ext_key_usage'
  | 'foreign_trust_domain';

/** What the leaf rules read from a certificate. */
export interface CertificateFacts {
  /** URI SANs in order. */
  uris: string[];
  /** basicConstraints cA (false when absent). */
  ca: boolean;
  /** keyUsage, null when absent. */
  keyUsage: { digitalSignature: boolean; keyCertSign: boolean; cRLSign: boolean } | null;
  /** Whether extKeyUsage lists id-kp-clientAuth; null when the extension is absent. */
  clientAuth: boolean | null;
}

/** Rule 2 for any caller ID (a certificate's URI SAN, an XFCC URI, a given identity). */
export function idReason(id: string): 'ok' | 'invalid_spiffe_id' | 'svid_root_id' {
  if (!isValidSpiffeId(id)) return 'invalid_spiffe_id';
  return idPathOf(id) === '' ? 'svid_root_id' : 'ok';
}

/** Rules 1-5: 'ok' when the certificate is an acceptable X.509-SVID leaf. */
export function svidReason(c: CertificateFacts): IdentityReason {
  if (c.uris.length === 0) return 'no_uri_san';
  if (c.uris.length > 1) return 'multiple_uri_sans';
  const id = idReason(c.uris[0]);
  if (id !== 'ok') return id;
  if (c.ca) return 'svid_ca_leaf';
  const ku = c.keyUsage;
  if (ku && (!ku.digitalSignature || ku.keyCertSign || ku.cRLSign)) return 'svid_key_usage';
  if (c.clientAuth === false) return 'svid_ext_key_usage';
  return 'ok';
}

const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';

/** The facts of a PEM certificate (the first one of the text). */
export function certificateFacts(pem: string): CertificateFacts {
  const cert = new x509.X509Certificate(pem);
  const san = cert.getExtension(x509.SubjectAlternativeNameExtension);
  const bc = cert.getExtension(x509.BasicConstraintsExtension);
  const ku = cert.getExtension(x509.KeyUsagesExtension);
  const eku = cert.getExtension(x509.ExtendedKeyUsageExtension);
  return {
    uris: (san?.names.items ?? []).filter((n) => n.type === 'url').map((n) => n.value),
    ca: bc?.ca ?? false,
    keyUsage: ku
      ? {
          digitalSignature: (ku.usages & x509.KeyUsageFlags.digitalSignature) !== 0,
          keyCertSign: (ku.usages & x509.KeyUsageFlags.keyCertSign) !== 0,
          cRLSign: (ku.usages & x509.KeyUsageFlags.cRLSign) !== 0,
        }
      : null,
    clientAuth: eku ? eku.usages.map(String).includes(CLIENT_AUTH) : null,
  };
}
