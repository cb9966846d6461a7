// Layer 2 of the binding: typed host calls over imports.ts. Each wrapper maps every status the
// host can answer, on purpose:
//   - expected absence (NotFound)                          → false / null / a fallback value;
//   - a documented refusal (e.g. BadArgument for a header
//     map that is not available in this callback)         → false;
//   - anything else (a bug in meshgate or a host we do
//     not understand)                                     → abort naming the call and the
//                                                            status: the VM traps and Envoy fails
//                                                            the request closed.
// The per-call mapping is in each doc comment.
//
// Data the host returns lands in the scratch arena (scratch.ts) and is handed back as a `Bytes`
// view the caller owns: valid until the current callback returns. Keys are `HostKey`s encoded
// once. Nothing here allocates except the functions taking a `string` (configure time only).
import * as raw from "./imports";
import { BufferType, LogLevel, MapType, MetricType, StreamType, WasmResult } from "./enums";
import { Bytes, HostKey } from "./views";
import { noteGarbage } from "./collect";
import "./abort";

/** Return slots the host writes into: (pointer, size) or one u64. Callbacks never nest, so one set suffices. */
const RET = memory.data(16, 8);
const RET_PTR = RET;
const RET_SIZE = RET + 8;

export function wasmResultName(status: i32): string {
  switch (status) {
    case WasmResult.Ok: return "Ok";
    case WasmResult.NotFound: return "NotFound";
    case WasmResult.BadArgument: return "BadArgument";
    case WasmResult.SerializationFailure: return "SerializationFailure";
    case WasmResult.ParseFailure: return "ParseFailure";
    case WasmResult.InvalidMemoryAccess: return "InvalidMemoryAccess";
    case WasmResult.Empty: return "Empty";
    case WasmResult.CasMismatch: return "CasMismatch";
    case WasmResult.InternalFailure: return "InternalFailure";
    case WasmResult.BrokenConnection: return "BrokenConnection";
    case WasmResult.Unimplemented: return "Unimplemented";
  }
  return "status " + status.toString();
}

/** The host answered something this binding does not expect from `call`: trap with a message. */
function unexpected(call: string, status: i32): void {
  abort(call + " returned " + wasmResultName(status) + " (" + status.toString() + ")");
}

@inline function takeView(out: Bytes): void {
  out.ptr = <usize>load<u32>(RET_PTR);
  out.len = <i32>load<u32>(RET_SIZE);
}

// ---------------------------------------------------------------------------------------------
// Logging, time, timers

/**
 * Logs UTF-8 bytes on Envoy's `wasm` logger. Legal in every callback, including `_initialize`.
 * The status is ignored: a failing log must never take the VM down (level > 5 is the only
 * documented refusal).
 */
export function logBytes(level: LogLevel, ptr: usize, len: i32): void {
  raw.proxy_log(level, ptr, <usize>len);
}

/** Logs a string (encodes it, so it allocates: configure time, or behind a log-level check). The
 *  message and its encoding are garbage afterwards: the next tick collects them (collect.ts). */
export function log(level: LogLevel, message: string): void {
  const b = String.UTF8.encode(message);
  raw.proxy_log(level, changetype<usize>(b), <usize>b.byteLength);
  noteGarbage();
}

/** The current level of Envoy's `wasm` logger (LogLevel; 6 = off). Ok is the only expected status. */
export function getLogLevel(): i32 {
  const s = raw.proxy_get_log_level(RET);
  if (s != WasmResult.Ok) unexpected("proxy_get_log_level", s);
  return load<i32>(RET);
}

/** Wall-clock time, nanoseconds since the epoch. Ok is the only expected status. */
export function currentTimeNanos(): u64 {
  const s = raw.proxy_get_current_time_nanoseconds(RET);
  if (s != WasmResult.Ok) unexpected("proxy_get_current_time_nanoseconds", s);
  return load<u64>(RET);
}

/**
 * Calls proxy_on_tick on the root context of the current callback every `ms` milliseconds
 * (0 stops it). Call it from a root callback (on_configure). Ok is the only expected status.
 */
export function setTickPeriod(ms: u32): void {
  const s = raw.proxy_set_tick_period_milliseconds(ms);
  if (s != WasmResult.Ok) unexpected("proxy_set_tick_period_milliseconds", s);
}

// ---------------------------------------------------------------------------------------------
// Buffers

/**
 * Up to `maxSize` bytes of buffer `type` from offset `start`, into `out`.
 * Ok → true (an empty buffer gives len 0); NotFound → false (the buffer does not exist in this
 * callback: the plugin configuration outside on_configure, a body outside the body callbacks).
 */
