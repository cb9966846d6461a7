/** proxy_log and proxy_get_log_level: lines below Envoy's `wasm` logger level are dropped (HostState.guestLog). */
import { LogLevel, WasmResult } from '../enums';
import type { HostState } from '../state';
import { utf8, type HostFns } from './types';

export function loggingCalls(vm: HostState): HostFns {
  return {
    proxy_log(level: number, ptr: number, len: number) {
      if (level < LogLevel.Trace || level > LogLevel.Critical) return WasmResult.BadArgument;
      const b = vm.read(ptr, len);
      if (!b) return WasmResult.InvalidMemoryAccess;
      vm.guestLog(level, utf8(b));
      return WasmResult.Ok;
    },

    proxy_get_log_level(ret: number) {
      return vm.writeU32(ret, vm.logLevel) ? WasmResult.Ok : WasmResult.InvalidMemoryAccess;
    },
  };
}
