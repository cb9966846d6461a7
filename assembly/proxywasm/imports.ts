// Layer 1 of the binding: raw host imports of Proxy-Wasm ABI v0.2.1, module "env", with the spec's
// names and exact wasm signatures. No logic: hostcalls.ts wraps each one and maps its statuses.
//
// Every function returns a WasmResult (enums.ts) as i32. Pointers and sizes are guest memory
// addresses and byte counts; `ret*` parameters are addresses where the host writes a u32 (or,
// for times and metric values, a u64), little-endian.
//
// Only what meshgate wraps is declared. AssemblyScript emits an import only for functions that are
// actually called, and Envoy refuses to load a module importing anything it does not provide, so
// a declaration here costs nothing until used — but each one must exist in Envoy with exactly
// this signature.

// ---- logging, time, timers ----------------------------------------------------------------

@external("env", "proxy_log")
export declare function proxy_log(level: i32, messagePtr: usize, messageSize: usize): i32;

@external("env", "proxy_get_log_level")
export declare function proxy_get_log_level(retLevel: usize): i32;

@external("env", "proxy_get_current_time_nanoseconds")
export declare function proxy_get_current_time_nanoseconds(retTime: usize): i32;

@external("env", "proxy_set_tick_period_milliseconds")
export declare function proxy_set_tick_period_milliseconds(periodMs: u32): i32;

// ---- buffers (bodies, VM and plugin configuration) ----------------------------------------

@external("env", "proxy_get_buffer_bytes")
export declare function proxy_get_buffer_bytes(bufferType: i32, start: u32, maxSize: u32, retPtr: usize, retSize: usize): i32;

@external("env", "proxy_set_buffer_bytes")
export declare function proxy_set_buffer_bytes(bufferType: i32, start: u32, size: u32, dataPtr: usize, dataSize: usize): i32;

// ---- header maps --------------------------------------------------------------------------

@external("env", "proxy_get_header_map_pairs")
export declare function proxy_get_header_map_pairs(mapType: i32, retPtr: usize, retSize: usize): i32;

@external("env", "proxy_set_header_map_pairs")
export declare function proxy_set_header_map_pairs(mapType: i32, pairsPtr: usize, pairsSize: usize): i32;

@external("env", "proxy_get_header_map_size")
export declare function proxy_get_header_map_size(mapType: i32, retSize: usize): i32;

@external("env", "proxy_get_header_map_value")
export declare function proxy_get_header_map_value(mapType: i32, keyPtr: usize, keySize: usize, retPtr: usize, retSize: usize): i32;

@external("env", "proxy_add_header_map_value")
export declare function proxy_add_header_map_value(mapType: i32, keyPtr: usize, keySize: usize, valuePtr: usize, valueSize: usize): i32;

@external("env", "proxy_replace_header_map_value")
export declare function proxy_replace_header_map_value(mapType: i32, keyPtr: usize, keySize: usize, valuePtr: usize, valueSize: usize): i32;

@external("env", "proxy_remove_header_map_value")
export declare function proxy_remove_header_map_value(mapType: i32, keyPtr: usize, keySize: usize): i32;

// ---- properties ---------------------------------------------------------------------------

@external("env", "proxy_get_property")
export declare function proxy_get_property(pathPtr: usize, pathSize: usize, retPtr: usize, retSize: usize): i32;

@external("env", "proxy_set_property")
export declare function proxy_set_property(pathPtr: usize, pathSize: usize, valuePtr: usize, valueSize: usize): i32;

// ---- local replies ------------------------------------------------------------------------

@external("env", "proxy_send_local_response")
export declare function proxy_send_local_response(
  statusCode: u32, detailsPtr: usize, detailsSize: usize, bodyPtr: usize, bodySize: usize,
  headersPtr: usize, headersSize: usize, grpcStatus: i32): i32;

// ---- metrics ------------------------------------------------------------------------------

@external("env", "proxy_define_metric")
export declare function proxy_define_metric(metricType: i32, namePtr: usize, nameSize: usize, retMetricId: usize): i32;

@external("env", "proxy_increment_metric")
export declare function proxy_increment_metric(metricId: u32, delta: i64): i32;

@external("env", "proxy_record_metric")
export declare function proxy_record_metric(metricId: u32, value: u64): i32;

@external("env", "proxy_get_metric")
export declare function proxy_get_metric(metricId: u32, retValue: usize): i32;

// ---- streams and connections --------------------------------------------------------------

@external("env", "proxy_close_stream")
export declare function proxy_close_stream(streamType: i32): i32;

// ---- foreign functions (host extensions called by name) -----------------------------------

@external("env", "proxy_call_foreign_function")
export declare function proxy_call_foreign_function(
  namePtr: usize, nameSize: usize, argumentsPtr: usize, argumentsSize: usize, retPtr: usize, retSize: usize): i32;
