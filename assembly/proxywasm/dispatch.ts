// Layer 3b of the binding: the exports the host calls, routed to the contexts of context.ts.
// Holds the only registries of the module: root_id → factory, and context id → context.
//
// Every export first resets the scratch arena (scratch.ts): views from an earlier callback are
// void, and nothing the host allocated can outlive a callback. Garbage is collected at the end of
// the configure-time exports and of a tick, never during a request (collect.ts).
//
// Tolerant by design, because Envoy's order is not the spec's: a callback for an unknown context
// id does nothing (Continue); onLog may come before onDone/onDelete or without any request
// callback; onDelete for an id already deleted is ignored. The module entry re-exports only the
// callbacks its filters need: Envoy skips callbacks a module does not export.
import { Context, RootContext, HttpContext, TcpContext, CONTEXT_ROOT, CONTEXT_HTTP, CONTEXT_TCP } from "./context";
import { FilterDataStatus, FilterHeadersStatus, FilterStatus, FilterTrailersStatus, LogLevel } from "./enums";
import { getProperty, log } from "./hostcalls";
import { resetScratch, scratchAlloc } from "./scratch";
import { collectNow, collectOnTick } from "./collect";
import { Bytes, HostKey } from "./views";

/** Creates the root context for a plugin whose PluginConfig.root_id is `rootId`. */
export type RootFactory = (id: u32, rootId: string) => RootContext;

// ---------------------------------------------------------------------------------------------
// root_id → factory

const factoryIds = new Array<string>();
const factories = new Array<RootFactory>();

/**
 * Makes PluginConfig.root_id `rootId` create its root contexts with `factory`. Call it from the
 * module's top-level code (runs in `_initialize`). Registering a root_id twice replaces the factory.
 */
export function registerRootContext(rootId: string, factory: RootFactory): void {
  for (let i = 0; i < factoryIds.length; i++) {
    if (unchecked(factoryIds[i]) == rootId) {
      unchecked(factories[i] = factory);
      return;
    }
  }
  factoryIds.push(rootId);
  factories.push(factory);
}

function findFactory(rootId: string): i32 {
  for (let i = 0; i < factoryIds.length; i++) if (unchecked(factoryIds[i]) == rootId) return i;
  return -1;
}

// ---------------------------------------------------------------------------------------------
// context id → context: open addressing with linear probing and backward-shift deletion (no
// tombstones, so probe lengths do not creep up over millions of streams). Sized for the live
// contexts only, so it stops growing once the concurrency peak has been seen. Id 0 marks an
// empty slot (the host never gives a context id 0).

class ContextTable {
  private ids: StaticArray<u32> = new StaticArray<u32>(64);
  private contexts: StaticArray<Context | null> = new StaticArray<Context | null>(64);
  private live: i32 = 0;

  @inline private home(id: u32, mask: i32): i32 {
    return <i32>(id * 0x9E3779B1) & mask; // odd multiplier: sequential ids spread over the table
  }

  get(id: u32): Context | null {
    const mask = this.ids.length - 1;
    let i = this.home(id, mask);
    for (;;) {
      const k = unchecked(this.ids[i]);
      if (k == id) return unchecked(this.contexts[i]);
      if (k == 0) return null;
      i = (i + 1) & mask;
    }
    return null; // not reached: the table always has an empty slot
  }

  set(id: u32, ctx: Context): void {
    if ((this.live + 1) * 2 > this.ids.length) this.grow();
    const mask = this.ids.length - 1;
    let i = this.home(id, mask);
    for (;;) {
      const k = unchecked(this.ids[i]);
      if (k == id) break;
      if (k == 0) {
        this.live++;
        break;
      }
      i = (i + 1) & mask;
    }
    unchecked(this.ids[i] = id);
    unchecked(this.contexts[i] = ctx);
  }

  remove(id: u32): Context | null {
    const mask = this.ids.length - 1;
    let hole = this.home(id, mask);
    for (;;) {
      const k = unchecked(this.ids[hole]);
      if (k == 0) return null;
      if (k == id) break;
      hole = (hole + 1) & mask;
    }
    const removed = unchecked(this.contexts[hole]);
    // Shift later members of the probe run back into the hole when their home allows it.
    let j = hole;
    for (;;) {
      j = (j + 1) & mask;
      const k = unchecked(this.ids[j]);
      if (k == 0) break;
      const h = this.home(k, mask);
      const movable = hole <= j ? (h <= hole || h > j) : (h <= hole && h > j);
      if (movable) {
        unchecked(this.ids[hole] = k);
        unchecked(this.contexts[hole] = unchecked(this.contexts[j]));
        hole = j;
      }
    }
    unchecked(this.ids[hole] = 0);
    unchecked(this.contexts[hole] = null);
    this.live--;
    return removed;
  }

