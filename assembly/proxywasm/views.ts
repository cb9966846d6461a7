// The byte types of the binding: `Bytes`, a view the caller allocates once and accessors fill,
// `HostKey`, a header name or property path encoded once, and `PairsReader`, a zero-allocation
// reader of the ABI's serialized header maps. Nothing here calls the host.

/**
 * A view (ptr, len) of bytes in linear memory. Accessors (hostcalls.ts) fill a caller-owned
 * instance instead of returning a new object, so the hot path allocates nothing: create the
 * views once (a field of your context) and reuse them.
 *
 * LIFETIME: bytes returned by the host live in the scratch arena (scratch.ts) and are valid
 * until the current callback returns. Copy what must outlive the callback.
 */
@final
export class Bytes {
  ptr: usize = 0;
  len: i32 = 0;

  @inline set(ptr: usize, len: i32): void {
    this.ptr = ptr;
    this.len = len;
  }

  @inline clear(): void {
    this.ptr = 0;
    this.len = 0;
  }

  @inline get isEmpty(): bool {
    return this.len == 0;
  }

  /** Byte `i` (no bounds check: 0 <= i < len). */
  @inline at(i: i32): u8 {
    return load<u8>(this.ptr + <usize>i);
  }

  /** Byte-wise equality with a pre-encoded key (e.g. a header value against a constant). */
  equals(key: HostKey): bool {
    return this.len == key.len && (this.len == 0 || memory.compare(this.ptr, key.ptr, <usize>this.len) == 0);
  }

  /** Copies the bytes out as a string, decoding UTF-8 (allocates: configure time and tests only). */
  toString(): string {
    return this.len <= 0 ? "" : String.UTF8.decodeUnsafe(this.ptr, <usize>this.len);
  }
}

/**
 * A header name or property path, UTF-8 encoded once at startup. Make them module-level
 * constants or fields set at configure time — never per request.
 *
 * Header names must be lower case (Envoy stores them lower-cased). Property paths are segments
 * joined by a single 0x00 byte, as the ABI wants: `HostKey.path("connection", "uri_san_peer_certificate")`.
 */
@final
export class HostKey {
  private readonly buf: ArrayBuffer;
  readonly ptr: usize;
  readonly len: i32;

  constructor(text: string) {
    this.buf = String.UTF8.encode(text);
    this.ptr = changetype<usize>(this.buf);
    this.len = this.buf.byteLength;
  }

  /** A property path of up to four segments (empty trailing segments are left out). */
  static path(a: string, b: string = "", c: string = "", d: string = ""): HostKey {
    let s = a;
    if (b.length) s += "\0" + b;
    if (c.length) s += "\0" + c;
    if (d.length) s += "\0" + d;
    return new HostKey(s);
  }

  /** A property path from any number of segments. */
  static segments(parts: string[]): HostKey {
    return new HostKey(parts.join("\0"));
  }

  toString(): string {
    return String.UTF8.decodeUnsafe(this.ptr, <usize>this.len);
  }
}

/**
 * Walks a serialized header map (proxy_get_header_map_pairs): u32 LE count N; N × (u32 key
 * length, u32 value length); then each key and value followed by one 0x00. Allocates nothing;
 * the views point into the serialized bytes (same lifetime as those).
 *
 *     reader.reset(pairs);
 *     while (reader.next(key, value)) { ... }
 *
 * A malformed buffer reads as "no more pairs" and sets `malformed`.
 */
@final
export class PairsReader {
  private base: usize = 0;
  private end: usize = 0;
  private sizes: usize = 0;
  private data: usize = 0;
  private index: i32 = 0;
  count: i32 = 0;
  malformed: bool = false;

  /** Starts reading `serialized`; false (and count 0) when it is empty or malformed. */
  reset(serialized: Bytes): bool {
    this.base = serialized.ptr;
    this.end = serialized.ptr + <usize>serialized.len;
    this.index = 0;
    this.count = 0;
    this.malformed = false;
    if (serialized.len == 0) return false;
    if (serialized.len < 4) return this.fail();
    const n = load<u32>(this.base);
    if (<u64>n * 8 + 4 > <u64>serialized.len) return this.fail();
    this.count = <i32>n;
    this.sizes = this.base + 4;
    this.data = this.sizes + <usize>n * 8;
    return true;
  }

  /** Fills `key` and `value` with the next pair; false at the end (or on a malformed entry). */
  next(key: Bytes, value: Bytes): bool {
    if (this.index >= this.count) return false;
    const kl = load<u32>(this.sizes + <usize>this.index * 8);
    const vl = load<u32>(this.sizes + <usize>this.index * 8 + 4);
    const k = this.data;
    if (<u64>kl + <u64>vl + 2 > <u64>(this.end - k)) return this.fail();
    const v = k + <usize>kl + 1;
    if (load<u8>(v - 1) != 0 || load<u8>(v + <usize>vl) != 0) return this.fail();
    key.set(k, <i32>kl);
    value.set(v, <i32>vl);
    this.data = v + <usize>vl + 1;
    this.index++;
    return true;
  }

  private fail(): bool {
    this.malformed = true;
    this.count = 0;
    return false;
  }
}
