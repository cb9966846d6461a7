// Envoy filter state objects (not the `wasm.*` values of setProperty): Envoy's foreign function
// `set_envoy_filter_state` builds an object with the factory Envoy registers for a key (e.g.
// `envoy.upstream.dynamic_host`, which sni_dynamic_forward_proxy and the dynamic forward proxy
// cluster read) from a string. Works in HTTP and network contexts (the connection's stream info).
//
// Its argument is the protobuf message SetEnvoyFilterStateArguments (Envoy source
// source/extensions/common/wasm/ext/set_envoy_filter_state.proto): path = 1 (string), value = 2
// (string), span = 3 (enum LifeSpan: FilterChain 0, DownstreamRequest 1, DownstreamConnection 2).
// Serialized here by hand into a buffer kept for the module's life: no allocation per call.
import { callForeignFunction } from "./hostcalls";
import { WasmResult } from "./enums";
import { Bytes, HostKey } from "./views";

/** LifeSpan values of SetEnvoyFilterStateArguments.span. */
export const SPAN_FILTER_CHAIN: i32 = 0;
export const SPAN_DOWNSTREAM_REQUEST: i32 = 1;
export const SPAN_DOWNSTREAM_CONNECTION: i32 = 2;

const FUNCTION = new HostKey("set_envoy_filter_state");
const MAX_ARGUMENTS: i32 = 1024;
const args = memory.data(MAX_ARGUMENTS);
const result = new Bytes();

/** Writes a protobuf varint at p; returns the bytes written. */
function varint(p: usize, v: u32): i32 {
  let n = 0;
  while (v >= 0x80) {
    store<u8>(p + <usize>n, <u8>(v | 0x80));
    v >>= 7;
    n++;
  }
  store<u8>(p + <usize>n, <u8>v);
  return n + 1;
}

/** Writes field `tag` (length-delimited) with `len` bytes at src; returns the new offset. */
function bytesField(at: i32, tag: u8, src: usize, len: i32): i32 {
  store<u8>(args + <usize>at, tag);
  at += 1;
  at += varint(args + <usize>at, <u32>len);
  memory.copy(args + <usize>at, src, <usize>len);
  return at + len;
}

/**
 * Sets Envoy filter state `key` from `value` bytes with `span` (SPAN_*). Ok → true;
 * NotFound (no object factory for the key, or no stream) → false; BadArgument (the factory
 * refused the value, or the arguments did not parse) → false. Key + value must fit in about 1 KiB.
 */
export function setEnvoyFilterState(key: HostKey, valuePtr: usize, valueLen: i32, span: i32 = SPAN_FILTER_CHAIN): bool {
  if (key.len + valueLen + 16 > MAX_ARGUMENTS) return false;
  let at = bytesField(0, 0x0A, key.ptr, key.len);
  at = bytesField(at, 0x12, valuePtr, valueLen);
  if (span != 0) {
    store<u8>(args + <usize>at, 0x18);
    at += 1;
    at += varint(args + <usize>at, <u32>span);
  }
  return callForeignFunction(FUNCTION, args, at, result) == WasmResult.Ok;
}
