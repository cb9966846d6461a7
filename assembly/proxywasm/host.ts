// Typed host calls over abi.ts. Every status is mapped on purpose, per call:
//   expected absence (NotFound)            → false / null
//   documented refusal (BadArgument, e.g. headers after Continue, Empty) → false
//   anything else (a bug in us or the host) → abort naming the call and the status (the VM traps:
//                                             Envoy then fails the request closed)
//
// Bytes the host returns are written into the SCRATCH ARENA through our `malloc` export: a bump
// allocator over one unmanaged block that runtime.ts resets on entry to every callback. A `Bytes`
// view filled by a getter is therefore valid until the current callback returns, nothing the
// host allocates can leak on any path, and reading a header allocates nothing once warm.
import * as abi from "./abi";
import { WasmResult, BufferType, MetricType } from "./status";

// ---------------------------------------------------------------------------------------------
// Scratch arena (the allocator the host calls)

const SCRATCH_INITIAL: usize = 64 * 1024;
const MAX_OVERFLOW: i32 = 64;

let scratchBase: usize = 0;
let scratchCap: usize = 0;
let scratchTop: usize = 0;
// Blocks too large for the arena: freed at the next reset. The arena grows to the largest seen.
const overflow = new StaticArray<usize>(MAX_OVERFLOW);
let overflowCount: i32 = 0;
let largestOverflow: usize = 0;

/** Hands the host `size` bytes of scratch memory (the `malloc` export). */
export function scratchAlloc(size: usize): usize {
  if (scratchBase == 0) {
    scratchBase = heap.alloc(SCRATCH_INITIAL);
    scratchCap = SCRATCH_INITIAL;
  }
  const aligned = (size + 7) & ~<usize>7;
  if (scratchTop + aligned <= scratchCap) {
    const p = scratchBase + scratchTop;
    scratchTop += aligned;
    return p;
  }
  if (overflowCount == MAX_OVERFLOW) {
    abort("scratch arena: more than 64 oversized host buffers in one callback");
  }
  const p = heap.alloc(aligned);
  unchecked(overflow[overflowCount++] = p);
  if (aligned > largestOverflow) largestOverflow = aligned;
  return p;
}

/** Forgets every host buffer of the previous callback (runtime.ts calls this on entry). */
export function resetScratch(): void {
  scratchTop = 0;
  if (overflowCount == 0) return;
  for (let i = 0; i < overflowCount; i++) heap.free(unchecked(overflow[i]));
  overflowCount = 0;
  // Grow the arena once so the same large value (a 100 KiB config, a long certificate) fits next
  // time without an extra block. Memory never shrinks in Wasm anyway: the peak is the footprint.
  let cap = scratchCap;
  while (cap < largestOverflow * 2) cap <<= 1;
  if (cap != scratchCap) {
    heap.free(scratchBase);
    scratchBase = heap.alloc(cap);
    scratchCap = cap;
  }
}

// ---------------------------------------------------------------------------------------------
// Views and keys

/** A view of bytes the host returned: valid until the current callback returns. */
export class Bytes {
  ptr: usize = 0;
  len: i32 = 0;

  /** Copies the bytes out as a string (allocates; for configure-time and tests). */
  toString(): string { return String.UTF8.decodeUnsafe(this.ptr, <usize>this.len); }
}

/** A header name or property path encoded once as UTF-8 (property path segments joined by NUL). */
export class HostKey {
  private readonly buf: ArrayBuffer;
  readonly ptr: usize;
  readonly len: i32;

  constructor(s: string) {
    this.buf = String.UTF8.encode(s);
    this.ptr = changetype<usize>(this.buf);
    this.len = this.buf.byteLength;
  }

  /** A property path: `HostKey.path("connection", "peer_certificate")` → `connection\0peer_certificate`. */
  static path(a: string, b: string = "", c: string = ""): HostKey {
    let s = a;
    if (b.length) s += "\0" + b;
    if (c.length) s += "\0" + c;
    return new HostKey(s);
  }
}

// Return slots the host writes into (pointer + size, or one u64).
const RET = memory.data(16, 8);

function unexpected(call: string, status: u32): void {
  abort(call + " returned status " + status.toString());
}

function takeBytes(out: Bytes): void {
  out.ptr = <usize>load<u32>(RET);
  out.len = <i32>load<u32>(RET + 4);
}

// ---------------------------------------------------------------------------------------------
// Logging, time, timers

