// Request paths: the canonical-path check (docs/internals.md §2), `paths` pattern validation
// (internals §1) and the compiled matcher of one `paths`/`notPaths` list.
//
// Canonical path (PathFacts.set): `:path` up to the first '?' must start with '/' and contain no
// "//", no "." or ".." segment, no '\', '#', byte ≤ 0x20, 0x7F or ≥ 0x80, no '%' that is not
// followed by two hex digits, no %2F/%5C (any case) and no percent-encoded unreserved byte
// ([A-Za-z0-9-._~], e.g. %2e, %61), and no segment with path parameters (';') whose name — the
// bytes before its first ';' — is empty, "." or ".." ("/..;/", "/.;x/", "/;x/": servlet
// containers strip the parameters and then resolve the dot segment or merge the slashes).
// Anything else → the request is denied (non_canonical_path) before any rule is looked at.
//
// Path parameters: Tomcat, Jetty, Undertow and Spring drop everything from a ';' to the end of
// its segment before routing ("/admin;x=1/users" is served as "/admin/users"). So a path with a
// ';' is matched twice: as received, and as that stripped view (PathFacts.stripped). A match in
// either view counts for the restricting lists (deny `paths`, allow `notPaths`); for the
// granting lists (allow `paths`, deny `notPaths`) a suffix entry ("*.json") must hold in both
// views ("/secret;.json" is not a .json path to a servlet container) unless the entry itself
// contains a ';'. Exact, prefix and template entries without a ';' that match the received path
// match its stripped view too (canonical segment names are non-empty and not dot segments).
//
// Patterns (parsePathPattern):
//   "*"            any path ("/*" and "/{**}" mean the same)
//   "/a/b"         exact; "/" is the root. Literal bytes: RFC 3986 pchar minus '%' and minus '*'
//                  ([A-Za-z0-9-._~!$&'()+,;=:@]), no empty segment (so no trailing '/' except
//                  the root), no "." / ".." segment.
//   "/a/*"         segment prefix: the path starts with "/a/" (matches "/a/", "/a/x/y"; not "/a",
//                  not "/ab"). '*' only as the whole last segment.
//   "*.json"       suffix: the path ends with ".json"; '*' then ≥ 1 literal byte, no '/', no '*'.
//   "/a/{*}/b"     template: {*} = exactly one non-empty segment; a final {**} = any remainder,
//                  possibly empty ("/a/{**}" matches "/a/" and "/a/x/y", not "/a"; it is the same
//                  as "/a/*"). '{' and '}' only as whole "{*}" / "{**}" segments. A final "*"
//                  segment after a {*} is the same as "{**}".
// A literal '*' inside a segment ("/a*") is rejected rather than taken literally: it reads like
// a glob and would silently never match what its author meant.
//
// Matching (PathSet.match) is byte-exact, or ASCII case-insensitive for a PathSet built with
// fold=true: `paths` of deny rules (so "/ADMIN" cannot slip past a deny of "/admin" on an upstream
// that folds case) and `notPaths` of allow rules (an exclusion covers every case variant); see
// fields.ts pathFold. A case variant never gains access. A list is first tested against the
// lengths of its exact and prefix keys (one AND each: most lists reject most paths there). Lists
// of at most FEW_KEYS exact/prefix entries then compare those keys' bytes; longer ones are hashed
// (one ByteTable lookup per path, one per '/'-terminated prefix of a length the table holds).
// Suffixes and templates are scanned.

import { Arena } from "../util/arena";
import { ByteTable, lengthBit } from "../util/bytetable";
import { hash64, hash64Fold, hashPrefixes, bytesEqual, bytesEqualFold, endsWith, hexVal, indexOfByte, loadTail, lower8, lowerByte } from "../util/bytes";

// ---- canonical request paths ----------------------------------------------------------------

// @ts-ignore: decorator
@inline
function isUnreserved(c: u32): bool {
  return ((c | 0x20) - 0x61 < 26) || (c - 0x30 < 10) || c == 0x2D || c == 0x2E || c == 0x5F || c == 0x7E;
}

