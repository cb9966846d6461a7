// build/bench-calls.wasm (`asc assembly/bench/calls.ts --target calls`): what one host call costs
// inside Envoy, for the host-call table of `npm run bench` (bench/hostcalls.ts).
//
// Per request, on_request_headers performs the host calls its plugin configuration names, one
// letter each, in order, then continues:
//   c  get_property connection.id          m  get_header_map_value :method
//   h  get_header_map_pairs (all headers)  s  set_property (a filter-state value like meshgate's)
//   i  increment_metric
// The bench repeats a letter many times (bench/hostcalls.ts REPEAT) and compares with the empty configuration,
// so one call's cost stands out of Envoy's per-request noise. Stream contexts are recycled by the
// binding as in meshgate; the module exports meshgate's per-request callbacks.
import {
  RootContext, HttpContext, Bytes, HostKey, MapType, FilterHeadersStatus,
  registerRootContext, getProperty, getHeader, getHeaderPairs, getPluginConfiguration, setProperty,
  defineCounter, incrementMetric,
} from "../proxywasm";

export const CALLS_ROOT_ID = "bench_calls";

const CONNECTION_ID = HostKey.path("connection", "id");
const METHOD = new HostKey(":method");
const FILTER_STATE = new HostKey("bench_calls");
const VALUE = String.UTF8.encode("decision=allow rule=callers identity=spiffe://example.org/ns/team-5/sa/workload-5 policy=0123456789ab");

class CallsRoot extends RootContext {
  ops: StaticArray<u8> = new StaticArray<u8>(0);
  counter: u32 = 0;
  /** Bytes the reads returned (an observable effect of each read). */
  seen: u64 = 0;
  readonly view: Bytes = new Bytes();
  private readonly config: Bytes = new Bytes();

  onConfigure(size: i32): bool {
    if (!getPluginConfiguration(size, this.config)) return false;
    const n = this.config.len;
    const ops = new StaticArray<u8>(n);
    for (let i = 0; i < n; i++) {
      const c = load<u8>(this.config.ptr + <usize>i);
      if (c != 0x63 && c != 0x6D && c != 0x68 && c != 0x73 && c != 0x69) return false; // unknown letter
      ops[i] = c;
    }
    this.ops = ops;
    this.counter = defineCounter("bench_calls.increments");
    return true;
  }

  createHttpContext(id: u32): HttpContext | null {
    return new CallsStream(id, this);
  }
}

class CallsStream extends HttpContext {
  onRequestHeaders(headerCount: i32, endOfStream: bool): FilterHeadersStatus {
    const root = changetype<CallsRoot>(this.root);
    const v = root.view;
    const ops = root.ops;
    for (let i = 0; i < ops.length; i++) {
      const c = unchecked(ops[i]);
      if (c == 0x63) { if (getProperty(CONNECTION_ID, v)) root.seen += <u64>v.len; }
      else if (c == 0x6D) { if (getHeader(MapType.HttpRequestHeaders, METHOD, v)) root.seen += <u64>v.len; }
      else if (c == 0x68) { if (getHeaderPairs(MapType.HttpRequestHeaders, v)) root.seen += <u64>v.len; }
      else if (c == 0x73) setProperty(FILTER_STATE, changetype<usize>(VALUE), VALUE.byteLength);
      else incrementMetric(root.counter);
    }
    return FilterHeadersStatus.Continue;
  }
}

registerRootContext(CALLS_ROOT_ID, (id: u32, rootId: string): RootContext => new CallsRoot(id, rootId));

export {
  proxy_abi_version_0_2_1,
  malloc,
  proxy_on_context_create,
  proxy_on_configure,
  proxy_on_request_headers,
  proxy_on_delete,
} from "../proxywasm";
