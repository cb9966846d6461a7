// build/bench-fetch.wasm (`asc assembly/bench/fetch.ts --target fetch`): the crossing floor of
// `npm run bench`.
//
// Reads what meshgate_inbound reads per request, through the same binding (assembly/proxywasm)
// and the same host calls, then decides nothing and continues:
//   - `connection.id` (property), and on a cache miss `connection.peer_certificate` — fetched but
//     not parsed (meshgate parses it once per connection; this module only remembers the
//     connection ids, in a table of the same size as assembly/filter/peer.ts's);
//   - the request headers in one call, picking `:method`, `:path` and `x-forwarded-client-cert`
//     with meshgate's own reader (assembly/filter/headers.ts).
// Stream contexts are recycled by the binding as in meshgate (no allocation per request once
// warm). The module exports the same per-request callbacks as build/meshgate.wasm
// (assembly/index.ts), so both pay the same VM crossings; `npm run bench` compares the two export
// lists and flags a difference. meshgate − wasm-fetch is then the cost of deciding and of acting
// on the decision (filter state, counters).
import {
  RootContext, HttpContext, Bytes, HostKey, FilterHeadersStatus,
  registerRootContext, getProperty, getPluginConfiguration,
} from "../proxywasm";
import { RequestHeaders } from "../filter/headers";

export const FETCH_ROOT_ID = "bench_fetch";

const SLOTS: i32 = 256;
const CONNECTION_ID = HostKey.path("connection", "id");
const PEER_CERTIFICATE = HostKey.path("connection", "peer_certificate");

class FetchRoot extends RootContext {
  /** Connection ids whose peer certificate was fetched (meshgate caches parsed identities here). */
  readonly connIds: StaticArray<u64> = new StaticArray<u64>(SLOTS);
  readonly view: Bytes = new Bytes();
  readonly headers: RequestHeaders = new RequestHeaders(
    StaticArray.fromArray<HostKey>([new HostKey(":method"), new HostKey(":path"), new HostKey("x-forwarded-client-cert")]),
  );
  /** Header bytes seen (so the reads have an observable effect). */
  headerBytes: u64 = 0;
  /** Certificate bytes seen (kept so the fetch has an observable effect). */
  certBytes: u64 = 0;
  private readonly config: Bytes = new Bytes();

  onConfigure(size: i32): bool {
    return getPluginConfiguration(size, this.config);
  }

  createHttpContext(id: u32): HttpContext | null {
    return new FetchStream(id, this);
  }
}

class FetchStream extends HttpContext {
  onRequestHeaders(headerCount: i32, endOfStream: bool): FilterHeadersStatus {
    const root = changetype<FetchRoot>(this.root);
    const v = root.view;
    let connId: u64 = 0;
    if (getProperty(CONNECTION_ID, v) && v.len == 8) connId = load<u64>(v.ptr);
    const slot = <i32>(connId & <u64>(SLOTS - 1));
    if (connId == 0 || unchecked(root.connIds[slot]) != connId) {
      if (getProperty(PEER_CERTIFICATE, v)) root.certBytes += <u64>v.len;
      unchecked(root.connIds[slot] = connId);
    }
    const h = root.headers;
    h.read();
    root.headerBytes += <u64>(h.value(0).len + h.value(1).len + h.value(2).len);
    return FilterHeadersStatus.Continue;
  }
}

registerRootContext(FETCH_ROOT_ID, (id: u32, rootId: string): RootContext => new FetchRoot(id, rootId));

// The same callback set as assembly/index.ts (build/meshgate.wasm), minus proxy_on_tick (meshgate's
// timer; not a per-request crossing). Keep the two lists in step: `npm run bench` warns otherwise.
export {
  proxy_abi_version_0_2_1,
  malloc,
  proxy_on_context_create,
  proxy_on_configure,
  proxy_on_request_headers,
  proxy_on_delete,
} from "../proxywasm";