/**
 * The printable bytes Envoy 1.40's normalize_path percent-encodes (" < > ` { } | ^): a path that
 * still holds one raw was not normalized as the reference listeners do, so it is not canonical.
 */
// @ts-ignore: decorator
@inline
function envoyEscapes(c: u32): bool {
  return c == 0x22 || c == 0x3C || c == 0x3E || c == 0x60 || c == 0x7B || c == 0x7D || c == 0x7C || c == 0x5E;
}

// The byte classes of the canonical-path scan, one table load per byte instead of a chain of
// compares (most bytes of a path are PB_PLAIN). Built from the rules above, in their precedence.
const PB_PLAIN: u32 = 0;
const PB_SLASH: u32 = 1;
const PB_QUERY: u32 = 2;
const PB_UPPER: u32 = 3;
const PB_SEMI: u32 = 4;
const PB_BAD: u32 = 5;
const PB_PERCENT: u32 = 6;
const PATH_BYTE_CLASS: StaticArray<u8> = pathByteClasses();

function pathByteClasses(): StaticArray<u8> {
  const t = new StaticArray<u8>(256);
  for (let c: u32 = 0; c < 256; c++) {
    let k = PB_PLAIN;
    if (c == 0x2F) k = PB_SLASH;
    else if (c == 0x3F) k = PB_QUERY;
    else if (c - 0x41 < 26) k = PB_UPPER;
    else if (c == 0x3B) k = PB_SEMI;
    else if (c <= 0x20 || c >= 0x7F || c == 0x5C || c == 0x23 || envoyEscapes(c)) k = PB_BAD;
    else if (c == 0x25) k = PB_PERCENT;
    t[c] = <u8>k;
  }
  return t;
}

/**
 * Length of the path part of `:path` (bytes before the first '?') if it is canonical, else -1.
 * Allocates nothing.
 */
export function canonicalPathLength(ptr: usize, len: i32): i32 {
  return scanPath(ptr, len, null);
}

/**
 * The canonical-path check, in one pass over the bytes; with `facts`, also records what the
 * matchers need later: the length of every '/'-terminated prefix (the first PATH_MAX_PREFIXES),
 * their count, whether the path has parameters (';') or upper-case letters.
 */
// @ts-ignore: decorator
@inline
function scanPath(ptr: usize, len: i32, facts: PathFacts | null): i32 {
  if (len == 0 || load<u8>(ptr) != 0x2F) return -1;
  let seg = 0; // index of the '/' that starts the current segment
  let semi = -1; // index of the current segment's first ';', or -1
  let slashes = 1;
  let upper = false;
  let params = false;
  const lens = facts !== null ? facts.prefixLens : 0;
  if (lens != 0) store<i32>(lens, 1);
  let lenBits = lengthBit(1);
  let n = len;
  const classes = changetype<usize>(PATH_BYTE_CLASS);
  for (let i = 1; i < len; i++) {
    const c = <u32>load<u8>(ptr + <usize>i);
    const k = <u32>load<u8>(classes + <usize>c);
    if (k == PB_PLAIN) continue; // most bytes: one table load and one compare
    if (k == PB_SLASH) {
      if (isBadSegment(ptr, seg, i)) return -1;
      if (semi >= 0 && isBadName(ptr, seg, semi)) return -1;
      if (lens != 0 && slashes < PATH_MAX_PREFIXES) {
        store<i32>(lens + (<usize>slashes << 2), i + 1);
        lenBits |= lengthBit(i + 1);
      }
      slashes++;
      seg = i;
      semi = -1;
      continue;
    }
    if (k == PB_QUERY) { n = i; break; }
    if (k == PB_UPPER) { upper = true; continue; }
    if (k == PB_SEMI) {
      params = true;
      if (semi < 0) semi = i;
      continue;
    }
    if (k == PB_BAD) return -1;
    { // PB_PERCENT
      // two hex digits must follow inside the path part ('?' is not a hex digit)
      if (i + 2 >= len) return -1;
      const h = hexVal(load<u8>(ptr + <usize>(i + 1)));
      const l = hexVal(load<u8>(ptr + <usize>(i + 2)));
      if (h < 0 || l < 0) return -1;
      const v = <u32>((h << 4) | l);
      if (v == 0x2F || v == 0x5C || isUnreserved(v)) return -1;
      i += 2;
    }
  }
  // the last segment may be empty (a trailing '/'), but not "." or ".."
  const last = n - seg - 1;
  if (last > 0 && isBadSegment(ptr, seg, n)) return -1;
  if (semi >= 0 && isBadName(ptr, seg, semi)) return -1;
  if (facts !== null) {
    facts.prefixCount = slashes;
    facts.prefixLenBits = lenBits;
    facts.hasUpper = upper;
    facts.hasParams = params;
  }
  return n;
}

