/**
 * proxy_call_foreign_function, for the one foreign function meshgate calls:
 * `set_envoy_filter_state` (Envoy source/extensions/common/wasm/foreign.cc). Its arguments are a
 * serialized SetEnvoyFilterStateArguments {path = 1 (string), value = 2 (string), span = 3
 * (enum)}; Envoy answers BadArgument when they do not parse, NotFound for a key without a
 * registered object factory, BadArgument when the factory refuses the value (a port that is not
 * a number), else Ok. The object is recorded on the stream (StreamState.envoyFilterState), where
 * the scenario target's model of sni_dynamic_forward_proxy reads the host and port to dial.
 * Other foreign functions Envoy has answer Unimplemented with a warning; unknown names NotFound.
 */
import { WasmResult } from '../enums';
import type { HostState } from '../state';
import { utf8, type HostFns } from './types';

/** Keys Envoy 1.40 has object factories for that a filter may plausibly set, with the check of
 *  the factory's createFromBytes (true = accepted). */
const FILTER_STATE_FACTORIES: Record<string, (value: string) => boolean> = {
  'envoy.upstream.dynamic_host': () => true,
  'envoy.upstream.dynamic_port': (v) => /^\d+$/.test(v) && Number(v) <= 0xffffffff,
  'envoy.tcp_proxy.cluster': () => true,
  'envoy.network.upstream_server_name': () => true,
  'envoy.network.transport_socket.original_dst_address': (v) => /^[^:]+:\d+$|^\[[^\]]+\]:\d+$/.test(v),
};

/** Foreign functions Envoy registers that the emulator does not run. */
const NOT_EMULATED = new Set(['declare_property', 'compress', 'uncompress', 'clear_route_cache', 'expr_create', 'expr_evaluate', 'expr_delete']);

/** A protobuf message's length-delimited and varint fields by number (last one wins); undefined
 *  when the bytes are not a valid message. */
export function protoFields(bytes: Uint8Array): Map<number, Uint8Array | bigint> | undefined {
  const out = new Map<number, Uint8Array | bigint>();
  let off = 0;
  const varint = (): bigint | undefined => {
    let v = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (off >= bytes.length) return undefined;
      const b = bytes[off++];
      v |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return v;
    }
    return undefined;
  };
  while (off < bytes.length) {
    const key = varint();
    if (key === undefined) return undefined;
    const field = Number(key >> 3n);
    const wire = Number(key & 7n);
    if (field === 0) return undefined;
    if (wire === 0) {
      const v = varint();
      if (v === undefined) return undefined;
      out.set(field, v);
    } else if (wire === 2) {
      const n = varint();
      if (n === undefined || off + Number(n) > bytes.length) return undefined;
      out.set(field, bytes.slice(off, off + Number(n)));
      off += Number(n);
    } else if (wire === 1 || wire === 5) {
      off += wire === 1 ? 8 : 4;
      if (off > bytes.length) return undefined;
    } else {
      return undefined;
    }
  }
  return out;
}

export function foreignCalls(vm: HostState): HostFns {
  const setEnvoyFilterState = (args: Uint8Array): number => {
    const fields = protoFields(args);
    if (!fields) return WasmResult.BadArgument;
    const text = (n: number): string => {
      const v = fields.get(n);
      return v instanceof Uint8Array ? utf8(v) : '';
    };
    const key = text(1);
    const accepts = FILTER_STATE_FACTORIES[key];
    if (!accepts) return WasmResult.NotFound;
    const value = text(2);
    if (!accepts(value)) return WasmResult.BadArgument;
    const s = vm.frame.stream;
    if (!s) return WasmResult.BadArgument; // a root context has no stream info to hold it
    s.envoyFilterState.set(key, value);
    return WasmResult.Ok;
  };

  return {
    proxy_call_foreign_function(np: number, nl: number, ap: number, al: number, _retPtr: number, _retSize: number) {
      const name = vm.read(np, nl);
      const args = vm.read(ap, al);
      if (!name || !args) return WasmResult.InvalidMemoryAccess;
      const fn = utf8(name);
      if (fn === 'set_envoy_filter_state') return setEnvoyFilterState(args);
      if (NOT_EMULATED.has(fn)) {
        vm.hostLog('warn', `emulator: foreign function ${fn} is not emulated; answering Unimplemented`);
        return WasmResult.Unimplemented;
      }
      return WasmResult.NotFound;
    },
  };
}
