// A caller's identity: which SPIFFE ID (if any) the caller has (docs/design.md §3.3,
// docs/internals.md §2), and the direct peer's from its certificate. Pure: the glue passes the
// host values. Which source applies (peer certificate, XFCC, local) is sources.ts.
//
// A caller is authenticated only if the source yields EXACTLY ONE valid SPIFFE ID with a path,
// of the policy's trust domain or one it federates with:
//   peer-certificate  the direct peer's X.509-SVID (svid.ts): no cert → no_peer_certificate;
//                     unparsable → malformed_peer_certificate; 0 URI SANs → no_uri_san; ≥ 2 →
//                     multiple_uri_sans; invalid → invalid_spiffe_id; no path → svid_root_id;
//                     cA → svid_ca_leaf; keyUsage without digitalSignature or with keyCertSign /
//                     cRLSign → svid_key_usage; extKeyUsage without clientAuth → svid_ext_key_usage.
//   xfcc              a direct peer that is not listed in `trustedProxies` (or not authenticated)
//                     is the caller itself, as above, and its XFCC is ignored. A listed one must
//                     send XFCC (else no_xfcc: a proxy does not speak for itself, see sources.ts);
//                     unparsable → malformed_xfcc; the LAST element must have exactly one `By`
//                     equal to the direct peer's ID (else xfcc_by_mismatch); its `URI` values: none
//                     or one empty `URI=` → no_uri_san, ≥ 2 → multiple_uri_sans, one → must be a
//                     valid SPIFFE ID (else invalid_spiffe_id) with a path (else svid_root_id).
//   local             the configured `identity.id` (validated at configure time).
// Then, whatever the source: an ID of a trust domain that is neither `trustDomain` nor listed in
// `federatesWith` → foreign_trust_domain (sources.ts, TrustDomains). `untrusted_xfcc_peer` is no
// longer produced (a direct peer is now itself); the code keeps its number and name.
//
// API (allocation-free once the objects exist; pre-allocate them once per root/stream):
//   id.setId(ptr, len)        // a valid SPIFFE ID with a path, else fails (invalid_spiffe_id, svid_root_id)
//   out.authenticated, out.ptr/out.len (copy owned by `out`), out.reason, identityReasonName(code)
// Identity and its buffers are ordinary GC objects holding flat buffers: nothing to dispose.

import { hash64, hashPrefixes } from "../util/bytes";
import { validateSpiffeId, SPIFFE_OK, SPIFFE_MAX_ID, SCHEME_LEN, trustDomainEnd } from "./id";

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
/** A trust-domain ID (`spiffe://td`, no path): names no workload (X.509-SVID §2). */
export const ID_SVID_ROOT_ID: i32 = 11;
/** basicConstraints cA true: a CA certificate is not a leaf (X.509-SVID §4.1). */
export const ID_SVID_CA_LEAF: i32 = 12;
/** keyUsage without digitalSignature, or with keyCertSign / cRLSign (X.509-SVID §4.3). */
export const ID_SVID_KEY_USAGE: i32 = 13;
/** extKeyUsage present without id-kp-clientAuth: not a client credential (X.509-SVID §4.4). */
export const ID_SVID_EXT_KEY_USAGE: i32 = 14;
/** Neither the policy's trust domain nor one of `federatesWith`. */
export const ID_FOREIGN_TRUST_DOMAIN: i32 = 15;

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
    case ID_SVID_ROOT_ID: return "svid_root_id";
    case ID_SVID_CA_LEAF: return "svid_ca_leaf";
    case ID_SVID_KEY_USAGE: return "svid_key_usage";
    case ID_SVID_EXT_KEY_USAGE: return "svid_ext_key_usage";
    case ID_FOREIGN_TRUST_DOMAIN: return "foreign_trust_domain";
  }
  return "unknown";
}

/** The last Identity.version handed out (process-wide, so no two states of any identities share one). */
let lastVersion: u64 = 0;

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

  /** Changes whenever the identity does (setId, fail, copyFrom): a reader that saw this object at
   *  this version may reuse what it derived from it (filter/report.ts FilterStateWriter). */
  version: u64 = 0;

  // What identity sources (by their stamp, sources.ts; 0: none since the identity changed) last
  // asked of this identity, and the answers: of the policy's trust domains? one of the xfcc
  // source's trusted proxies? A cached identity is then checked once, not per request.
  domainsAskedBy: u32 = 0;
  admitted: bool = false;
  proxyAskedBy: u32 = 0;
  isProxy: bool = false;

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
    this.version = ++lastVersion;
    this.domainsAskedBy = 0;
    this.proxyAskedBy = 0;
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

  /** Authenticates with the ID at [p, p+n) if it is a valid SPIFFE ID with a path, else fails
   *  with invalid_spiffe_id or svid_root_id. `p` may point into this identity's own buffer. */
  setId(p: usize, n: i32): bool {
    this.forgetVerdicts();
    if (validateSpiffeId(p, n) != SPIFFE_OK) {
      this.fail(ID_INVALID_SPIFFE_ID);
      return false;
    }
    if (trustDomainEnd(p, n) == n) {
      this.fail(ID_SVID_ROOT_ID);
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
