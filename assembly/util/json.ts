// A byte-oriented JSON parser (RFC 8259) for the plugin configuration.
//
//   const doc = parseJson(ptr, len);     // the bytes must stay alive while `doc` is used
//   if (doc.error !== null) log(`json: ${doc.error} at byte ${doc.errorOffset}`);
//
// The result is a "tape": every value is a node (index into flat i32 arrays), in document order.
// Node 0 is the root. A container's children follow it; `next(i)` is the index just past the
// subtree of i, so siblings are walked with `c = doc.next(c)`. An object's members are stored as
// key node, value node pairs (`count(i)` = number of members). String nodes expose their decoded
// UTF-8 bytes as (strPtr, strLen): a view into the source when the string has no escapes, else
// into the document's own decoded-bytes buffer. Nothing is decoded to UTF-16 unless asked
// (`str(i)`), so a 100 000-entry list costs a few flat arrays, not 100 000 GC objects.
//
// Enforced beyond the grammar: strings must be valid UTF-8 (no overlongs, no encoded surrogates,
// ≤ U+10FFFF) and `\u` escapes must not leave a lone surrogate; duplicate keys in one object are
// an error; nesting is limited to `maxDepth` (default 64). No byte order mark. Errors report the
// byte offset where the problem was found.

import { hexVal } from "./bytes";

export const J_NULL: i32 = 0;
export const J_FALSE: i32 = 1;
export const J_TRUE: i32 = 2;
export const J_NUMBER: i32 = 3;
export const J_STRING: i32 = 4;
export const J_ARRAY: i32 = 5;
export const J_OBJECT: i32 = 6;

const KIND_MASK: i32 = 0xFF;
const F_DECODED: i32 = 0x100; // string bytes live in `decoded`, not in the source
const F_INTEGER: i32 = 0x200; // number token has no fraction and no exponent

export function jsonKindName(k: i32): string {
  switch (k) {
    case J_NULL: return "null";
    case J_FALSE: case J_TRUE: return "a boolean";
    case J_NUMBER: return "a number";
    case J_STRING: return "a string";
    case J_ARRAY: return "a list";
    case J_OBJECT: return "an object";
  }
  return "?";
}

export class JsonDoc {
  src: usize = 0;
  srcLen: i32 = 0;
  /** null when the document parsed. */
  error: string | null = null;
  errorOffset: i32 = 0;
  nodes: i32 = 0;

  // Per node: kind|flags, token start offset, a, b, next.
  //   string: a = byte offset (source or decoded), b = decoded length
  //   number: a = token length; containers: a = member/element count
  private kindF: Int32Array = new Int32Array(64);
  private startA: Int32Array = new Int32Array(64);
  private aA: Int32Array = new Int32Array(64);
  private bA: Int32Array = new Int32Array(64);
  private nextA: Int32Array = new Int32Array(64);
  private decoded: ArrayBuffer = new ArrayBuffer(64);
  private decodedLen: i32 = 0;
  // scratch for duplicate-key detection: [hash lo, node, generation] triples
  private dupTab: Int32Array = new Int32Array(0);
  private dupGen: i32 = 0;

  kind(i: i32): i32 { return unchecked(this.kindF[i]) & KIND_MASK; }
  /** Byte offset of the node's token (for error messages). */
  offset(i: i32): i32 { return unchecked(this.startA[i]); }
  /** Index just past the subtree of node i. */
  next(i: i32): i32 { return unchecked(this.nextA[i]); }
  /** Number of elements (array) or members (object). */
  count(i: i32): i32 { return unchecked(this.aA[i]); }

  strPtr(i: i32): usize {
    const base = (unchecked(this.kindF[i]) & F_DECODED) ? changetype<usize>(this.decoded) : this.src;
    return base + <usize>unchecked(this.aA[i]);
  }
  strLen(i: i32): i32 { return unchecked(this.bA[i]); }
  /** The string's value as a managed string (allocates: config time only). */
  str(i: i32): string { return String.UTF8.decodeUnsafe(this.strPtr(i), <usize>this.strLen(i)); }