export function getBufferBytes(type: BufferType, start: u32, maxSize: u32, out: Bytes): bool {
  const s = raw.proxy_get_buffer_bytes(type, start, maxSize, RET_PTR, RET_SIZE);
  if (s == WasmResult.Ok) {
    takeView(out);
    return true;
  }
  out.clear();
  if (s != WasmResult.NotFound) unexpected("proxy_get_buffer_bytes", s);
  return false;
}

/**
 * Replaces `size` bytes of buffer `type` from offset `start` with `len` bytes at `ptr`, inside
 * that buffer's callback. Envoy 1.40 (Buffer::copyFrom) supports two edits: start 0 (drain
 * `size` bytes, then prepend the data — so size 0 prepends, and len 0 strips a prefix) and
 * start ≥ the buffer's length (append). Ok → true; NotFound (no such buffer in this callback) or
 * BadArgument (any other edit) → false.
 */
export function setBufferBytes(type: BufferType, start: u32, size: u32, ptr: usize, len: i32): bool {
  const s = raw.proxy_set_buffer_bytes(type, start, size, ptr, <usize>len);
  if (s == WasmResult.Ok) return true;
  if (s != WasmResult.NotFound && s != WasmResult.BadArgument) unexpected("proxy_set_buffer_bytes", s);
  return false;
}

/**
 * The plugin configuration (PluginConfig.configuration; `size` = on_configure's argument) into
 * `out`. Readable ONLY inside on_configure. false: not readable now. size 0 → true, len 0.
 */
export function getPluginConfiguration(size: i32, out: Bytes): bool {
  if (size <= 0) {
    out.clear();
    return true;
  }
  return getBufferBytes(BufferType.PluginConfiguration, 0, <u32>size, out);
}

/** The VM configuration (VmConfig.configuration; `size` = on_vm_start's argument). Envoy serves it in any callback. Same contract. */
export function getVmConfiguration(size: i32, out: Bytes): bool {
  if (size <= 0) {
    out.clear();
    return true;
  }
  return getBufferBytes(BufferType.VmConfiguration, 0, <u32>size, out);
}

// ---------------------------------------------------------------------------------------------
// Header maps
//
// A map is available only in its own callback (request headers in on_request_headers, ...) and
// again, read-only, in on_log. Once a callback returned Continue Envoy drops the map: reads
// answer BadArgument (values) or an empty list (pairs), writes BadArgument.

/**
 * The value of header `name` (lower case) in `map`. Envoy returns the FIRST value of a repeated
 * header. Ok → true; NotFound (absent) → false; BadArgument (map not available now) → false.
 */
export function getHeader(map: MapType, name: HostKey, out: Bytes): bool {
  const s = raw.proxy_get_header_map_value(map, name.ptr, <usize>name.len, RET_PTR, RET_SIZE);
  if (s == WasmResult.Ok) {
    takeView(out);
    return true;
  }
  out.clear();
  if (s != WasmResult.NotFound && s != WasmResult.BadArgument) unexpected("proxy_get_header_map_value", s);
  return false;
}

/**
 * All pairs of `map`, serialized (read them with PairsReader). Ok → true (an empty or
 * unavailable map gives len 0: Envoy answers Ok with nothing); NotFound/BadArgument → false.
 */
export function getHeaderPairs(map: MapType, out: Bytes): bool {
  const s = raw.proxy_get_header_map_pairs(map, RET_PTR, RET_SIZE);
  if (s == WasmResult.Ok) {
    takeView(out);
    return true;
  }
  out.clear();
  if (s != WasmResult.NotFound && s != WasmResult.BadArgument) unexpected("proxy_get_header_map_pairs", s);
  return false;
}

/**
 * Replaces ALL of `map` (pseudo-headers too) with serialized pairs. Careful: Envoy parses a
 * malformed buffer as an empty list and wipes the map. Ok → true; BadArgument/NotFound (not
 * writable now) → false.
 */
export function setHeaderPairs(map: MapType, pairsPtr: usize, pairsLen: i32): bool {
  const s = raw.proxy_set_header_map_pairs(map, pairsPtr, <usize>pairsLen);
  if (s == WasmResult.Ok) return true;
  if (s != WasmResult.NotFound && s != WasmResult.BadArgument) unexpected("proxy_set_header_map_pairs", s);
  return false;
}

/**
 * Envoy's proxy_get_header_map_size answers the map's size in BYTES (sum of name and value
 * lengths), not the number of headers. -1: the map is not available now (BadArgument/NotFound).
 */
