// The direct peer's identity from its certificate, judged as an X.509-SVID leaf (X.509-SVID spec
// §2, §4, §5; test/vectors/svid.json). Envoy has verified the chain during the handshake; these
// are the rules a chain check does not make, in this order (the first failing one is reported):
//   1. exactly one URI SAN                       no_uri_san, multiple_uri_sans
//   2. a valid SPIFFE ID with a non-root path    invalid_spiffe_id, svid_root_id
//   3. basicConstraints cA false (or absent)     svid_ca_leaf
//   4. keyUsage, if present: digitalSignature set, keyCertSign and cRLSign clear   svid_key_usage
//   5. extKeyUsage, if present: lists id-kp-clientAuth   svid_ext_key_usage
// Rule 5 goes beyond go-spiffe (which ignores EKU): the spec says a leaf SHOULD carry both
// serverAuth and clientAuth, and RFC 5280 §4.2.1.12 limits a certificate with the extension to the
// purposes it lists; the caller here is a TLS client (docs/internals.md §2).
//
//   peerIdentity(cert /* PeerCertificate scratch */, certPtr, certLen, out)   // certLen <= 0 = none
import { PeerCertificate, X509_OK, X509_NO_CERTIFICATE, KU_DIGITAL_SIGNATURE, KU_KEY_CERT_SIGN, KU_CRL_SIGN } from "./x509";
import {
  Identity, ID_OK, ID_NO_PEER_CERTIFICATE, ID_MALFORMED_PEER_CERTIFICATE, ID_NO_URI_SAN, ID_MULTIPLE_URI_SANS,
  ID_SVID_CA_LEAF, ID_SVID_KEY_USAGE, ID_SVID_EXT_KEY_USAGE,
} from "./identity";

/** Rules 3-5 on a parsed certificate: ID_OK or the reason. */
export function leafRuleError(cert: PeerCertificate): i32 {
  if (cert.isCa) return ID_SVID_CA_LEAF;
  if (cert.hasKeyUsage) {
    const ku = cert.keyUsage;
    if ((ku & KU_DIGITAL_SIGNATURE) == 0 || (ku & (KU_KEY_CERT_SIGN | KU_CRL_SIGN)) != 0) return ID_SVID_KEY_USAGE;
  }
  if (cert.hasExtKeyUsage && !cert.clientAuth) return ID_SVID_EXT_KEY_USAGE;
  return ID_OK;
}

/** The direct peer's identity from its certificate (`connection.peer_certificate`, URL-encoded
 *  PEM; certLen <= 0 = none), parsed with the scratch parser `cert`. Cacheable per connection. */
export function peerIdentity(cert: PeerCertificate, certPtr: usize, certLen: i32, out: Identity): void {
  if (certLen <= 0) { out.fail(ID_NO_PEER_CERTIFICATE); return; }
  const err = cert.parse(certPtr, certLen);
  if (err == X509_NO_CERTIFICATE) { out.fail(ID_NO_PEER_CERTIFICATE); return; }
  if (err != X509_OK) { out.fail(ID_MALFORMED_PEER_CERTIFICATE); return; }
  if (cert.uriCount == 0) { out.fail(ID_NO_URI_SAN); return; }
  if (cert.uriCount > 1) { out.fail(ID_MULTIPLE_URI_SANS); return; }
  if (!out.setId(unchecked(cert.uriPtr[0]), unchecked(cert.uriLen[0]))) return;
  const leaf = leafRuleError(cert);
  if (leaf != ID_OK) out.fail(leaf);
}
