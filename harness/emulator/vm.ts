/**
 * A Proxy-Wasm ABI v0.2.1 host in Node that runs a real module (build/meshgate.wasm) the way
 * Envoy 1.40 does, for fast unit tests and for the scenario runner's `emulator` target.
 *
 * Envoy behaviours reproduced (see ../shared/notes/proxy-wasm-envoy-istio.md):
 * - loading fails on an import the host lacks or with another signature, on a known export with
 *   a wrong signature, without the ABI marker, or without an allocator; `malloc` is preferred
 *   over `proxy_on_memory_allocate`; `_initialize` runs in restricted mode (only proxy_log);
 * - root contexts: on_context_create(root, 0) → on_vm_start → on_configure (false = rejected);
 *   the plugin configuration buffer is readable only inside on_configure;
 * - streams: on_context_create(stream, root) before on_request_headers; Envoy's order at the
 *   end: on_log → on_done → on_delete;
 * - header maps: only inside their own callback (or while the stream is stopped there); after
 *   Continue a value read is BadArgument and pairs are empty; a repeated header returns its
 *   FIRST value; proxy_get_header_map_size answers in bytes;
 * - a local reply forces "stop", and its details have spaces replaced by `_`;
 * - properties: NotFound when absent; set_property writes filter state `wasm.<path>`, refused
 *   (NotFound) without a stream; unknown top-level names fall back to filter state `wasm.<name>`;
 * - counters refuse a delta ≤ 0; record on a counter adds;
 * - a trap marks the VM failed: every later stream is refused (503, like FAIL_CLOSED).
 */
import * as fs from 'node:fs';
import { BufferType, FilterHeadersStatus, LOG_LEVEL_NAMES, LogLevel, MapType, MetricType, WasmResult, type LogLevelName } from './abi';
import { readModuleShape, sigText, type Signature, type ValType } from './module';
import { parsePairs, serializePairs, type Pairs } from './pairs';

// lib is ES2022 without DOM typings: reach the WebAssembly API untyped.
const WA: any = (globalThis as any).WebAssembly;

export type PropertyValue = string | Uint8Array | bigint | number | boolean;

export interface LogLine {
  level: LogLevelName;
  message: string;
  /** The context the guest was running for (0 = VM start). */
  context: number;
}

export interface LocalReply {
  status: number;
  body: string;
  headers: Pairs;
  details: string;
  grpcStatus: number;
}

export type StepAction = 'continue' | 'stop' | 'failed';

export interface StepResult {
  action: StepAction;
  /** The filter's raw return value (before a local reply forced "stop"). */
  status: number;
  localReply?: LocalReply;
}

export class WasmLoadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WasmLoadError';
  }
}

const S = (params: ValType[], results: ValType[] = ['i32']): Signature => ({ params, results });
const I = 'i32' as const;
const L = 'i64' as const;

/** Exports the host looks up, with the signature cpp-host requires. */
const EXPORT_SIGNATURES: Record<string, Signature> = {
  proxy_abi_version_0_2_1: S([], []),
  _initialize: S([], []),
  _start: S([], []),
  malloc: S([I]),
  proxy_on_memory_allocate: S([I]),
  proxy_on_context_create: S([I, I], []),
  proxy_on_vm_start: S([I, I]),
  proxy_on_configure: S([I, I]),
  proxy_on_tick: S([I], []),
  proxy_on_request_headers: S([I, I, I]),
  proxy_on_request_body: S([I, I, I]),
  proxy_on_request_trailers: S([I, I]),
  proxy_on_response_headers: S([I, I, I]),
  proxy_on_response_body: S([I, I, I]),
  proxy_on_response_trailers: S([I, I]),
  proxy_on_log: S([I], []),
  proxy_on_done: S([I]),
  proxy_on_delete: S([I], []),
};

interface Metric {
  name: string;
  type: number;
  value: bigint;
}

interface StreamState {
  id: number;
  properties: Map<string, Uint8Array>;
  requestHeaders: Pairs;
  responseHeaders: Pairs;
  /** Which header maps the guest may touch right now. */
  requestHeadersOpen: boolean;
  responseHeadersOpen: boolean;
  logPhase: boolean;
  filterState: Map<string, Uint8Array>;
  localReply?: LocalReply;
}

