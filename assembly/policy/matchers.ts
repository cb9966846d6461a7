// Identity, method and port matchers of one rule field (docs/internals.md §1, docs/design.md §3.2).
//
// `from` entries (fromEntry):
//   "*"                     any authenticated identity in the policy's trust domain
//   "spiffe://td/a/b"       exactly this ID (any trust domain: another one is matched only when
//                           listed like this or as a prefix)
//   "spiffe://td/ns/shop/*" segment prefix: IDs under spiffe://td/ns/shop/ (not that ID itself,
//                           not spiffe://td/ns/shopx/...); the part before "/*" must be a valid ID
//                           with a non-empty path.
// An unauthenticated caller matches no entry (so it fails `from` and passes `notFrom`).
// IdSet.match: one hash lookup for the exact ID, one per '/'-terminated prefix of the ID (hashes
// precomputed in Identity), all allocation-free.
//
// `methods`: [A-Z]{1,32}, byte-exact (standard methods as bits, others hashed). `ports`: 1..65535 (a short list, scanned).

import { Arena } from "../util/arena";
import { ByteTable } from "../util/bytetable";
import { hash64 } from "../util/bytes";
import { Identity } from "../spiffe/identity";
import { validateSpiffeId, spiffeCodeMessage, SPIFFE_OK, trustDomainEnd } from "../spiffe/id";

export const FROM_ANY: i32 = 0;
export const FROM_EXACT: i32 = 1;
export const FROM_PREFIX: i32 = 2;

/** Classification of a `from` entry (filled by parseFromEntry; reusable). */
export class FromEntry {
  kind: i32 = FROM_EXACT;
  error: string | null = null;
  /** Bytes used as the key: the ID (exact), or the prefix including its final '/' (prefix). */
  keyLen: i32 = 0;
}

/** Classifies the `from` entry [p, p+n) into r; r.error is null when valid. */
export function parseFromEntry(p: usize, n: i32, r: FromEntry): FromEntry {
  r.error = null;
  r.keyLen = 0;
  if (n == 1 && load<u8>(p) == 0x2A) { r.kind = FROM_ANY; return r; }
  if (n >= 2 && load<u8>(p + <usize>(n - 1)) == 0x2A && load<u8>(p + <usize>(n - 2)) == 0x2F) {
    const base = n - 2;
    const code = validateSpiffeId(p, base);
    if (code != SPIFFE_OK) { r.error = spiffeCodeMessage(code); return r; }
    if (trustDomainEnd(p, base) == base) {
      r.error = "a segment prefix needs a non-empty path before \"/*\" (use \"*\" for the whole trust domain)";
      return r;
    }
    r.kind = FROM_PREFIX;
    r.keyLen = n - 1;
    return r;
  }
  const code = validateSpiffeId(p, n);
  if (code != SPIFFE_OK) { r.error = spiffeCodeMessage(code); return r; }
  r.kind = FROM_EXACT;
  r.keyLen = n;
  return r;
}

// @ts-ignore: decorator
@unmanaged
export class IdSet {
  any: bool;
  exact: ByteTable | null;
  prefixes: ByteTable | null;

  /** Entry i: kind kinds[i] (FROM_*), key bytes (ptrs[i], keyLens[i]). */
  static build(arena: Arena, kinds: i32[], ptrs: usize[], keyLens: i32[]): IdSet {
    const s = changetype<IdSet>(arena.alloc(offsetof<IdSet>()));
    let ne = 0, np = 0;
    for (let i = 0; i < kinds.length; i++) {
      const k = kinds[i];
      if (k == FROM_ANY) s.any = true; else if (k == FROM_EXACT) ne++; else np++;
    }
    s.exact = ne > 0 ? ByteTable.create(arena, ne, false) : null;
    s.prefixes = np > 0 ? ByteTable.create(arena, np, false) : null;
    for (let i = 0; i < kinds.length; i++) {
      const k = kinds[i];
      if (k == FROM_EXACT) s.exact!.insert(arena, ptrs[i], keyLens[i], <u32>i);
      else if (k == FROM_PREFIX) s.prefixes!.insert(arena, ptrs[i], keyLens[i], <u32>i);
    }
    return s;
  }

  /** inTd: whether the identity is in the policy's trust domain (computed once per request). */
  match(id: Identity, inTd: bool): bool {
    if (!id.authenticated) return false;
    if (this.any && inTd) return true;
    const exact = this.exact;
    if (exact !== null && exact.find(id.ptr, id.len, id.hash) >= 0) return true;
    const prefixes = this.prefixes;
    if (prefixes !== null) {
      for (let k = 0; k < id.prefixCount; k++) {
        if (prefixes.find(id.ptr, load<i32>(id.prefixLens + (<usize>k << 2)), load<u64>(id.prefixHashes + (<usize>k << 3))) >= 0) return true;
      }
    }
    return false;
  }
}

/** null when the method is [A-Z]{1,32}. */
export function methodError(p: usize, n: i32): string | null {
  if (n < 1 || n > 32) return "method must be 1 to 32 upper-case letters";
  for (let i = 0; i < n; i++) {
    if (<u32>load<u8>(p + <usize>i) - 0x41 >= 26) return "method must be 1 to 32 upper-case letters";
  }
  return null;
}

// The nine methods of RFC 9110 + PATCH get a bit each: a request's method is classified once
// (one word compare), and a rule's `methods` test is a bit test. Other methods ([A-Z]{1,32}
// extension methods) are hashed into a table, looked up only for requests with such a method.
const STANDARD_METHODS: string[] = ["GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"];

