// A caller's identity: which SPIFFE ID (if any) the caller has (docs/design.md §3.3,
// docs/internals.md §2), and the direct peer's from its certificate. Pure: the glue passes the
// host values. Which source applies (peer certificate, XFCC, local) is sources.ts.
//
// A caller is authenticated only if the source yields EXACTLY ONE valid SPIFFE ID:
//   peer-certificate  the URI SANs parsed from `connection.peer_certificate` (not Envoy's
//                     `uri_san_peer_certificate`, which shows only the first one).
//                     no cert → no_peer_certificate; unparsable → malformed_peer_certificate;
//                     0 URI SANs → no_uri_san; ≥ 2 → multiple_uri_sans; invalid → invalid_spiffe_id.
//   xfcc              believed only if the direct peer (its certificate, as above) is
//                     authenticated AND listed in `trustedProxies` (else untrusted_xfcc_peer);
//                     no header → no_xfcc; unparsable → malformed_xfcc; the LAST element must have
//                     exactly one `By` equal to the direct peer's ID (else xfcc_by_mismatch); its
//                     `URI` values: none or one empty `URI=` → no_uri_san, ≥ 2 → multiple_uri_sans,
//                     one → must be a valid SPIFFE ID (else invalid_spiffe_id).
//   local             the configured `identity.id` (validated at configure time).
// Identities of other trust domains are authenticated too: the policy's matchers decide (a `*`
// matches only the policy's trust domain; other trust domains only where listed explicitly).
//
// API (allocation-free once the objects exist; pre-allocate them once per root/stream):
//   peerIdentity(cert /* PeerCertificate scratch */, certPtr, certLen, out)   // len < 0 = absent
//   out.authenticated, out.ptr/out.len (copy owned by `out`), out.reason, identityReasonName(code)
// Identity and its buffers are ordinary GC objects holding flat buffers: nothing to dispose.

import { hash64, hashPrefixes } from "../util/bytes";
import { validateSpiffeId, SPIFFE_OK, SPIFFE_MAX_ID, SCHEME_LEN, trustDomainEnd } from "./id";
import { PeerCertificate, X509_OK, X509_NO_CERTIFICATE } from "./x509";

export const ID_OK: i32 = 0;
export const ID_NO_PEER_CERTIFICATE: i32 = 1;
export const ID_MALFORMED_PEER_CERTIFICATE: i32 = 2;
export const ID_NO_URI_SAN: i32 = 3;
export const ID_MULTIPLE_URI_SANS: i32 = 4;
export const ID_INVALID_SPIFFE_ID: i32 = 5;
export const ID_UNTRUSTED_XFCC_PEER: i32 = 6;
export const ID_NO_XFCC: i32 = 7;
export const ID_MALFORMED_XFCC: i32 = 8;
export const ID_XFCC_BY_MISMATCH: i32 = 9;
export const ID_NOT_RESOLVED: i32 = 10;

export function identityReasonName(code: i32): string {
  switch (code) {
    case ID_OK: return "ok";
    case ID_NO_PEER_CERTIFICATE: return "no_peer_certificate";
    case ID_MALFORMED_PEER_CERTIFICATE: return "malformed_peer_certificate";
    case ID_NO_URI_SAN: return "no_uri_san";
    case ID_MULTIPLE_URI_SANS: return "multiple_uri_sans";
    case ID_INVALID_SPIFFE_ID: return "invalid_spiffe_id";
    case ID_UNTRUSTED_XFCC_PEER: return "untrusted_xfcc_peer";
    case ID_NO_XFCC: return "no_xfcc";
    case ID_MALFORMED_XFCC: return "malformed_xfcc";
    case ID_XFCC_BY_MISMATCH: return "xfcc_by_mismatch";
    case ID_NOT_RESOLVED: return "not_resolved";
  }
  return "unknown";
}

/** Initial buffer: IDs up to 192 bytes fit without growing. */
const INITIAL_ID_BYTES: i32 = 192;

