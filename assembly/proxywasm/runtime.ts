// Contexts and dispatch: the exports the host calls, routed to the RootContext / HttpContext
// objects a filter registers. One registry (context id → context) lives here and nowhere else.
//
// Lifecycle as Envoy drives it (proxy-wasm-cpp-host + Envoy 1.40):
// - Plugin start, per root context (per plugin configuration, per worker VM and once more in a
//   throwaway "canary" VM): on_context_create(root, 0) → on_vm_start → on_configure. A failed
//   configure (false) makes Envoy reject the whole configuration.
// - A config change with the same module creates a NEW root context in the same VM; the old one
//   gets on_done/on_delete once its listener drained. Several roots may be alive at once.
// - Per HTTP stream: on_context_create(stream, root) just before on_request_headers →
//   on_request_headers → (body/trailers) → on_response_headers → … → on_log → on_done →
//   on_delete. on_log may come without on_request_headers (an earlier filter replied).
// - Headers may be read/changed only inside their own callback; after Continue Envoy drops them.
// - After a trap the VM is dead: Envoy fails every later request on that worker (FAIL_CLOSED).
// Every export resets the scratch arena (host.ts) first: views from a previous callback are void.
import { resetScratch, scratchAlloc, getProperty, HostKey, Bytes, log } from "./host";
import { FilterHeadersStatus, FilterDataStatus, FilterTrailersStatus, LogLevel } from "./status";

/** Per plugin configuration: parses config once, creates stream contexts. Subclass it. */
export class RootContext {
  constructor(public readonly id: u32, public readonly rootId: string) {}

  /** Once per root context before configure. size: VM configuration bytes. */
  onVmStart(vmConfigurationSize: i32): bool { return true; }
  /** The plugin configuration is readable (getPluginConfiguration) only in here. false = reject. */
  onConfigure(configurationSize: i32): bool { return true; }
  onTick(): void {}
  /** Returns the stream context for a new HTTP stream, or null to let the stream pass untouched. */
  newHttpContext(id: u32): HttpContext | null { return null; }
  /** The plugin is going away. true = may be deleted now. */
  onDone(): bool { return true; }
  onDelete(): void {}
}

/** Per HTTP stream. Return values are FilterHeadersStatus / FilterDataStatus / FilterTrailersStatus. */
export class HttpContext {
  constructor(public id: u32, public readonly root: RootContext) {}

  onRequestHeaders(headerCount: i32, endOfStream: bool): i32 { return FilterHeadersStatus.Continue; }
  onRequestBody(bodySize: i32, endOfStream: bool): i32 { return FilterDataStatus.Continue; }
  onRequestTrailers(trailerCount: i32): i32 { return FilterTrailersStatus.Continue; }
  onResponseHeaders(headerCount: i32, endOfStream: bool): i32 { return FilterHeadersStatus.Continue; }
  onResponseBody(bodySize: i32, endOfStream: bool): i32 { return FilterDataStatus.Continue; }
  onResponseTrailers(trailerCount: i32): i32 { return FilterTrailersStatus.Continue; }
  /** Final hook: request and response headers are readable again, not writable. */
  onLog(): void {}
  onDone(): void {}
  /** The context is gone; a pooled context may be handed out again after this. */
  onDelete(): void {}
}

export type RootFactory = (id: u32, rootId: string) => RootContext;

// ---------------------------------------------------------------------------------------------
// Registry

const factoryNames = new Array<string>();
const factories = new Array<RootFactory>();

/** Makes `rootId` (PluginConfig.root_id) create its root contexts with `factory`. */
export function registerRootContext(rootId: string, factory: RootFactory): void {
  factoryNames.push(rootId);
  factories.push(factory);
}

const roots = new Map<u32, RootContext>();
const streams = new ContextTable();
const ROOT_ID_KEY = HostKey.path("plugin_root_id");
const view = new Bytes();

function findFactory(rootId: string): i32 {
  for (let i = 0; i < factoryNames.length; i++) if (unchecked(factoryNames[i]) == rootId) return i;
  return -1;
}

/** An open-addressing table context id → HttpContext (no per-request allocation once sized). */
class ContextTable {
  private keys: StaticArray<u32> = new StaticArray<u32>(64);
  private values: StaticArray<HttpContext | null> = new StaticArray<HttpContext | null>(64);
  private count: i32 = 0;

  get(id: u32): HttpContext | null {
    const mask = this.keys.length - 1;
    let i = <i32>(id * 0x9E3779B1) & mask;
    for (;;) {
      const k = unchecked(this.keys[i]);
      if (k == id) return unchecked(this.values[i]);
      if (k == 0) return null;
      i = (i + 1) & mask;
    }
    return null;
  }

  set(id: u32, ctx: HttpContext): void {
    if ((this.count + 1) * 2 > this.keys.length) this.grow();
    const mask = this.keys.length - 1;
    let i = <i32>(id * 0x9E3779B1) & mask;
    while (unchecked(this.keys[i]) != 0 && unchecked(this.keys[i]) != id) i = (i + 1) & mask;
    if (unchecked(this.keys[i]) == 0) this.count++;
    unchecked(this.keys[i] = id);
    unchecked(this.values[i] = ctx);
  }