export class ProxyWasmVm {
  readonly logs: LogLine[] = [];
  /** Envoy's `wasm` logger level as the guest sees it (proxy_get_log_level). */
  logLevel: number = LogLevel.Info;
  /** Set when the guest trapped: the VM refuses every later stream. */
  failed: string | null = null;
  private instance: any;
  private memory: any;
  private readonly metricsById = new Map<number, Metric>();
  private readonly metricIdByName = new Map<string, number>();
  private nextContextId = 1;
  private current: { contextId: number; stream?: StreamState; pluginConfig?: Uint8Array; root?: PluginHandle } = { contextId: 0 };
  private restricted = false;
  private nowNanos: bigint | undefined;
  private allocatorName: 'malloc' | 'proxy_on_memory_allocate' = 'malloc';
  readonly tickPeriods = new Map<number, number>();

  private constructor(private readonly exportNames: Set<string>) {}

  /** Loads a module (path or bytes), checks it like cpp-host, instantiates it, runs `_initialize`. */
  static async load(wasm: string | Uint8Array): Promise<ProxyWasmVm> {
    const bytes = typeof wasm === 'string' ? fs.readFileSync(wasm) : wasm;
    const shape = readModuleShape(bytes);
    const vm = new ProxyWasmVm(new Set(shape.exports.map((e) => e.name)));
    const host = vm.hostFunctions();
    for (const imp of shape.imports) {
      if (imp.kind !== 'function') throw new WasmLoadError(`Failed to load Wasm module: imported ${imp.module}.${imp.name} is not a function (globals, tables and memories are not provided)`);
      const h = imp.module === 'env' ? host[imp.name] : undefined;
      if (!h) throw new WasmLoadError(`Failed to load Wasm module due to a missing import: ${imp.module}.${imp.name}`);
      if (sigText(h.sig) !== sigText(imp.sig!)) {
        throw new WasmLoadError(`Failed to load Wasm module due to an import type mismatch: ${imp.module}.${imp.name}: module ${sigText(imp.sig!)}, host ${sigText(h.sig)}`);
      }
    }
    for (const exp of shape.exports) {
      const want = EXPORT_SIGNATURES[exp.name];
      if (want && exp.kind === 'function' && sigText(want) !== sigText(exp.sig!)) {
        throw new WasmLoadError(`Bad function signature for: ${exp.name} (module ${sigText(exp.sig!)}, expected ${sigText(want)})`);
      }
    }
    if (!vm.exportNames.has('proxy_abi_version_0_2_1')) throw new WasmLoadError('Missing or unknown Proxy-Wasm ABI version');
    if (vm.exportNames.has('malloc')) vm.allocatorName = 'malloc';
    else if (vm.exportNames.has('proxy_on_memory_allocate')) vm.allocatorName = 'proxy_on_memory_allocate';
    else throw new WasmLoadError('Wasm module is missing malloc function');
    if (!shape.exports.some((e) => e.kind === 'memory')) throw new WasmLoadError('Wasm module exports no memory');

    const env: Record<string, Function> = {};
    for (const [name, h] of Object.entries(host)) env[name] = h.fn;
    const { instance } = await WA.instantiate(bytes, { env });
    vm.instance = instance;
    vm.memory = instance.exports.memory;
    vm.restricted = true;
    try {
      if (vm.exportNames.has('_initialize')) vm.call('_initialize');
      else if (vm.exportNames.has('_start')) vm.call('_start');
    } finally {
      vm.restricted = false;
    }
    if (vm.failed) throw new WasmLoadError(`module start failed: ${vm.failed}`);
    return vm;
  }

  /** Bytes of linear memory the module holds right now. */
  memoryBytes(): number {
    return this.memory.buffer.byteLength;
  }

  /** A fixed clock for proxy_get_current_time_nanoseconds (default: the real one). */
  setTime(nanos: bigint | undefined): void {
    this.nowNanos = nanos;
  }

  metric(name: string): number | undefined {
    const id = this.metricIdByName.get(name);
    return id === undefined ? undefined : Number(this.metricsById.get(id)!.value);
  }