/** A segment name (the bytes between the '/' at `slash` and the segment's first ';' at `semi`)
 *  that is empty, "." or "..". */
// @ts-ignore: decorator
@inline
function isBadName(ptr: usize, slash: i32, semi: i32): bool {
  return isBadSegment(ptr, slash, semi);
}

/** Empty, "." or ".." segment between the '/' at `slash` and `end`. */
// @ts-ignore: decorator
@inline
function isBadSegment(ptr: usize, slash: i32, end: i32): bool {
  const n = end - slash - 1;
  if (n == 0) return true;
  return n <= 2 && load<u8>(ptr + <usize>(slash + 1)) == 0x2E && (n == 1 || load<u8>(ptr + <usize>(slash + 2)) == 0x2E);
}

/** Most '/'-terminated prefixes whose lengths and hashes are kept; deeper ones are found and
 *  hashed on demand. */
export const PATH_MAX_PREFIXES: i32 = 64;

/**
 * The request path as the matchers need it (pre-allocate one per root; `set` allocates nothing).
 * `set` makes one pass (the canonical check, recording prefix lengths); hashes are computed on
 * first use, by a matcher whose table holds keys of the length in question (ByteTable.hasLength),
 * so a request that no table could match is never hashed. Without upper-case letters the
 * case-folded hashes are the plain ones. The path bytes are NOT copied: they must stay valid
 * while deciding.
 */
export class PathFacts {
  ptr: usize = 0;
  /** Length of the path without the query; -1 when not canonical. */
  len: i32 = -1;
  canonical: bool = false;
  /** '/'-terminated prefixes of the path (the first PATH_MAX_PREFIXES have lengths here). */
  prefixCount: i32 = 0;
  /** ByteTable.lengthBit of every prefix length kept in prefixLens: a prefix table without any of
   *  these lengths is skipped with one test (most tables hold a few prefix lengths). */
  prefixLenBits: u64 = 0;
  hasUpper: bool = false;
  private readonly buf: ArrayBuffer = new ArrayBuffer(PATH_MAX_PREFIXES * 20);
  readonly prefixLens: usize = changetype<usize>(this.buf);
  private readonly plainHashes: usize = changetype<usize>(this.buf) + PATH_MAX_PREFIXES * 4;
  private readonly foldHashes: usize = changetype<usize>(this.buf) + PATH_MAX_PREFIXES * 12;
  // Hashes computed so far: the whole path (bit 0 of `ready`: plain, bit 1: fold), and per prefix
  // (bit k of plainKnown / foldKnown). The first few prefixes asked for are hashed one by one
  // (usually one lookup per table); from the fifth on, all of them in one pass.
  private ready: i32 = 0;
  private plainKnown: u64 = 0;
  private foldKnown: u64 = 0;
  private asked: i32 = 0;
  private plainHash: u64 = 0;
  private foldHash: u64 = 0;
  /** The path has path parameters (a ';'): `stripped` holds the view without them. */
  hasParams: bool = false;
  /** The stripped view ("/a;x/b;y" → "/a/b"); created on the first path with a ';' and reused.
   *  Meaningful only while hasParams. */
  stripped: PathFacts | null = null;
  private stripBuf: ArrayBuffer | null = null;

