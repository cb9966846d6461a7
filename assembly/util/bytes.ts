// Byte helpers for the pure layers (spiffe/, policy/). Everything here works on raw UTF-8 bytes
// given as (ptr, len) views into linear memory and allocates nothing.
//
// Hash: `hash64(ptr, len)` is a word-at-a-time 64-bit hash (8-byte little-endian words, two
// multiplies per word, murmur3 fmix64 finaliser over the length). It is NOT keyed: rule tables are
// built from the operator's policy and looked up with request bytes, and an attacker who can
// choose request bytes gains nothing from collisions beyond extra `memory.compare`s on a probe
// chain whose length is bounded by the table's load factor (≤ 1/2) for the policy's own keys.
// `hash64Fold` hashes the ASCII-lower-cased bytes (SWAR lower-casing, non-ASCII unchanged), so
// `hash64Fold("/ADMIN") == hash64("/admin")`.
// `hashPrefixes` yields, in one pass, the hash of every prefix that ends at a separator byte —
// the lookups behind segment-prefix matchers (`/a/*`, `spiffe://td/ns/*`).

const K1: u64 = 0x9E3779B97F4A7C15;
const K2: u64 = 0xC2B2AE3D27D4EB4F;
const SEED: u64 = 0x243F6A8885A308D3;

// @ts-ignore: decorator
@inline
function step(h: u64, w: u64): u64 {
  return rotl<u64>((h ^ w) * K1, 29) * K2;
}

// @ts-ignore: decorator
@inline
function fmix(h: u64, len: i32): u64 {
  h ^= <u64>len * K1;
  h ^= h >> 33;
  h *= 0xFF51AFD7ED558CCD;
  h ^= h >> 33;
  h *= 0xC4CEB9FE1A85EC53;
  h ^= h >> 33;
  return h;
}

/** ASCII lower-casing of 8 packed bytes; bytes ≥ 0x80 are left as they are. */
// @ts-ignore: decorator
@inline
export function lower8(w: u64): u64 {
  const ones: u64 = 0x0101010101010101;
  const high: u64 = 0x8080808080808080;
  const low7 = w & ~high;
  const geA = low7 + ones * (0x80 - 0x41); // high bit set where byte >= 'A'
  const gtZ = low7 + ones * (0x80 - 0x5B); // high bit set where byte > 'Z'
  const isUpper = geA & ~gtZ & ~w & high;
  return w | (isUpper >> 2);
}

/** Loads `n` (0..7) bytes at `p` as a zero-padded little-endian word without reading past p+n. */
// @ts-ignore: decorator
@inline
export function loadTail(p: usize, n: i32): u64 {
  let w: u64 = 0;
  let shift: u64 = 0;
  if (n & 4) { w = <u64>load<u32>(p); p += 4; shift = 32; }
  if (n & 2) { w |= <u64>load<u16>(p) << shift; p += 2; shift += 16; }
  if (n & 1) { w |= <u64>load<u8>(p) << shift; }
  return w;
}

/** 64-bit hash of the bytes [ptr, ptr+len). */
export function hash64(ptr: usize, len: i32): u64 {
  let h = SEED;
  let p = ptr;
  const end = ptr + <usize>(len & ~7);
  while (p < end) {
    h = step(h, load<u64>(p));
    p += 8;
  }
  const t = len & 7;
  if (t) h = step(h, loadTail(p, t));
  return fmix(h, len);
}

/** hash64 of the ASCII-lower-cased bytes. */
export function hash64Fold(ptr: usize, len: i32): u64 {
  let h = SEED;
  let p = ptr;
  const end = ptr + <usize>(len & ~7);
  while (p < end) {
    h = step(h, lower8(load<u64>(p)));
    p += 8;
  }
  const t = len & 7;
  if (t) h = step(h, lower8(loadTail(p, t)));
  return fmix(h, len);
}

/**
 * For every byte equal to `sep` at index i with from ≤ i < len, writes the prefix length i+1 to
 * `outLens` (i32 array) and hash64 (or hash64Fold when `fold`) of [ptr, ptr+i+1) to `outHashes`
 * (u64 array), in increasing order, at most `max` entries. Returns the number of separators seen
 * (which may exceed `max`; callers fall back to hashing the remaining prefixes themselves).
 */
export function hashPrefixes(ptr: usize, len: i32, from: i32, sep: u8, fold: bool,
                             outLens: usize, outHashes: usize, max: i32): i32 {
  let h = SEED;
  let n = 0;
  let base = 0; // start of the current word
  while (base < len) {
    const remain = len - base;
    let w: u64 = remain >= 8 ? load<u64>(ptr + <usize>base) : loadTail(ptr + <usize>base, remain);
    if (fold) w = lower8(w);
    const wlen = remain >= 8 ? 8 : remain;
    const lo = from > base ? from - base : 0;
    for (let k = lo; k < wlen; k++) {
      if (<u8>(w >> (<u64>k << 3)) == sep) {
        if (n < max) {
          const plen = base + k + 1;
          const used = k + 1; // bytes of this word inside the prefix
          const hp = used == 8 ? step(h, w) : step(h, w & ((<u64>1 << (<u64>used << 3)) - 1));
          store<i32>(outLens + (<usize>n << 2), plen);
          store<u64>(outHashes + (<usize>n << 3), fmix(hp, plen));
        }
        n++;
      }
    }
    if (remain >= 8) h = step(h, w);
    base += 8;
  }
  return n;
}

