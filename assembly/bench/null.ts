// build/bench-null.wasm (`asc assembly/bench/null.ts --target null`): the VM floor of `npm run bench`.
//
// A proxy-wasm module that exports only what an HTTP filter needs and does nothing: every stream
// gets on_context_create and on_request_headers (Envoy skips callbacks a module does not export),
// and the request continues. No context registry, no host call. Any root_id works. Measured
// against `none` (no filter), it is what any proxy-wasm filter costs before it reads a single
// value: the filter chain entry, the stream context, two calls into V8.
//
// Imports: env.proxy_log only (from the abort handler, wired in asconfig.json with --use).
// Exports: proxy_abi_version_0_2_1, malloc, proxy_on_context_create, proxy_on_vm_start,
// proxy_on_configure, proxy_on_request_headers (+ memory and _initialize from the compiler).
import "../proxywasm/abort";

/** The ABI version marker Envoy looks for. Never called. */
export function proxy_abi_version_0_2_1(): void {}

/** Envoy requires an allocator export; this module never asks the host for data. */
export function malloc(size: usize): usize {
  return heap.alloc(size);
}

export function proxy_on_context_create(contextId: u32, parentId: u32): void {}

export function proxy_on_vm_start(rootId: u32, vmConfigurationSize: u32): bool {
  return true;
}

export function proxy_on_configure(rootId: u32, configurationSize: u32): bool {
  return true;
}

/** FilterHeadersStatus.Continue. */
export function proxy_on_request_headers(contextId: u32, headerCount: u32, endOfStream: u32): i32 {
  return 0;
}
