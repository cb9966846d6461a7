// The caller's identity as the host shows it: the direct peer's certificate (parsed for ALL its
// URI SANs — Envoy's uri_san_peer_certificate shows only the first), handed to the policy's
// identity source (spiffe/sources.ts), which yields the caller.
//
// Parsing a certificate costs microseconds; a connection's peer never changes, so the direct
// peer's Identity is cached per `connection.id` (process-unique, never reused) and used BY
// REFERENCE for every request on the connection: nothing is copied per request, and the
// Identity also remembers what the policy's `from` lists answered for it (spiffe/identity.ts),
// so later requests match identities with bit tests.
//
// The cache: SETS × WAYS entries, set-associative with least-recently-used replacement. Envoy
// numbers connections from one process-wide counter, so a worker's connections have scattered
// ids; associativity keeps up to WAYS connections whose ids share their low bits (a direct-mapped
// table thrashed at 64 connections: every collision re-fetched and re-parsed a certificate).
// Entries are allocated with the cache and reused; no allocation per request.
import { Bytes, HostKey, getProperty } from "../proxywasm";
import { Identity } from "../spiffe/identity";
import { peerIdentity } from "../spiffe/svid";
import { PeerCertificate } from "../spiffe/x509";
import { DirectPeer } from "../spiffe/sources";
import { Policy } from "../policy/policy";

const SETS: i32 = 64;
const WAYS: i32 = 4;
const CONNECTION_ID = HostKey.path("connection", "id");
const PEER_CERTIFICATE = HostKey.path("connection", "peer_certificate");

export class PeerIdentity extends DirectPeer {
  private readonly connIds: StaticArray<u64> = new StaticArray<u64>(SETS * WAYS);
  private readonly lastUse: StaticArray<u32> = new StaticArray<u32>(SETS * WAYS);
  private readonly cached: StaticArray<Identity | null> = new StaticArray<Identity | null>(SETS * WAYS);
  private clock: u32 = 0;
  private readonly view: Bytes = new Bytes();
  /** The peer when the host gives no connection id (never cached). */
  private readonly uncached: Identity = new Identity();
  private readonly cert: PeerCertificate = new PeerCertificate();

  constructor() {
    super();
    // Every entry exists from the start: the cache's memory is taken once, at configure time,
    // not as new connections arrive (module memory stays flat from the first request on).
    for (let k = 0; k < SETS * WAYS; k++) unchecked(this.cached[k] = new Identity());
  }

  /** The caller of the current request, per `policy`'s identity source; `xfcc`: the request's
   *  x-forwarded-client-cert (read by the caller with the other headers), `hasXfcc`: present.
   *  Valid until the next call; do not keep it. */
  resolve(policy: Policy, xfcc: Bytes, hasXfcc: bool): Identity {
    return policy.identity!.caller(this, xfcc.ptr, hasXfcc ? xfcc.len : -1);
  }

  /** The direct peer's identity from its certificate, cached per connection (DirectPeer). */
  identity(): Identity {
    const v = this.view;
    let connId: u64 = 0;
    if (getProperty(CONNECTION_ID, v) && v.len == 8) connId = load<u64>(v.ptr);
    if (connId == 0) {
      this.parse(this.uncached);
      return this.uncached;
    }
    const now = ++this.clock;
    const base = <i32>(connId & <u64>(SETS - 1)) * WAYS;
    let victim = base;
    for (let k = base; k < base + WAYS; k++) {
      if (unchecked(this.connIds[k]) == connId) {
        const hit = unchecked(this.cached[k]);
        if (hit !== null) {
          unchecked(this.lastUse[k] = now);
          return hit;
        }
      }
      // the least recently used way (u32 ages: wrap-around only misorders one eviction)
      if (now - unchecked(this.lastUse[k]) > now - unchecked(this.lastUse[victim])) victim = k;
    }
    let id = unchecked(this.cached[victim]);
    if (id === null) {
      id = new Identity();
      unchecked(this.cached[victim] = id);
    }
    this.parse(id);
    unchecked(this.connIds[victim] = connId);
    unchecked(this.lastUse[victim] = now);
    return id;
  }

  private parse(out: Identity): void {
    const v = this.view;
    const found = getProperty(PEER_CERTIFICATE, v);
    peerIdentity(this.cert, v.ptr, found ? v.len : -1, out);
  }
}