  private grow(): void {
    const oldIds = this.ids;
    const oldContexts = this.contexts;
    const size = oldIds.length << 1;
    this.ids = new StaticArray<u32>(size);
    this.contexts = new StaticArray<Context | null>(size);
    this.live = 0;
    for (let i = 0; i < oldIds.length; i++) {
      const k = unchecked(oldIds[i]);
      if (k != 0) this.set(k, unchecked(oldContexts[i])!);
    }
  }
}

const contexts = new ContextTable();

/** What proxy_on_request_headers does for a stream without a context (see onUnknownStream). */
let unknownStream: ((id: u32) => FilterHeadersStatus) | null = null;

/**
 * Decides the request headers of a stream that has no context — its root is unknown, or refused
 * to create one. Without a handler such a stream continues (the binding's tolerance); a policy
 * filter must not let it through silently, so it registers a handler that refuses it.
 */
export function onUnknownStream(handler: (id: u32) => FilterHeadersStatus): void {
  unknownStream = handler;
}
/** What proxy_on_new_connection does for a connection without a context (see onUnknownConnection). */
let unknownConnection: ((id: u32) => FilterStatus) | null = null;

/**
 * Decides a new network connection that has no context (unknown root, or one that refused to
 * create it). Without a handler it continues; a policy filter registers one that closes it.
 */
export function onUnknownConnection(handler: (id: u32) => FilterStatus): void {
  unknownConnection = handler;
}

const ROOT_ID_PROPERTY = HostKey.path("plugin_root_id");
const rootIdView = new Bytes();

function rootContext(id: u32): RootContext | null {
  const ctx = contexts.get(id);
  if (ctx === null || ctx.kind != CONTEXT_ROOT) return null;
  return changetype<RootContext>(ctx);
}

function httpContext(id: u32): HttpContext | null {
  const ctx = contexts.get(id);
  if (ctx === null || ctx.kind != CONTEXT_HTTP) return null;
  return changetype<HttpContext>(ctx);
}

function tcpContext(id: u32): TcpContext | null {
  const ctx = contexts.get(id);
  if (ctx === null || ctx.kind != CONTEXT_TCP) return null;
  return changetype<TcpContext>(ctx);
}

function createRoot(id: u32): void {
  let rootId = "";
  if (getProperty(ROOT_ID_PROPERTY, rootIdView)) rootId = rootIdView.toString();
  const f = findFactory(rootId);
  if (f < 0) {
    // Not an abort: onConfigure fails for this id with a clear message, Envoy rejects the config,
    // and the other roots of this VM keep working.
    log(LogLevel.Error, "proxy_on_context_create: no root context is registered for root_id \"" + rootId +
      "\" (this module serves: " + factoryIds.join(", ") + ")");
    return;
  }
  const root = unchecked(factories[f])(id, rootId);
  root.id = id;
  contexts.set(id, root);
}

// ---------------------------------------------------------------------------------------------
// Exports. Signatures are the ABI's (proxy-wasm-cpp-host checks them at load).

/** The allocator the host uses to return data; cpp-host prefers `malloc` over proxy_on_memory_allocate. */
export function malloc(size: usize): usize {
  return scratchAlloc(size);
}

/** parent 0: a plugin (root context) starts; else an HTTP stream or a network connection of root
 *  `parent` starts (which one: the root's streamKind). */
export function proxy_on_context_create(id: u32, parent: u32): void {
  resetScratch();
  if (parent == 0) {
    createRoot(id);
    collectNow();
    return;
  }
  const root = rootContext(parent);
  if (root === null) return;
  if (root.streamKind == CONTEXT_TCP) {
    const conn = root.newTcpContext(id);
    if (conn === null) return;
    conn.id = id;
    contexts.set(id, conn);
    conn.onCreate();
    return;
  }
  const ctx = root.newHttpContext(id);
  if (ctx === null) return;
  ctx.id = id;
  contexts.set(id, ctx);
  ctx.onCreate();
}

export function proxy_on_vm_start(id: u32, vmConfigurationSize: u32): bool {
  resetScratch();
  const root = rootContext(id);
  // An unknown root_id was logged at creation; configure refuses it.
  return root === null ? true : root.onVmStart(<i32>vmConfigurationSize);
}

