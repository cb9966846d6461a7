/**
 * proxy_get_property and proxy_set_property. Paths arrive as segments separated by 0x00; absent
 * → NotFound. The stream's properties come first, then `filter_state/<key>`, the plugin's own,
 * and (Envoy) an unknown top-level name falls back to the filter state object `wasm.<name>`.
 * set_property writes filter state `wasm.<path>`; without a stream (a root callback) NotFound.
 */
import { WasmResult } from '../enums';
import type { HostState } from '../state';
import { latin1, type HostFns } from './types';

export function propertyCalls(vm: HostState): HostFns {
  const propertyValue = (segments: string[]): Uint8Array | undefined => {
    const s = vm.frame.stream;
    const plugin = vm.frame.plugin;
    const key = segments.join('.');
    if (plugin) {
      if (key === 'plugin_root_id') return Buffer.from(plugin.rootId);
      if (key === 'plugin_name') return Buffer.from(plugin.pluginName);
      if (key === 'plugin_vm_id') return Buffer.from(vm.options.vmId ?? '');
    }
    if (s) {
      const direct = s.properties.get(key);
      if (direct) return direct;
      if (segments[0] === 'filter_state' && segments.length === 2) return s.filterState.get(segments[1]);
    }
    const pluginLevel = plugin?.properties.get(key);
    if (pluginLevel) return pluginLevel;
    if (s && segments.length === 1) return s.filterState.get(`wasm.${segments[0]}`);
    return undefined;
  };

  return {
    proxy_get_property(pp: number, pl: number, retPtr: number, retSize: number) {
      const path = vm.read(pp, pl);
      if (!path) return WasmResult.InvalidMemoryAccess;
      const value = propertyValue(latin1(path).split('\0'));
      if (!value) return WasmResult.NotFound;
      return vm.give(value, retPtr, retSize);
    },

    proxy_set_property(pp: number, pl: number, vp: number, vl: number) {
      const path = vm.read(pp, pl);
      const value = vm.read(vp, vl);
      if (!path || !value) return WasmResult.InvalidMemoryAccess;
      const s = vm.frame.stream;
      if (!s) return WasmResult.NotFound; // a root context has no filter state
      s.filterState.set(`wasm.${latin1(path)}`, value);
      return WasmResult.Ok;
    },
  };
}
