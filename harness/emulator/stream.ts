/**
 * Plugins (root contexts) and HTTP streams of the emulator, driven callback by callback in
 * Envoy's order. See vm.ts for the list of Envoy behaviours reproduced.
 */
import { FilterDataStatus, FilterHeadersStatus, FilterTrailersStatus, MapType, StreamType } from './enums';
import type { Pairs } from './pairs';
import { propertyMap } from './property-values';
import type { Frame, GuestRunner, LocalReply, PluginOptions, PluginState, PropertyValue, StepAction, StepResult, StreamState } from './state';

export type { PropertyValue, PluginOptions, LocalReply, StepResult, StepAction } from './state';

const toBytes = (v: string | Uint8Array | undefined): Uint8Array => (typeof v === 'string' ? Buffer.from(v, 'utf8') : (v ?? new Uint8Array()));
const lower = (pairs: Pairs): Pairs => pairs.map(([k, v]) => [k.toLowerCase(), v]);

/** Decoding callbacks: a local reply sent from one of them is then encoded through this filter. */
const REQUEST_SIDE = new Set(['proxy_on_request_headers', 'proxy_on_request_body', 'proxy_on_request_trailers']);

const FAILED_REPLY: LocalReply = { status: 503, body: '', headers: [], details: 'wasm_fail_stream', grpcStatus: 14 };

/** One plugin (root context) started on a VM. */
export class PluginHandle implements PluginState {
  /** Whether on_vm_start and on_configure succeeded (Envoy would accept the configuration). */
  ok = false;
  /** Why not, when !ok. */
  failure?: string;
  /** Last tick period the root asked for (ms; 0 = none). */
  tickPeriodMs = 0;
  /** True after done(): the root context is gone. */
  deleted = false;
  readonly rootId: string;
  readonly pluginName: string;
  /** @internal */ readonly properties: Map<string, Uint8Array>;
  /** @internal */ configuration: Uint8Array;
  /** @internal */ readonly vmConfiguration: Uint8Array;

  /** @internal Use ProxyWasmVm.startPlugin. */
  constructor(
    readonly vm: GuestRunner,
    readonly id: number,
    o: PluginOptions,
  ) {
    this.rootId = o.rootId;
    this.pluginName = o.pluginName ?? o.rootId;
    this.configuration = toBytes(o.configuration);
    this.vmConfiguration = toBytes(o.vmConfiguration);
    this.properties = propertyMap(o.properties);
  }

  private frame(callback: string): Frame {
    return { callback, contextId: this.id, plugin: this };
  }

  /** @internal on_context_create(root, 0) → on_vm_start → on_configure. */
  start(): void {
    const vm = this.vm;
    if (vm.failed) return void this.fail(`the VM has failed: ${vm.failed}`);
    vm.invoke(this.frame('proxy_on_context_create'), 'proxy_on_context_create', this.id, 0);
    const started = vm.invoke(this.frame('proxy_on_vm_start'), 'proxy_on_vm_start', this.id, this.vmConfiguration.length);
    if (vm.failed) return void this.fail(`proxy_on_vm_start trapped: ${vm.failed}`);
    if (started === 0) return void this.fail('proxy_on_vm_start returned false');
    this.configure();
  }

  private configure(): boolean {
    const vm = this.vm;
    const configured = vm.invoke(this.frame('proxy_on_configure'), 'proxy_on_configure', this.id, this.configuration.length);
    if (vm.failed) return this.fail(`proxy_on_configure trapped: ${vm.failed}`);
    if (configured === 0) return this.fail('proxy_on_configure returned false');
    this.ok = true;
    this.failure = undefined;
    return true;
  }

  private fail(why: string): false {
    this.ok = false;
    this.failure = why;
    return false;
  }

  /**
   * Calls on_configure again on the SAME root context with new bytes. Envoy never does this (a
   * configuration change creates a new root context: start another plugin and `done()` this
   * one); it shows how a filter copes with a host that does. Returns `ok`.
   */
  reconfigure(configuration: string | Uint8Array): boolean {
    this.configuration = toBytes(configuration);
    return this.configure();
  }