/** Logs raw UTF-8 bytes at `level` (LogLevel). Allowed in every callback. */
export function logBytes(level: i32, ptr: usize, len: i32): void {
  abi.proxy_log(level, ptr, <usize>len);
}

/** Logs a string (encodes it: allocates; use logBytes with a StrBuf on hot paths). */
export function log(level: i32, message: string): void {
  const b = String.UTF8.encode(message);
  abi.proxy_log(level, changetype<usize>(b), <usize>b.byteLength);
}

/** The current level of Envoy's `wasm` logger (LogLevel; 6 = off). */
export function getLogLevel(): i32 {
  const s = abi.proxy_get_log_level(RET);
  if (s != WasmResult.Ok) { unexpected("proxy_get_log_level", s); return 6; }
  return load<i32>(RET);
}

/** Wall-clock time in nanoseconds since the epoch. */
export function currentTimeNanos(): u64 {
  const s = abi.proxy_get_current_time_nanoseconds(RET);
  if (s != WasmResult.Ok) unexpected("proxy_get_current_time_nanoseconds", s);
  return load<u64>(RET);
}

/** Ticks the current root context every `ms` milliseconds (0 stops the timer). */
export function setTickPeriod(ms: u32): void {
  const s = abi.proxy_set_tick_period_milliseconds(ms);
  if (s != WasmResult.Ok) unexpected("proxy_set_tick_period_milliseconds", s);
}

// ---------------------------------------------------------------------------------------------
// Buffers

/**
 * Reads `size` bytes of the plugin configuration into `out`. Only legal inside on_configure
 * (elsewhere Envoy answers NotFound → false). An empty configuration gives true with len 0.
 */
export function getPluginConfiguration(size: i32, out: Bytes): bool {
  out.ptr = 0;
  out.len = 0;
  if (size <= 0) return true;
  const s = abi.proxy_get_buffer_bytes(BufferType.PluginConfiguration, 0, <u32>size, RET, RET + 4);
  if (s == WasmResult.NotFound) return false;
  if (s != WasmResult.Ok) { unexpected("proxy_get_buffer_bytes(plugin configuration)", s); return false; }
  takeBytes(out);
  return true;
}

// ---------------------------------------------------------------------------------------------
// Header maps

/**
 * The value of header `name` (a lower-case HostKey) in `map` (MapType). Envoy returns the FIRST
 * value of a repeated header. false: absent, or the map is not available in this callback.
 */
export function getHeader(map: i32, name: HostKey, out: Bytes): bool {
  const s = abi.proxy_get_header_map_value(map, name.ptr, <usize>name.len, RET, RET + 4);
  if (s == WasmResult.Ok) { takeBytes(out); return true; }
  out.ptr = 0;
  out.len = 0;
  if (s == WasmResult.NotFound || s == WasmResult.BadArgument) return false;
  unexpected("proxy_get_header_map_value", s);
  return false;
}

/** All pairs of `map`, serialized (u32 count, count × (u32 keyLen, u32 valueLen), NUL-terminated
 *  keys and values). Empty or unavailable map → len 0. */
export function getHeaderPairs(map: i32, out: Bytes): void {
  const s = abi.proxy_get_header_map_pairs(map, RET, RET + 4);
  if (s == WasmResult.Ok) { takeBytes(out); return; }
  out.ptr = 0;
  out.len = 0;
  if (s != WasmResult.NotFound && s != WasmResult.BadArgument) unexpected("proxy_get_header_map_pairs", s);
}

/** Adds another value; false if the map cannot be changed now (e.g. after Continue). */
export function addHeader(map: i32, name: HostKey, valuePtr: usize, valueLen: i32): bool {
  const s = abi.proxy_add_header_map_value(map, name.ptr, <usize>name.len, valuePtr, <usize>valueLen);
  if (s == WasmResult.Ok) return true;
  if (s == WasmResult.BadArgument || s == WasmResult.NotFound) return false;
  unexpected("proxy_add_header_map_value", s);
  return false;
}

/** Sets the header to one value (replacing all others, or adding it). */
export function replaceHeader(map: i32, name: HostKey, valuePtr: usize, valueLen: i32): bool {
  const s = abi.proxy_replace_header_map_value(map, name.ptr, <usize>name.len, valuePtr, <usize>valueLen);
  if (s == WasmResult.Ok) return true;
  if (s == WasmResult.BadArgument || s == WasmResult.NotFound) return false;
  unexpected("proxy_replace_header_map_value", s);
  return false;
}

