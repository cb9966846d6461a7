/**
 * The Proxy-Wasm map serialization (header pairs, local-reply headers, map properties):
 * u32 LE count N; N × (u32 key length, u32 value length); then for each pair the key bytes and
 * one 0x00, the value bytes and one 0x00. Lengths exclude the NUL.
 *
 * The parser is exactly as strict as proxy-wasm-cpp-host's `toPairs`: a missing NUL, trailing
 * bytes, a length running past the end, more than 1024 pairs or more than 1 MiB yield an EMPTY
 * list — silently, like the real host, which reports no error. Header names and values are
 * bytes; strings here are latin1 so every byte survives a round trip.
 */
export type Pairs = [string, string][];

export const MAX_PAIRS = 1024;
export const MAX_PAIRS_BYTES = 1024 * 1024;

/** Serializes pairs; an empty list serializes to zero bytes (what the host hands out). */
export function serializePairs(pairs: Pairs): Buffer {
  if (pairs.length === 0) return Buffer.alloc(0);
  const encoded = pairs.map(([k, v]) => [Buffer.from(k, 'latin1'), Buffer.from(v, 'latin1')] as const);
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

/** Parses serialized pairs the way cpp-host does: any violation gives []. */
export function parsePairs(bytes: Uint8Array): Pairs {
  if (bytes.length < 4 || bytes.length > MAX_PAIRS_BYTES) return [];
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = buf.readUInt32LE(0);
  if (n > MAX_PAIRS || 4 + 8 * n > buf.length) return [];
  let off = 4 + 8 * n;
  const out: Pairs = [];
  for (let i = 0; i < n; i++) {
    const kl = buf.readUInt32LE(4 + 8 * i);
    const vl = buf.readUInt32LE(8 + 8 * i);
    if (off + kl + 1 + vl + 1 > buf.length) return [];
    if (buf[off + kl] !== 0 || buf[off + kl + 1 + vl] !== 0) return [];
    out.push([buf.toString('latin1', off, off + kl), buf.toString('latin1', off + kl + 1, off + kl + 1 + vl)]);
    off += kl + 1 + vl + 1;
  }
  return off === buf.length ? out : [];
}
