// What a request shows the matchers (docs/internals.md §2): the caller's identity and the request
// facts of both roles. A role's facts reader (inbound/facts.ts, egress/facts.ts) fills its part
// from the host; tests and benches fill it from bytes. Pre-allocated once, overwritten per request.
//
//   const facts = new RequestFacts(identity);       // identity: a caller-owned Identity
//   facts.setInbound(methodPtr, methodLen, pathPtr, pathLen);                  // `:method`, `:path`
//   facts.setEgress(authorityPtr, authorityLen, schemePtr, schemeLen, isConnect);
//   facts.setHeaderMap(ptr, len);   // the whole request header map, proxy-wasm pairs encoding
// `facts.identity` may be re-pointed per request (at an Identity cached per connection.id).
// The byte views must stay valid while deciding. The header map is there so that a field
// matching on headers reads them itself (`PairsReader`, proxywasm/views.ts, decodes it): no new fact, no
// new host read.

import { Identity } from "../spiffe/identity";
import { MethodFacts } from "./matchers";
import { PathFacts } from "./path";
import { EgressTarget } from "./host";

export class RequestFacts {
  /** Inbound: `:method` and `:path`. */
  readonly method: MethodFacts = new MethodFacts();
  readonly path: PathFacts = new PathFacts();
  /** Egress: the target to be dialed. */
  readonly target: EgressTarget = new EgressTarget();

  /** The request header map as the filter read it (proxy-wasm pairs encoding); 0/0 when the
   *  facts were filled from bytes (tests, benches) or the map was unreadable. */
  headerMapPtr: usize = 0;
  headerMapLen: i32 = 0;
  /** TLS passthrough: a refusal reason (decide.ts REASON_*) the ClientHello gave before any name
   *  (not_tls, no_sni, ech, ...), else 0. */
  refusal: i32 = 0;
  /** Egress: the request is a CONNECT. */
  connect: bool = false;

  constructor(public identity: Identity) {}

  setHeaderMap(ptr: usize, len: i32): void {
    this.headerMapPtr = ptr;
    this.headerMapLen = len;
  }

  setInbound(methodPtr: usize, methodLen: i32, pathPtr: usize, pathLen: i32): void {
    this.method.set(methodPtr, methodLen);
    this.path.set(pathPtr, pathLen);
  }

  /** authority: CONNECT's request authority, else `:authority`; scheme: `:scheme`. */
  setEgress(authorityPtr: usize, authorityLen: i32, schemePtr: usize, schemeLen: i32, isConnect: bool): void {
    this.refusal = 0;
    this.connect = isConnect;
    this.target.parse(authorityPtr, authorityLen, schemePtr, schemeLen, isConnect);
  }

  /** TLS passthrough: the ClientHello's refusal (0 = none) or its server_name, and the
   *  connection's destination port. */
  setServerName(refusal: i32, namePtr: usize, nameLen: i32, port: i32): void {
    this.refusal = refusal;
    this.connect = false;
    if (refusal == 0) this.target.parseServerName(namePtr, nameLen, port);
    else this.target.parseServerName(0, 0, port);
  }
}
