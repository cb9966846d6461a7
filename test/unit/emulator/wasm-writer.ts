/**
 * A minimal WebAssembly binary writer: enough to produce modules that are valid Wasm but break
 * one rule of the proxy-wasm host (a missing import, a wrong export signature, no ABI marker...).
 */
export type WasmType = 'i32' | 'i64';

export interface FuncSpec {
  /** Export name (unexported when absent). */
  export?: string;
  params?: WasmType[];
  results?: WasmType[];
  /** Raw instruction bytes (without locals and the final `end`); default: return zeros. */
  body?: number[];
}

export interface ImportSpec {
  module: string;
  name: string;
  params?: WasmType[];
  results?: WasmType[];
}

export interface ModuleSpec {
  imports?: ImportSpec[];
  funcs: FuncSpec[];
  /** Export a one-page memory as "memory" (default true). */
  memory?: boolean;
  /** Import the memory as env.memory instead. */
  importMemory?: boolean;
}

const TYPE_CODE: Record<WasmType, number> = { i32: 0x7f, i64: 0x7e };

function leb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

const str = (s: string): number[] => [...leb(Buffer.byteLength(s)), ...Buffer.from(s)];
const vec = (items: number[][]): number[] => [...leb(items.length), ...items.flat()];
const section = (id: number, content: number[]): number[] => [id, ...leb(content.length), ...content];
const functype = (params: WasmType[] = [], results: WasmType[] = []): number[] => [0x60, ...vec(params.map((t) => [TYPE_CODE[t]])), ...vec(results.map((t) => [TYPE_CODE[t]]))];

/** `call <index>` of the function index space (imports first). */
export const call = (index: number): number[] => [0x10, ...leb(index)];
/** Signed LEB128 (the immediate of i32.const). */
function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

export const i32Const = (v: number): number[] => [0x41, ...sleb(v)];
export const DROP = [0x1a];
export const UNREACHABLE = [0x00];

export function buildModule(spec: ModuleSpec): Uint8Array {
  const imports = spec.imports ?? [];
  const types = [...imports.map((i) => functype(i.params, i.results)), ...spec.funcs.map((f) => functype(f.params, f.results))];
  const importEntries = imports.map((imp, i) => [...str(imp.module), ...str(imp.name), 0x00, ...leb(i)]);
  if (spec.importMemory) importEntries.push([...str('env'), ...str('memory'), 0x02, 0x00, 0x01]);
  const funcIndexBase = imports.length;
  const exports: number[][] = [];
  spec.funcs.forEach((f, i) => {
    if (f.export) exports.push([...str(f.export), 0x00, ...leb(funcIndexBase + i)]);
  });
  const withMemory = spec.memory !== false && !spec.importMemory;
  if (withMemory) exports.push([...str('memory'), 0x02, 0x00]);
  const bodies = spec.funcs.map((f) => {
    const code = f.body ?? (f.results ?? []).flatMap((t) => (t === 'i32' ? [0x41, 0x00] : [0x42, 0x00]));
    const body = [0x00 /* no locals */, ...code, 0x0b];
    return [...leb(body.length), ...body];
  });
  const bytes = [
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec(types)),
    ...(importEntries.length ? section(2, vec(importEntries)) : []),
    ...section(3, vec(spec.funcs.map((_, i) => leb(imports.length + i)))),
    ...(withMemory ? section(5, vec([[0x00, 0x01]])) : []),
    ...section(7, vec(exports)),
    ...section(10, vec(bodies)),
  ];
  return Uint8Array.from(bytes);
}

/** The smallest module the host accepts: ABI marker, allocator, memory, plus `extra` functions. */
export function minimalModule(extra: FuncSpec[] = [], imports: ImportSpec[] = []): Uint8Array {
  return buildModule({
    imports,
    funcs: [{ export: 'proxy_abi_version_0_2_1' }, { export: 'malloc', params: ['i32'], results: ['i32'], body: i32Const(1024) }, ...extra],
  });
}
