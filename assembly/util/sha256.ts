// SHA-256 (FIPS 180-4) over a byte view: the policy digest is the lowercase hex sha256 of the
// exact plugin configuration bytes (docs/internals.md §1). Config time only; allocates the result.
//
//   sha256(ptr, len, out)        // writes 32 bytes at out
//   sha256Hex(ptr, len): string  // 64 lowercase hex digits

const K: StaticArray<u32> = [
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
];

// @ts-ignore: decorator
@inline
function be32(p: usize): u32 { return bswap<u32>(load<u32>(p)); }

function compress(state: usize, block: usize, w: usize): void {
  for (let i = 0; i < 16; i++) store<u32>(w + (<usize>i << 2), be32(block + (<usize>i << 2)));
  for (let i = 16; i < 64; i++) {
    const w15 = load<u32>(w + (<usize>(i - 15) << 2));
    const w2 = load<u32>(w + (<usize>(i - 2) << 2));
    const s0 = rotr<u32>(w15, 7) ^ rotr<u32>(w15, 18) ^ (w15 >> 3);
    const s1 = rotr<u32>(w2, 17) ^ rotr<u32>(w2, 19) ^ (w2 >> 10);
    store<u32>(w + (<usize>i << 2), load<u32>(w + (<usize>(i - 16) << 2)) + s0 + load<u32>(w + (<usize>(i - 7) << 2)) + s1);
  }
  let a = load<u32>(state), b = load<u32>(state, 4), c = load<u32>(state, 8), d = load<u32>(state, 12);
  let e = load<u32>(state, 16), f = load<u32>(state, 20), g = load<u32>(state, 24), h = load<u32>(state, 28);
  for (let i = 0; i < 64; i++) {
    const S1 = rotr<u32>(e, 6) ^ rotr<u32>(e, 11) ^ rotr<u32>(e, 25);
    const ch = (e & f) ^ (~e & g);
    const t1 = h + S1 + ch + unchecked(K[i]) + load<u32>(w + (<usize>i << 2));
    const S0 = rotr<u32>(a, 2) ^ rotr<u32>(a, 13) ^ rotr<u32>(a, 22);
    const maj = (a & b) ^ (a & c) ^ (b & c);
    const t2 = S0 + maj;
    h = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
  }
  store<u32>(state, load<u32>(state) + a);
  store<u32>(state, load<u32>(state, 4) + b, 4);
  store<u32>(state, load<u32>(state, 8) + c, 8);
  store<u32>(state, load<u32>(state, 12) + d, 12);
  store<u32>(state, load<u32>(state, 16) + e, 16);
  store<u32>(state, load<u32>(state, 20) + f, 20);
  store<u32>(state, load<u32>(state, 24) + g, 24);
  store<u32>(state, load<u32>(state, 28) + h, 28);
}

/** Writes the 32-byte SHA-256 digest of [ptr, ptr+len) to `out`. */
export function sha256(ptr: usize, len: i32, out: usize): void {
  const scratch = heap.alloc(32 + 256 + 128); // state | schedule | final blocks
  const state = scratch;
  const w = scratch + 32;
  const tail = scratch + 32 + 256;
  store<u32>(state, 0x6a09e667); store<u32>(state, 0xbb67ae85, 4);
  store<u32>(state, 0x3c6ef372, 8); store<u32>(state, 0xa54ff53a, 12);
  store<u32>(state, 0x510e527f, 16); store<u32>(state, 0x9b05688c, 20);
  store<u32>(state, 0x1f83d9ab, 24); store<u32>(state, 0x5be0cd19, 28);
  const full = len & ~63;
  for (let off = 0; off < full; off += 64) compress(state, ptr + <usize>off, w);
  const rem = len - full;
  memory.fill(tail, 0, 128);
  memory.copy(tail, ptr + <usize>full, <usize>rem);
  store<u8>(tail + <usize>rem, 0x80);
  const blocks = rem + 9 > 64 ? 2 : 1;
  const bits: u64 = <u64>len << 3;
  store<u64>(tail + <usize>(blocks * 64 - 8), bswap<u64>(bits));
  compress(state, tail, w);
  if (blocks == 2) compress(state, tail + 64, w);
  for (let i = 0; i < 8; i++) store<u32>(out + (<usize>i << 2), bswap<u32>(load<u32>(state + (<usize>i << 2))));
  heap.free(scratch);
}

const HEX = "0123456789abcdef";

/** Lowercase hex of `n` bytes at p. */
export function toHex(p: usize, n: i32): string {
  const parts = new Array<string>(n);
  for (let i = 0; i < n; i++) {
    const b = <i32>load<u8>(p + <usize>i);
    parts[i] = HEX.charAt(b >> 4) + HEX.charAt(b & 15);
  }
  return parts.join("");
}

/** Lowercase hex sha256 of [ptr, ptr+len). */
export function sha256Hex(ptr: usize, len: i32): string {
  const out = heap.alloc(32);
  sha256(ptr, len, out);
  const s = toHex(out, 32);
  heap.free(out);
  return s;
}