  /** Raw source bytes of a number token. */
  numPtr(i: i32): usize { return this.src + <usize>unchecked(this.startA[i]); }
  numLen(i: i32): i32 { return unchecked(this.aA[i]); }
  isInteger(i: i32): bool { return (unchecked(this.kindF[i]) & F_INTEGER) != 0; }
  /** The number's value. */
  num(i: i32): f64 {
    const p = this.numPtr(i);
    const n = this.numLen(i);
    if (this.isInteger(i) && n <= 16) {
      let v: f64 = 0;
      let k = 0;
      const neg = load<u8>(p) == 0x2D;
      if (neg) k = 1;
      for (; k < n; k++) v = v * 10 + <f64>(load<u8>(p + <usize>k) - 0x30);
      return neg ? -v : v;
    }
    return parseFloat(String.UTF8.decodeUnsafe(p, <usize>n));
  }

  /** The raw source text of any node (for messages). */
  raw(i: i32): string {
    const s = this.offset(i);
    let e = s;
    const k = this.kind(i);
    if (k == J_NUMBER) e = s + this.numLen(i);
    else if (k == J_TRUE) e = s + 4;
    else if (k == J_FALSE) e = s + 5;
    else if (k == J_NULL) e = s + 4;
    else return this.kind(i) == J_STRING ? this.str(i) : jsonKindName(k);
    return String.UTF8.decodeUnsafe(this.src + <usize>s, <usize>(e - s));
  }

  /** Member value of object `obj` whose key equals the ASCII `key`, or -1. */
  member(obj: i32, key: string): i32 {
    let c = obj + 1;
    const n = this.count(obj);
    for (let k = 0; k < n; k++) {
      const v = c + 1;
      if (keyEquals(this.strPtr(c), this.strLen(c), key)) return v;
      c = this.next(v);
    }
    return -1;
  }

  // ---- building -------------------------------------------------------------------------------

  private newNode(kind: i32, start: i32): i32 {
    const i = this.nodes;
    if (i >= this.kindF.length) {
      const cap = this.kindF.length << 1;
      this.kindF = growI32(this.kindF, cap);
      this.startA = growI32(this.startA, cap);
      this.aA = growI32(this.aA, cap);
      this.bA = growI32(this.bA, cap);
      this.nextA = growI32(this.nextA, cap);
    }
    unchecked(this.kindF[i] = kind);
    unchecked(this.startA[i] = start);
    unchecked(this.aA[i] = 0);
    unchecked(this.bA[i] = 0);
    unchecked(this.nextA[i] = i + 1);
    this.nodes = i + 1;
    return i;
  }

  setA(i: i32, v: i32): void { unchecked(this.aA[i] = v); }
  setB(i: i32, v: i32): void { unchecked(this.bA[i] = v); }
  setNext(i: i32, v: i32): void { unchecked(this.nextA[i] = v); }
  orFlags(i: i32, f: i32): void { unchecked(this.kindF[i] = unchecked(this.kindF[i]) | f); }

  addNode(kind: i32, start: i32): i32 { return this.newNode(kind, start); }

  appendDecoded(b: u8): void {
    if (this.decodedLen >= this.decoded.byteLength) {
      const nb = new ArrayBuffer(this.decoded.byteLength << 1);
      memory.copy(changetype<usize>(nb), changetype<usize>(this.decoded), <usize>this.decodedLen);
      this.decoded = nb;
    }
    store<u8>(changetype<usize>(this.decoded) + <usize>this.decodedLen, b);
    this.decodedLen++;
  }
  get decodedOffset(): i32 { return this.decodedLen; }

