/**
 * proxy_close_stream as Envoy 1.40's wasm Context::closeStream answers it: request or response
 * resets the HTTP stream (response details `wasm_close_stream` unless set before); downstream
 * closes a network filter's connection (FlushWrite); anything above 3 is BadArgument. The call
 * is recorded on the stream (StreamState.closed); the drivers act on it after the callback
 * returns (stream.ts: the stream is reset; network.ts: the connection closes, then
 * on_downstream_connection_close → on_done → on_log → on_delete).
 */
import { StreamType, WasmResult } from '../enums';
import type { HostState } from '../state';
import type { HostFns } from './types';

export function streamCalls(vm: HostState): HostFns {
  return {
    proxy_close_stream(type: number) {
      if (type < StreamType.HttpRequest || type > StreamType.Upstream) return WasmResult.BadArgument;
      const http = type === StreamType.HttpRequest || type === StreamType.HttpResponse;
      const s = vm.frame.stream;
      // A network filter's context has a read buffer, an HTTP filter's none. Envoy answers Ok and
      // does nothing when there is no HTTP stream to reset; BadArgument when there is no
      // connection to close.
      const network = s?.downstream !== undefined;
      if (!s || http === network) return http ? WasmResult.Ok : WasmResult.BadArgument;
      s.closed.push(type);
      return WasmResult.Ok;
    },
  };
}