/** Up to 8 bytes at p as a little-endian word (0-padded); reads exactly n ≤ 8 bytes. */
function packWord(p: usize, n: i32): u64 {
  let w: u64 = 0;
  for (let i = n - 1; i >= 0; i--) w = (w << 8) | <u64>load<u8>(p + <usize>i);
  return w;
}

const STANDARD_WORDS: StaticArray<u64> = initStandardWords();
const STANDARD_LENS: StaticArray<i32> = initStandardLens();

function initStandardWords(): StaticArray<u64> {
  const out = new StaticArray<u64>(STANDARD_METHODS.length);
  for (let i = 0; i < STANDARD_METHODS.length; i++) {
    const b = String.UTF8.encode(STANDARD_METHODS[i]);
    out[i] = packWord(changetype<usize>(b), b.byteLength);
  }
  return out;
}

function initStandardLens(): StaticArray<i32> {
  const out = new StaticArray<i32>(STANDARD_METHODS.length);
  for (let i = 0; i < STANDARD_METHODS.length; i++) out[i] = STANDARD_METHODS[i].length;
  return out;
}

/** Index of a standard method in STANDARD_METHODS, or -1. */
export function standardMethodIndex(p: usize, n: i32): i32 {
  if (n < 3 || n > 7) return -1;
  // one word load per request instead of a byte loop, and only the candidates of that length
  const w = methodWord(p, n);
  let i = -1;
  switch (n) {
    case 3: i = w == unchecked(STANDARD_WORDS[0]) ? 0 : w == unchecked(STANDARD_WORDS[3]) ? 3 : -1; break;
    case 4: i = w == unchecked(STANDARD_WORDS[2]) ? 2 : w == unchecked(STANDARD_WORDS[1]) ? 1 : -1; break;
    case 5: i = w == unchecked(STANDARD_WORDS[8]) ? 8 : w == unchecked(STANDARD_WORDS[7]) ? 7 : -1; break;
    case 6: i = w == unchecked(STANDARD_WORDS[4]) ? 4 : -1; break;
    default: i = w == unchecked(STANDARD_WORDS[6]) ? 6 : w == unchecked(STANDARD_WORDS[5]) ? 5 : -1;
  }
  return i;
}

/** packWord for 3 ≤ n ≤ 7, with at most three loads (reads exactly n bytes). */
// @ts-ignore: decorator
@inline
function methodWord(p: usize, n: i32): u64 {
  if (n < 4) return <u64>load<u16>(p) | (<u64>load<u8>(p, 2) << 16);
  // 4..7: the first four bytes and the last four (overlapping), or-ed into place
  return <u64>load<u32>(p) | (<u64>load<u32>(p + <usize>(n - 4)) << (<u64>(n - 4) << 3));
}

/** The request's method as the matchers need it; computed once per request. */
export class MethodFacts {
  ptr: usize = 0;
  len: i32 = 0;
  /** Index of a standard method, or -1. */
  standard: i32 = -1;
  private hashed: bool = false;
  private h: u64 = 0;

  set(p: usize, n: i32): void {
    this.ptr = p;
    this.len = n;
    this.standard = standardMethodIndex(p, n);
    this.hashed = false;
  }

  /** hash64 of the method bytes (computed on first use: only extension methods need it). */
  hash(): u64 {
    if (!this.hashed) {
      this.h = hash64(this.ptr, this.len);
      this.hashed = true;
    }
    return this.h;
  }
}

// @ts-ignore: decorator
@unmanaged
export class MethodSet {
  /** Bit i: STANDARD_METHODS[i] is listed. */
  standard: u32;
  /** Listed extension methods, or null. */
  table: ByteTable | null;

  static build(arena: Arena, ptrs: usize[], lens: i32[]): MethodSet {
    const s = changetype<MethodSet>(arena.alloc(offsetof<MethodSet>()));
    let others = 0;
    for (let i = 0; i < ptrs.length; i++) {
      const k = standardMethodIndex(ptrs[i], lens[i]);
      if (k >= 0) s.standard |= <u32>1 << <u32>k; else others++;
    }
    s.table = others > 0 ? ByteTable.create(arena, others, false) : null;
    for (let i = 0; i < ptrs.length; i++) {
      if (standardMethodIndex(ptrs[i], lens[i]) < 0) s.table!.insert(arena, ptrs[i], lens[i], 0);
    }
    return s;
  }

  // @ts-ignore: decorator
  @inline
  match(m: MethodFacts): bool {
    if (m.standard >= 0) return (this.standard & (<u32>1 << <u32>m.standard)) != 0;
    const t = this.table;
    return t !== null && t.find(m.ptr, m.len, m.hash()) >= 0;
  }
}

// @ts-ignore: decorator
@unmanaged
export class PortSet {
  count: i32;
  ports: usize; // u16 each

  static build(arena: Arena, ports: i32[]): PortSet {
    const s = changetype<PortSet>(arena.alloc(offsetof<PortSet>()));
    s.count = ports.length;
    s.ports = arena.alloc(<usize>ports.length * 2);
    for (let i = 0; i < ports.length; i++) store<u16>(s.ports + <usize>i * 2, <u16>ports[i]);
    return s;
  }

  match(port: i32): bool {
    for (let i = 0; i < this.count; i++) if (<i32>load<u16>(this.ports + <usize>i * 2) == port) return true;
    return false;
  }
}