  /** Returns the node index of an earlier key equal to key node `k` within object `obj`, or -1
   *  (checks the members before `k`). Hash-based above 8 members. */
  findDuplicateKeys(obj: i32): i32 {
    const n = this.count(obj);
    if (n < 2) return -1;
    if (n <= 8) {
      let a = obj + 1;
      for (let x = 0; x < n; x++) {
        let b = this.next(a + 1);
        for (let y = x + 1; y < n; y++) {
          if (this.sameStr(a, b)) return b;
          b = this.next(b + 1);
        }
        a = this.next(a + 1);
      }
      return -1;
    }
    let cap = 16;
    while (cap < n * 2) cap <<= 1;
    if (this.dupTab.length < cap * 3) { this.dupTab = new Int32Array(cap * 3); this.dupGen = 0; }
    this.dupGen++;
    const gen = this.dupGen;
    const mask = cap - 1;
    let c = obj + 1;
    for (let x = 0; x < n; x++) {
      const p = this.strPtr(c);
      const l = this.strLen(c);
      let h: u32 = 2166136261;
      for (let k = 0; k < l; k++) h = (h ^ load<u8>(p + <usize>k)) * 16777619;
      let s = <i32>(h & <u32>mask);
      while (true) {
        if (unchecked(this.dupTab[s * 3 + 2]) != gen) {
          unchecked(this.dupTab[s * 3] = <i32>h);
          unchecked(this.dupTab[s * 3 + 1] = c);
          unchecked(this.dupTab[s * 3 + 2] = gen);
          break;
        }
        if (unchecked(this.dupTab[s * 3]) == <i32>h && this.sameStr(unchecked(this.dupTab[s * 3 + 1]), c)) return c;
        s = (s + 1) & mask;
      }
      c = this.next(c + 1);
    }
    return -1;
  }

  private sameStr(a: i32, b: i32): bool {
    const la = this.strLen(a);
    return la == this.strLen(b) && memory.compare(this.strPtr(a), this.strPtr(b), <usize>la) == 0;
  }
}

function growI32(a: Int32Array, cap: i32): Int32Array {
  const b = new Int32Array(cap);
  memory.copy(b.dataStart, a.dataStart, <usize>a.length << 2);
  return b;
}

function keyEquals(p: usize, n: i32, key: string): bool {
  if (n != key.length) return false;
  for (let i = 0; i < n; i++) if (<u32>load<u8>(p + <usize>i) != <u32>key.charCodeAt(i)) return false;
  return true;
}

/** Parses [ptr, ptr+len). Always returns a document; check `error`. */
export function parseJson(ptr: usize, len: i32, maxDepth: i32 = 64): JsonDoc {
  const doc = new JsonDoc();
  doc.src = ptr;
  doc.srcLen = len;
  const p = new Parser(doc, ptr, len, maxDepth);
  p.parseDocument();
  return doc;
}

class Parser {
  pos: i32 = 0;
  failed: bool = false;
  constructor(public doc: JsonDoc, public src: usize, public len: i32, public maxDepth: i32) {}

  fail(msg: string, at: i32): void {
    if (this.failed) return;
    this.failed = true;
    this.doc.error = msg;
    this.doc.errorOffset = at;
  }

  // @ts-ignore: decorator
  @inline
  peek(): u32 { return this.pos < this.len ? <u32>load<u8>(this.src + <usize>this.pos) : 0xFFFFFFFF; }

  skipWs(): void {
    while (this.pos < this.len) {
      const c = load<u8>(this.src + <usize>this.pos);
      if (c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09) this.pos++;
      else break;
    }
  }

  parseDocument(): void {
    if (this.len >= 3 && load<u8>(this.src) == 0xEF && load<u8>(this.src + 1) == 0xBB && load<u8>(this.src + 2) == 0xBF) {
      this.fail("byte order mark is not allowed", 0);
      return;
    }
    this.skipWs();
    if (this.pos >= this.len) { this.fail("empty document", this.pos); return; }
    this.parseValue(0);
    if (this.failed) return;
    this.skipWs();
    if (this.pos < this.len) this.fail("unexpected data after the document", this.pos);
  }

