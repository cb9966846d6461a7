// meshgate_passthrough: a filter that lets everything through and shows who called. It exercises
// the binding end to end (configure, a counter, a property read, per-stream state, a response
// header) and is the reference for how a filter uses it; it is not a policy.
//
// Per request: count `meshgate.inbound.requests`, read the peer's URI SAN
// (`connection.uri_san_peer_certificate`; absent on plain text or without a client certificate),
// keep it in the stream context, and add `x-meshgate-peer: <URI SAN or "none">` to the response.
// Allocates nothing per request: the stream contexts are recycled by the binding and the identity
// is copied into a buffer each context owns.
import {
  Bytes, HostKey, HttpContext, RootContext, MapType, FilterHeadersStatus,
  addHeader, defineCounter, getProperty, incrementMetric, registerRootContext,
} from "../proxywasm";

export const PASSTHROUGH_ROOT_ID = "meshgate_passthrough";

const PEER_URI_SAN = HostKey.path("connection", "uri_san_peer_certificate");
const PEER_HEADER = new HostKey("x-meshgate-peer");
const NONE = new HostKey("none");
/** A SPIFFE ID is at most 2048 bytes: anything longer is not one and shows as "none". */
const MAX_IDENTITY: i32 = 2048;

class PassthroughRoot extends RootContext {
  requests: u32 = 0;

  onConfigure(configurationSize: i32): bool {
    this.requests = defineCounter("meshgate.inbound.requests");
    return true;
  }

  createHttpContext(id: u32): HttpContext | null {
    return new PassthroughStream(id, this);
  }
}

class PassthroughStream extends HttpContext {
  private readonly view: Bytes = new Bytes();
  private readonly identity: StaticArray<u8> = new StaticArray<u8>(MAX_IDENTITY);
  /** Bytes of `identity` in use; 0 = no identity. */
  private identityLen: i32 = 0;

  onCreate(): void {
    this.identityLen = 0;
  }

  onRequestHeaders(headerCount: i32, endOfStream: bool): FilterHeadersStatus {
    incrementMetric(changetype<PassthroughRoot>(this.root).requests);
    const v = this.view;
    if (getProperty(PEER_URI_SAN, v) && v.len > 0 && v.len <= MAX_IDENTITY) {
      memory.copy(changetype<usize>(this.identity), v.ptr, <usize>v.len);
      this.identityLen = v.len;
    }
    return FilterHeadersStatus.Continue;
  }

  onResponseHeaders(headerCount: i32, endOfStream: bool): FilterHeadersStatus {
    if (this.identityLen > 0) addHeader(MapType.HttpResponseHeaders, PEER_HEADER, changetype<usize>(this.identity), this.identityLen);
    else addHeader(MapType.HttpResponseHeaders, PEER_HEADER, NONE.ptr, NONE.len);
    return FilterHeadersStatus.Continue;
  }
}

export function registerPassthrough(): void {
  registerRootContext(PASSTHROUGH_ROOT_ID, (id: u32, rootId: string): RootContext => new PassthroughRoot(id, rootId));
}
