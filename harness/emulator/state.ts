/**
 * The emulator's shared state, as plain types: what the VM (vm.ts), the plugin and stream drivers
 * (stream.ts) and the host functions (host/) read and write. Types only, so every other file of
 * the emulator can depend on this one and none of them on each other in a circle:
 *
 *     state.ts ← properties.ts ← stream.ts ← vm.ts → host/*.ts → state.ts
 */
import type { LogLevelName } from './enums';
import type { Pairs } from './pairs';

/** A property value as a test supplies it: strings as UTF-8, integers as 8 bytes LE, bools as 1 byte, pairs serialized. */
export type PropertyValue = string | Uint8Array | bigint | number | boolean | Pairs;

export interface LogLine {
  level: LogLevelName;
  message: string;
  /** The context the guest was running for (0 = VM start). */
  context: number;
}

export interface VmOptions {
  /** Envoy's `wasm` logger level (default info). Lines below it are dropped. */
  logLevel?: number;
  /** VmConfig.vm_id (property `plugin_vm_id`). */
  vmId?: string;
  /** VmConfig.environment_variables, for WASI environ_get. */
  environment?: Record<string, string>;
  /** PluginConfig.allow_on_headers_stop_iteration (default false: StopIteration from headers becomes stop-all). */
  allowOnHeadersStopIteration?: boolean;
}

export interface PluginOptions {
  /** PluginConfig.root_id. */
  rootId: string;
  /** PluginConfig.configuration bytes (what on_configure reads). */
  configuration?: string | Uint8Array;
  /** VmConfig.configuration bytes (what on_vm_start reads). */
  vmConfiguration?: string | Uint8Array;
  /** PluginConfig.name (property `plugin_name`; default = rootId). */
  pluginName?: string;
  /** Properties available in root callbacks too (e.g. `xds.node.id`). */
  properties?: Record<string, PropertyValue>;
}

export interface LocalReply {
  status: number;
  body: string;
  headers: Pairs;
  /** %RESPONSE_CODE_DETAILS%: spaces replaced by `_`, as Envoy does. */
  details: string;
  /** 0..16, or -1 for none. */
  grpcStatus: number;
}

export type StepAction = 'continue' | 'stop' | 'failed';

export interface StepResult {
  /** What Envoy does next: go on, wait (stopped, or a local reply was sent), or fail the stream closed. */
  action: StepAction;
  /**
   * The guest's raw return value (-1 when the VM failed; 0 when the callback is not exported).
   * `action` is what Envoy does with it after cpp-host's clamping: a local reply or any value
   * but Continue/ContinueAndEndStream stops the stream.
   */
  status: number;
  /** The local reply, if one was sent during this callback (or the 503 of a failed VM). */
  localReply?: LocalReply;
  /** The guest reset the stream (proxy_close_stream) during this callback. */
  reset?: boolean;
}

/** A root context (plugin) as the host functions see it. */
export interface PluginState {
  readonly id: number;
  readonly rootId: string;
  readonly pluginName: string;
  readonly properties: Map<string, Uint8Array>;
  configuration: Uint8Array;
  readonly vmConfiguration: Uint8Array;
  /** Last tick period the root asked for (ms; 0 = none). */
  tickPeriodMs: number;
}

/**
 * A stream as the host functions see it: an HTTP stream (stream.ts) or a TCP connection under a
 * network filter (network.ts), which uses no header maps and has `downstream` instead of `body`.
 */
export interface StreamState {
  id: number;
  plugin: PluginState;
  properties: Map<string, Uint8Array>;
  /** Header maps by MapType (0..3); undefined = not received (yet). */
  maps: (Pairs | undefined)[];
  /** Whether Envoy holds the map now (inside its callback, or while stopped there). */
  open: boolean[];
  logPhase: boolean;
  filterState: Map<string, Uint8Array>;
  localReply?: LocalReply;
  /** Body bytes visible in the current body callback (buffered + this chunk). */
  body: [Buffer, Buffer];
  /** TCP only: the connection's read buffer (BufferType NetworkDownstreamData), visible inside
   *  proxy_on_downstream_data; bytes stay in it while the filter answers StopIteration. */
  downstream?: Buffer;
  /** Streams the guest closed with proxy_close_stream (StreamType values), in call order. */
  closed: number[];
  /** Envoy filter state the guest wrote with the foreign function `set_envoy_filter_state`
   *  (keys without the `wasm.` prefix, values as given), e.g. `envoy.upstream.dynamic_host`. */
  envoyFilterState: Map<string, string>;
}

/** What the guest is running for right now. */
export interface Frame {
  callback: string;
  contextId: number;
  plugin?: PluginState;
  stream?: StreamState;
  /** Set when proxy_send_local_response ran during this call. */
  localReplySent?: boolean;
}

export interface Metric {
  name: string;
  type: number;
  value: bigint;
  samples: bigint[];
}

/** The frame of host calls made while no callback runs (module start). */
export const IDLE: Frame = { callback: '', contextId: 0 };

/**
 * The VM as the plugin and stream drivers use it: run an export in a frame, hand out context ids,
 * keep the registry of live contexts. ProxyWasmVm implements it.
 */
export interface GuestRunner {
  readonly options: VmOptions;
  /** Set when the guest trapped: every later call is refused. */
  readonly failed: string | null;
  readonly plugins: Map<number, PluginState>;
  readonly streams: Map<number, StreamState>;
  newContextId(): number;
  /** Runs export `fn` in `frame`; undefined when it is not exported or the VM has failed. */
  invoke(frame: Frame, fn: string, ...args: number[]): number | undefined;
}

/**
 * The VM as the host functions use it: the current frame, guest memory (fresh views on every
 * call: memory may grow), logs, the clock, and the metric store. ProxyWasmVm implements it.
 */
export interface HostState {
  readonly options: VmOptions;
  readonly frame: Frame;
  /** Envoy's `wasm` logger level as the guest sees it. */
  readonly logLevel: number;
  readonly metricsById: Map<number, Metric>;
  readonly metricsByName: Map<string, Metric>;
  readonly tickPeriods: Map<number, number>;
  /** The next metric id (Envoy hands out a new one per define). */
  newMetricId(): number;
  now(): bigint;
  guestLog(level: number, message: string): void;
  hostLog(level: LogLevelName, message: string): void;
  /** A fresh view of guest memory. */
  mem(): Uint8Array;
  /** A copy of guest bytes, or undefined when the range is outside memory. */
  read(ptr: number, len: number): Uint8Array | undefined;
  writeU32(ptr: number, value: number): boolean;
  writeU64(ptr: number, value: bigint): boolean;
  /** Hands `data` to the guest through its allocator and writes (ptr, size) at the return pointers; a WasmResult. */
  give(data: Uint8Array, retPtr: number, retSize: number): number;
}
