// build/bench-fetch.wasm (`asc assembly/bench/fetch.ts --target fetch`): the crossing floor of
// `npm run bench`.
//
// Reads what meshgate_inbound reads per request, through the same binding (assembly/proxywasm)
// and the same host calls, then decides nothing and continues:
//   - `connection.id` (property), and on a cache miss `connection.peer_certificate` — fetched but
//     not parsed (meshgate parses it once per connection; this module only remembers the
//     connection id, in the same 32-slot direct-mapped table shape as assembly/filter/peer.ts);
//   - with `"xfcc"` in the plugin configuration (identity.from: xfcc): `x-forwarded-client-cert`;
//   - `:method`, `:path`.
// Stream contexts are recycled by the binding as in meshgate (no allocation per request once
// warm). The module exports the same per-request callbacks as build/meshgate.wasm
// (assembly/index.ts), so both pay the same VM crossings; `npm run bench` compares the two export
// lists and flags a difference. meshgate − wasm-fetch is then the cost of deciding and of acting
// on the decision (filter state, counters).
import {
  RootContext, HttpContext, Bytes, HostKey, MapType, FilterHeadersStatus,
  registerRootContext, getProperty, getHeader, getPluginConfiguration,
} from "../proxywasm";

export const FETCH_ROOT_ID = "bench_fetch";

const SLOTS: i32 = 32;
const CONNECTION_ID = HostKey.path("connection", "id");
const PEER_CERTIFICATE = HostKey.path("connection", "peer_certificate");
const XFCC = new HostKey("x-forwarded-client-cert");
const METHOD = new HostKey(":method");
const PATH = new HostKey(":path");
const XFCC_MARK = String.UTF8.encode("\"xfcc\"");

/** Whether [p, p+n) contains the bytes of `needle`. Configure time only. */
function contains(p: usize, n: i32, needle: ArrayBuffer): bool {
  const m = needle.byteLength;
  const q = changetype<usize>(needle);
  for (let i = 0; i + m <= n; i++) {
    if (memory.compare(p + <usize>i, q, <usize>m) == 0) return true;
  }
  return false;
}

class FetchRoot extends RootContext {
  readXfcc: bool = false;
  /** Connection ids whose peer certificate was fetched (meshgate caches parsed identities here). */
  readonly connIds: StaticArray<u64> = new StaticArray<u64>(SLOTS);
  readonly view: Bytes = new Bytes();
  readonly method: Bytes = new Bytes();
  readonly path: Bytes = new Bytes();
  readonly xfcc: Bytes = new Bytes();
  /** Certificate bytes seen (kept so the fetch has an observable effect). */
  certBytes: u64 = 0;
  private readonly config: Bytes = new Bytes();

  onConfigure(size: i32): bool {
    if (!getPluginConfiguration(size, this.config)) return false;
    this.readXfcc = contains(this.config.ptr, this.config.len, XFCC_MARK);
    return true;
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
    if (root.readXfcc) getHeader(MapType.HttpRequestHeaders, XFCC, root.xfcc);
    getHeader(MapType.HttpRequestHeaders, METHOD, root.method);
    getHeader(MapType.HttpRequestHeaders, PATH, root.path);
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
