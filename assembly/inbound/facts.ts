// Every host read of the inbound filter, in one place: the caller's identity (filter/peer.ts),
// `:method` and `:path`. A missing pseudo-header reads as empty, which decide() treats as a
// non-canonical path: denied, never a crash.
import { Bytes, HostKey, MapType, getHeader } from "../proxywasm";
import { InboundFacts } from "../policy/decide";
import { Policy } from "../policy/policy";
import { PeerIdentity } from "../filter/peer";

const METHOD = new HostKey(":method");
const PATH = new HostKey(":path");

export class InboundFactsReader {
  private readonly method: Bytes = new Bytes();
  private readonly path: Bytes = new Bytes();

  /** Fills `facts` (and its identity) for the current request. Views live until the callback returns. */
  read(policy: Policy, peer: PeerIdentity, facts: InboundFacts): void {
    peer.resolve(policy, facts.identity);
    getHeader(MapType.HttpRequestHeaders, METHOD, this.method);
    getHeader(MapType.HttpRequestHeaders, PATH, this.path);
    facts.set(this.method.ptr, this.method.len, this.path.ptr, this.path.len);
  }
}