/** Prefix slots for IDs of up to `cap` bytes (segments are non-empty: at most cap / 2 + 1). */
// @ts-ignore: decorator
@inline
function prefixSlots(cap: i32): i32 { return cap / 2 + 1; }

/** Bytes of the buffer for IDs of up to `cap` bytes: the ID, u64 hashes, i32 lengths. */
// @ts-ignore: decorator
@inline
function bufferBytes(cap: i32): i32 { return cap + prefixSlots(cap) * 12; }

/** Rules whose `from` / `notFrom` results an Identity remembers (rule indices 0..63). */
export const VERDICT_RULES: i32 = 64;
/** The two lists remembered per rule. */
export const VERDICT_FROM: i32 = 0;
export const VERDICT_NOT_FROM: i32 = 1;

/**
 * A resolved caller identity: either authenticated with a valid SPIFFE ID (bytes copied into the
 * object's own buffer) or not, with a reason. Also carries what the matchers need, computed once:
 * the trust-domain boundary, hash64 of the ID and of every prefix ending at a '/' of the path.
 *
 * The direct peer's Identity is cached per connection (filter/peer.ts) and used by reference for
 * every request on that connection, so it also remembers, per policy, what the policy's rules
 * answered for it: whether it is in the policy's trust domain and the `from` / `notFrom` result
 * of the first VERDICT_RULES rules, filled in lazily by the `from` field (policy/fields.ts). A
 * request on a known connection then matches identities with two bit tests, whatever the size of
 * the ID lists.
 */
export class Identity {
  authenticated: bool = false;
  reason: i32 = ID_NOT_RESOLVED;
  // One managed buffer (no pointers inside: nothing for the GC to trace) holding the ID bytes,
  // the prefix hashes and the prefix lengths; sized for short IDs and grown (at parse time, never
  // per request) for longer ones. Freed with the object; no dispose() needed.
  private buf: ArrayBuffer = new ArrayBuffer(bufferBytes(INITIAL_ID_BYTES));
  private cap: i32 = INITIAL_ID_BYTES;
  /** The ID is [ptr, ptr+len) in the own buffer. */
  ptr: usize = changetype<usize>(this.buf);
  len: i32 = 0;
  /** Index just past the trust domain ("spiffe://td" length). */
  tdEnd: i32 = 0;
  hash: u64 = 0;
  prefixCount: i32 = 0;
  /** u64[prefixCount]: hash64 of each '/'-terminated prefix of the path, ascending. */
  prefixHashes: usize = changetype<usize>(this.buf) + <usize>INITIAL_ID_BYTES;
  /** i32[prefixCount]: length of each prefix. */
  prefixLens: usize = changetype<usize>(this.buf) + <usize>INITIAL_ID_BYTES + <usize>prefixSlots(INITIAL_ID_BYTES) * 8;

  // What the policy of generation `verdictGen` answered for this identity (0: nothing yet).
  verdictGen: u32 = 0;
  verdictInTd: bool = false;
  private fromKnown: u64 = 0;
  private fromMatch: u64 = 0;
  private notFromKnown: u64 = 0;
  private notFromMatch: u64 = 0;

  /** What list `list` (VERDICT_*) of rule i < VERDICT_RULES answered: 1, 0, or -1 (not yet). */
  recalled(list: i32, i: i32): i32 {
    const bit: u64 = <u64>1 << <u64>i;
    const known = list == VERDICT_FROM ? this.fromKnown : this.notFromKnown;
    if ((known & bit) == 0) return -1;
    return ((list == VERDICT_FROM ? this.fromMatch : this.notFromMatch) & bit) != 0 ? 1 : 0;
  }

  /** Remembers the answer of list `list` (VERDICT_*) of rule i < VERDICT_RULES. */
  remember(list: i32, i: i32, matched: bool): void {
    const bit: u64 = <u64>1 << <u64>i;
    const m: u64 = matched ? bit : 0;
    if (list == VERDICT_FROM) {
      this.fromKnown |= bit;
      this.fromMatch |= m;
    } else {
      this.notFromKnown |= bit;
      this.notFromMatch |= m;
    }
  }

