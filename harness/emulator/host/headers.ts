/**
 * The header map calls with Envoy's semantics: a map is readable and writable only inside its
 * callback (and while the stream is stopped there); after Continue value reads are BadArgument,
 * pairs read empty and writes are refused; on_log reads both maps again and writes none. Values
 * are the FIRST of a repeated header; replace removes every value and appends one; the size is
 * in bytes.
 */
import { MapType, WasmResult } from '../enums';
import { parsePairs, serializePairs, type Pairs } from '../pairs';
import type { HostState } from '../state';
import { latin1, type HostFns } from './types';

export function headerCalls(vm: HostState): HostFns {
  /**
   * The header map `type` for reading (`write` false) or changing. 'absent': no such map in this
   * context (no stream, a map type the emulator does not model, never received); 'closed': Envoy
   * does not hold it now (after Continue, or any write during on_log).
   */
  const headerMap = (type: number, write: boolean): Pairs | 'absent' | 'closed' => {
    const s = vm.frame.stream;
    if (!s || type < MapType.HttpRequestHeaders || type > MapType.HttpResponseTrailers) return 'absent';
    const map = s.maps[type];
    if (s.logPhase) {
      if (write) return 'closed';
      return map ?? 'absent';
    }
    if (!s.open[type] || !map) return 'closed';
    return map;
  };

  /** Removes every value of `name` (in place: the stream holds this array). */
  const removeAll = (map: Pairs, name: string): void => {
    map.splice(0, map.length, ...map.filter(([key]) => key !== name));
  };

  return {
    proxy_get_header_map_value(type: number, kp: number, kl: number, retPtr: number, retSize: number) {
      const key = vm.read(kp, kl);
      if (!key) return WasmResult.InvalidMemoryAccess;
      const map = headerMap(type, false);
      if (map === 'absent') return vm.frame.stream?.logPhase ? WasmResult.NotFound : WasmResult.BadArgument;
      if (map === 'closed') return WasmResult.BadArgument;
      const name = latin1(key).toLowerCase();
      const hit = map.find(([k]) => k === name); // Envoy returns the FIRST value of a repeated header
      if (!hit) return WasmResult.NotFound;
      return vm.give(Buffer.from(hit[1], 'latin1'), retPtr, retSize);
    },

    proxy_get_header_map_pairs(type: number, retPtr: number, retSize: number) {
      const map = headerMap(type, false);
      // A map Envoy does not hold now reads as an empty map, with status Ok.
      return vm.give(typeof map === 'string' ? new Uint8Array() : serializePairs(map), retPtr, retSize);
    },

    proxy_set_header_map_pairs(type: number, ptr: number, len: number) {
      const map = headerMap(type, true);
      if (typeof map === 'string') return WasmResult.BadArgument;
      const b = vm.read(ptr, len);
      if (!b) return WasmResult.InvalidMemoryAccess;
      // Envoy removes every header (pseudo-headers too) and adds the parsed ones; a malformed
      // buffer parses as an empty list and so wipes the map.
      map.splice(0, map.length, ...parsePairs(b).map(([k, v]): [string, string] => [k.toLowerCase(), v]));
      return WasmResult.Ok;
    },

    proxy_get_header_map_size(type: number, ret: number) {
      const map = headerMap(type, false);
      if (typeof map === 'string') return WasmResult.BadArgument;
      const bytes = map.reduce((n, [k, v]) => n + Buffer.byteLength(k, 'latin1') + Buffer.byteLength(v, 'latin1'), 0);
      return vm.writeU32(ret, bytes) ? WasmResult.Ok : WasmResult.InvalidMemoryAccess; // BYTES, not a count
    },

    proxy_add_header_map_value(type: number, kp: number, kl: number, vp: number, vl: number) {
      const map = headerMap(type, true);
      if (typeof map === 'string') return WasmResult.BadArgument;
      const k = vm.read(kp, kl);
      const v = vm.read(vp, vl);
      if (!k || !v) return WasmResult.InvalidMemoryAccess;
      map.push([latin1(k).toLowerCase(), latin1(v)]);
      return WasmResult.Ok;
    },

    proxy_replace_header_map_value(type: number, kp: number, kl: number, vp: number, vl: number) {
      const map = headerMap(type, true);
      if (typeof map === 'string') return WasmResult.BadArgument;
      const k = vm.read(kp, kl);
      const v = vm.read(vp, vl);
      if (!k || !v) return WasmResult.InvalidMemoryAccess;
      const name = latin1(k).toLowerCase();
      // Envoy's HeaderMapImpl::setCopy (since the runtime flag http_set_copy_replace_all_headers
      // became the only behaviour): remove(key), then addCopy — every value goes, one is appended.
      removeAll(map, name);
      map.push([name, latin1(v)]);
      return WasmResult.Ok;
    },

    proxy_remove_header_map_value(type: number, kp: number, kl: number) {
      const map = headerMap(type, true);
      if (typeof map === 'string') return WasmResult.BadArgument;
      const k = vm.read(kp, kl);
      if (!k) return WasmResult.InvalidMemoryAccess;
      removeAll(map, latin1(k).toLowerCase());
      return WasmResult.Ok;
    },
  };
}
