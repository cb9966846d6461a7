// Proxy-Wasm ABI v0.2.1 enumerations with the spec's numbers (proxy-wasm/spec,
// abi-versions/v0.2.1, and proxy-wasm-cpp-host where the host accepts more than the spec names).
// harness/emulator/enums.ts holds the host's copy; test/unit/emulator/enums.test.ts parses this
// file and checks that both agree, member by member.
//
// Keep one `Name = number` member per line: the test reads this file as text.

/** Status of every host call. */
export enum WasmResult {
  Ok = 0,
  NotFound = 1,
  BadArgument = 2,
  SerializationFailure = 3,
  ParseFailure = 4,
  InvalidMemoryAccess = 6,
  Empty = 7,
  CasMismatch = 8,
  InternalFailure = 10,
  BrokenConnection = 11,
  Unimplemented = 12,
}

/** proxy_log levels = Envoy's spdlog levels of the `wasm` logger. proxy_get_log_level may also answer 6 (off). */
export enum LogLevel {
  Trace = 0,
  Debug = 1,
  Info = 2,
  Warn = 3,
  Error = 4,
  Critical = 5,
}

/**
 * Return value of on_request_headers / on_response_headers. Envoy turns StopIteration into
 * StopAllIterationAndWatermark ("stop everything, buffer nothing, wait for continue") unless
 * `allow_on_headers_stop_iteration` is set, and ContinueAndEndStream into Continue.
 */
export enum FilterHeadersStatus {
  Continue = 0,
  StopIteration = 1,
  ContinueAndEndStream = 2,
  StopAllIterationAndBuffer = 3,
  StopAllIterationAndWatermark = 4,
}

/** Return value of the body callbacks. StopIterationAndBuffer makes Envoy buffer the body (with limits). */
export enum FilterDataStatus {
  Continue = 0,
  StopIterationAndBuffer = 1,
  StopIterationAndWatermark = 2,
  StopIterationNoBuffer = 3,
}

/**
 * Return value of the network callbacks (on_new_connection, on_downstream_data,
 * on_upstream_data). StopIteration holds the filters after this one; for data, Envoy keeps the
 * bytes in the connection's read buffer and hands the whole buffer to the next call.
 */
export enum FilterStatus {
  Continue = 0,
  StopIteration = 1,
}

/** Who closed a connection (on_downstream_connection_close / on_upstream_connection_close). */
export enum PeerType {
  Unknown = 0,
  Local = 1,
  Remote = 2,
}

/** Return value of the trailers callbacks. */
export enum FilterTrailersStatus {
  Continue = 0,
  StopIteration = 1,
}

/** Which header map a header call addresses. */
export enum MapType {
  HttpRequestHeaders = 0,
  HttpRequestTrailers = 1,
  HttpResponseHeaders = 2,
  HttpResponseTrailers = 3,
  GrpcReceiveInitialMetadata = 4,
  GrpcReceiveTrailingMetadata = 5,
  HttpCallResponseHeaders = 6,
  HttpCallResponseTrailers = 7,
}

/** Which buffer proxy_get_buffer_bytes reads. */
export enum BufferType {
  HttpRequestBody = 0,
  HttpResponseBody = 1,
  DownstreamData = 2,
  UpstreamData = 3,
  HttpCallResponseBody = 4,
  GrpcReceiveBuffer = 5,
  VmConfiguration = 6,
  PluginConfiguration = 7,
  CallData = 8,
}

/** proxy_continue_stream / proxy_close_stream. */
export enum StreamType {
  HttpRequest = 0,
  HttpResponse = 1,
  Downstream = 2,
  Upstream = 3,
}

/** proxy_define_metric. */
export enum MetricType {
  Counter = 0,
  Gauge = 1,
  Histogram = 2,
}