  unexpected(): void {
    if (this.pos >= this.len) this.fail("unexpected end of input", this.pos);
    else {
      const c = this.peek();
      if (c >= 0x20 && c < 0x7F) this.fail("unexpected character '" + String.fromCharCode(c) + "'", this.pos);
      else this.fail("unexpected byte 0x" + (c < 16 ? "0" : "") + c.toString(16), this.pos);
    }
  }

  parseValue(depth: i32): void {
    const c = this.peek();
    const start = this.pos;
    if (c == 0x7B) { this.parseObject(depth + 1); return; }
    if (c == 0x5B) { this.parseArray(depth + 1); return; }
    if (c == 0x22) { this.parseString(); return; }
    if (c == 0x2D || (c - 0x30) < 10) { this.parseNumber(); return; }
    if (this.literal("true")) { this.doc.addNode(J_TRUE, start); return; }
    if (this.literal("false")) { this.doc.addNode(J_FALSE, start); return; }
    if (this.literal("null")) { this.doc.addNode(J_NULL, start); return; }
    this.unexpected();
  }

  literal(word: string): bool {
    const n = word.length;
    if (this.pos + n > this.len) return false;
    for (let i = 0; i < n; i++) {
      if (<u32>load<u8>(this.src + <usize>(this.pos + i)) != <u32>word.charCodeAt(i)) return false;
    }
    this.pos += n;
    return true;
  }

  parseObject(depth: i32): void {
    const doc = this.doc;
    if (depth > this.maxDepth) { this.fail("nesting deeper than " + this.maxDepth.toString() + " levels", this.pos); return; }
    const node = doc.addNode(J_OBJECT, this.pos);
    this.pos++; // {
    this.skipWs();
    let count = 0;
    if (this.peek() == 0x7D) {
      this.pos++;
    } else {
      while (true) {
        this.skipWs();
        if (this.peek() != 0x22) {
          if (this.pos < this.len) this.fail("expected a string key", this.pos); else this.unexpected();
          return;
        }
        this.parseString();
        if (this.failed) return;
        this.skipWs();
        if (this.peek() != 0x3A) {
          if (this.pos < this.len) this.fail("expected ':' after a key", this.pos); else this.unexpected();
          return;
        }
        this.pos++;
        this.skipWs();
        this.parseValue(depth);
        if (this.failed) return;
        count++;
        this.skipWs();
        const c = this.peek();
        if (c == 0x2C) { this.pos++; continue; }
        if (c == 0x7D) { this.pos++; break; }
        if (this.pos < this.len) this.fail("expected ',' or '}'", this.pos); else this.unexpected();
        return;
      }
    }
    doc.setA(node, count);
    doc.setNext(node, doc.nodes);
    const dup = doc.findDuplicateKeys(node);
    if (dup >= 0) this.fail("duplicate key \"" + doc.str(dup) + "\"", doc.offset(dup));
  }

  parseArray(depth: i32): void {
    const doc = this.doc;
    if (depth > this.maxDepth) { this.fail("nesting deeper than " + this.maxDepth.toString() + " levels", this.pos); return; }
    const node = doc.addNode(J_ARRAY, this.pos);
    this.pos++; // [
    this.skipWs();
    let count = 0;
    if (this.peek() == 0x5D) {
      this.pos++;
    } else {
      while (true) {
        this.skipWs();
        this.parseValue(depth);
        if (this.failed) return;
        count++;
        this.skipWs();
        const c = this.peek();
        if (c == 0x2C) { this.pos++; continue; }
        if (c == 0x5D) { this.pos++; break; }
        if (this.pos < this.len) this.fail("expected ',' or ']'", this.pos); else this.unexpected();
        return;
      }
    }
    doc.setA(node, count);
    doc.setNext(node, doc.nodes);
  }