  metrics(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const m of this.metricsById.values()) out[m.name] = Number(m.value);
    return out;
  }

  logsAt(level: LogLevelName): string[] {
    return this.logs.filter((l) => l.level === level).map((l) => l.message);
  }

  /** Starts a plugin: a root context for `rootId` with this configuration (Envoy's sequence). */
  startPlugin(o: { rootId: string; configuration?: string | Uint8Array; pluginName?: string; vmConfiguration?: string }): PluginHandle {
    const id = this.nextContextId++;
    const plugin = new PluginHandle(this, id, o.rootId, o.pluginName ?? o.rootId);
    const config = typeof o.configuration === 'string' ? Buffer.from(o.configuration, 'utf8') : (o.configuration ?? new Uint8Array());
    this.current = { contextId: id, root: plugin };
    try {
      this.callIfExported('proxy_on_context_create', id, 0);
      const started = this.exportNames.has('proxy_on_vm_start') ? this.call('proxy_on_vm_start', id, Buffer.byteLength(o.vmConfiguration ?? '')) : 1;
      if (this.failed || !started) return plugin.fail('proxy_on_vm_start failed');
      this.current = { contextId: id, root: plugin, pluginConfig: config };
      const configured = this.exportNames.has('proxy_on_configure') ? this.call('proxy_on_configure', id, config.length) : 1;
      if (this.failed || !configured) return plugin.fail('proxy_on_configure failed');
    } finally {
      this.current = { contextId: 0 };
    }
    plugin.ok = true;
    return plugin;
  }

  // ------------------------------------------------------------------------------------------
  // Internals used by PluginHandle / HttpStream

  /** @internal */
  newContextId(): number {
    return this.nextContextId++;
  }

  /** @internal Calls an export for a context; a trap marks the VM failed. */
  run(contextId: number, stream: StreamState | undefined, root: PluginHandle | undefined, fn: string, ...args: number[]): number | undefined {
    if (this.failed) return undefined;
    if (!this.exportNames.has(fn)) return undefined;
    const saved = this.current;
    this.current = { contextId, stream, root };
    try {
      return this.call(fn, ...args);
    } finally {
      this.current = saved;
    }
  }

  private callIfExported(fn: string, ...args: number[]): number | undefined {
    return this.exportNames.has(fn) ? this.call(fn, ...args) : undefined;
  }

  private call(fn: string, ...args: number[]): number {
    try {
      const r = this.instance.exports[fn](...args);
      return typeof r === 'number' ? r : 0;
    } catch (e) {
      this.failed = `${fn}: ${(e as Error).message}`;
      this.logs.push({ level: 'error', message: `Wasm VM failed Function: ${fn} failed: Uncaught ${(e as Error).message}`, context: this.current.contextId });
      return 0;
    }
  }

  // ------------------------------------------------------------------------------------------
  // Memory helpers

  private bytes(): Uint8Array {
    return new Uint8Array(this.memory.buffer);
  }

  private dv(): DataView {
    return new DataView(this.memory.buffer);
  }

  private read(ptr: number, len: number): Uint8Array | undefined {
    const mem = this.bytes();
    if (ptr < 0 || len < 0 || ptr + len > mem.length) return undefined;
    return mem.slice(ptr, ptr + len);
  }

  /** Copies data into guest memory obtained from the guest allocator, writes (ptr, size) at the return slots. */
  private give(data: Uint8Array, retPtr: number, retSize: number): number {
    if (data.length === 0) {
      this.dv().setUint32(retPtr, 0, true);
      this.dv().setUint32(retSize, 0, true);
      return WasmResult.Ok;
    }
    const ptr = this.instance.exports[this.allocatorName](data.length) as number;
    if (!ptr) return WasmResult.InvalidMemoryAccess;
    this.bytes().set(data, ptr); // views re-acquired: memory may have grown inside the allocator
    const dv = this.dv();
    dv.setUint32(retPtr, ptr, true);
    dv.setUint32(retSize, data.length, true);
    return WasmResult.Ok;
  }

  private restrictedCheck(name: string): void {
    if (this.restricted) throw new Error(`restricted_callback: ${name} is not allowed in this phase`);
  }

  private headerMap(map: number, write: boolean): Pairs | undefined | 'closed' {
    const s = this.current.stream;
    if (!s) return undefined;
    if (map === MapType.HttpRequestHeaders) return s.requestHeadersOpen || (!write && s.logPhase) ? s.requestHeaders : 'closed';
    if (map === MapType.HttpResponseHeaders) return s.responseHeadersOpen || (!write && s.logPhase) ? s.responseHeaders : 'closed';
    return undefined; // trailers: none in this emulator
  }

  private propertyValue(path: string): Uint8Array | undefined {
    const s = this.current.stream;
    const root = this.current.root;
    if (path === 'plugin_root_id' && root) return Buffer.from(root.rootId);
    if (path === 'plugin_name' && root) return Buffer.from(root.pluginName);
    if (!s) return undefined;
    const direct = s.properties.get(path);
    if (direct) return direct;
    if (path.startsWith('filter_state.')) return s.filterState.get(path.slice('filter_state.'.length));
    return s.filterState.get(`wasm.${path}`);
  }

  private hostFunctions(): Record<string, { sig: Signature; fn: Function }> {
    const vm = this;
    const latin1 = (b: Uint8Array) => Buffer.from(b).toString('latin1');
    return {
      proxy_log: {
        sig: S([I, I, I]),
        fn(level: number, ptr: number, len: number) {
          if (level < 0 || level > 5) return WasmResult.BadArgument;
          const b = vm.read(ptr, len);
          if (!b) return WasmResult.InvalidMemoryAccess;
          vm.logs.push({ level: LOG_LEVEL_NAMES[level], message: Buffer.from(b).toString('utf8'), context: vm.current.contextId });
          return WasmResult.Ok;
        },
      },
      proxy_get_log_level: {
        sig: S([I]),
        fn(ret: number) {
          vm.restrictedCheck('proxy_get_log_level');
          vm.dv().setUint32(ret, vm.logLevel, true);
          return WasmResult.Ok;
        },
      },
      proxy_get_current_time_nanoseconds: {
        sig: S([I]),
        fn(ret: number) {
          vm.restrictedCheck('proxy_get_current_time_nanoseconds');
          vm.dv().setBigUint64(ret, vm.nowNanos ?? BigInt(Date.now()) * 1_000_000n, true);
          return WasmResult.Ok;
        },
      },
      proxy_set_tick_period_milliseconds: {
        sig: S([I]),
        fn(ms: number) {
          vm.restrictedCheck('proxy_set_tick_period_milliseconds');
          if (vm.current.root) vm.tickPeriods.set(vm.current.root.id, ms);
          return WasmResult.Ok;
        },
      },
      proxy_get_buffer_bytes: {
        sig: S([I, I, I, I, I]),
        fn(type: number, start: number, max: number, retPtr: number, retSize: number) {
          vm.restrictedCheck('proxy_get_buffer_bytes');
          if (type > 8) return WasmResult.BadArgument;
          if (type !== BufferType.PluginConfiguration || !vm.current.pluginConfig) return WasmResult.NotFound;
          if (start + max > 0xffffffff) return WasmResult.BadArgument;
          const cfg = vm.current.pluginConfig;
          return vm.give(cfg.subarray(Math.min(start, cfg.length), Math.min(start + max, cfg.length)), retPtr, retSize);
        },
      },
      proxy_get_header_map_value: {
        sig: S([I, I, I, I, I]),
        fn(map: number, kp: number, kl: number, retPtr: number, retSize: number) {
          vm.restrictedCheck('proxy_get_header_map_value');
          const key = vm.read(kp, kl);
          if (!key) return WasmResult.InvalidMemoryAccess;
          const m = vm.headerMap(map, false);
          if (m === undefined) return WasmResult.BadArgument;
          if (m === 'closed') return vm.current.stream?.logPhase ? WasmResult.NotFound : WasmResult.BadArgument;
          const name = latin1(key).toLowerCase();
          const hit = m.find(([k]) => k === name); // Envoy: the FIRST value of a repeated header
          if (!hit) return WasmResult.NotFound;
          return vm.give(Buffer.from(hit[1], 'latin1'), retPtr, retSize);
        },
      },
      proxy_get_header_map_pairs: {
        sig: S([I, I, I]),
        fn(map: number, retPtr: number, retSize: number) {
          vm.restrictedCheck('proxy_get_header_map_pairs');
          const m = vm.headerMap(map, false);
          const pairs = m === undefined || m === 'closed' ? [] : m;
          return vm.give(serializePairs(pairs), retPtr, retSize);
        },
      },
      proxy_get_header_map_size: {
        sig: S([I, I]),
        fn(map: number, ret: number) {
          vm.restrictedCheck('proxy_get_header_map_size');
          const m = vm.headerMap(map, false);
          if (m === undefined || m === 'closed') return WasmResult.BadArgument;
          vm.dv().setUint32(ret, m.reduce((n, [k, v]) => n + k.length + v.length, 0), true); // bytes, like Envoy
          return WasmResult.Ok;
        },
      },
      proxy_set_header_map_pairs: {
        sig: S([I, I, I]),
        fn(map: number, ptr: number, len: number) {
          vm.restrictedCheck('proxy_set_header_map_pairs');
          const m = vm.headerMap(map, true);
          if (m === undefined || m === 'closed') return WasmResult.BadArgument;
          const b = vm.read(ptr, len);
          if (!b) return WasmResult.InvalidMemoryAccess;
          m.splice(0, m.length, ...parsePairs(b).map(([k, v]) => [k.toLowerCase(), v] as [string, string]));
          return WasmResult.Ok;
        },
      },
      proxy_add_header_map_value: {
        sig: S([I, I, I, I, I]),
        fn(map: number, kp: number, kl: number, vp: number, vl: number) {
          vm.restrictedCheck('proxy_add_header_map_value');
          const m = vm.headerMap(map, true);
          if (m === undefined || m === 'closed') return WasmResult.BadArgument;
          const k = vm.read(kp, kl);
          const v = vm.read(vp, vl);
          if (!k || !v) return WasmResult.InvalidMemoryAccess;
          m.push([latin1(k).toLowerCase(), latin1(v)]);
          return WasmResult.Ok;
        },
      },
      proxy_replace_header_map_value: {
        sig: S([I, I, I, I, I]),
        fn(map: number, kp: number, kl: number, vp: number, vl: number) {
          vm.restrictedCheck('proxy_replace_header_map_value');
          const m = vm.headerMap(map, true);
          if (m === undefined || m === 'closed') return WasmResult.BadArgument;
          const k = vm.read(kp, kl);
          const v = vm.read(vp, vl);
          if (!k || !v) return WasmResult.InvalidMemoryAccess;
          const name = latin1(k).toLowerCase();
          const first = m.findIndex(([key]) => key === name);
          const kept = m.filter(([key], i) => key !== name || i === first);
          if (first < 0) kept.push([name, latin1(v)]);
          else kept[kept.findIndex(([key]) => key === name)] = [name, latin1(v)];
          m.splice(0, m.length, ...kept);
          return WasmResult.Ok;
        },
      },
      proxy_remove_header_map_value: {
        sig: S([I, I, I]),
        fn(map: number, kp: number, kl: number) {
          vm.restrictedCheck('proxy_remove_header_map_value');
          const m = vm.headerMap(map, true);
          if (m === undefined || m === 'closed') return WasmResult.BadArgument;
          const k = vm.read(kp, kl);
          if (!k) return WasmResult.InvalidMemoryAccess;
          const name = latin1(k).toLowerCase();
          m.splice(0, m.length, ...m.filter(([key]) => key !== name));
          return WasmResult.Ok;
        },
      },
      proxy_get_property: {
        sig: S([I, I, I, I]),
        fn(pp: number, pl: number, retPtr: number, retSize: number) {
          vm.restrictedCheck('proxy_get_property');
          const p = vm.read(pp, pl);
          if (!p) return WasmResult.InvalidMemoryAccess;
          const value = vm.propertyValue(latin1(p).split('\0').join('.'));
          if (!value) return WasmResult.NotFound;
          return vm.give(value, retPtr, retSize);
        },
      },
      proxy_set_property: {
        sig: S([I, I, I, I]),
        fn(pp: number, pl: number, vp: number, vl: number) {
          vm.restrictedCheck('proxy_set_property');
          const p = vm.read(pp, pl);
          const v = vm.read(vp, vl);
          if (!p || !v) return WasmResult.InvalidMemoryAccess;
          const s = vm.current.stream;
          if (!s) return WasmResult.NotFound;
          s.filterState.set(`wasm.${latin1(p)}`, v);
          return WasmResult.Ok;
        },
      },
      proxy_send_local_response: {
        sig: S([I, I, I, I, I, I, I, I]),
        fn(status: number, dp: number, dl: number, bp: number, bl: number, hp: number, hl: number, grpc: number) {
          vm.restrictedCheck('proxy_send_local_response');
          const d = vm.read(dp, dl);
          const b = vm.read(bp, bl);
          const h = vm.read(hp, hl);
          if (!d || !b || !h) return WasmResult.InvalidMemoryAccess;
          const s = vm.current.stream;
          if (s) {
            s.localReply = {
              status,
              body: Buffer.from(b).toString('utf8'),
              headers: parsePairs(h),
              details: latin1(d).replace(/ /g, '_'),
              grpcStatus: grpc >= 0 && grpc <= 16 ? grpc : -1,
            };
          }
          return WasmResult.Ok;
        },
      },
      proxy_define_metric: {
        sig: S([I, I, I, I]),
        fn(type: number, np: number, nl: number, ret: number) {
          vm.restrictedCheck('proxy_define_metric');
          if (type > 2) return WasmResult.BadArgument;
          const n = vm.read(np, nl);
          if (!n) return WasmResult.InvalidMemoryAccess;
          const name = Buffer.from(n).toString('utf8');
          let id = vm.metricIdByName.get(name);
          if (id === undefined) {
            id = ((vm.metricsById.size + 1) << 2) | type; // the type in the low bits, like Envoy
            vm.metricsById.set(id, { name, type, value: 0n });
            vm.metricIdByName.set(name, id);
          }
          vm.dv().setUint32(ret, id, true);
          return WasmResult.Ok;
        },
      },
      proxy_increment_metric: {
        sig: S([I, L]),
        fn(id: number, delta: bigint) {
          vm.restrictedCheck('proxy_increment_metric');
          const m = vm.metricsById.get(id);
          if (!m) return WasmResult.NotFound;
          if (m.type === MetricType.Counter && delta <= 0n) return WasmResult.BadArgument;
          if (m.type === MetricType.Histogram) return WasmResult.BadArgument;
          m.value += delta;
          return WasmResult.Ok;
        },
      },
      proxy_record_metric: {
        sig: S([I, L]),
        fn(id: number, value: bigint) {
          vm.restrictedCheck('proxy_record_metric');
          const m = vm.metricsById.get(id);
          if (!m) return WasmResult.NotFound;
          if (m.type === MetricType.Counter) m.value += BigInt.asUintN(64, value);
          else m.value = BigInt.asUintN(64, value);
          return WasmResult.Ok;
        },
      },
      proxy_get_metric: {
        sig: S([I, I]),
        fn(id: number, ret: number) {
          vm.restrictedCheck('proxy_get_metric');
          const m = vm.metricsById.get(id);
          if (!m) return WasmResult.NotFound;
          if (m.type === MetricType.Histogram) return WasmResult.BadArgument;
          vm.dv().setBigUint64(ret, m.value, true);
          return WasmResult.Ok;
        },
      },
    };
  }
}