/** Byte-exact equality of two views. */
// @ts-ignore: decorator
@inline
export function bytesEqual(a: usize, alen: i32, b: usize, blen: i32): bool {
  return alen == blen && (a == b || sameBytes(a, b, alen));
}

/**
 * Whether [a, a+n) and [b, b+n) hold the same bytes, 8 at a time whatever their alignment: a
 * header value sits anywhere in the host's buffer, and memory.compare goes byte by byte unless
 * both sides share their alignment.
 */
export function sameBytes(a: usize, b: usize, n: i32): bool {
  let i = 0;
  for (; i + 8 <= n; i += 8) if (load<u64>(a + <usize>i) != load<u64>(b + <usize>i)) return false;
  for (; i < n; i++) if (load<u8>(a + <usize>i) != load<u8>(b + <usize>i)) return false;
  return true;
}

// @ts-ignore: decorator
@inline
export function lowerByte(c: u32): u32 {
  return c - 0x41 < 26 ? c | 0x20 : c;
}

/** ASCII case-insensitive equality (bytes ≥ 0x80 compare exactly). */
export function bytesEqualFold(a: usize, alen: i32, b: usize, blen: i32): bool {
  if (alen != blen) return false;
  let i = 0;
  for (; i + 8 <= alen; i += 8) {
    if (lower8(load<u64>(a + <usize>i)) != lower8(load<u64>(b + <usize>i))) return false;
  }
  for (; i < alen; i++) {
    if (lowerByte(load<u8>(a + <usize>i)) != lowerByte(load<u8>(b + <usize>i))) return false;
  }
  return true;
}

/** Lexicographic byte comparison: <0, 0, >0. */
export function bytesCompare(a: usize, alen: i32, b: usize, blen: i32): i32 {
  const n = alen < blen ? alen : blen;
  const c = memory.compare(a, b, <usize>n);
  if (c != 0) return c;
  return alen - blen;
}

/** Does [a, a+alen) start with [p, p+plen)? fold: ASCII case-insensitively. */
export function startsWith(a: usize, alen: i32, p: usize, plen: i32, fold: bool): bool {
  if (plen > alen) return false;
  return fold ? bytesEqualFold(a, plen, p, plen) : memory.compare(a, p, <usize>plen) == 0;
}

/** Does [a, a+alen) end with [s, s+slen)? fold: ASCII case-insensitively. */
export function endsWith(a: usize, alen: i32, s: usize, slen: i32, fold: bool): bool {
  if (slen > alen) return false;
  const off = a + <usize>(alen - slen);
  return fold ? bytesEqualFold(off, slen, s, slen) : memory.compare(off, s, <usize>slen) == 0;
}

/** Index of the first byte `c` in [from, len), or -1. */
export function indexOfByte(ptr: usize, len: i32, c: u8, from: i32): i32 {
  for (let i = from; i < len; i++) if (load<u8>(ptr + <usize>i) == c) return i;
  return -1;
}

/** Value of an ASCII hex digit, or -1. */
// @ts-ignore: decorator
@inline
export function hexVal(c: u32): i32 {
  if (c - 0x30 < 10) return <i32>(c - 0x30);
  const l = c | 0x20;
  if (l - 0x61 < 6) return <i32>(l - 0x61 + 10);
  return -1;
}

// @ts-ignore: decorator
@inline
export function isDigit(c: u32): bool { return c - 0x30 < 10; }

// @ts-ignore: decorator
@inline
export function isAlpha(c: u32): bool { return (c | 0x20) - 0x61 < 26; }

/** Copies a managed string's UTF-8 encoding into a new unmanaged block; caller frees. */
export function utf8Dup(s: string): usize {
  const n = String.UTF8.byteLength(s);
  const p = heap.alloc(<usize>(n > 0 ? n : 1));
  String.UTF8.encodeUnsafe(changetype<usize>(s), s.length, p);
  return p;
}

/** Decodes a byte view as a managed string (config time and logging only: allocates). */
export function bytesToString(ptr: usize, len: i32): string {
  return String.UTF8.decodeUnsafe(ptr, <usize>len);
}

/** Compares a byte view with an ASCII string literal (no allocation). */
export function bytesEqualAscii(ptr: usize, len: i32, s: string): bool {
  if (len != s.length) return false;
  for (let i = 0; i < len; i++) {
    if (<u32>load<u8>(ptr + <usize>i) != <u32>s.charCodeAt(i)) return false;
  }
  return true;
}

/** ASCII case-insensitive comparison of a byte view with an ASCII string literal. */
export function bytesEqualAsciiFold(ptr: usize, len: i32, s: string): bool {
  if (len != s.length) return false;
  for (let i = 0; i < len; i++) {
    if (lowerByte(load<u8>(ptr + <usize>i)) != lowerByte(<u32>s.charCodeAt(i))) return false;
  }
  return true;
}
