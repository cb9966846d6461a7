// The caller's identity as the host shows it: the direct peer's certificate (parsed for ALL its
// URI SANs — Envoy's uri_san_peer_certificate shows only the first), then per the policy's
// identity source the peer itself, the XFCC element a trusted proxy appended, or the local ID.
//
// Parsing a certificate costs microseconds; a connection's peer never changes, so the direct
// peer's identity is cached per `connection.id` (process-unique, never reused) in a small
// direct-mapped table of pre-allocated Identity objects. No allocation per request.
import { Bytes, HostKey, getProperty, getHeader, MapType } from "../proxywasm";
import { Identity, SOURCE_PEER_CERTIFICATE, SOURCE_LOCAL } from "../spiffe/identity";
import { Policy } from "../policy/policy";

const SLOTS: i32 = 32;
const CONNECTION_ID = HostKey.path("connection", "id");
const PEER_CERTIFICATE = HostKey.path("connection", "peer_certificate");
const XFCC = new HostKey("x-forwarded-client-cert");

export class PeerIdentity {
  private readonly connIds: StaticArray<u64> = new StaticArray<u64>(SLOTS);
  private readonly cached: StaticArray<Identity | null> = new StaticArray<Identity | null>(SLOTS);
  private readonly view: Bytes = new Bytes();
  private readonly uncached: Identity = new Identity();

  /** Resolves the caller of the current request into `out`, per `policy`'s identity source. */
  resolve(policy: Policy, out: Identity): void {
    const resolver = policy.resolver!;
    if (policy.identitySource == SOURCE_LOCAL) {
      resolver.resolve(0, -1, 0, -1, out);
      return;
    }
    const peer = this.directPeer(policy);
    if (policy.identitySource == SOURCE_PEER_CERTIFICATE) {
      out.copyFrom(peer);
      return;
    }
    const v = this.view;
    const found = getHeader(MapType.HttpRequestHeaders, XFCC, v);
    resolver.resolveFromPeer(peer, v.ptr, found ? v.len : -1, out);
  }

  /** The direct peer's identity from its certificate, cached per connection. */
  private directPeer(policy: Policy): Identity {
    const v = this.view;
    let connId: u64 = 0;
    if (getProperty(CONNECTION_ID, v) && v.len == 8) connId = load<u64>(v.ptr);
    if (connId == 0) {
      this.parse(policy, this.uncached);
      return this.uncached;
    }
    const slot = <i32>(connId & <u64>(SLOTS - 1));
    let id = unchecked(this.cached[slot]);
    if (id !== null && unchecked(this.connIds[slot]) == connId) return id;
    if (id === null) {
      id = new Identity();
      unchecked(this.cached[slot] = id);
    }
    this.parse(policy, id);
    unchecked(this.connIds[slot] = connId);
    return id;
  }

  private parse(policy: Policy, out: Identity): void {
    const v = this.view;
    const found = getProperty(PEER_CERTIFICATE, v);
    policy.resolver!.resolvePeer(v.ptr, found ? v.len : -1, out);
  }
}
