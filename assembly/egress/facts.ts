// Every host read of the egress filter: the caller's identity (filter/peer.ts), `:method` (is it
// CONNECT?), `:authority` and `:scheme`. For CONNECT Envoy carries the request target in
// :authority; for an absolute-form request (`GET http://host/...`) the HCM has already moved the
// URI's host into :authority (allow_absolute_url). That is the name the dynamic forward proxy
// resolves and dials next, so the filter judges exactly what will be dialed.
import { Bytes, HostKey, MapType, getHeader } from "../proxywasm";
import { EgressFacts } from "../policy/decide";
import { Policy } from "../policy/policy";
import { PeerIdentity } from "../filter/peer";
import { bytesEqualAscii } from "../util/bytes";

const METHOD = new HostKey(":method");
const AUTHORITY = new HostKey(":authority");
const SCHEME = new HostKey(":scheme");

export class EgressFactsReader {
  private readonly method: Bytes = new Bytes();
  private readonly authority: Bytes = new Bytes();
  private readonly scheme: Bytes = new Bytes();

  read(policy: Policy, peer: PeerIdentity, facts: EgressFacts): void {
    peer.resolve(policy, facts.identity);
    getHeader(MapType.HttpRequestHeaders, METHOD, this.method);
    getHeader(MapType.HttpRequestHeaders, AUTHORITY, this.authority);
    getHeader(MapType.HttpRequestHeaders, SCHEME, this.scheme);
    const connect = bytesEqualAscii(this.method.ptr, this.method.len, "CONNECT");
    facts.set(this.authority.ptr, this.authority.len, this.scheme.ptr, this.scheme.len, connect);
  }
}