  /** Removes id with backward-shift deletion (no tombstones, so lookups stay short forever). */
  remove(id: u32): HttpContext | null {
    const mask = this.keys.length - 1;
    let i = <i32>(id * 0x9E3779B1) & mask;
    for (;;) {
      const k = unchecked(this.keys[i]);
      if (k == 0) return null;
      if (k == id) break;
      i = (i + 1) & mask;
    }
    const removed = unchecked(this.values[i]);
    let j = i;
    for (;;) {
      j = (j + 1) & mask;
      const k = unchecked(this.keys[j]);
      if (k == 0) break;
      const home = <i32>(k * 0x9E3779B1) & mask;
      // Move k back into the hole at i if its home is not in (i, j] cyclically.
      if ((j > i && (home <= i || home > j)) || (j < i && home <= i && home > j)) {
        unchecked(this.keys[i] = k);
        unchecked(this.values[i] = unchecked(this.values[j]));
        i = j;
      }
    }
    unchecked(this.keys[i] = 0);
    unchecked(this.values[i] = null);
    this.count--;
    return removed;
  }

  private grow(): void {
    const oldKeys = this.keys;
    const oldValues = this.values;
    this.keys = new StaticArray<u32>(oldKeys.length * 2);
    this.values = new StaticArray<HttpContext | null>(oldKeys.length * 2);
    this.count = 0;
    for (let i = 0; i < oldKeys.length; i++) {
      const k = unchecked(oldKeys[i]);
      if (k != 0) this.set(k, unchecked(oldValues[i])!);
    }
  }
}

function rootOf(id: u32): RootContext | null {
  return roots.has(id) ? roots.get(id) : null;
}

// ---------------------------------------------------------------------------------------------
// Exports (re-exported by the module entry, assembly/index.ts)

/** The allocator the host uses to return data (cpp-host prefers `malloc`). See host.ts. */
export function malloc(size: usize): usize {
  return scratchAlloc(size);
}

export function proxy_on_context_create(id: u32, parent: u32): void {
  resetScratch();
  if (parent == 0) {
    let rootId = "";
    if (getProperty(ROOT_ID_KEY, view)) rootId = view.toString();
    const f = findFactory(rootId);
    if (f < 0) {
      // No abort: configure will fail with a clear message and Envoy rejects the config.
      log(LogLevel.Error, "meshgate: unknown root_id \"" + rootId + "\" (this module serves: " + factoryNames.join(", ") + ")");
      return;
    }
    roots.set(id, unchecked(factories[f])(id, rootId));
    return;
  }
  const root = rootOf(parent);
  if (root === null) return;
  const ctx = root.newHttpContext(id);
  if (ctx !== null) streams.set(id, ctx);
}

export function proxy_on_vm_start(id: u32, size: i32): bool {
  resetScratch();
  const root = rootOf(id);
  return root === null ? true : root.onVmStart(size);
}

export function proxy_on_configure(id: u32, size: i32): bool {
  resetScratch();
  const root = rootOf(id);
  if (root === null) {
    log(LogLevel.Error, "meshgate: configure for a root context with an unknown root_id: refusing the configuration");
    return false;
  }
  return root.onConfigure(size);
}

export function proxy_on_tick(id: u32): void {
  resetScratch();
  const root = rootOf(id);
  if (root !== null) root.onTick();
}

export function proxy_on_request_headers(id: u32, headers: i32, endOfStream: i32): i32 {
  resetScratch();
  const ctx = streams.get(id);
  return ctx === null ? FilterHeadersStatus.Continue : ctx.onRequestHeaders(headers, endOfStream != 0);
}

export function proxy_on_request_body(id: u32, size: i32, endOfStream: i32): i32 {
  resetScratch();
  const ctx = streams.get(id);
  return ctx === null ? FilterDataStatus.Continue : ctx.onRequestBody(size, endOfStream != 0);
}

export function proxy_on_request_trailers(id: u32, trailers: i32): i32 {
  resetScratch();
  const ctx = streams.get(id);
  return ctx === null ? FilterTrailersStatus.Continue : ctx.onRequestTrailers(trailers);
}

export function proxy_on_response_headers(id: u32, headers: i32, endOfStream: i32): i32 {
  resetScratch();
  const ctx = streams.get(id);
  return ctx === null ? FilterHeadersStatus.Continue : ctx.onResponseHeaders(headers, endOfStream != 0);
}

export function proxy_on_response_body(id: u32, size: i32, endOfStream: i32): i32 {
  resetScratch();
  const ctx = streams.get(id);
  return ctx === null ? FilterDataStatus.Continue : ctx.onResponseBody(size, endOfStream != 0);
}

export function proxy_on_response_trailers(id: u32, trailers: i32): i32 {
  resetScratch();
  const ctx = streams.get(id);
  return ctx === null ? FilterTrailersStatus.Continue : ctx.onResponseTrailers(trailers);
}

export function proxy_on_log(id: u32): void {
  resetScratch();
  const ctx = streams.get(id);
  if (ctx !== null) ctx.onLog();
}

export function proxy_on_done(id: u32): bool {
  resetScratch();
  const ctx = streams.get(id);
  if (ctx !== null) {
    ctx.onDone();
    return true;
  }
  const root = rootOf(id);
  return root === null ? true : root.onDone();
}

export function proxy_on_delete(id: u32): void {
  resetScratch();
  const ctx = streams.remove(id);
  if (ctx !== null) {
    ctx.onDelete();
    return;
  }
  const root = rootOf(id);
  if (root !== null) {
    root.onDelete();
    roots.delete(id);
  }
}