  parseNumber(): void {
    const start = this.pos;
    let p = this.pos;
    const src = this.src;
    const len = this.len;
    let integer = true;
    if (p < len && load<u8>(src + <usize>p) == 0x2D) p++;
    if (p >= len) { this.pos = p; this.fail("invalid number", start); return; }
    let c = <u32>load<u8>(src + <usize>p);
    if (c == 0x30) {
      p++;
    } else if (c - 0x31 < 9) {
      while (p < len && <u32>load<u8>(src + <usize>p) - 0x30 < 10) p++;
    } else { this.fail("invalid number", start); return; }
    if (p < len && load<u8>(src + <usize>p) == 0x2E) {
      integer = false;
      p++;
      const d = p;
      while (p < len && <u32>load<u8>(src + <usize>p) - 0x30 < 10) p++;
      if (p == d) { this.fail("invalid number: digits expected after '.'", p); return; }
    }
    if (p < len && (load<u8>(src + <usize>p) | 0x20) == 0x65) {
      integer = false;
      p++;
      if (p < len && (load<u8>(src + <usize>p) == 0x2B || load<u8>(src + <usize>p) == 0x2D)) p++;
      const d = p;
      while (p < len && <u32>load<u8>(src + <usize>p) - 0x30 < 10) p++;
      if (p == d) { this.fail("invalid number: digits expected in the exponent", p); return; }
    }
    // a leading zero followed by digits ("01") is left for the caller's check below
    if (p < len) {
      c = load<u8>(src + <usize>p);
      if (c - 0x30 < 10) { this.fail("invalid number: leading zero", start); return; }
    }
    const node = this.doc.addNode(J_NUMBER, start);
    this.doc.setA(node, p - start);
    if (integer) this.doc.orFlags(node, F_INTEGER);
    this.pos = p;
  }

  /** Parses a string token at pos (which is '"'), appending a string node. */
  parseString(): void {
    const doc = this.doc;
    const src = this.src;
    const len = this.len;
    const start = this.pos;
    let p = start + 1;
    // Pass 1: find the end, validate, learn whether there are escapes.
    let escapes = false;
    while (true) {
      if (p >= len) { this.fail("unterminated string", start); return; }
      const c = <u32>load<u8>(src + <usize>p);
      if (c == 0x22) break;
      if (c == 0x5C) {
        escapes = true;
        if (p + 1 >= len) { this.fail("unterminated string", start); return; }
        const e = <u32>load<u8>(src + <usize>(p + 1));
        if (e == 0x75) {
          const cp = this.hex4(p + 2);
          if (cp < 0) { this.fail("invalid \\u escape", p); return; }
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            // must be followed by a \uDC00-DFFF escape
            if (p + 11 < len && load<u8>(src + <usize>(p + 6)) == 0x5C && load<u8>(src + <usize>(p + 7)) == 0x75) {
              const lo = this.hex4(p + 8);
              if (lo >= 0xDC00 && lo <= 0xDFFF) { p += 12; continue; }
            }
            this.fail("lone surrogate in \\u escape", p);
            return;
          }
          if (cp >= 0xDC00 && cp <= 0xDFFF) { this.fail("lone surrogate in \\u escape", p); return; }
          p += 6;
          continue;
        }
        if (e == 0x22 || e == 0x5C || e == 0x2F || e == 0x62 || e == 0x66 || e == 0x6E || e == 0x72 || e == 0x74) {
          p += 2;
          continue;
        }
        this.fail("invalid escape", p);
        return;
      }
      if (c < 0x20) { this.fail("control character in string", p); return; }
      if (c < 0x80) { p++; continue; }
      const n = utf8SeqLen(src + <usize>p, len - p);
      if (n == 0) { this.fail("invalid UTF-8", p); return; }
      p += n;
    }
    const end = p; // index of closing quote
    const node = doc.addNode(J_STRING, start);
    if (!escapes) {
      doc.setA(node, start + 1);
      doc.setB(node, end - start - 1);
    } else {
      doc.orFlags(node, F_DECODED);
      const off = doc.decodedOffset;
      let q = start + 1;
      while (q < end) {
        const c = <u32>load<u8>(src + <usize>q);
        if (c != 0x5C) { doc.appendDecoded(<u8>c); q++; continue; }
        const e = <u32>load<u8>(src + <usize>(q + 1));
        if (e == 0x75) {
          let cp = <u32>this.hex4(q + 2);
          q += 6;
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            const lo = <u32>this.hex4(q + 2);
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            q += 6;
          }
          appendUtf8(doc, cp);
          continue;
        }
        let b: u32 = e;
        if (e == 0x62) b = 0x08;
        else if (e == 0x66) b = 0x0C;
        else if (e == 0x6E) b = 0x0A;
        else if (e == 0x72) b = 0x0D;
        else if (e == 0x74) b = 0x09;
        doc.appendDecoded(<u8>b);
        q += 2;
      }
      doc.setA(node, off);
      doc.setB(node, doc.decodedOffset - off);
    }
    this.pos = end + 1;
  }

  hex4(at: i32): i32 {
    if (at + 4 > this.len) return -1;
    let v = 0;
    for (let i = 0; i < 4; i++) {
      const d = hexVal(load<u8>(this.src + <usize>(at + i)));
      if (d < 0) return -1;
      v = (v << 4) | d;
    }
    return v;
  }
}

