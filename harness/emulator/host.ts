/**
 * The host functions of the emulator: Proxy-Wasm `env` calls with Envoy's semantics, and the
 * WASI subset cpp-host provides. Each reads guest memory through the VM (fresh views every time)
 * and answers a WasmResult / WASI errno. vm.ts wraps them with cpp-host's restricted-mode checks.
 */
import { randomFillSync } from 'node:crypto';
import { BufferType, Errno, MapType, MetricType, WasmResult } from './enums';
import { parsePairs, serializePairs, type Pairs } from './pairs';
import { propertyKey, type StreamState } from './stream';
import type { ProxyWasmVm } from './vm';

type HostFn = (...args: any[]) => number | void;

const latin1 = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');
const utf8 = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf8');

export function buildHostImports(vm: ProxyWasmVm): { env: Record<string, HostFn>; wasi: Record<string, HostFn> } {
  const stream = (): StreamState | undefined => vm.frame.stream;

  /**
   * The header map `type` for reading (`write` false) or changing. 'absent': no such map in this
   * context (no stream, a map type the emulator does not model, never received); 'closed': Envoy
   * does not hold it now (after Continue, or any write during on_log).
   */
  const headerMap = (type: number, write: boolean): Pairs | 'absent' | 'closed' => {
    const s = stream();
    if (!s || type < MapType.HttpRequestHeaders || type > MapType.HttpResponseTrailers) return 'absent';
    const map = s.maps[type];
    if (s.logPhase) {
      if (write) return 'closed';
      return map ?? 'absent';
    }
    if (!s.open[type] || !map) return 'closed';
    return map;
  };

  const propertyValue = (segments: string[]): Uint8Array | undefined => {
    const s = stream();
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
    // Envoy: an unknown top-level name falls back to the filter state object `wasm.<name>`.
    if (s && segments.length === 1) return s.filterState.get(`wasm.${segments[0]}`);
    return undefined;
  };

  const metricOf = (id: number) => vm.metricsById.get(id);

  const env: Record<string, HostFn> = {
    proxy_log(level: number, ptr: number, len: number) {
      if (level < 0 || level > 5) return WasmResult.BadArgument;
      const b = vm.read(ptr, len);
      if (!b) return WasmResult.InvalidMemoryAccess;
      vm.guestLog(level, utf8(b));
      return WasmResult.Ok;
    },

    proxy_get_log_level(ret: number) {
      return vm.writeU32(ret, vm.logLevel) ? WasmResult.Ok : WasmResult.InvalidMemoryAccess;
    },

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

    proxy_get_buffer_bytes(type: number, start: number, max: number, retPtr: number, retSize: number) {
      if (type > BufferType.CallData) return WasmResult.BadArgument;
      const f = vm.frame;
      let buffer: Uint8Array | undefined;
      if (type === BufferType.PluginConfiguration && f.callback === 'proxy_on_configure') buffer = f.plugin?.configuration;
      else if (type === BufferType.VmConfiguration) buffer = f.plugin?.vmConfiguration; // Envoy 1.40 (verified): any callback
      else if (type === BufferType.HttpRequestBody && f.callback === 'proxy_on_request_body') buffer = f.stream?.body[0];
      else if (type === BufferType.HttpResponseBody && f.callback === 'proxy_on_response_body') buffer = f.stream?.body[1];
      if (!buffer) return WasmResult.NotFound;
      const from = start >>> 0;
      const size = max >>> 0;
      if (from + size > 0xffffffff) return WasmResult.BadArgument;
      const to = Math.min(from + size, buffer.length);
      return vm.give(from >= to ? new Uint8Array() : buffer.subarray(from, to), retPtr, retSize);
    },

    proxy_get_header_map_value(type: number, kp: number, kl: number, retPtr: number, retSize: number) {
      const key = vm.read(kp, kl);
      if (!key) return WasmResult.InvalidMemoryAccess;
      const map = headerMap(type, false);
      if (map === 'absent') return stream()?.logPhase ? WasmResult.NotFound : WasmResult.BadArgument;
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
      map.splice(0, map.length, ...map.filter(([key]) => key !== name));
      map.push([name, latin1(v)]);
      return WasmResult.Ok;
    },

    proxy_remove_header_map_value(type: number, kp: number, kl: number) {
      const map = headerMap(type, true);
      if (typeof map === 'string') return WasmResult.BadArgument;
      const k = vm.read(kp, kl);
      if (!k) return WasmResult.InvalidMemoryAccess;
      const name = latin1(k).toLowerCase();
      map.splice(0, map.length, ...map.filter(([key]) => key !== name));
      return WasmResult.Ok;
    },

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
      const s = stream();
      if (!s) return WasmResult.NotFound; // a root context has no filter state
      s.filterState.set(`wasm.${latin1(path)}`, value);
      return WasmResult.Ok;
    },

    proxy_send_local_response(status: number, dp: number, dl: number, bp: number, bl: number, hp: number, hl: number, grpc: number) {
      const details = vm.read(dp, dl);
      const body = vm.read(bp, bl);
      const headers = vm.read(hp, hl);
      if (!details || !body || !headers) return WasmResult.InvalidMemoryAccess;
      const s = stream();
      // Envoy answers Ok even without a stream to reply on (a root callback): nothing is sent.
      if (!s) return WasmResult.Ok;
      s.localReply = {
        status: status >>> 0,
        body: utf8(body),
        headers: parsePairs(headers),
        details: latin1(details).replace(/ /g, '_'),
        grpcStatus: grpc >= 0 && grpc <= 16 ? grpc : -1,
      };
      vm.frame.localReplySent = true;
      return WasmResult.Ok;
    },

    proxy_define_metric(type: number, np: number, nl: number, ret: number) {
      if (type < MetricType.Counter || type > MetricType.Histogram) return WasmResult.BadArgument;
      const n = vm.read(np, nl);
      if (!n) return WasmResult.InvalidMemoryAccess;
      const name = utf8(n);
      let metric = vm.metricsByName.get(name);
      if (!metric) {
        metric = { name, type, value: 0n, samples: [] };
        vm.metricsByName.set(name, metric);
      }
      // Like Envoy: every define hands out a new id (type in the low 2 bits) for the named metric.
      const id = (vm.nextMetricId++ << 2) | type;
      vm.metricsById.set(id, metric);
      return vm.writeU32(ret, id) ? WasmResult.Ok : WasmResult.InvalidMemoryAccess;
    },

    proxy_increment_metric(id: number, delta: bigint) {
      const m = metricOf(id);
      if (!m) return WasmResult.NotFound;
      if (m.type === MetricType.Histogram) return WasmResult.BadArgument;
      if (m.type === MetricType.Counter) {
        if (delta <= 0n) return WasmResult.BadArgument;
        m.value += delta;
      } else {
        m.value = BigInt.asUintN(64, m.value + delta);
      }
      return WasmResult.Ok;
    },

    proxy_record_metric(id: number, value: bigint) {
      const m = metricOf(id);
      if (!m) return WasmResult.NotFound;
      const v = BigInt.asUintN(64, value);
      if (m.type === MetricType.Counter) m.value += v;
      else if (m.type === MetricType.Gauge) m.value = v;
      else m.samples.push(v);
      return WasmResult.Ok;
    },

    proxy_get_metric(id: number, ret: number) {
      const m = metricOf(id);
      if (!m) return WasmResult.NotFound;
      if (m.type === MetricType.Histogram) return WasmResult.BadArgument;
      return vm.writeU64(ret, m.value) ? WasmResult.Ok : WasmResult.InvalidMemoryAccess;
    },
  };

  const environment = Object.entries(vm.options.environment ?? {}).map(([k, v]) => Buffer.from(`${k}=${v}\0`, 'utf8'));

  const wasi: Record<string, HostFn> = {
    fd_write(fd: number, iovs: number, count: number, nwritten: number) {
      if (fd !== 1 && fd !== 2) return Errno.Badf;
      const parts: Uint8Array[] = [];
      for (let i = 0; i < count; i++) {
        const iov = vm.read(iovs + 8 * i, 8);
        if (!iov) return Errno.Fault;
        const dv = new DataView(iov.buffer, iov.byteOffset, 8);
        const b = vm.read(dv.getUint32(0, true), dv.getUint32(4, true));
        if (!b) return Errno.Fault;
        parts.push(b);
      }
      const all = Buffer.concat(parts);
      let text = all.toString('utf8');
      if (text.endsWith('\n')) text = text.slice(0, -1); // one trailing newline is dropped
      vm.guestLog(fd === 1 ? 2 : 4, text); // stdout → info, stderr → error, one line per call
      return vm.writeU32(nwritten, all.length) ? Errno.Success : Errno.Fault;
    },
    proc_exit(code: number) {
      // cpp-host only reports it (Envoy logs at trace) and returns: the VM keeps running.
      vm.guestLog(0, `wasi_unstable proc_exit(${code})`);
    },
    clock_time_get(id: number, _precision: bigint, ret: number) {
      if (id !== 0 && id !== 1) return Errno.Notsup;
      const t = id === 0 ? vm.now() : process.hrtime.bigint();
      return vm.writeU64(ret, t) ? Errno.Success : Errno.Fault;
    },
    clock_res_get(id: number, ret: number) {
      if (id !== 0 && id !== 1) return Errno.Notsup;
      return vm.writeU64(ret, 1n) ? Errno.Success : Errno.Fault;
    },
    random_get(ptr: number, len: number) {
      if (len > 65536) return Errno.Inval;
      const m = vm.mem();
      if (ptr < 0 || ptr + len > m.length) return Errno.Fault;
      randomFillSync(m, ptr, len);
      return Errno.Success;
    },
    environ_sizes_get(countPtr: number, sizePtr: number) {
      const size = environment.reduce((n, b) => n + b.length, 0);
      return vm.writeU32(countPtr, environment.length) && vm.writeU32(sizePtr, size) ? Errno.Success : Errno.Fault;
    },
    environ_get(ptrs: number, buf: number) {
      let at = buf;
      for (let i = 0; i < environment.length; i++) {
        const m = vm.mem();
        if (at + environment[i].length > m.length || !vm.writeU32(ptrs + 4 * i, at)) return Errno.Fault;
        m.set(environment[i], at);
        at += environment[i].length;
      }
      return Errno.Success;
    },
    args_sizes_get(countPtr: number, sizePtr: number) {
      return vm.writeU32(countPtr, 0) && vm.writeU32(sizePtr, 0) ? Errno.Success : Errno.Fault;
    },
    args_get() {
      return Errno.Success;
    },
    sched_yield() {
      return Errno.Success;
    },
    poll_oneoff(_in: number, _out: number, _n: number, neventsPtr: number) {
      return vm.writeU32(neventsPtr, 0) ? Errno.Success : Errno.Fault;
    },
    fd_fdstat_get(fd: number, buf: number) {
      if (fd !== 1 && fd !== 2) return Errno.Badf;
      const m = vm.mem();
      if (buf + 24 > m.length) return Errno.Fault;
      m.fill(0, buf, buf + 24);
      m[buf] = 2; // character device
      return Errno.Success;
    },
    fd_fdstat_set_flags() {
      return Errno.Nosys;
    },
    fd_prestat_get() {
      return Errno.Badf; // no preopened directories
    },
    fd_prestat_dir_name() {
      return Errno.Nosys;
    },
    fd_read() {
      return Errno.Nosys;
    },
    fd_pread() {
      return Errno.Nosys;
    },
    fd_pwrite() {
      return Errno.Badf;
    },
    fd_seek() {
      return Errno.Badf;
    },
    fd_close() {
      return Errno.Badf;
    },
    path_open() {
      return Errno.Noent;
    },
  };

  return { env, wasi };
}

export { propertyKey };
