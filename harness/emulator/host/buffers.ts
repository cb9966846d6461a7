/**
 * proxy_get_buffer_bytes: the plugin configuration (only inside on_configure), the VM
 * configuration (any callback, as Envoy 1.40 does), the request/response body inside its
 * body callback, and a TCP connection's read buffer (NetworkDownstreamData) inside
 * proxy_on_downstream_data. Anything else is NotFound. proxy_set_buffer_bytes changes the last
 * two as Envoy does.
 */
import { BufferType, WasmResult } from '../enums';
import type { HostState } from '../state';
import type { HostFns } from './types';

export function bufferCalls(vm: HostState): HostFns {
  return {
    proxy_get_buffer_bytes(type: number, start: number, max: number, retPtr: number, retSize: number) {
      if (type > BufferType.CallData) return WasmResult.BadArgument;
      const f = vm.frame;
      let buffer: Uint8Array | undefined;
      if (type === BufferType.PluginConfiguration && f.callback === 'proxy_on_configure') buffer = f.plugin?.configuration;
      else if (type === BufferType.VmConfiguration) buffer = f.plugin?.vmConfiguration; // Envoy 1.40 (verified): any callback
      else if (type === BufferType.HttpRequestBody && f.callback === 'proxy_on_request_body') buffer = f.stream?.body[0];
      else if (type === BufferType.HttpResponseBody && f.callback === 'proxy_on_response_body') buffer = f.stream?.body[1];
      else if (type === BufferType.DownstreamData && f.callback === 'proxy_on_downstream_data') buffer = f.stream?.downstream;
      if (!buffer) return WasmResult.NotFound;
      const from = start >>> 0;
      const size = max >>> 0;
      if (from + size > 0xffffffff) return WasmResult.BadArgument;
      const to = Math.min(from + size, buffer.length);
      return vm.give(from >= to ? new Uint8Array() : buffer.subarray(from, to), retPtr, retSize);
    },
    /**
     * Envoy 1.40's Buffer::copyFrom on the buffers a filter may change: a body in its body
     * callback, the connection's read buffer in on_downstream_data. start 0 drains `size` bytes and
     * prepends the data; start ≥ the length appends; anything else is BadArgument.
     */
    proxy_set_buffer_bytes(type: number, start: number, size: number, dataPtr: number, dataSize: number) {
      const f = vm.frame;
      const s = f.stream;
      let get: (() => Buffer) | undefined;
      let set: ((b: Buffer) => void) | undefined;
      if (s && type === BufferType.HttpRequestBody && f.callback === 'proxy_on_request_body') { get = () => s.body[0]; set = (b) => { s.body[0] = b; }; }
      else if (s && type === BufferType.HttpResponseBody && f.callback === 'proxy_on_response_body') { get = () => s.body[1]; set = (b) => { s.body[1] = b; }; }
      else if (s?.downstream && type === BufferType.DownstreamData && f.callback === 'proxy_on_downstream_data') { get = () => s.downstream!; set = (b) => { s.downstream = b; }; }
      if (!get || !set) return WasmResult.NotFound;
      const read = vm.read(dataPtr, dataSize);
      if (!read) return WasmResult.InvalidMemoryAccess;
      const data = Buffer.from(read);
      const buffer = get();
      if (start >>> 0 === 0) set(Buffer.concat([data, buffer.subarray(Math.min(size >>> 0, buffer.length))]));
      else if (start >>> 0 >= buffer.length) set(Buffer.concat([buffer, data]));
      else return WasmResult.BadArgument;
      return WasmResult.Ok;
    },
  };
}