function appendUtf8(doc: JsonDoc, cp: u32): void {
  if (cp < 0x80) doc.appendDecoded(<u8>cp);
  else if (cp < 0x800) {
    doc.appendDecoded(<u8>(0xC0 | (cp >> 6)));
    doc.appendDecoded(<u8>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    doc.appendDecoded(<u8>(0xE0 | (cp >> 12)));
    doc.appendDecoded(<u8>(0x80 | ((cp >> 6) & 0x3F)));
    doc.appendDecoded(<u8>(0x80 | (cp & 0x3F)));
  } else {
    doc.appendDecoded(<u8>(0xF0 | (cp >> 18)));
    doc.appendDecoded(<u8>(0x80 | ((cp >> 12) & 0x3F)));
    doc.appendDecoded(<u8>(0x80 | ((cp >> 6) & 0x3F)));
    doc.appendDecoded(<u8>(0x80 | (cp & 0x3F)));
  }
}

/** Length (2..4) of the well-formed UTF-8 sequence at p (first byte ≥ 0x80), or 0 (RFC 3629). */
export function utf8SeqLen(p: usize, avail: i32): i32 {
  const c0 = <u32>load<u8>(p);
  if (c0 >= 0xC2 && c0 <= 0xDF) {
    if (avail < 2) return 0;
    return (<u32>load<u8>(p + 1) & 0xC0) == 0x80 ? 2 : 0;
  }
  if (c0 >= 0xE0 && c0 <= 0xEF) {
    if (avail < 3) return 0;
    const c1 = <u32>load<u8>(p + 1);
    const c2 = <u32>load<u8>(p + 2);
    if ((c1 & 0xC0) != 0x80 || (c2 & 0xC0) != 0x80) return 0;
    if (c0 == 0xE0 && c1 < 0xA0) return 0; // overlong
    if (c0 == 0xED && c1 >= 0xA0) return 0; // surrogate
    return 3;
  }
  if (c0 >= 0xF0 && c0 <= 0xF4) {
    if (avail < 4) return 0;
    const c1 = <u32>load<u8>(p + 1);
    const c2 = <u32>load<u8>(p + 2);
    const c3 = <u32>load<u8>(p + 3);
    if ((c1 & 0xC0) != 0x80 || (c2 & 0xC0) != 0x80 || (c3 & 0xC0) != 0x80) return 0;
    if (c0 == 0xF0 && c1 < 0x90) return 0; // overlong
    if (c0 == 0xF4 && c1 >= 0x90) return 0; // > U+10FFFF
    return 4;
  }
  return 0;
}