  /** Takes `:path` (query included); returns whether it is canonical. */
  set(ptr: usize, len: i32): bool {
    this.ptr = ptr;
    this.ready = 0;
    this.plainKnown = 0;
    this.foldKnown = 0;
    this.asked = 0;
    const n = scanPath(ptr, len, this);
    this.len = n;
    this.canonical = n > 0;
    if (!this.canonical) {
      this.prefixCount = 0;
      this.prefixLenBits = 0;
      this.hasParams = false;
      return false;
    }
    if (this.hasParams && !this.setStripped()) {
      // cannot happen for a canonical path; refuse rather than match half a path
      this.len = -1;
      this.canonical = false;
      this.hasParams = false;
      this.prefixCount = 0;
      this.prefixLenBits = 0;
      return false;
    }
    return true;
  }

  /** hash64 (fold: hash64Fold) of the whole path. */
  hash(fold: bool): u64 {
    if (fold && this.hasUpper) {
      if ((this.ready & 2) == 0) { this.foldHash = hash64Fold(this.ptr, this.len); this.ready |= 2; }
      return this.foldHash;
    }
    if ((this.ready & 1) == 0) { this.plainHash = hash64(this.ptr, this.len); this.ready |= 1; }
    return this.plainHash;
  }

  /** hash64 (fold: hash64Fold) of prefix k < min(prefixCount, PATH_MAX_PREFIXES). */
  prefixHash(k: i32, fold: bool): u64 {
    const f = fold && this.hasUpper;
    const bit: u64 = <u64>1 << <u64>k;
    const table = f ? this.foldHashes : this.plainHashes;
    const slot = table + (<usize>k << 3);
    if (((f ? this.foldKnown : this.plainKnown) & bit) != 0) return load<u64>(slot);
    if (++this.asked <= 4) {
      const pl = load<i32>(this.prefixLens + (<usize>k << 2));
      store<u64>(slot, f ? hash64Fold(this.ptr, pl) : hash64(this.ptr, pl));
      if (f) this.foldKnown |= bit; else this.plainKnown |= bit;
    } else {
      hashPrefixes(this.ptr, this.len, 0, 0x2F, f, this.prefixLens, table, PATH_MAX_PREFIXES);
      if (f) this.foldKnown = <u64>-1; else this.plainKnown = <u64>-1;
    }
    return load<u64>(slot);
  }

  /** Copies the path without its parameters into the stripped view. Allocates only when a
   *  longer path than any before arrives. */
  private setStripped(): bool {
    const n = this.len;
    let buf = this.stripBuf;
    if (buf === null || buf.byteLength < n) {
      buf = new ArrayBuffer(n < 256 ? 256 : n);
      this.stripBuf = buf;
    }
    let view = this.stripped;
    if (view === null) {
      view = new PathFacts();
      this.stripped = view;
    }
    const src = this.ptr;
    const dst = changetype<usize>(buf);
    let m = 0;
    let skipping = false;
    for (let i = 0; i < n; i++) {
      const c = load<u8>(src + <usize>i);
      if (c == 0x2F) skipping = false;
      else if (c == 0x3B) skipping = true;
      if (!skipping) { store<u8>(dst + <usize>m, c); m++; }
    }
    return view.set(dst, m);
  }
}

// ---- patterns -------------------------------------------------------------------------------

export const PAT_ANY: i32 = 0;
export const PAT_EXACT: i32 = 1;
export const PAT_PREFIX: i32 = 2;   // literal = the prefix, ending with '/'
export const PAT_SUFFIX: i32 = 3;   // literal = the suffix (after the '*')
export const PAT_TEMPLATE: i32 = 4;

/** Result of parsePathPattern (config time). */
export class PathPattern {
  kind: i32 = PAT_ANY;
  /** Error message when invalid, else null. */
  error: string | null = null;
  /** EXACT / PREFIX / SUFFIX: offset and length of the literal within the pattern bytes. */
  litOff: i32 = 0;
  litLen: i32 = 0;
  /** TEMPLATE: per segment kind (SEG_*), offset, length within the pattern bytes. */
  segKinds: i32[] = [];
  segOffs: i32[] = [];
  segLens: i32[] = [];
}

export const SEG_LITERAL: i32 = 0;
export const SEG_ONE: i32 = 1;  // {*}
export const SEG_REST: i32 = 2; // {**}, or a final * in a template

