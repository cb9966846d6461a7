/** The clock and the root's timer: proxy_get_current_time_nanoseconds, proxy_set_tick_period_milliseconds. */
import { WasmResult } from '../enums';
import type { HostState } from '../state';
import type { HostFns } from './types';

export function timerCalls(vm: HostState): HostFns {
  return {
    proxy_get_current_time_nanoseconds(ret: number) {
      return vm.writeU64(ret, vm.now()) ? WasmResult.Ok : WasmResult.InvalidMemoryAccess;
    },

    proxy_set_tick_period_milliseconds(ms: number) {
      const plugin = vm.frame.plugin;
      if (plugin) {
        plugin.tickPeriodMs = ms >>> 0; // the ROOT of the current context
        vm.tickPeriods.set(plugin.id, ms >>> 0);
      }
      return WasmResult.Ok;
    },
  };
}
