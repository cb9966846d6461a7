// StrBuf: a reusable UTF-8 byte buffer for log lines, filter-state values and test summaries.
//
// Memory is one buffer that only grows (to the longest line written), so building a line per
// request allocates nothing once warm. Pass `ptr`/`len` straight to proxy_log or
// proxy_set_property; `toString()` (allocates) is for tests and config-time messages.
//
//   buf.clear().str("decision=").str(d).str(" rule=").bytes(p, n).int(42);

import { utf8SeqLen } from "./json";

export class StrBuf {
  private store: ArrayBuffer;
  /** Start of the bytes; moves when the buffer grows. */
  ptr: usize;
  len: i32 = 0;
  cap: i32;

  constructor(initial: i32 = 256) {
    const cap = initial > 16 ? initial : 16;
    const b = new ArrayBuffer(cap);
    this.store = b;
    this.ptr = changetype<usize>(b);
    this.cap = cap;
  }

  clear(): StrBuf { this.len = 0; return this; }

  reserve(extra: i32): void {
    const need = this.len + extra;
    if (need <= this.cap) return;
    let c = this.cap;
    while (c < need) c <<= 1;
    const nb = new ArrayBuffer(c);
    memory.copy(changetype<usize>(nb), this.ptr, <usize>this.len);
    this.store = nb;
    this.ptr = changetype<usize>(nb);
    this.cap = c;
  }

  byte(b: u32): StrBuf {
    this.reserve(1);
    store<u8>(this.ptr + <usize>this.len, <u8>b);
    this.len++;
    return this;
  }

  bytes(p: usize, n: i32): StrBuf {
    if (n <= 0) return this;
    this.reserve(n);
    memory.copy(this.ptr + <usize>this.len, p, <usize>n);
    this.len += n;
    return this;
  }

  /** Appends a managed string as UTF-8 (no allocation). */
  str(s: string): StrBuf {
    const n = s.length;
    this.reserve(n * 3);
    // ASCII, the common case (every literal of the records): one byte per UTF-16 code unit
    const src = changetype<usize>(s);
    const out = this.ptr + <usize>this.len;
    let i = 0;
    for (; i < n; i++) {
      const c = <u32>load<u16>(src + (<usize>i << 1));
      if (c >= 0x80) break;
      store<u8>(out + <usize>i, <u8>c);
    }
    this.len += i;
    for (; i < n; i++) {
      let c = <u32>s.charCodeAt(i);
      if (c >= 0xD800 && c <= 0xDBFF && i + 1 < n) {
        const d = <u32>s.charCodeAt(i + 1);
        if (d >= 0xDC00 && d <= 0xDFFF) {
          c = 0x10000 + ((c - 0xD800) << 10) + (d - 0xDC00);
          i++;
          this.reserve(4);
        }
      }
      this.codePoint(c);
    }
    return this;
  }

  codePoint(c: u32): StrBuf {
    this.reserve(4);
    const p = this.ptr + <usize>this.len;
    if (c < 0x80) { store<u8>(p, <u8>c); this.len += 1; }
    else if (c < 0x800) {
      store<u8>(p, <u8>(0xC0 | (c >> 6))); store<u8>(p + 1, <u8>(0x80 | (c & 0x3F))); this.len += 2;
    } else if (c < 0x10000) {
      store<u8>(p, <u8>(0xE0 | (c >> 12))); store<u8>(p + 1, <u8>(0x80 | ((c >> 6) & 0x3F)));
      store<u8>(p + 2, <u8>(0x80 | (c & 0x3F))); this.len += 3;
    } else {
      store<u8>(p, <u8>(0xF0 | (c >> 18))); store<u8>(p + 1, <u8>(0x80 | ((c >> 12) & 0x3F)));
      store<u8>(p + 2, <u8>(0x80 | ((c >> 6) & 0x3F))); store<u8>(p + 3, <u8>(0x80 | (c & 0x3F)));
      this.len += 4;
    }
    return this;
  }

  int(v: i64): StrBuf {
    this.reserve(21);
    if (v < 0) {
      this.byte(0x2D);
      if (v == i64.MIN_VALUE) return this.str("9223372036854775808");
      v = -v;
    }
    let u = <u64>v;
    let digits = 1;
    for (let t = u; t >= 10; t /= 10) digits++;
    const p = this.ptr + <usize>this.len;
    for (let i = digits - 1; i >= 0; i--) {
      store<u8>(p + <usize>i, <u8>(0x30 + <u32>(u % 10)));
      u /= 10;
    }
    this.len += digits;
    return this;
  }

  /** Appends the bytes as a JSON string literal (quotes included); invalid UTF-8 bytes are
   *  written as \u00XX of the byte value (so test output stays valid JSON). */
  json(p: usize, n: i32): StrBuf {
    this.byte(0x22);
    for (let i = 0; i < n; i++) {
      const c = <u32>load<u8>(p + <usize>i);
      if (c == 0x22 || c == 0x5C) { this.byte(0x5C); this.byte(c); }
      else if (c < 0x20 || c == 0x7F) { this.str("\\u00"); this.hexByte(c); }
      else if (c < 0x80) this.byte(c);
      else {
        const l = utf8SeqLen(p + <usize>i, n - i);
        if (l == 0) { this.str("\\u00"); this.hexByte(c); }
        else { this.bytes(p + <usize>i, l); i += l - 1; }
      }
    }
    return this.byte(0x22);
  }

  /** A managed string as a JSON string literal. */
  jsonStr(s: string): StrBuf {
    const b = String.UTF8.encode(s);
    return this.json(changetype<usize>(b), b.byteLength);
  }

  hexByte(c: u32): StrBuf {
    const h = "0123456789abcdef";
    this.byte(<u32>h.charCodeAt(<i32>(c >> 4)));
    return this.byte(<u32>h.charCodeAt(<i32>(c & 15)));
  }

  toString(): string { return String.UTF8.decodeUnsafe(this.ptr, <usize>this.len); }
}