  /** A new HTTP stream under this plugin (its context is created on the first event, like Envoy). */
  newHttpStream(o: { properties?: Record<string, PropertyValue>; requestHeaders?: Pairs } = {}): HttpStream {
    return new HttpStream(this, o);
  }

  /** Fires the root's timer once (Envoy calls proxy_on_tick every period set). */
  tick(): void {
    this.vm.invoke(this.frame('proxy_on_tick'), 'proxy_on_tick', this.id);
  }

  /** Envoy releases the plugin (config replaced, listener drained): on_done, then on_delete if done. Returns whether it was deleted. */
  done(): boolean {
    if (this.deleted) return true;
    const done = this.vm.invoke(this.frame('proxy_on_done'), 'proxy_on_done', this.id);
    if (done === 0) return false; // the root deferred its deletion (it would call proxy_done)
    this.vm.invoke(this.frame('proxy_on_delete'), 'proxy_on_delete', this.id);
    this.deleted = true;
    this.vm.plugins.delete(this.id);
    return true;
  }
}

/** One HTTP stream, driven callback by callback in Envoy's order. */
export class HttpStream {
  readonly id: number;
  private readonly state: StreamState;
  private created = false;
  private completed = false;
  /** Body bytes the filter let through to the filters after it, as it left them ([request, response]). */
  readonly forwarded: [Buffer[], Buffer[]] = [[], []];
  /**
   * What Envoy acted on after the last callback, after cpp-host's clamping (e.g. StopIteration
   * from headers → 4 StopAllIterationAndWatermark; anything after a local reply → stop).
   */
  lastHostStatus: number | undefined;

  /** @internal Use PluginHandle.newHttpStream. */
  constructor(
    readonly plugin: PluginHandle,
    o: { properties?: Record<string, PropertyValue>; requestHeaders?: Pairs },
  ) {
    this.id = plugin.vm.newContextId();
    this.state = {
      id: this.id,
      plugin,
      properties: propertyMap(o.properties),
      maps: [o.requestHeaders ? lower(o.requestHeaders) : undefined, undefined, undefined, undefined],
      open: [false, false, false, false],
      logPhase: false,
      filterState: new Map(),
      body: [Buffer.alloc(0), Buffer.alloc(0)],
      closed: [],
      envoyFilterState: new Map(),
    };
  }

  /** Request headers as they are now (after the filter's changes). */
  get requestHeaders(): Pairs {
    return this.state.maps[MapType.HttpRequestHeaders] ?? [];
  }
  get requestTrailers(): Pairs {
    return this.state.maps[MapType.HttpRequestTrailers] ?? [];
  }
  get responseHeaders(): Pairs {
    return this.state.maps[MapType.HttpResponseHeaders] ?? [];
  }
  get responseTrailers(): Pairs {
    return this.state.maps[MapType.HttpResponseTrailers] ?? [];
  }
  /** The last local reply the filter sent on this stream. */
  get localReply(): LocalReply | undefined {
    return this.state.localReply;
  }
  /** Whether the guest reset the stream (proxy_close_stream on the request or response):
   *  Envoy's response details are then `wasm_close_stream` and the client sees a reset. */
  get reset(): boolean {
    return this.state.closed.some((t) => t === StreamType.HttpRequest || t === StreamType.HttpResponse);
  }
  /** Filter state the guest wrote (`wasm.<key>` → value as UTF-8 text). */
  get filterState(): Record<string, string> {
    return Object.fromEntries([...this.state.filterState].map(([k, v]) => [k, Buffer.from(v).toString('utf8')]));
  }
  /** Filter state as bytes. */
  get filterStateBytes(): ReadonlyMap<string, Uint8Array> {
    return this.state.filterState;
  }

  private frame(callback: string): Frame {
    return { callback, contextId: this.id, plugin: this.plugin, stream: this.state };
  }

  private ensureCreated(): boolean {
    if (this.created) return true;
    const vm = this.plugin.vm;
    if (vm.failed) return false;
    this.created = true;
    vm.streams.set(this.id, this.state);
    vm.invoke(this.frame('proxy_on_context_create'), 'proxy_on_context_create', this.id, this.plugin.id);
    return !vm.failed;
  }