/** One plugin (root context) started on a VM. */
export class PluginHandle {
  ok = false;
  failure?: string;

  constructor(
    readonly vm: ProxyWasmVm,
    readonly id: number,
    readonly rootId: string,
    readonly pluginName: string,
  ) {}

  /** @internal */
  fail(why: string): PluginHandle {
    this.ok = false;
    this.failure = why;
    return this;
  }

  /** A new HTTP stream under this plugin (its context is created on the first callback). */
  newHttpStream(o: { properties?: Record<string, PropertyValue>; requestHeaders?: Pairs } = {}): HttpStream {
    const props = new Map<string, Uint8Array>();
    for (const [k, v] of Object.entries(o.properties ?? {})) props.set(k, encodeProperty(v));
    return new HttpStream(this, props, (o.requestHeaders ?? []).map(([k, v]) => [k.toLowerCase(), v]));
  }

  /** Fires the root's timer once (Envoy calls proxy_on_tick every set period). */
  tick(): void {
    this.vm.run(this.id, undefined, this, 'proxy_on_tick', this.id);
  }

  /** Removes the plugin (listener drained / config replaced): on_done, then on_delete. */
  done(): void {
    this.vm.run(this.id, undefined, this, 'proxy_on_done', this.id);
    this.vm.run(this.id, undefined, this, 'proxy_on_delete', this.id);
  }
}