export function proxy_on_configure(id: u32, pluginConfigurationSize: u32): bool {
  resetScratch();
  const root = rootContext(id);
  if (root === null) {
    log(LogLevel.Error, "proxy_on_configure: context " + id.toString() + " has no root context (unknown root_id): configuration refused");
    return false;
  }
  const ok = root.onConfigure(<i32>pluginConfigurationSize);
  collectNow(); // the parse's temporaries, a replaced policy
  return ok;
}

export function proxy_on_tick(id: u32): void {
  resetScratch();
  const root = rootContext(id);
  if (root !== null) root.onTick();
  collectOnTick();
}

export function proxy_on_request_headers(id: u32, headerCount: u32, endOfStream: u32): FilterHeadersStatus {
  resetScratch();
  const ctx = httpContext(id);
  if (ctx !== null) return ctx.onRequestHeaders(<i32>headerCount, endOfStream != 0);
  const handler = unknownStream;
  return handler === null ? FilterHeadersStatus.Continue : handler(id);
}

export function proxy_on_request_body(id: u32, bodySize: u32, endOfStream: u32): FilterDataStatus {
  resetScratch();
  const ctx = httpContext(id);
  return ctx === null ? FilterDataStatus.Continue : ctx.onRequestBody(<i32>bodySize, endOfStream != 0);
}

export function proxy_on_request_trailers(id: u32, trailerCount: u32): FilterTrailersStatus {
  resetScratch();
  const ctx = httpContext(id);
  return ctx === null ? FilterTrailersStatus.Continue : ctx.onRequestTrailers(<i32>trailerCount);
}

export function proxy_on_response_headers(id: u32, headerCount: u32, endOfStream: u32): FilterHeadersStatus {
  resetScratch();
  const ctx = httpContext(id);
  return ctx === null ? FilterHeadersStatus.Continue : ctx.onResponseHeaders(<i32>headerCount, endOfStream != 0);
}

export function proxy_on_response_body(id: u32, bodySize: u32, endOfStream: u32): FilterDataStatus {
  resetScratch();
  const ctx = httpContext(id);
  return ctx === null ? FilterDataStatus.Continue : ctx.onResponseBody(<i32>bodySize, endOfStream != 0);
}

export function proxy_on_response_trailers(id: u32, trailerCount: u32): FilterTrailersStatus {
  resetScratch();
  const ctx = httpContext(id);
  return ctx === null ? FilterTrailersStatus.Continue : ctx.onResponseTrailers(<i32>trailerCount);
}

export function proxy_on_new_connection(id: u32): FilterStatus {
  resetScratch();
  const ctx = tcpContext(id);
  if (ctx !== null) return ctx.onNewConnection();
  const handler = unknownConnection;
  return handler === null ? FilterStatus.Continue : handler(id);
}

export function proxy_on_downstream_data(id: u32, dataSize: u32, endOfStream: u32): FilterStatus {
  resetScratch();
  const ctx = tcpContext(id);
  return ctx === null ? FilterStatus.Continue : ctx.onDownstreamData(<i32>dataSize, endOfStream != 0);
}

export function proxy_on_downstream_connection_close(id: u32, peerType: u32): void {
  resetScratch();
  const ctx = tcpContext(id);
  if (ctx !== null) ctx.onDownstreamConnectionClose(<i32>peerType);
}

export function proxy_on_log(id: u32): void {
  resetScratch();
  const ctx = httpContext(id);
  if (ctx !== null) ctx.onLog();
}

/** Streams: always done (Envoy ignores the value). Roots: false defers deletion until proxy_done. */
export function proxy_on_done(id: u32): bool {
  resetScratch();
  const ctx = contexts.get(id);
  if (ctx === null) return true;
  if (ctx.kind == CONTEXT_HTTP) {
    changetype<HttpContext>(ctx).onDone();
    return true;
  }
  if (ctx.kind == CONTEXT_TCP) {
    changetype<TcpContext>(ctx).onDone();
    return true;
  }
  return changetype<RootContext>(ctx).onDone();
}

export function proxy_on_delete(id: u32): void {
  resetScratch();
  const ctx = contexts.remove(id);
  if (ctx === null) return;
  if (ctx.kind == CONTEXT_HTTP) {
    const stream = changetype<HttpContext>(ctx);
    stream.onDelete();
    if (stream.recyclable) stream.root.recycled.push(stream);
    return;
  }
  if (ctx.kind == CONTEXT_TCP) {
    const conn = changetype<TcpContext>(ctx);
    conn.onDelete();
    if (conn.recyclable) conn.root.recycledTcp.push(conn);
    return;
  }
  changetype<RootContext>(ctx).onDelete();
  collectNow(); // the root and its policy
}