/** Removes every value of the header (fine if absent). */
export function removeHeader(map: i32, name: HostKey): bool {
  const s = abi.proxy_remove_header_map_value(map, name.ptr, <usize>name.len);
  if (s == WasmResult.Ok) return true;
  if (s == WasmResult.BadArgument || s == WasmResult.NotFound) return false;
  unexpected("proxy_remove_header_map_value", s);
  return false;
}

// ---------------------------------------------------------------------------------------------
// Properties

/** The property at `path` (HostKey.path). false: not found (e.g. TLS fields on plain text). */
export function getProperty(path: HostKey, out: Bytes): bool {
  const s = abi.proxy_get_property(path.ptr, <usize>path.len, RET, RET + 4);
  if (s == WasmResult.Ok) { takeBytes(out); return true; }
  out.ptr = 0;
  out.len = 0;
  if (s == WasmResult.NotFound || s == WasmResult.SerializationFailure) return false;
  unexpected("proxy_get_property", s);
  return false;
}

/** A u64 property (Envoy serializes integers as 8 bytes, little-endian), or `fallback`. */
export function getPropertyU64(path: HostKey, scratch: Bytes, fallback: u64): u64 {
  if (!getProperty(path, scratch) || scratch.len != 8) return fallback;
  return load<u64>(scratch.ptr);
}

/**
 * Stores `value` as filter state `wasm.<key>` (readable by access logs as
 * `%FILTER_STATE(wasm.<key>:PLAIN)%`). false when there is no stream (root context).
 */
export function setProperty(key: HostKey, valuePtr: usize, valueLen: i32): bool {
  const s = abi.proxy_set_property(key.ptr, <usize>key.len, valuePtr, <usize>valueLen);
  if (s == WasmResult.Ok) return true;
  if (s == WasmResult.NotFound || s == WasmResult.BadArgument) return false;
  unexpected("proxy_set_property", s);
  return false;
}

// ---------------------------------------------------------------------------------------------
// Local replies

/**
 * Answers the request locally (sent after the callback returns; Envoy then treats the callback
 * as having stopped iteration). `details` appears as %RESPONSE_CODE_DETAILS% (spaces become `_`).
 * headers: serialized pairs or (0, 0). grpcStatus -1 = none.
 */
export function sendLocalResponse(
  status: u32, detailsPtr: usize, detailsLen: i32, bodyPtr: usize, bodyLen: i32,
  headersPtr: usize = 0, headersLen: i32 = 0, grpcStatus: i32 = -1): void {
  const s = abi.proxy_send_local_response(status, detailsPtr, <usize>detailsLen, bodyPtr, <usize>bodyLen,
    headersPtr, <usize>headersLen, grpcStatus);
  if (s != WasmResult.Ok) unexpected("proxy_send_local_response", s);
}

// ---------------------------------------------------------------------------------------------
// Metrics

/** Defines (or finds) a metric; the id is per VM. In /stats the name appears as given. */
export function defineMetric(type: i32, name: string): u32 {
  const b = String.UTF8.encode(name);
  const s = abi.proxy_define_metric(type, changetype<usize>(b), <usize>b.byteLength, RET);
  if (s != WasmResult.Ok) { unexpected("proxy_define_metric(" + name + ")", s); return 0; }
  return load<u32>(RET);
}

export function defineCounter(name: string): u32 { return defineMetric(MetricType.Counter, name); }
export function defineGauge(name: string): u32 { return defineMetric(MetricType.Gauge, name); }

/** Adds `delta` (> 0 for counters; gauges may go down). */
export function incrementMetric(id: u32, delta: i64 = 1): void {
  const s = abi.proxy_increment_metric(id, delta);
  if (s != WasmResult.Ok) unexpected("proxy_increment_metric", s);
}

/** Gauges: sets the value. Counters: ADDS the value (Envoy's behaviour). */
export function recordMetric(id: u32, value: u64): void {
  const s = abi.proxy_record_metric(id, value);
  if (s != WasmResult.Ok) unexpected("proxy_record_metric", s);
}

export function getMetric(id: u32): u64 {
  const s = abi.proxy_get_metric(id, RET);
  if (s != WasmResult.Ok) { unexpected("proxy_get_metric", s); return 0; }
  return load<u64>(RET);
}