export function getHeaderMapByteSize(map: MapType): i32 {
  const s = raw.proxy_get_header_map_size(map, RET);
  if (s == WasmResult.Ok) return <i32>load<u32>(RET);
  if (s != WasmResult.NotFound && s != WasmResult.BadArgument) unexpected("proxy_get_header_map_size", s);
  return -1;
}

/** Appends another value of `name`. Ok → true; BadArgument/NotFound (not writable now) → false. */
export function addHeader(map: MapType, name: HostKey, valuePtr: usize, valueLen: i32): bool {
  const s = raw.proxy_add_header_map_value(map, name.ptr, <usize>name.len, valuePtr, <usize>valueLen);
  if (s == WasmResult.Ok) return true;
  if (s != WasmResult.NotFound && s != WasmResult.BadArgument) unexpected("proxy_add_header_map_value", s);
  return false;
}

/** Sets `name` to one value (replacing every value, or adding it). Same statuses as addHeader. */
export function replaceHeader(map: MapType, name: HostKey, valuePtr: usize, valueLen: i32): bool {
  const s = raw.proxy_replace_header_map_value(map, name.ptr, <usize>name.len, valuePtr, <usize>valueLen);
  if (s == WasmResult.Ok) return true;
  if (s != WasmResult.NotFound && s != WasmResult.BadArgument) unexpected("proxy_replace_header_map_value", s);
  return false;
}

/** Removes every value of `name` (Ok even if absent). Same statuses as addHeader. */
export function removeHeader(map: MapType, name: HostKey): bool {
  const s = raw.proxy_remove_header_map_value(map, name.ptr, <usize>name.len);
  if (s == WasmResult.Ok) return true;
  if (s != WasmResult.NotFound && s != WasmResult.BadArgument) unexpected("proxy_remove_header_map_value", s);
  return false;
}

// ---------------------------------------------------------------------------------------------
// Properties (Envoy attributes: docs "attributes"; path segments joined by 0x00, see HostKey.path)

/**
 * The property at `path`, raw bytes (strings as-is, integers 8 bytes LE, bools 1 byte).
 * Ok → true; NotFound (absent, e.g. TLS fields on a plain-text connection, anything stream
 * related in a root callback) → false; SerializationFailure (exists but has no byte form) → false.
 */
export function getProperty(path: HostKey, out: Bytes): bool {
  const s = raw.proxy_get_property(path.ptr, <usize>path.len, RET_PTR, RET_SIZE);
  if (s == WasmResult.Ok) {
    takeView(out);
    return true;
  }
  out.clear();
  if (s != WasmResult.NotFound && s != WasmResult.SerializationFailure) unexpected("proxy_get_property", s);
  return false;
}

/** An integer property (8 bytes, little-endian), or `fallback` when absent or not 8 bytes long. */
export function getPropertyU64(path: HostKey, scratch: Bytes, fallback: u64): u64 {
  if (!getProperty(path, scratch) || scratch.len != 8) return fallback;
  return load<u64>(scratch.ptr);
}

/**
 * Writes `value` as filter state `wasm.<path>` (use one segment), visible to access logs as
 * `%FILTER_STATE(wasm.<path>:PLAIN)%`. Set it in request/response callbacks, not in on_log.
 * Ok → true; NotFound (no stream: a root callback) → false; BadArgument (a read-only value
 * already set) → false.
 */
export function setProperty(path: HostKey, valuePtr: usize, valueLen: i32): bool {
  const s = raw.proxy_set_property(path.ptr, <usize>path.len, valuePtr, <usize>valueLen);
  if (s == WasmResult.Ok) return true;
  if (s != WasmResult.NotFound && s != WasmResult.BadArgument) unexpected("proxy_set_property", s);
  return false;
}

// ---------------------------------------------------------------------------------------------
// Local replies

/**
 * Answers the request locally. Envoy sends the reply after the current callback returns and
 * treats that callback as having stopped iteration, whatever it returns. `details` becomes
 * %RESPONSE_CODE_DETAILS% (spaces turn into `_`); `headers` is a serialized pair list or (0, 0);
 * grpcStatus -1 = none. Ok → true; NotFound/BadArgument (no stream to answer) → false.
 */
export function sendLocalResponse(
  status: u32, detailsPtr: usize, detailsLen: i32, bodyPtr: usize, bodyLen: i32,
  headersPtr: usize = 0, headersLen: i32 = 0, grpcStatus: i32 = -1): bool {
  const s = raw.proxy_send_local_response(status, detailsPtr, <usize>detailsLen, bodyPtr, <usize>bodyLen,
    headersPtr, <usize>headersLen, grpcStatus);
  if (s == WasmResult.Ok) return true;
  if (s != WasmResult.NotFound && s != WasmResult.BadArgument) unexpected("proxy_send_local_response", s);
  return false;
}

