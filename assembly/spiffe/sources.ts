// The identity sources (`identity.from`, docs/design.md §3.3, docs/internals.md §1-2): the one
// place that lists them, says which option each takes, and how each yields the caller. config.ts
// validates and builds `identity` from IDENTITY_SOURCES; the filter (filter/peer.ts) and the tests
// ask the policy's IdentitySource for the caller of each request.
//
//   peer-certificate  the direct peer, from its X.509-SVID (svid.ts).
//   xfcc              option trustedProxies (exact IDs). A listed direct peer speaks for another:
//                     the caller is the last XFCC element, whose `By` must be that peer; a listed
//                     peer that sent no XFCC is unauthenticated (no_xfcc), not itself — a proxy
//                     forwards requests of callers without a certificate too, and those must not
//                     get the proxy's rights. Any other direct peer is the caller itself (as with
//                     peer-certificate) and its XFCC is ignored (Envoy's and Istio's semantics).
//   local             option id (an exact ID): the configured identity, for every request.
// Whatever the source, an ID outside the policy's trust domains (domains.ts) is unauthenticated:
// foreign_trust_domain.
//
// To add a source: an IdentitySource subclass (its resolve()), a factory, and an entry in
// IDENTITY_SOURCES.

import { Arena } from "../util/arena";
import { ByteTable } from "../util/bytetable";
import { Identity, ID_NO_XFCC, ID_MALFORMED_XFCC, ID_XFCC_BY_MISMATCH, ID_FOREIGN_TRUST_DOMAIN } from "./identity";
import { peerIdentity } from "./svid";
import { TrustDomains } from "./domains";
import { PeerCertificate } from "./x509";
import { ForwardedCache } from "./forwarded";
import { sameBytes } from "../util/bytes";

/** The direct peer (the TLS client) of the current request, however the caller learns it: the
 *  filter's per-connection cache (filter/peer.ts) or a given certificate (CertificatePeer). */
export abstract class DirectPeer {
  /** The direct peer's identity; valid until the next request. */
  abstract identity(): Identity;
}

/** The last IdentitySource stamp handed out. */
let lastSourceStamp: u32 = 0;

/** A configured identity source (one per Policy). */
export abstract class IdentitySource {
  /** Names this source in the answers an Identity remembers (Identity.domainsAskedBy, ...). */
  protected readonly stamp: u32 = ++lastSourceStamp;
  /** The trust domains whose IDs are callers; set by config.ts (null: any, for tests). */
  domains: TrustDomains | null = null;
  /** The caller when the source's ID is of another trust domain. */
  private readonly foreign: Identity = new Identity();

  /**
   * The caller of the current request: what the source yields (resolve()), unauthenticated
   * (foreign_trust_domain) when its ID is outside `domains`. Asks `peer` only when the source
   * needs the direct peer (so `local` causes no certificate read). xfcc: the request's
   * x-forwarded-client-cert (the first value; length < 0 = absent). Returns an Identity owned by
   * the source or by `peer`, used by reference: valid until the next request, do not keep it.
   * Allocation-free.
   */
  caller(peer: DirectPeer, xfccPtr: usize, xfccLen: i32): Identity {
    const id = this.resolve(peer, xfccPtr, xfccLen);
    const d = this.domains;
    if (!id.authenticated || d === null) return id;
    if (id.domainsAskedBy != this.stamp) {
      id.admitted = d.admits(id);
      id.domainsAskedBy = this.stamp;
    }
    if (id.admitted) return id;
    this.foreign.fail(ID_FOREIGN_TRUST_DOMAIN);
    return this.foreign;
  }

  /** The identity the source yields, before the trust-domain check (same contract as caller()). */
  protected abstract resolve(peer: DirectPeer, xfccPtr: usize, xfccLen: i32): Identity;
}

/** Builds a source from its option's SPIFFE IDs (validated; none when the source has no option). */
export type SourceFactory = (arena: Arena, ids: usize[], lens: i32[]) => IdentitySource;