  private failed(): StepResult {
    this.state.localReply = FAILED_REPLY;
    return { action: 'failed', status: -1, localReply: FAILED_REPLY };
  }

  /**
   * Runs one stream callback. `map`: the header map the callback owns (opened before, closed
   * after a Continue). `clamp` turns the guest's value into what Envoy acts on. A local reply
   * sent from a request-side callback then travels through this filter's own response
   * callbacks, as in Envoy.
   */
  private step(fn: string, args: number[], map: number | undefined, clamp: (status: number, replied: boolean) => number): StepResult {
    const vm = this.plugin.vm;
    if (!this.ensureCreated()) return this.failed();
    if (this.reset) return { action: 'stop', status: 0, reset: true }; // a reset stream gets no more callbacks
    if (map !== undefined) this.state.open[map] = true;
    const frame = this.frame(fn);
    const ran = vm.invoke(frame, fn, this.id, ...args);
    if (vm.failed) {
      if (map !== undefined) this.state.open[map] = false;
      return this.failed();
    }
    const status = ran ?? 0;
    const replied = frame.localReplySent === true;
    const hostStatus = clamp(status, replied);
    this.lastHostStatus = hostStatus;
    if (this.reset) {
      // proxy_close_stream(request|response): Envoy reset the stream; nothing more is delivered.
      if (map !== undefined) this.state.open[map] = false;
      return { action: 'stop', status, reset: true };
    }
    const action: StepAction = hostStatus === 0 && !replied ? 'continue' : 'stop';
    // Envoy drops its pointer to the map once the callback let the stream continue.
    if (map !== undefined && action === 'continue') this.state.open[map] = false;
    if (replied && REQUEST_SIDE.has(fn)) {
      if (map !== undefined) this.state.open[map] = false;
      this.deliverLocalReply();
      if (vm.failed) return this.failed();
    }
    return { action, status, localReply: replied ? this.state.localReply : undefined };
  }

  /**
   * What Envoy does with a local reply sent while decoding (verified against Envoy 1.40): the
   * reply's headers (`:status`, the reply's own headers, then `content-length` and
   * `content-type: text/plain` when there is a body) pass through this filter's
   * on_response_headers, where they can still be changed, then the body through
   * on_response_body. A local reply sent from there replaces the first one and is not delivered
   * to the filter again.
   */
  private deliverLocalReply(): void {
    const reply = this.state.localReply!;
    const body = Buffer.from(reply.body, 'utf8');
    const headers: Pairs = [[':status', String(reply.status)], ...lower(reply.headers)];
    if (body.length > 0) headers.push(['content-length', String(body.length)], ['content-type', 'text/plain']);
    this.state.maps[MapType.HttpResponseHeaders] = headers;
    this.state.open[MapType.HttpResponseHeaders] = true;
    const vm = this.plugin.vm;
    const frame = this.frame('proxy_on_response_headers');
    const status = vm.invoke(frame, 'proxy_on_response_headers', this.id, headers.length, body.length === 0 ? 1 : 0) ?? 0;
    this.state.open[MapType.HttpResponseHeaders] = false;
    if (vm.failed || frame.localReplySent || body.length === 0 || this.headersClamp(status, false) !== 0) return;
    this.state.body[1] = body;
    vm.invoke(this.frame('proxy_on_response_body'), 'proxy_on_response_body', this.id, body.length, 1);
    this.state.body[1] = Buffer.alloc(0);
  }

  private headersClamp = (status: number, replied: boolean): number => {
    if (replied || status > FilterHeadersStatus.StopAllIterationAndWatermark) return FilterHeadersStatus.StopAllIterationAndWatermark;
    if (status === FilterHeadersStatus.StopIteration && !this.plugin.vm.options.allowOnHeadersStopIteration) return FilterHeadersStatus.StopAllIterationAndWatermark;
    if (status === FilterHeadersStatus.ContinueAndEndStream) return FilterHeadersStatus.Continue;
    return status;
  };

  private static dataClamp(status: number, replied: boolean): number {
    return replied || status > FilterDataStatus.StopIterationNoBuffer ? FilterDataStatus.StopIterationNoBuffer : status;
  }

