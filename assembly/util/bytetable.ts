// ByteTable: an unmanaged open-addressing hash map from byte strings to u32 values.
//
// Built once at configure time inside an Arena (keys are copied into it), looked up per request
// with a hash the caller usually computed once for many tables (`hash64`, or `hash64Fold` for a
// table created with fold=true, whose keys are stored ASCII-lower-cased and compared
// case-insensitively). Linear probing, load factor ≤ 1/2, the full 64-bit hash is compared before
// the bytes. Nothing here is a GC object: a table of 100 000 keys costs the collector nothing.
//
//   const t = ByteTable.create(arena, expectedKeys, false);
//   t.insert(arena, ptr, len, value);        // -1 if inserted, else the value already stored
//   t.find(ptr, len, hash64(ptr, len));      // value, or -1
//   t.hasLength(len)                         // false: no key of that length (skip hashing)
//
// Slot layout (24 bytes): hash u64 @0 | key ptr u32 @8 (0 = empty) | key len u32 @12 | value @16.

import { Arena } from "./arena";
import { hash64, hash64Fold, bytesEqualFold, lowerByte } from "./bytes";

const SLOT: usize = 24;

/** The bit of ByteTable.lengths for keys of `len` bytes (lengths ≥ 63 share bit 63). */
// @ts-ignore: decorator
@inline
export function lengthBit(len: i32): u64 {
  return <u64>1 << <u64>(len < 63 ? len : 63);
}

// @ts-ignore: decorator
@unmanaged
export class ByteTable {
  slots: usize;
  mask: u32;
  count: u32;
  fold: bool;
  /** Bit min(len, 63) set for every key length present: a key of another length is absent
   *  without hashing it (path prefixes are looked up by length first). */
  lengths: u64;

  static create(arena: Arena, expected: i32, fold: bool): ByteTable {
    const t = changetype<ByteTable>(arena.alloc(offsetof<ByteTable>()));
    let cap: u32 = 8;
    while (cap < <u32>expected * 2) cap <<= 1;
    t.slots = arena.alloc(<usize>cap * SLOT);
    t.mask = cap - 1;
    t.count = 0;
    t.fold = fold;
    t.lengths = 0;
    return t;
  }

  /** The hash this table expects for a key. */
  // @ts-ignore: decorator
  @inline
  hashOf(ptr: usize, len: i32): u64 {
    return this.fold ? hash64Fold(ptr, len) : hash64(ptr, len);
  }

  /** Inserts a copy of the key. Returns -1 when inserted, else the value already present. */
  insert(arena: Arena, ptr: usize, len: i32, value: u32): i32 {
    const h = this.hashOf(ptr, len);
    const existing = this.find(ptr, len, h);
    if (existing >= 0) return existing;
    if ((this.count + 1) * 2 > this.mask + 1) this.grow(arena);
    const key = arena.dup(ptr, len);
    if (this.fold) {
      for (let i = 0; i < len; i++) store<u8>(key + <usize>i, <u8>lowerByte(load<u8>(key + <usize>i)));
    }
    let i = <u32>(h ^ (h >> 32)) & this.mask;
    while (load<u32>(this.slots + <usize>i * SLOT + 8) != 0) i = (i + 1) & this.mask;
    const s = this.slots + <usize>i * SLOT;
    store<u64>(s, h);
    store<u32>(s + 8, <u32>key);
    store<u32>(s + 12, <u32>len);
    store<u32>(s + 16, value);
    this.count++;
    this.lengths |= lengthBit(len);
    return -1;
  }

  private grow(arena: Arena): void {
    const oldSlots = this.slots;
    const oldCap = this.mask + 1;
    const cap = oldCap << 1;
    this.slots = arena.alloc(<usize>cap * SLOT); // the old slot array stays in the arena
    this.mask = cap - 1;
    for (let j: u32 = 0; j < oldCap; j++) {
      const o = oldSlots + <usize>j * SLOT;
      if (load<u32>(o + 8) == 0) continue;
      const h = load<u64>(o);
      let i = <u32>(h ^ (h >> 32)) & this.mask;
      while (load<u32>(this.slots + <usize>i * SLOT + 8) != 0) i = (i + 1) & this.mask;
      memory.copy(this.slots + <usize>i * SLOT, o, SLOT);
    }
  }

  /** Whether a key of `len` bytes may be present (false: certainly absent). */
  // @ts-ignore: decorator
  @inline
  hasLength(len: i32): bool {
    return (this.lengths & lengthBit(len)) != 0;
  }

  /** The value stored for the key (whose hash is `h`), or -1. Allocates nothing. */
  find(ptr: usize, len: i32, h: u64): i32 {
    const slots = this.slots;
    const mask = this.mask;
    let i = <u32>(h ^ (h >> 32)) & mask;
    while (true) {
      const s = slots + <usize>i * SLOT;
      const kp = load<u32>(s + 8);
      if (kp == 0) return -1;
      if (load<u64>(s) == h && load<u32>(s + 12) == <u32>len) {
        if (this.fold) {
          if (bytesEqualFold(<usize>kp, len, ptr, len)) return <i32>load<u32>(s + 16);
        } else if (memory.compare(<usize>kp, ptr, <usize>len) == 0) {
          return <i32>load<u32>(s + 16);
        }
      }
      i = (i + 1) & mask;
    }
    return -1;
  }

  /** find() computing the hash itself. */
  get(ptr: usize, len: i32): i32 {
    return this.find(ptr, len, this.hashOf(ptr, len));
  }
}