  /** Forgets the remembered rule results (the identity changed). */
  // @ts-ignore: decorator
  @inline
  private forgetVerdicts(): void {
    this.verdictGen = 0;
  }

  /** Starts remembering rule results for the policy of generation `gen`. */
  beginVerdicts(gen: u32, inTd: bool): void {
    this.verdictGen = gen;
    this.verdictInTd = inTd;
    this.fromKnown = 0;
    this.fromMatch = 0;
    this.notFromKnown = 0;
    this.notFromMatch = 0;
  }

  /** Room for an ID of n bytes and its prefixes (at most n / 2 + 1 of them). */
  private reserve(n: i32): void {
    if (n <= this.cap) return;
    const cap = n < SPIFFE_MAX_ID ? (n + 63) & ~63 : SPIFFE_MAX_ID;
    const slots = prefixSlots(cap);
    const buf = new ArrayBuffer(bufferBytes(cap));
    this.buf = buf;
    this.cap = cap;
    this.ptr = changetype<usize>(buf);
    this.prefixHashes = changetype<usize>(buf) + <usize>cap;
    this.prefixLens = changetype<usize>(buf) + <usize>cap + <usize>slots * 8;
  }

  /** Marks the identity unauthenticated. */
  fail(reason: i32): void {
    this.authenticated = false;
    this.reason = reason;
    this.len = 0;
    this.tdEnd = 0;
    this.prefixCount = 0;
    this.forgetVerdicts();
  }

  /** Authenticates with the ID at [p, p+n) if it is a valid SPIFFE ID, else fails with
   *  invalid_spiffe_id. `p` may point into this identity's own buffer. */
  setId(p: usize, n: i32): bool {
    this.forgetVerdicts();
    if (validateSpiffeId(p, n) != SPIFFE_OK) {
      this.fail(ID_INVALID_SPIFFE_ID);
      return false;
    }
    if (p != this.ptr) {
      this.reserve(n); // p is outside the buffer: growing cannot invalidate it
      memory.copy(this.ptr, p, <usize>n);
    }
    this.len = n;
    this.authenticated = true;
    this.reason = ID_OK;
    this.tdEnd = trustDomainEnd(this.ptr, n);
    this.hash = hash64(this.ptr, n);
    this.prefixCount = hashPrefixes(this.ptr, n, this.tdEnd, 0x2F, false, this.prefixLens, this.prefixHashes, prefixSlots(this.cap));
    return true;
  }

  copyFrom(o: Identity): void {
    this.forgetVerdicts();
    if (!o.authenticated) { this.fail(o.reason); return; }
    this.reserve(o.len);
    memory.copy(this.ptr, o.ptr, <usize>o.len);
    this.len = o.len;
    this.authenticated = true;
    this.reason = ID_OK;
    this.tdEnd = o.tdEnd;
    this.hash = o.hash;
    this.prefixCount = o.prefixCount;
    memory.copy(this.prefixLens, o.prefixLens, <usize>o.prefixCount * 4);
    memory.copy(this.prefixHashes, o.prefixHashes, <usize>o.prefixCount * 8);
  }

  /** Is the ID in trust domain [tdPtr, tdPtr+tdLen) (the bare name, e.g. "example.org")? */
  inTrustDomain(tdPtr: usize, tdLen: i32): bool {
    return this.authenticated && this.tdEnd - SCHEME_LEN == tdLen && memory.compare(this.ptr + <usize>SCHEME_LEN, tdPtr, <usize>tdLen) == 0;
  }

  toString(): string {
    return this.authenticated ? String.UTF8.decodeUnsafe(this.ptr, <usize>this.len) : "-";
  }
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
  out.setId(unchecked(cert.uriPtr[0]), unchecked(cert.uriLen[0]));
}
