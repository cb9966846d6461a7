/**
 * Reads just enough of a .wasm binary to check it the way proxy-wasm-cpp-host does before running
 * anything: every import must be a host function we provide, with the exact signature; every
 * export the host looks up must have the exact expected signature; the ABI marker and an
 * allocator must be there. (Node's WebAssembly API does not expose signatures, hence this.)
 */
export type ValType = 'i32' | 'i64' | 'f32' | 'f64';
export interface Signature {
  params: ValType[];
  results: ValType[];
}
export interface ModuleShape {
  imports: { module: string; name: string; kind: 'function' | 'other'; sig?: Signature }[];
  exports: { name: string; kind: 'function' | 'memory' | 'other'; sig?: Signature }[];
}

const VALTYPES: Record<number, ValType> = { 0x7f: 'i32', 0x7e: 'i64', 0x7d: 'f32', 0x7c: 'f64' };

export function sigText(s: Signature): string {
  return `(${s.params.join(',')})->(${s.results.join(',')})`;
}

export function readModuleShape(bytes: Uint8Array): ModuleShape {
  let off = 8;
  const u32 = (): number => {
    let result = 0;
    let shift = 0;
    for (;;) {
      const b = bytes[off++];
      result |= (b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result >>> 0;
      shift += 7;
    }
  };
  const name = (): string => {
    const n = u32();
    const s = Buffer.from(bytes.subarray(off, off + n)).toString('utf8');
    off += n;
    return s;
  };
  if (bytes.length < 8 || bytes[0] !== 0 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d) {
    throw new Error('not a WebAssembly module (bad magic)');
  }
  const types: Signature[] = [];
  const funcTypes: number[] = []; // function index space: imported functions first
  const shape: ModuleShape = { imports: [], exports: [] };
  const rawExports: { name: string; kind: number; index: number }[] = [];
  while (off < bytes.length) {
    const id = bytes[off++];
    const size = u32();
    const end = off + size;
    if (id === 1) {
      const n = u32();
      for (let i = 0; i < n; i++) {
        off++; // 0x60
        const params = Array.from({ length: u32() }, () => VALTYPES[bytes[off++]]);
        const results = Array.from({ length: u32() }, () => VALTYPES[bytes[off++]]);
        types.push({ params, results });
      }
    } else if (id === 2) {
      const n = u32();
      for (let i = 0; i < n; i++) {
        const module = name();
        const field = name();
        const kind = bytes[off++];
        if (kind === 0) {
          const t = u32();
          funcTypes.push(t);
          shape.imports.push({ module, name: field, kind: 'function', sig: types[t] });
        } else {
          shape.imports.push({ module, name: field, kind: 'other' });
          // table: reftype + limits; memory: limits; global: valtype + mut
          if (kind === 1) off++;
          if (kind === 1 || kind === 2) {
            const flags = bytes[off++];
            u32();
            if (flags & 1) u32();
          } else if (kind === 3) off += 2;
        }
      }
    } else if (id === 3) {
      const n = u32();
      for (let i = 0; i < n; i++) funcTypes.push(u32());
    } else if (id === 7) {
      const n = u32();
      for (let i = 0; i < n; i++) rawExports.push({ name: name(), kind: bytes[off++], index: u32() });
    }
    off = end;
  }
  for (const e of rawExports) {
    if (e.kind === 0) shape.exports.push({ name: e.name, kind: 'function', sig: types[funcTypes[e.index]] });
    else shape.exports.push({ name: e.name, kind: e.kind === 2 ? 'memory' : 'other' });
  }
  return shape;
}
