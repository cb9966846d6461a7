/**
 * proxy_send_local_response: records the reply on the stream and marks the frame, so the stream
 * driver stops the stream whatever the callback returns (stream.ts delivers it). Details get `_`
 * for spaces, as Envoy does; a gRPC status outside 0..16 means none.
 */
import { WasmResult } from '../enums';
import { parsePairs } from '../pairs';
import type { HostState } from '../state';
import { latin1, utf8, type HostFns } from './types';

const GRPC_STATUS_MAX = 16;

export function replyCalls(vm: HostState): HostFns {
  return {
    proxy_send_local_response(status: number, dp: number, dl: number, bp: number, bl: number, hp: number, hl: number, grpc: number) {
      const details = vm.read(dp, dl);
      const body = vm.read(bp, bl);
      const headers = vm.read(hp, hl);
      if (!details || !body || !headers) return WasmResult.InvalidMemoryAccess;
      const s = vm.frame.stream;
      // Envoy answers Ok even without a stream to reply on (a root callback): nothing is sent.
      if (!s) return WasmResult.Ok;
      s.localReply = {
        status: status >>> 0,
        body: utf8(body),
        headers: parsePairs(headers),
        details: latin1(details).replace(/ /g, '_'),
        grpcStatus: grpc >= 0 && grpc <= GRPC_STATUS_MAX ? grpc : -1,
      };
      vm.frame.localReplySent = true;
      return WasmResult.Ok;
    },
  };
}