/** RFC 3986 pchar minus '%' and '*': unreserved, sub-delims except '*', ':' and '@'. */
export function isPatternLiteralChar(c: u32): bool {
  if (isUnreserved(c)) return true;
  switch (c) {
    case 0x21: case 0x24: case 0x26: case 0x27: case 0x28: case 0x29: case 0x2B: case 0x2C:
    case 0x3B: case 0x3D: case 0x3A: case 0x40: return true;
  }
  return false;
}

const MSG_STAR = "'*' is only allowed alone, as the whole last segment (\"/a/*\") or as a leading suffix wildcard (\"*.json\")";
const MSG_BRACE = "'{' and '}' are only allowed as whole \"{*}\" or \"{**}\" segments";
const MSG_CHAR = "path pattern has a character outside [A-Za-z0-9-._~!$&'()+,;=:@]";

/** Validates and classifies a `paths` entry. */
export function parsePathPattern(p: usize, n: i32): PathPattern {
  const r = new PathPattern();
  if (n == 0) { r.error = "path pattern is empty"; return r; }
  const c0 = <u32>load<u8>(p);
  if (c0 == 0x2A) {
    if (n == 1) { r.kind = PAT_ANY; return r; }
    for (let i = 1; i < n; i++) {
      const c = <u32>load<u8>(p + <usize>i);
      if (c == 0x2F) { r.error = "a suffix pattern (\"*.json\") cannot contain '/'"; return r; }
      if (c == 0x2A) { r.error = MSG_STAR; return r; }
      if (c == 0x7B || c == 0x7D) { r.error = MSG_BRACE; return r; }
      if (!isPatternLiteralChar(c)) { r.error = MSG_CHAR; return r; }
    }
    r.kind = PAT_SUFFIX;
    r.litOff = 1;
    r.litLen = n - 1;
    return r;
  }
  if (c0 != 0x2F) { r.error = "path pattern must start with '/', or be '*' or a suffix pattern (\"*.json\")"; return r; }
  if (n == 1) { r.kind = PAT_EXACT; r.litOff = 0; r.litLen = 1; return r; }
  // split into segments after each '/'
  let hasOne = false;
  let restAt = -1; // index of the '/' before a final rest segment
  let segStart = 1;
  const kinds = r.segKinds, offs = r.segOffs, lens = r.segLens;
  while (true) {
    let e = segStart;
    while (e < n && load<u8>(p + <usize>e) != 0x2F) e++;
    const sl = e - segStart;
    const isLast = e >= n;
    const sp = p + <usize>segStart;
    if (sl == 0) { r.error = "path pattern has an empty segment"; return r; }
    if (restAt >= 0) { r.error = "'{**}' must be the last segment"; return r; }
    if (sl == 1 && load<u8>(sp) == 0x2A) {
      if (!isLast) { r.error = MSG_STAR; return r; }
      restAt = segStart - 1;
      kinds.push(SEG_REST); offs.push(segStart); lens.push(1);
    } else if (sl == 3 && load<u8>(sp) == 0x7B && load<u8>(sp + 1) == 0x2A && load<u8>(sp + 2) == 0x7D) {
      hasOne = true;
      kinds.push(SEG_ONE); offs.push(segStart); lens.push(3);
    } else if (sl == 4 && load<u8>(sp) == 0x7B && load<u8>(sp + 1) == 0x2A && load<u8>(sp + 2) == 0x2A && load<u8>(sp + 3) == 0x7D) {
      restAt = segStart - 1;
      kinds.push(SEG_REST); offs.push(segStart); lens.push(4);
    } else {
      for (let i = 0; i < sl; i++) {
        const c = <u32>load<u8>(sp + <usize>i);
        if (c == 0x2A) { r.error = MSG_STAR; return r; }
        if (c == 0x7B || c == 0x7D) { r.error = MSG_BRACE; return r; }
        if (!isPatternLiteralChar(c)) { r.error = MSG_CHAR; return r; }
      }
      if (sl <= 2 && load<u8>(sp) == 0x2E && (sl == 1 || load<u8>(sp + 1) == 0x2E)) {
        r.error = "path pattern has a '.' or '..' segment";
        return r;
      }
      kinds.push(SEG_LITERAL); offs.push(segStart); lens.push(sl);
    }
    if (isLast) break;
    segStart = e + 1;
    if (segStart >= n) { r.error = "path pattern has an empty segment"; return r; }
  }
  if (hasOne) { r.kind = PAT_TEMPLATE; return r; }
  if (restAt >= 0) {
    if (restAt == 0) { r.kind = PAT_ANY; return r; } // "/*", "/{**}"
    r.kind = PAT_PREFIX;
    r.litOff = 0;
    r.litLen = restAt + 1; // including the '/'
    return r;
  }
  r.kind = PAT_EXACT;
  r.litOff = 0;
  r.litLen = n;
  return r;
}

