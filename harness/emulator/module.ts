/**
 * Reads the shape of a .wasm binary — imports and exports with their function signatures —
 * because proxy-wasm-cpp-host checks those before running anything, and Node's WebAssembly API
 * does not expose signatures. Only the type, import, function and export sections are decoded.
 */
export type ValType = 'i32' | 'i64' | 'f32' | 'f64' | 'v128' | 'funcref' | 'externref';

export interface Signature {
  params: ValType[];
  results: ValType[];
}

export type ExternKind = 'function' | 'table' | 'memory' | 'global';

export interface ModuleImport {
  module: string;
  name: string;
  kind: ExternKind;
  /** For functions. */
  sig?: Signature;
}

export interface ModuleExport {
  name: string;
  kind: ExternKind;
  /** For functions. */
  sig?: Signature;
}

export interface ModuleShape {
  imports: ModuleImport[];
  exports: ModuleExport[];
}

const VALTYPES: Record<number, ValType> = { 0x7f: 'i32', 0x7e: 'i64', 0x7d: 'f32', 0x7c: 'f64', 0x7b: 'v128', 0x70: 'funcref', 0x6f: 'externref' };
const KINDS: ExternKind[] = ['function', 'table', 'memory', 'global'];

export function sigText(s: Signature): string {
  return `(${s.params.join(',')})->(${s.results.join(',')})`;
}

export class ModuleFormatError extends Error {}

export function readModuleShape(bytes: Uint8Array): ModuleShape {
  if (bytes.length < 8 || bytes[0] !== 0x00 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d) {
    throw new ModuleFormatError('not a WebAssembly module (bad magic)');
  }
  let off = 8;
  const byte = (): number => {
    if (off >= bytes.length) throw new ModuleFormatError('truncated module');
    return bytes[off++];
  };
  const u32 = (): number => {
    let result = 0;
    let shift = 0;
    for (;;) {
      const b = byte();
      result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return result;
      shift += 7;
      if (shift > 35) throw new ModuleFormatError('bad LEB128');
    }
  };
  const name = (): string => {
    const n = u32();
    if (off + n > bytes.length) throw new ModuleFormatError('truncated name');
    const s = Buffer.from(bytes.subarray(off, off + n)).toString('utf8');
    off += n;
    return s;
  };
  const valtype = (): ValType => {
    const b = byte();
    const t = VALTYPES[b];
    if (!t) throw new ModuleFormatError(`unknown value type 0x${b.toString(16)}`);
    return t;
  };
  const limits = (): void => {
    const flags = byte();
    u32();
    if (flags & 1) u32();
  };

  const types: Signature[] = [];
  const functionTypes: number[] = []; // the function index space: imported functions first
  const shape: ModuleShape = { imports: [], exports: [] };
  const exports: { name: string; kind: ExternKind; index: number }[] = [];
  while (off < bytes.length) {
    const id = byte();
    const size = u32();
    const end = off + size;
    if (end > bytes.length) throw new ModuleFormatError(`section ${id} runs past the end`);
    if (id === 1) {
      for (let i = 0, n = u32(); i < n; i++) {
        if (byte() !== 0x60) throw new ModuleFormatError('type section: not a function type');
        const params = Array.from({ length: u32() }, valtype);
        const results = Array.from({ length: u32() }, valtype);
        types.push({ params, results });
      }
    } else if (id === 2) {
      for (let i = 0, n = u32(); i < n; i++) {
        const module = name();
        const field = name();
        const kind = KINDS[byte()];
        if (kind === 'function') {
          const t = u32();
          functionTypes.push(t);
          shape.imports.push({ module, name: field, kind, sig: types[t] });
        } else {
          if (kind === 'table') {
            byte();
            limits();
          } else if (kind === 'memory') limits();
          else if (kind === 'global') off += 2;
          else throw new ModuleFormatError('unknown import kind');
          shape.imports.push({ module, name: field, kind });
        }
      }
    } else if (id === 3) {
      for (let i = 0, n = u32(); i < n; i++) functionTypes.push(u32());
    } else if (id === 7) {
      for (let i = 0, n = u32(); i < n; i++) {
        const exportName = name();
        const kind = KINDS[byte()];
        if (!kind) throw new ModuleFormatError('unknown export kind');
        exports.push({ name: exportName, kind, index: u32() });
      }
    }
    off = end;
  }
  for (const e of exports) {
    shape.exports.push(e.kind === 'function' ? { name: e.name, kind: e.kind, sig: types[functionTypes[e.index]] } : { name: e.name, kind: e.kind });
  }
  return shape;
}
