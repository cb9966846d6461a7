// Layer 3a of the binding: the context classes a filter extends. dispatch.ts routes the host's
// callbacks to them; filters never see a raw context id table or an export.
//
// When things happen (proxy-wasm-cpp-host + Envoy 1.40; notes section 1.8):
//
//   VM start, per worker VM (+ one throwaway "canary" VM per new configuration):
//     `_initialize` runs the module's top-level code in RESTRICTED mode: only proxy_log works
//     (any other host call traps the VM). Register root contexts and build constants there.
//   Plugin start, per root context (root ids start at 1):
//     proxy_on_context_create(root, 0) → RootContext created by the factory registered for the
//     PluginConfig's root_id → onVmStart → onConfigure. The canary VM is then dropped without
//     onDone/onDelete. A config change with the same code creates a NEW root context in the
//     SAME VM; the old root lives on (its streams finish) until Envoy releases it with onDone →
//     onDelete. Several roots may be alive at once: keep all per-configuration state on the root.
//   HTTP stream, Envoy's order:
//     proxy_on_context_create(stream, root) (deferred to the first stream event) → onCreate →
//     onRequestHeaders → onRequestBody* → onRequestTrailers? → onResponseHeaders →
//     onResponseBody* → onResponseTrailers? → onLog → onDone → onDelete.
//     Envoy runs onLog BEFORE onDone/onDelete (the spec says done → log → delete), and may call
//     onLog with no request callback at all (an earlier filter replied, the request was invalid).
//     Only callbacks the module exports are called: the entry file chooses (assembly/index.ts).
//   Network connection (a root whose streamKind is CONTEXT_TCP; envoy.filters.network.wasm):
//     proxy_on_context_create(conn, root) → onCreate → onNewConnection (the connection is
//     accepted; listener filters such as tls_inspector have run; no byte has been read by the
//     network filters yet) → onDownstreamData* (each call sees the WHOLE read buffer: bytes a
//     StopIteration left undrained come again, followed by new ones) → onDownstreamConnectionClose
//     → onDone → onDelete. StopIteration from onNewConnection holds the later filters'
//     onNewConnection (Envoy's FilterManagerImpl initializes them only when iteration reaches
//     them) while data still comes to this filter. Envoy skips onDownstreamData until the context
//     exists in the VM.
//   After a trap the VM is dead: Envoy answers every later request on that worker with a 503.
//
// What is legal where:
//   - Header maps: read/write only inside their own callback; after it returned Continue the map
//     is gone (reads false, writes false). onLog can read both maps again, never write.
//   - Plugin configuration: readable only inside onConfigure. (The VM configuration, in any callback.)
//   - Stream properties (connection.*, request.*): stream callbacks only. Root callbacks see the
//     plugin_* properties and xds.node.
//   - setProperty (filter state): stream callbacks, before onLog.
//   - sendLocalResponse: request or response callbacks; the callback's return value is then
//     overridden to "stop".
//   - closeStream(Downstream): network callbacks; Envoy closes after the callback returns.
//   - Everything the host returns (Bytes views) is valid until the callback returns (scratch.ts).
//
// AssemblyScript has no exceptions: a callback reports failure through its return value (false
// from onConfigure rejects the configuration), never by throwing — a throw traps the VM.
import { FilterDataStatus, FilterHeadersStatus, FilterStatus, FilterTrailersStatus } from "./enums";

export const CONTEXT_ROOT: u8 = 1;
export const CONTEXT_HTTP: u8 = 2;
export const CONTEXT_TCP: u8 = 3;

/** What the registry holds: a root, an HTTP stream or a network connection context, by the host's context id. */
export class Context {
  /** The host's context id (a recycled HttpContext gets the id of each new stream). */
  id: u32;
  /** CONTEXT_ROOT, CONTEXT_HTTP or CONTEXT_TCP. */
  readonly kind: u8;

  constructor(id: u32, kind: u8) {
    this.id = id;
    this.kind = kind;
  }
}

/**
 * One per plugin configuration (root_id + configuration) in each VM. Parse the configuration
 * once in onConfigure, keep the compiled result here, and hand it to stream contexts.
 */
export class RootContext extends Context {
  /** The PluginConfig's root_id this context was created for. */
  readonly rootId: string;
  /** Stream contexts of this root that finished and wait to be reused (see newHttpContext). */
  readonly recycled: Array<HttpContext> = new Array<HttpContext>();
  /** Connection contexts of this root that finished and wait to be reused (see newTcpContext). */
  readonly recycledTcp: Array<TcpContext> = new Array<TcpContext>();
  /**
   * What a child context of this root is: CONTEXT_HTTP (the root serves an HTTP filter) or
   * CONTEXT_TCP (a network filter). The host's context-create call does not say which; the
   * PluginConfig's root_id does, so the root decides.
   */
  readonly streamKind: u8;

  constructor(id: u32, rootId: string, streamKind: u8 = 2 /* CONTEXT_HTTP: asc does not resolve module constants in defaults */) {
    super(id, CONTEXT_ROOT);
    this.rootId = rootId;
    this.streamKind = streamKind;
  }

  /**
   * Once, right after creation. `vmConfigurationSize`: bytes of VmConfig.configuration (read them
   * here with getVmConfiguration). false = the plugin fails to start.
   */
  onVmStart(vmConfigurationSize: i32): bool { return true; }

