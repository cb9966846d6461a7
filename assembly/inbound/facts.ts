// Every host read of the inbound filter, in one place: the caller's identity (filter/peer.ts:
// `connection.id`, and once per connection its certificate) and, in ONE call, the request
// headers `:method`, `:path` and — for `identity.from: xfcc` — `x-forwarded-client-cert`
// (filter/headers.ts). A missing pseudo-header reads as empty, which decide() treats as a
// non-canonical path: denied, never a crash.
import { HostKey } from "../proxywasm";
import { RequestFacts } from "../policy/facts";
import { Policy } from "../policy/policy";
import { PeerIdentity } from "../filter/peer";
import { FactsReader } from "../filter/spec";
import { RequestHeaders } from "../filter/headers";

const METHOD: i32 = 0;
const PATH: i32 = 1;
const XFCC: i32 = 2;

export class InboundFactsReader extends FactsReader {
  private readonly headers: RequestHeaders = new RequestHeaders(
    StaticArray.fromArray<HostKey>([new HostKey(":method"), new HostKey(":path"), new HostKey("x-forwarded-client-cert")]),
  );

  /** Fills `facts` for the current request; its identity is the cached one, by reference. Views
   *  live until the callback returns. */
  read(policy: Policy, peer: PeerIdentity, facts: RequestFacts): void {
    const h = this.headers;
    h.read();
    facts.identity = peer.resolve(policy, h.value(XFCC), h.has(XFCC));
    const method = h.value(METHOD);
    const path = h.value(PATH);
    facts.setInbound(method.ptr, method.len, path.ptr, path.len);
    const map = h.map();
    facts.setHeaderMap(map.ptr, map.len);
  }
}
