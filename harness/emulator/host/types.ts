/** What every host-call family returns: host functions by import name, answering a WasmResult / WASI errno. */
export type HostFn = (...args: any[]) => number | void;
export type HostFns = Record<string, HostFn>;

/** Header names and values, property paths and details are bytes: latin1 keeps every byte. */
export const latin1 = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');
/** Log lines, metric names and reply bodies are text. */
export const utf8 = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf8');