  /**
   * After onVmStart. The plugin configuration is readable (getPluginConfiguration) only here.
   * Validate everything, log one line per problem, and return false to make Envoy reject the
   * configuration (at boot it refuses to start; on an update it keeps the previous one).
   */
  onConfigure(configurationSize: i32): bool { return true; }

  /** Every period set with setTickPeriod (per root, per worker VM). */
  onTick(): void {}

  /**
   * Creates the context for a new HTTP stream, or null to let streams pass untouched (no stream
   * callback is delivered then). Called only when no finished context of this root can be
   * reused: contexts are recycled, so reset per-stream state in HttpContext.onCreate.
   */
  createHttpContext(id: u32): HttpContext | null { return null; }

  /**
   * The dispatcher asks this for every new stream. The default reuses a finished context (no
   * allocation per request) or calls createHttpContext. Override only to manage contexts
   * yourself; contexts returned by an override are not recycled by the binding.
   */
  newHttpContext(id: u32): HttpContext | null {
    const free = this.recycled;
    if (free.length > 0) {
      const ctx = free.pop();
      ctx.id = id;
      return ctx;
    }
    const ctx = this.createHttpContext(id);
    if (ctx !== null) ctx.recyclable = true;
    return ctx;
  }

  /**
   * Creates the context for a new network connection (roots with streamKind CONTEXT_TCP), or
   * null (no connection callback is delivered then). Contexts are recycled like HTTP streams:
   * reset per-connection state in TcpContext.onCreate.
   */
  createTcpContext(id: u32): TcpContext | null { return null; }

  /** The dispatcher asks this for every new connection; reuses a finished context first. */
  newTcpContext(id: u32): TcpContext | null {
    const free = this.recycledTcp;
    if (free.length > 0) {
      const ctx = free.pop();
      ctx.id = id;
      return ctx;
    }
    const ctx = this.createTcpContext(id);
    if (ctx !== null) ctx.recyclable = true;
    return ctx;
  }

  /** Envoy releases the plugin (config replaced, listener drained). true = delete me now. */
  onDone(): bool { return true; }

  /** Last call for this root: free what it owns. */
  onDelete(): void {}
}

/**
 * One HTTP stream (request + response). Return values are FilterHeadersStatus /
 * FilterDataStatus / FilterTrailersStatus; Continue lets the stream go on.
 */
export class HttpContext extends Context {
  /** The root context (plugin configuration) this stream belongs to. */
  readonly root: RootContext;
  /** Set by RootContext.newHttpContext for contexts the binding recycles after onDelete. */
  recyclable: bool = false;

  constructor(id: u32, root: RootContext) {
    super(id, CONTEXT_HTTP);
    this.root = root;
  }

  /** The stream started (fresh or recycled context): reset per-stream state here. No header map yet. */
  onCreate(): void {}

  /** Request headers arrived; the request header map is readable and writable. */
  onRequestHeaders(headerCount: i32, endOfStream: bool): FilterHeadersStatus { return FilterHeadersStatus.Continue; }

  /** A request body chunk (`bodySize` bytes available as BufferType.HttpRequestBody). */
  onRequestBody(bodySize: i32, endOfStream: bool): FilterDataStatus { return FilterDataStatus.Continue; }

  /** Request trailers (MapType.HttpRequestTrailers readable and writable). */
  onRequestTrailers(trailerCount: i32): FilterTrailersStatus { return FilterTrailersStatus.Continue; }

  /** Response headers (upstream's or a local reply's); the response header map is readable and writable. */
  onResponseHeaders(headerCount: i32, endOfStream: bool): FilterHeadersStatus { return FilterHeadersStatus.Continue; }

  onResponseBody(bodySize: i32, endOfStream: bool): FilterDataStatus { return FilterDataStatus.Continue; }

  onResponseTrailers(trailerCount: i32): FilterTrailersStatus { return FilterTrailersStatus.Continue; }

  /**
   * Access-log time: both header maps readable again, nothing writable; filter state written now
   * may be too late for access loggers. May come without any request callback.
   */
  onLog(): void {}

  /** The stream is finishing (after onLog in Envoy). The return value is ignored for streams. */
  onDone(): void {}

  /** Last call for this stream; a recyclable context is reused for a later stream after this. */
  onDelete(): void {}
}

/**
 * One downstream connection through a network filter. Return values are FilterStatus.
 */
export class TcpContext extends Context {
  /** The root context (plugin configuration) this connection belongs to. */
  readonly root: RootContext;
  /** Set by RootContext.newTcpContext for contexts the binding recycles after onDelete. */
  recyclable: bool = false;

  constructor(id: u32, root: RootContext) {
    super(id, CONTEXT_TCP);
    this.root = root;
  }

  /** The connection's context exists (fresh or recycled): reset per-connection state here. */
  onCreate(): void {}

  /** The connection was accepted (listener filters done). StopIteration holds later filters. */
  onNewConnection(): FilterStatus { return FilterStatus.Continue; }

  /**
   * Bytes from the downstream: `dataSize` bytes readable as BufferType.DownstreamData (the whole
   * read buffer, including bytes an earlier StopIteration left there). Continue hands them on.
   */
  onDownstreamData(dataSize: i32, endOfStream: bool): FilterStatus { return FilterStatus.Continue; }

  /** The downstream connection closed (`peerType`: PeerType, who closed it). */
  onDownstreamConnectionClose(peerType: i32): void {}

  /** The connection is finishing. */
  onDone(): void {}

  /** Last call for this connection; a recyclable context is reused for a later connection after this. */
  onDelete(): void {}
}