  private static trailersClamp(status: number, replied: boolean): number {
    return replied || status > FilterTrailersStatus.StopIteration ? FilterTrailersStatus.StopIteration : status;
  }

  /** proxy_on_request_headers (headers given here replace the stream's; end of stream by default). */
  sendRequestHeaders(o: { headers?: Pairs; endOfStream?: boolean } = {}): StepResult {
    if (o.headers) this.state.maps[MapType.HttpRequestHeaders] = lower(o.headers);
    const headers = (this.state.maps[MapType.HttpRequestHeaders] ??= []);
    return this.step('proxy_on_request_headers', [headers.length, o.endOfStream ?? true ? 1 : 0], MapType.HttpRequestHeaders, this.headersClamp);
  }

  /**
   * proxy_on_request_body with one chunk. The body buffer holds what Envoy has: earlier chunks
   * too while the filter keeps answering StopIterationAndBuffer.
   */
  sendRequestBody(chunk: string | Uint8Array, o: { endOfStream?: boolean } = {}): StepResult {
    return this.body(0, 'proxy_on_request_body', chunk, o.endOfStream ?? true);
  }

  sendRequestTrailers(trailers: Pairs): StepResult {
    this.state.maps[MapType.HttpRequestTrailers] = lower(trailers);
    return this.step('proxy_on_request_trailers', [trailers.length], MapType.HttpRequestTrailers, HttpStream.trailersClamp);
  }

  /** proxy_on_response_headers. The request header map is no longer available (Envoy moved on). */
  sendResponseHeaders(headers: Pairs = [[':status', '200']], o: boolean | { endOfStream?: boolean } = {}): StepResult {
    const endOfStream = typeof o === 'boolean' ? o : (o.endOfStream ?? true);
    this.state.open[MapType.HttpRequestHeaders] = false;
    this.state.open[MapType.HttpRequestTrailers] = false;
    this.state.maps[MapType.HttpResponseHeaders] = lower(headers);
    return this.step('proxy_on_response_headers', [headers.length, endOfStream ? 1 : 0], MapType.HttpResponseHeaders, this.headersClamp);
  }

  sendResponseBody(chunk: string | Uint8Array, o: { endOfStream?: boolean } = {}): StepResult {
    return this.body(1, 'proxy_on_response_body', chunk, o.endOfStream ?? true);
  }

  sendResponseTrailers(trailers: Pairs): StepResult {
    this.state.maps[MapType.HttpResponseTrailers] = lower(trailers);
    return this.step('proxy_on_response_trailers', [trailers.length], MapType.HttpResponseTrailers, HttpStream.trailersClamp);
  }

  private body(which: 0 | 1, fn: string, chunk: string | Uint8Array, endOfStream: boolean): StepResult {
    const buffered = Buffer.concat([this.state.body[which], toBytes(chunk)]);
    this.state.body[which] = buffered;
    const r = this.step(fn, [buffered.length, endOfStream ? 1 : 0], undefined, HttpStream.dataClamp);
    if (r.action === 'continue') this.forwarded[which].push(this.state.body[which]); // as the filter left it
    if (this.lastHostStatus !== FilterDataStatus.StopIterationAndBuffer) this.state.body[which] = Buffer.alloc(0);
    return r;
  }

  /**
   * Ends the stream in Envoy's order: on_log (both header maps readable, none writable), then
   * on_done and on_delete. The context is created first if no event reached the filter (Envoy
   * does that too, e.g. when an earlier filter replied).
   */
  complete(): void {
    if (this.completed) return;
    this.completed = true;
    const vm = this.plugin.vm;
    if (!this.ensureCreated()) return;
    this.state.open = [false, false, false, false];
    this.state.logPhase = true;
    vm.invoke(this.frame('proxy_on_log'), 'proxy_on_log', this.id);
    this.state.logPhase = false;
    vm.invoke(this.frame('proxy_on_done'), 'proxy_on_done', this.id);
    vm.invoke(this.frame('proxy_on_delete'), 'proxy_on_delete', this.id);
    vm.streams.delete(this.id);
  }
}
