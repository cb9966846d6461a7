// A network filter for the emulator's TCP path (network.test.ts), on raw imports. It logs every
// callback and, on each read, the read buffer's size and the properties `destination.port` and
// `connection.requested_server_name`. It waits (StopIteration) until the buffer holds a line:
//   "close\n"      → proxy_close_stream(downstream), StopIteration
//   "dial H P\n"   → set_envoy_filter_state dynamic_host=H, dynamic_port=P; filter state
//                    wasm.verdict=dial; Continue
//   "bad KEY\n"    → set_envoy_filter_state KEY=x, logs the status; Continue
// On an HTTP stream, a request body containing "reset" resets the stream (proxy_close_stream
// request); a shorter body is buffered (StopIterationAndBuffer).
import { logInfo } from "../../fixtures/wasm/common";

@external("env", "proxy_get_buffer_bytes")
declare function proxy_get_buffer_bytes(type: i32, start: u32, max: u32, retPtr: usize, retSize: usize): u32;
@external("env", "proxy_get_property")
declare function proxy_get_property(p: usize, l: usize, retPtr: usize, retSize: usize): u32;
@external("env", "proxy_set_property")
declare function proxy_set_property(p: usize, l: usize, v: usize, vl: usize): u32;
@external("env", "proxy_close_stream")
declare function proxy_close_stream(type: i32): u32;
@external("env", "proxy_call_foreign_function")
declare function proxy_call_foreign_function(np: usize, nl: usize, ap: usize, al: usize, retPtr: usize, retSize: usize): u32;

const RET = memory.data(8, 8);

export function proxy_abi_version_0_2_1(): void {}
export function malloc(size: usize): usize { return heap.alloc(size); }
export function proxy_on_configure(root: u32, size: i32): bool { return true; }
export function proxy_on_context_create(id: u32, parent: u32): void { logInfo("create " + id.toString() + " " + parent.toString()); }

function bytesOf(type: i32, size: i32): string | null {
  const s = proxy_get_buffer_bytes(type, 0, <u32>size, RET, RET + 4);
  if (s != 0) { logInfo("get_buffer_bytes status=" + s.toString()); return null; }
  return String.UTF8.decodeUnsafe(<usize>load<u32>(RET), <usize>load<u32>(RET + 4));
}

function property(path: string): string {
  const p = String.UTF8.encode(path);
  const s = proxy_get_property(changetype<usize>(p), p.byteLength, RET, RET + 4);
  if (s != 0) return "status=" + s.toString();
  const ptr = <usize>load<u32>(RET);
  const len = <usize>load<u32>(RET + 4);
  if (path == "destination\0port") return len == 8 ? load<u64>(ptr).toString() : "len=" + len.toString();
  return "'" + String.UTF8.decodeUnsafe(ptr, len) + "'";
}

/** SetEnvoyFilterStateArguments {path = 1, value = 2} (short strings only). */
function setEnvoyFilterState(key: string, value: string): u32 {
  const k = String.UTF8.encode(key);
  const v = String.UTF8.encode(value);
  const args = new Uint8Array(4 + k.byteLength + v.byteLength);
  args[0] = 0x0a; args[1] = <u8>k.byteLength;
  memory.copy(changetype<usize>(args.buffer) + 2, changetype<usize>(k), k.byteLength);
  const at = 2 + k.byteLength;
  args[at] = 0x12; args[at + 1] = <u8>v.byteLength;
  memory.copy(changetype<usize>(args.buffer) + at + 2, changetype<usize>(v), v.byteLength);
  const n = String.UTF8.encode("set_envoy_filter_state");
  return proxy_call_foreign_function(changetype<usize>(n), n.byteLength, changetype<usize>(args.buffer), args.length, RET, RET + 4);
}

export function proxy_on_new_connection(id: u32): i32 {
  logInfo("new_connection");
  return 1;
}

export function proxy_on_downstream_data(id: u32, size: i32, eos: i32): i32 {
  const data = bytesOf(2, size);
  logInfo("data size=" + size.toString() + " eos=" + eos.toString() + " port=" + property("destination\0port") + " sni=" + property("connection\0requested_server_name"));
  if (data === null) return 1;
  const nl = data.indexOf("\n");
  if (nl < 0) return 1;
  const words = data.slice(0, nl).split(" ");
  if (words[0] == "close") {
    logInfo("close status=" + proxy_close_stream(2).toString());
    return 1;
  }
  if (words[0] == "dial") {
    logInfo("host status=" + setEnvoyFilterState("envoy.upstream.dynamic_host", words[1]).toString());
    logInfo("port status=" + setEnvoyFilterState("envoy.upstream.dynamic_port", words[2]).toString());
    const k = String.UTF8.encode("verdict");
    const v = String.UTF8.encode("dial");
    proxy_set_property(changetype<usize>(k), k.byteLength, changetype<usize>(v), v.byteLength);
    return 0;
  }
  if (words[0] == "bad") {
    logInfo("bad status=" + setEnvoyFilterState(words[1], "x").toString());
    logInfo("http close status=" + proxy_close_stream(0).toString());
    return 0;
  }
  return 0;
}

export function proxy_on_downstream_connection_close(id: u32, peer: i32): void { logInfo("close peer=" + peer.toString()); }
export function proxy_on_done(id: u32): bool { logInfo("done"); return true; }
export function proxy_on_log(id: u32): void { logInfo("log"); }
export function proxy_on_delete(id: u32): void { logInfo("delete"); }

export function proxy_on_request_headers(id: u32, n: i32, eos: i32): i32 { return 0; }
export function proxy_on_request_body(id: u32, size: i32, eos: i32): i32 {
  const body = bytesOf(0, size);
  logInfo("body size=" + size.toString());
  if (body !== null && body.includes("reset")) {
    logInfo("reset status=" + proxy_close_stream(0).toString() + " downstream status=" + proxy_close_stream(2).toString());
    return 1;
  }
  return size < 5 ? 1 : 0;
}
