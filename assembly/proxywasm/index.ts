// meshgate's Proxy-Wasm ABI v0.2.1 binding: the public surface filters import.
//
// Layers, imports pointing one way:
//   imports.ts  raw `env` host imports, spec names, no logic
//   hostcalls.ts typed wrappers; every status mapped on purpose (NotFound → false, documented
//               refusal → false, anything else → abort naming the call and status)
//   context.ts  RootContext / HttpContext / TcpContext base classes a filter extends (lifecycle comments)
//   dispatch.ts the exports the host calls, registerRootContext, the context id → context registry
// Host extensions: filter-state.ts (Envoy filter state objects through a foreign function).
// Leaf modules: enums.ts (spec numbers), views.ts (Bytes, HostKey, PairsReader), scratch.ts (the
// arena behind `malloc`), abort.ts (the abort handler: logs through proxy_log, then traps).
//
// Memory rule: accessors fill caller-owned `Bytes` views that are valid until the current
// callback returns (scratch.ts). Pre-encode header names and property paths as `HostKey`s once.
//
// A module entry (assembly/index.ts) imports this, registers its root ids, and re-exports
// `proxy_abi_version_0_2_1`, `malloc` and exactly the `proxy_on_*` callbacks its filters use.
import "./abort";

export {
  WasmResult, LogLevel, FilterHeadersStatus, FilterDataStatus, FilterTrailersStatus, FilterStatus, PeerType,
  MapType, BufferType, StreamType, MetricType,
} from "./enums";
export { Bytes, HostKey, PairsReader } from "./views";
export {
  wasmResultName,
  log, logBytes, getLogLevel, currentTimeNanos, setTickPeriod,
  getBufferBytes, setBufferBytes, getPluginConfiguration, getVmConfiguration,
  getHeader, getHeaderPairs, setHeaderPairs, getHeaderMapByteSize, addHeader, replaceHeader, removeHeader,
  getProperty, getPropertyU64, setProperty,
  sendLocalResponse, closeStream, callForeignFunction,
  defineMetric, defineCounter, defineGauge, defineHistogram, incrementMetric, recordMetric, getMetric,
} from "./hostcalls";
export { setEnvoyFilterState, SPAN_FILTER_CHAIN, SPAN_DOWNSTREAM_REQUEST, SPAN_DOWNSTREAM_CONNECTION } from "./filter-state";
export { Context, RootContext, HttpContext, TcpContext, CONTEXT_HTTP, CONTEXT_TCP } from "./context";
export { RootFactory, registerRootContext, onUnknownStream, onUnknownConnection } from "./dispatch";
export { scratchRegionSize } from "./scratch";
export {
  malloc,
  proxy_on_context_create, proxy_on_vm_start, proxy_on_configure, proxy_on_tick,
  proxy_on_request_headers, proxy_on_request_body, proxy_on_request_trailers,
  proxy_on_response_headers, proxy_on_response_body, proxy_on_response_trailers,
  proxy_on_new_connection, proxy_on_downstream_data, proxy_on_downstream_connection_close,
  proxy_on_log, proxy_on_done, proxy_on_delete,
} from "./dispatch";

/** The ABI version marker Envoy looks for (never called). Re-export it from the module entry. */
export function proxy_abi_version_0_2_1(): void {}