function encodeProperty(v: PropertyValue): Uint8Array {
  if (typeof v === 'string') return Buffer.from(v, 'utf8');
  if (typeof v === 'bigint' || typeof v === 'number') {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(v));
    return b;
  }
  if (typeof v === 'boolean') return Uint8Array.of(v ? 1 : 0);
  return v;
}

/** One HTTP stream, driven callback by callback in Envoy's order. */
export class HttpStream {
  readonly id: number;
  private readonly state: StreamState;
  private created = false;
  private completed = false;

  constructor(
    readonly plugin: PluginHandle,
    properties: Map<string, Uint8Array>,
    requestHeaders: Pairs,
  ) {
    this.id = plugin.vm.newContextId();
    this.state = {
      id: this.id,
      properties,
      requestHeaders,
      responseHeaders: [],
      requestHeadersOpen: false,
      responseHeadersOpen: false,
      logPhase: false,
      filterState: new Map(),
    };
  }

  get requestHeaders(): Pairs {
    return this.state.requestHeaders;
  }
  get responseHeaders(): Pairs {
    return this.state.responseHeaders;
  }
  get localReply(): LocalReply | undefined {
    return this.state.localReply;
  }
  /** Filter state written by the guest (`wasm.<key>` → value as text). */
  get filterState(): Record<string, string> {
    return Object.fromEntries([...this.state.filterState].map(([k, v]) => [k, Buffer.from(v).toString('utf8')]));
  }