// ---- compiled matcher -----------------------------------------------------------------------

// Template layout in the arena: i32 count, then per segment (i32 kind, u32 ptr, i32 len).
// Suffix list: per entry (u32 ptr, i32 len, i32 1 if the suffix contains a ';').
// Few-keys list: per entry (u32 ptr, i32 len, i32 1 for a prefix); keys lower-cased when fold.

/** Lists with at most this many exact and prefix entries compare them byte by byte: cheaper than
 *  hashing the path (or its prefix) and probing a table, for the short lists most rules have. */
const FEW_KEYS: i32 = 4;

/** Whether the `n` bytes at `p` (ASCII-lower-cased first when `fold`) equal the `n` bytes at
 *  `key`; word loads, never reading past either end. */
// @ts-ignore: decorator
@inline
function keyEquals(p: usize, key: usize, n: i32, fold: bool): bool {
  let i = 0;
  for (; i + 8 <= n; i += 8) {
    const w = load<u64>(p + <usize>i);
    if ((fold ? lower8(w) : w) != load<u64>(key + <usize>i)) return false;
  }
  const t = loadTail(p + <usize>i, n - i);
  return (fold ? lower8(t) : t) == loadTail(key + <usize>i, n - i);
}

// @ts-ignore: decorator
@unmanaged
export class PathSet {
  any: bool;
  fold: bool;
  exact: ByteTable | null;
  prefixes: ByteTable | null;
  suffixes: usize;
  suffixCount: i32;
  templates: usize; // array of u32 pointers to template blocks
  templateCount: i32;
  /** ByteTable.lengthBit of the exact keys' and the prefix keys' lengths (0: no such table), and
   *  whether suffixes or templates must be scanned: most requests are rejected by a list with
   *  three tests, before any hashing and without a call. */
  exactLengths: u64;
  prefixLengths: u64;
  scans: bool;
  /** At most FEW_KEYS exact and prefix entries: their keys (layout above), matched instead of
   *  the tables; else 0. */
  few: usize;
  fewCount: i32;

