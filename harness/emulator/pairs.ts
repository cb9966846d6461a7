/**
 * The Proxy-Wasm map serialization (header pairs, local-reply headers): u32 LE count N, N × (u32
 * key length, u32 value length), then each key and value followed by one NUL. The parser is as
 * strict as proxy-wasm-cpp-host's: any violation (missing NUL, trailing bytes, more than 1024
 * pairs) yields an empty list, exactly like the real host (which does not report an error).
 */
export type Pairs = [string, string][];

const MAX_PAIRS = 1024;

export function serializePairs(pairs: Pairs): Buffer {
  if (pairs.length === 0) return Buffer.alloc(0);
  const encoded = pairs.map(([k, v]) => [Buffer.from(k, 'latin1'), Buffer.from(v, 'latin1')]);
  const size = 4 + 8 * pairs.length + encoded.reduce((n, [k, v]) => n + k.length + v.length + 2, 0);
  const out = Buffer.alloc(size);
  out.writeUInt32LE(pairs.length, 0);
  let off = 4;
  for (const [k, v] of encoded) {
    out.writeUInt32LE(k.length, off);
    out.writeUInt32LE(v.length, off + 4);
    off += 8;
  }
  for (const [k, v] of encoded) {
    k.copy(out, off);
    off += k.length + 1;
    v.copy(out, off);
    off += v.length + 1;
  }
  return out;
}

export function parsePairs(buf: Uint8Array): Pairs {
  if (buf.length === 0) return [];
  if (buf.length < 4) return [];
  const view = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const n = view.readUInt32LE(0);
  if (n > MAX_PAIRS || 4 + 8 * n > view.length) return [];
  const lens: [number, number][] = [];
  for (let i = 0; i < n; i++) lens.push([view.readUInt32LE(4 + 8 * i), view.readUInt32LE(8 + 8 * i)]);
  let off = 4 + 8 * n;
  const out: Pairs = [];
  for (const [kl, vl] of lens) {
    if (off + kl + 1 + vl + 1 > view.length) return [];
    const k = view.subarray(off, off + kl).toString('latin1');
    if (view[off + kl] !== 0) return [];
    off += kl + 1;
    const v = view.subarray(off, off + vl).toString('latin1');
    if (view[off + vl] !== 0) return [];
    off += vl + 1;
    out.push([k, v]);
  }
  return off === view.length ? out : [];
}