  private ensureCreated(): void {
    if (this.created) return;
    this.created = true;
    this.plugin.vm.run(this.id, this.state, this.plugin, 'proxy_on_context_create', this.id, this.plugin.id);
  }

  private step(fn: string, open: 'requestHeadersOpen' | 'responseHeadersOpen', count: number, eos: boolean): StepResult {
    const vm = this.plugin.vm;
    if (vm.failed) return { action: 'failed', status: -1, localReply: { status: 503, body: '', headers: [], details: 'wasm_fail_stream', grpcStatus: 14 } };
    this.ensureCreated();
    this.state[open] = true;
    const status = vm.run(this.id, this.state, this.plugin, fn, this.id, count, eos ? 1 : 0) ?? FilterHeadersStatus.Continue;
    if (vm.failed) {
      this.state[open] = false;
      return { action: 'failed', status: -1, localReply: { status: 503, body: '', headers: [], details: 'wasm_fail_stream', grpcStatus: 14 } };
    }
    const reply = this.state.localReply;
    // Envoy: anything but Continue stops iteration; a local reply forces "stop" either way.
    const action: StepAction = reply || status !== FilterHeadersStatus.Continue ? 'stop' : 'continue';
    if (action === 'continue') this.state[open] = false; // Envoy drops the header map pointer
    return { action, status, localReply: reply };
  }