  /** Builds the matcher of one list; `pats[i]` describes the bytes (ptrs[i], lens[i]). */
  static build(arena: Arena, fold: bool, pats: PathPattern[], ptrs: usize[], lens: i32[]): PathSet {
    const s = changetype<PathSet>(arena.alloc(offsetof<PathSet>()));
    s.fold = fold;
    let nExact = 0, nPrefix = 0, nSuffix = 0, nTemplate = 0;
    for (let i = 0; i < pats.length; i++) {
      const k = pats[i].kind;
      if (k == PAT_ANY) s.any = true;
      else if (k == PAT_EXACT) nExact++;
      else if (k == PAT_PREFIX) nPrefix++;
      else if (k == PAT_SUFFIX) nSuffix++;
      else nTemplate++;
    }
    s.exact = nExact > 0 ? ByteTable.create(arena, nExact, fold) : null;
    s.prefixes = nPrefix > 0 ? ByteTable.create(arena, nPrefix, fold) : null;
    s.suffixes = nSuffix > 0 ? arena.alloc(<usize>nSuffix * 12) : 0;
    s.templates = nTemplate > 0 ? arena.alloc(<usize>nTemplate * 4) : 0;
    for (let i = 0; i < pats.length; i++) {
      const pt = pats[i];
      const base = ptrs[i];
      if (pt.kind == PAT_EXACT) {
        s.exact!.insert(arena, base + <usize>pt.litOff, pt.litLen, 0);
      } else if (pt.kind == PAT_PREFIX) {
        s.prefixes!.insert(arena, base + <usize>pt.litOff, pt.litLen, 0);
      } else if (pt.kind == PAT_SUFFIX) {
        const e = s.suffixes + <usize>s.suffixCount * 12;
        store<u32>(e, <u32>arena.dup(base + <usize>pt.litOff, pt.litLen));
        store<i32>(e + 4, pt.litLen);
        store<i32>(e + 8, indexOfByte(base + <usize>pt.litOff, pt.litLen, 0x3B, 0) >= 0 ? 1 : 0);
        s.suffixCount++;
      } else if (pt.kind == PAT_TEMPLATE) {
        const ns = pt.segKinds.length;
        const t = arena.alloc(4 + <usize>ns * 12);
        store<i32>(t, ns);
        for (let k = 0; k < ns; k++) {
          const e = t + 4 + <usize>k * 12;
          store<i32>(e, pt.segKinds[k]);
          if (pt.segKinds[k] == SEG_LITERAL) {
            store<u32>(e + 4, <u32>arena.dup(base + <usize>pt.segOffs[k], pt.segLens[k]));
            store<i32>(e + 8, pt.segLens[k]);
          }
        }
        store<u32>(s.templates + <usize>s.templateCount * 4, <u32>t);
        s.templateCount++;
      }
    }
    if (nExact + nPrefix > 0 && nExact + nPrefix <= FEW_KEYS) s.buildFew(arena, pats, ptrs, nExact + nPrefix);
    s.exactLengths = nExact > 0 ? s.exact!.lengths : 0;
    s.prefixLengths = nPrefix > 0 ? s.prefixes!.lengths : 0;
    s.scans = nSuffix > 0 || nTemplate > 0;
    return s;
  }

  private buildFew(arena: Arena, pats: PathPattern[], ptrs: usize[], n: i32): void {
    this.few = arena.alloc(<usize>n * 12);
    for (let i = 0; i < pats.length; i++) {
      const pt = pats[i];
      if (pt.kind != PAT_EXACT && pt.kind != PAT_PREFIX) continue;
      const key = arena.dup(ptrs[i] + <usize>pt.litOff, pt.litLen);
      if (this.fold) {
        for (let j = 0; j < pt.litLen; j++) store<u8>(key + <usize>j, <u8>lowerByte(load<u8>(key + <usize>j)));
      }
      const e = this.few + <usize>this.fewCount * 12;
      store<u32>(e, <u32>key);
      store<i32>(e + 4, pt.litLen);
      store<i32>(e + 8, pt.kind == PAT_PREFIX ? 1 : 0);
      this.fewCount++;
    }
  }

  /** Does the (canonical) path match any entry? Allocates nothing. A path with parameters is
   *  also judged by its stripped view (see the top of this file): restricting lists (fold) match
   *  if either view does; in granting lists a suffix entry must hold in both views. */
  // @ts-ignore: decorator
  @inline
  match(f: PathFacts): bool {
    if (this.any) return true;
    if (!f.hasParams) {
      if (!this.mayMatch(f)) return false;
      // the usual list: a few exact paths and prefixes, nothing to scan: no call
      return !this.scans && this.fewCount > 0 ? this.matchFew(f.ptr, f.len) : this.matchView(f, null);
    }
    const stripped = f.hasParams ? f.stripped : null;
    if (this.matchView(f, this.fold ? null : stripped)) return true;
    return this.fold && stripped !== null && this.matchView(stripped, null);
  }

  /** False when no entry can match view `f`: no exact key of its length, no prefix key of the
   *  length of one of its (kept) prefixes, no suffix or template to scan, not a deep path. */
  // @ts-ignore: decorator
  @inline
  private mayMatch(f: PathFacts): bool {
    return (this.exactLengths & lengthBit(f.len)) != 0 || (this.prefixLengths & f.prefixLenBits) != 0 ||
      this.scans || f.prefixCount > PATH_MAX_PREFIXES;
  }