// ---------------------------------------------------------------------------------------------
// Closing streams and connections

/**
 * Closes `type`: HttpRequest/HttpResponse reset the HTTP stream (details `wasm_close_stream`
 * unless set), Downstream closes the downstream connection of a network filter (flushing what
 * was written). Envoy defers the close until the current callback returns. Ok → true (also when
 * the context has no such stream: Envoy answers Ok and does nothing); Unimplemented (Upstream)
 * / BadArgument → false.
 */
export function closeStream(type: StreamType): bool {
  const s = raw.proxy_close_stream(type);
  if (s == WasmResult.Ok) return true;
  if (s != WasmResult.Unimplemented && s != WasmResult.BadArgument) unexpected("proxy_close_stream", s);
  return false;
}

// ---------------------------------------------------------------------------------------------
// Foreign functions: host extensions called by name with a serialized argument.

/**
 * Calls the host's foreign function `name` with `argLen` bytes at `argPtr`; its result (if any)
 * lands in `out`. Returns the host's status, mapped per function by the caller (each function
 * documents its own): NotFound also means "no function of that name" — Envoy builds without it.
 * Statuses outside Ok/NotFound/BadArgument/SerializationFailure/ParseFailure/InternalFailure
 * abort.
 */
export function callForeignFunction(name: HostKey, argPtr: usize, argLen: i32, out: Bytes): i32 {
  store<u32>(RET_PTR, 0);
  store<u32>(RET_SIZE, 0);
  const s = raw.proxy_call_foreign_function(name.ptr, <usize>name.len, argPtr, <usize>argLen, RET_PTR, RET_SIZE);
  if (s == WasmResult.Ok) takeView(out); else out.clear();
  if (s != WasmResult.Ok && s != WasmResult.NotFound && s != WasmResult.BadArgument && s != WasmResult.SerializationFailure &&
    s != WasmResult.ParseFailure && s != WasmResult.InternalFailure) unexpected("proxy_call_foreign_function", s);
  return s;
}

// ---------------------------------------------------------------------------------------------
// Metrics. Envoy exposes a metric `name` in /stats under that name (the `wasmcustom.` prefix is
// stripped); ids are per VM. Define metrics at configure time so zero values show.

/** Defines (or finds) a metric and returns its id. Ok is the only expected status. */
export function defineMetric(type: MetricType, name: string): u32 {
  const b = String.UTF8.encode(name);
  const s = raw.proxy_define_metric(type, changetype<usize>(b), <usize>b.byteLength, RET);
  if (s != WasmResult.Ok) {
    unexpected("proxy_define_metric(" + name + ")", s);
    return 0;
  }
  return load<u32>(RET);
}

export function defineCounter(name: string): u32 { return defineMetric(MetricType.Counter, name); }
export function defineGauge(name: string): u32 { return defineMetric(MetricType.Gauge, name); }
export function defineHistogram(name: string): u32 { return defineMetric(MetricType.Histogram, name); }

/**
 * Adds `delta` to a counter (delta must be > 0) or gauge (any sign). Ok → true; BadArgument
 * (counter with delta ≤ 0, or a histogram) → false; NotFound (unknown id) → false.
 */
export function incrementMetric(id: u32, delta: i64 = 1): bool {
  const s = raw.proxy_increment_metric(id, delta);
  if (s == WasmResult.Ok) return true;
  if (s != WasmResult.NotFound && s != WasmResult.BadArgument) unexpected("proxy_increment_metric", s);
  return false;
}

/** Gauge: sets the value. Counter: ADDS it (Envoy). Histogram: records a sample. Statuses as incrementMetric. */
export function recordMetric(id: u32, value: u64): bool {
  const s = raw.proxy_record_metric(id, value);
  if (s == WasmResult.Ok) return true;
  if (s != WasmResult.NotFound && s != WasmResult.BadArgument) unexpected("proxy_record_metric", s);
  return false;
}

/** The value of a counter or gauge; `fallback` for NotFound (unknown id) or BadArgument (histogram). */
export function getMetric(id: u32, fallback: u64 = 0): u64 {
  const s = raw.proxy_get_metric(id, RET);
  if (s == WasmResult.Ok) return load<u64>(RET);
  if (s != WasmResult.NotFound && s != WasmResult.BadArgument) unexpected("proxy_get_metric", s);
  return fallback;
}