  /** on_request_headers with the stream's request headers (replace them first if given). */
  sendRequestHeaders(o: { headers?: Pairs; endOfStream?: boolean } = {}): StepResult {
    if (o.headers) this.state.requestHeaders = o.headers.map(([k, v]) => [k.toLowerCase(), v]);
    return this.step('proxy_on_request_headers', 'requestHeadersOpen', this.state.requestHeaders.length, o.endOfStream ?? true);
  }

  sendResponseHeaders(headers: Pairs = [[':status', '200']], endOfStream = true): StepResult {
    this.state.requestHeadersOpen = false;
    this.state.responseHeaders = headers.map(([k, v]) => [k.toLowerCase(), v]);
    return this.step('proxy_on_response_headers', 'responseHeadersOpen', headers.length, endOfStream);
  }

  /** Ends the stream in Envoy's order: on_log (headers readable), on_done, on_delete. */
  complete(): void {
    if (this.completed) return;
    this.completed = true;
    const vm = this.plugin.vm;
    this.ensureCreated();
    this.state.requestHeadersOpen = this.state.responseHeadersOpen = false;
    this.state.logPhase = true;
    vm.run(this.id, this.state, this.plugin, 'proxy_on_log', this.id);
    this.state.logPhase = false;
    vm.run(this.id, this.state, this.plugin, 'proxy_on_done', this.id);
    vm.run(this.id, this.state, this.plugin, 'proxy_on_delete', this.id);
  }
}