  /** The few exact and prefix keys (fewCount > 0) against the path [p, p+n). A '/'-terminated
   *  prefix of the path equals a prefix key (which ends with '/') exactly when the path starts
   *  with the key. */
  // @ts-ignore: decorator
  @inline
  private matchFew(p: usize, n: i32): bool {
    const fold = this.fold;
    let found = false;
    for (let k = 0; k < this.fewCount; k++) {
      const e = this.few + <usize>k * 12;
      const kl = load<i32>(e + 4);
      if ((load<i32>(e + 8) != 0 ? kl <= n : kl == n) && keyEquals(p, <usize>load<u32>(e), kl, fold)) { found = true; break; }
    }
    return found;
  }

  /** The exact and prefix tables (hashes of the path and of its prefixes, on demand). */
  private matchTables(f: PathFacts, fold: bool): bool {
    const p = f.ptr;
    const n = f.len;
    const exact = this.exact;
    if (exact !== null && exact.hasLength(n) && exact.find(p, n, f.hash(fold)) >= 0) return true;
    const prefixes = this.prefixes;
    if (prefixes !== null) {
      if ((prefixes.lengths & f.prefixLenBits) != 0) {
        const cached = f.prefixCount < PATH_MAX_PREFIXES ? f.prefixCount : PATH_MAX_PREFIXES;
        for (let k = 0; k < cached; k++) {
          const pl = load<i32>(f.prefixLens + (<usize>k << 2));
          if (prefixes.hasLength(pl) && prefixes.find(p, pl, f.prefixHash(k, fold)) >= 0) return true;
        }
      }
      if (f.prefixCount > PATH_MAX_PREFIXES) {
        // deep paths: hash the remaining prefixes on demand
        let from = load<i32>(f.prefixLens + (<usize>(PATH_MAX_PREFIXES - 1) << 2));
        for (let i = from; i < n; i++) {
          if (load<u8>(p + <usize>i) != 0x2F) continue;
          const pl = i + 1;
          if (prefixes.hasLength(pl) && prefixes.find(p, pl, fold ? hash64Fold(p, pl) : hash64(p, pl)) >= 0) return true;
        }
      }
    }
    return false;
  }

  /** One view. `both`: the stripped view a granting suffix entry must also end with. */
  private matchView(f: PathFacts, both: PathFacts | null): bool {
    const fold = this.fold;
    const p = f.ptr;
    const n = f.len;
    if (this.fewCount > 0 ? this.matchFew(p, n) : this.matchTables(f, fold)) return true;
    for (let k = 0; k < this.suffixCount; k++) {
      const e = this.suffixes + <usize>k * 12;
      const sp = <usize>load<u32>(e);
      const sl = load<i32>(e + 4);
      if (!endsWith(p, n, sp, sl, fold)) continue;
      if (both !== null && load<i32>(e + 8) == 0 && !endsWith(both.ptr, both.len, sp, sl, false)) continue;
      return true;
    }
    for (let k = 0; k < this.templateCount; k++) {
      if (matchTemplate(<usize>load<u32>(this.templates + <usize>k * 4), p, n, fold)) return true;
    }
    return false;
  }
}

/** Matches a template block against a canonical path. */
function matchTemplate(t: usize, p: usize, n: i32, fold: bool): bool {
  const ns = load<i32>(t);
  let pos = 0; // at a '/' (or n when the path is used up)
  for (let k = 0; k < ns; k++) {
    const e = t + 4 + <usize>k * 12;
    const kind = load<i32>(e);
    if (pos >= n) return false; // template wants another segment (or a '/' for {**})
    if (kind == SEG_REST) return true; // remainder after this '/' is anything, possibly empty
    let end = pos + 1;
    while (end < n && load<u8>(p + <usize>end) != 0x2F) end++;
    const sp = p + <usize>(pos + 1);
    const sl = end - pos - 1;
    if (kind == SEG_ONE) {
      if (sl == 0) return false;
    } else {
      const lp = <usize>load<u32>(e + 4);
      const ll = load<i32>(e + 8);
      if (fold ? !bytesEqualFold(sp, sl, lp, ll) : !bytesEqual(sp, sl, lp, ll)) return false;
    }
    pos = end;
  }
  return pos >= n;
}