/** One entry of IDENTITY_SOURCES: the `identity.from` value and the option it takes. */
export class SourceKind {
  /**
   * name: the `identity.from` value; option: the key of its `identity` option ("" for none),
   * required with this source and refused with the others; optionIsList: a list of exact SPIFFE
   * IDs (else one exact SPIFFE ID); readsHeaders: the caller comes from request headers, so a
   * network filter (no headers) refuses the source at configure time.
   */
  constructor(
    public readonly name: string,
    public readonly option: string,
    public readonly optionIsList: bool,
    public readonly create: SourceFactory,
    public readonly readsHeaders: bool = false,
  ) {}
}

class PeerCertificateSource extends IdentitySource {
  protected resolve(peer: DirectPeer, xfccPtr: usize, xfccLen: i32): Identity { return peer.identity(); }
}

class XfccSource extends IdentitySource {
  /** The parsed XFCC values, by their bytes (forwarded.ts). */
  private readonly values: ForwardedCache = new ForwardedCache();
  /** The caller when the XFCC is missing, malformed or not the peer's (per request). */
  private readonly refused: Identity = new Identity();

  /** trusted: the exact SPIFFE IDs of the proxies whose XFCC is believed. */
  constructor(private readonly trusted: ByteTable) { super(); }

  protected resolve(peer: DirectPeer, xfccPtr: usize, xfccLen: i32): Identity {
    const out = this.refused;
    const p = peer.identity();
    if (!p.authenticated) return p;
    // the peer cached per connection remembers the answer
    if (p.proxyAskedBy != this.stamp) {
      p.isProxy = this.trusted.find(p.ptr, p.len, p.hash) >= 0;
      p.proxyAskedBy = this.stamp;
    }
    // not a trusted proxy: a direct caller, whose own XFCC says nothing
    if (!p.isProxy) return p;
    if (xfccLen < 0) { out.fail(ID_NO_XFCC); return out; }
    const v = this.values.get(xfccPtr, xfccLen);
    if (v.malformed) { out.fail(ID_MALFORMED_XFCC); return out; }
    if (v.byCount != 1 || v.byLen != p.len || !sameBytes(v.byPtr, p.ptr, p.len)) {
      out.fail(ID_XFCC_BY_MISMATCH);
      return out;
    }
    // the caller the last element's URI names (or why it names none), cached with the value
    return v.caller;
  }
}

class LocalSource extends IdentitySource {
  /** Resolved once: the same Identity every request (it keeps its remembered rule answers). */
  private readonly id: Identity = new Identity();

  constructor(ptr: usize, len: i32) {
    super();
    this.id.setId(ptr, len);
  }

  protected resolve(peer: DirectPeer, xfccPtr: usize, xfccLen: i32): Identity { return this.id; }
}

function newPeerCertificateSource(arena: Arena, ids: usize[], lens: i32[]): IdentitySource {
  return new PeerCertificateSource();
}

function newXfccSource(arena: Arena, ids: usize[], lens: i32[]): IdentitySource {
  const trusted = ByteTable.create(arena, ids.length, false);
  for (let i = 0; i < ids.length; i++) trusted.insert(arena, ids[i], lens[i], <u32>i);
  return new XfccSource(trusted);
}

function newLocalSource(arena: Arena, ids: usize[], lens: i32[]): IdentitySource {
  return new LocalSource(ids[0], lens[0]);
}

/** Every identity source; the first is the default. */
export const IDENTITY_SOURCES: StaticArray<SourceKind> = [
  new SourceKind("peer-certificate", "", false, newPeerCertificateSource),
  new SourceKind("xfcc", "trustedProxies", true, newXfccSource, true),
  new SourceKind("local", "id", false, newLocalSource),
];

/** A DirectPeer given as certificate bytes (tests, tools): parsed on first use. */
export class CertificatePeer extends DirectPeer {
  private readonly cert: PeerCertificate = new PeerCertificate();
  private readonly peer: Identity = new Identity();
  private ptr: usize = 0;
  private len: i32 = -1;
  private parsed: bool = false;

  /** The peer's `connection.peer_certificate` (URL-encoded PEM); len < 0 = none. */
  set(ptr: usize, len: i32): void {
    this.ptr = ptr;
    this.len = len;
    this.parsed = false;
  }

  identity(): Identity {
    if (!this.parsed) {
      peerIdentity(this.cert, this.ptr, this.len, this.peer);
      this.parsed = true;
    }
    return this.peer;
  }
}
