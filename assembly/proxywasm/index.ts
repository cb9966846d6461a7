// meshgate's Proxy-Wasm ABI v0.2.1 binding: the public surface filters import.
// Layers, imports pointing one way: abi.ts (raw host imports) → host.ts (typed host calls,
// scratch arena) → runtime.ts (contexts, registry, exports). See each file's header.
export { WasmResult, LogLevel, FilterHeadersStatus, FilterDataStatus, FilterTrailersStatus, MapType, BufferType, MetricType } from "./status";
export {
  Bytes, HostKey, log, logBytes, getLogLevel, currentTimeNanos, setTickPeriod, getPluginConfiguration,
  getHeader, getHeaderPairs, addHeader, replaceHeader, removeHeader, getProperty, getPropertyU64, setProperty,
  sendLocalResponse, defineMetric, defineCounter, defineGauge, incrementMetric, recordMetric, getMetric,
} from "./host";
export { RootContext, HttpContext, registerRootContext } from "./runtime";
