// Proxy-Wasm ABI v0.2.1 enumerations, with the spec's numbers (proxy-wasm/spec, abi-versions/v0.2.1).
// harness/emulator/abi.ts holds the same values; test/unit/emulator/enums.test.ts checks they agree.

export namespace WasmResult {
  export const Ok: u32 = 0;
  export const NotFound: u32 = 1;
  export const BadArgument: u32 = 2;
  export const SerializationFailure: u32 = 3;
  export const ParseFailure: u32 = 4;
  export const InvalidMemoryAccess: u32 = 6;
  export const Empty: u32 = 7;
  export const CasMismatch: u32 = 8;
  export const InternalFailure: u32 = 10;
  export const BrokenConnection: u32 = 11;
  export const Unimplemented: u32 = 12;
}

export namespace LogLevel {
  export const Trace: i32 = 0;
  export const Debug: i32 = 1;
  export const Info: i32 = 2;
  export const Warn: i32 = 3;
  export const Error: i32 = 4;
  export const Critical: i32 = 5;
}

export namespace FilterHeadersStatus {
  export const Continue: i32 = 0;
  export const StopIteration: i32 = 1;
  export const ContinueAndEndStream: i32 = 2;
  export const StopAllIterationAndBuffer: i32 = 3;
  export const StopAllIterationAndWatermark: i32 = 4;
}

export namespace FilterDataStatus {
  export const Continue: i32 = 0;
  export const StopIterationAndBuffer: i32 = 1;
  export const StopIterationAndWatermark: i32 = 2;
  export const StopIterationNoBuffer: i32 = 3;
}

export namespace FilterTrailersStatus {
  export const Continue: i32 = 0;
  export const StopIteration: i32 = 1;
}

export namespace MapType {
  export const HttpRequestHeaders: i32 = 0;
  export const HttpRequestTrailers: i32 = 1;
  export const HttpResponseHeaders: i32 = 2;
  export const HttpResponseTrailers: i32 = 3;
}

export namespace BufferType {
  export const HttpRequestBody: i32 = 0;
  export const HttpResponseBody: i32 = 1;
  export const DownstreamData: i32 = 2;
  export const UpstreamData: i32 = 3;
  export const HttpCallResponseBody: i32 = 4;
  export const GrpcReceiveBuffer: i32 = 5;
  export const VmConfiguration: i32 = 6;
  export const PluginConfiguration: i32 = 7;
}

export namespace MetricType {
  export const Counter: i32 = 0;
  export const Gauge: i32 = 1;
  export const Histogram: i32 = 2;
}
