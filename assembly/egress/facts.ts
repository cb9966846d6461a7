// Every host read of the egress filter: the caller's identity (filter/peer.ts) and, in ONE call
// (filter/headers.ts), `:method` (is it CONNECT?), `:authority`, `:scheme` and — for
// `identity.from: xfcc` — `x-forwarded-client-cert`. For CONNECT Envoy carries the request target
// in :authority; for an absolute-form request (`GET http://host/...`) the HCM has already moved
// the URI's host into :authority (allow_absolute_url). That is the name the dynamic forward proxy
// resolves and dials next, so the filter judges exactly what will be dialed.
import { HostKey } from "../proxywasm";
import { RequestFacts } from "../policy/facts";
import { Policy } from "../policy/policy";
import { PeerIdentity } from "../filter/peer";
import { FactsReader } from "../filter/spec";
import { RequestHeaders } from "../filter/headers";
import { bytesEqualAscii } from "../util/bytes";

const METHOD: i32 = 0;
const AUTHORITY: i32 = 1;
const SCHEME: i32 = 2;
const XFCC: i32 = 3;

export class EgressFactsReader extends FactsReader {
  private readonly headers: RequestHeaders = new RequestHeaders(
    StaticArray.fromArray<HostKey>([
      new HostKey(":method"), new HostKey(":authority"), new HostKey(":scheme"), new HostKey("x-forwarded-client-cert"),
    ]),
  );

  read(policy: Policy, peer: PeerIdentity, facts: RequestFacts): void {
    const h = this.headers;
    h.read();
    facts.identity = peer.resolve(policy, h.value(XFCC), h.has(XFCC));
    const method = h.value(METHOD);
    const authority = h.value(AUTHORITY);
    const scheme = h.value(SCHEME);
    const connect = bytesEqualAscii(method.ptr, method.len, "CONNECT");
    facts.setEgress(authority.ptr, authority.len, scheme.ptr, scheme.len, connect);
    const map = h.map();
    facts.setHeaderMap(map.ptr, map.len);
  }
}
