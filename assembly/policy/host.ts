// Egress targets (docs/design.md §3.4, docs/internals.md §1-2): authority parsing, `hosts` and
// `cidrs` patterns, and their compiled matchers.
//
// EgressTarget.parse(authority, scheme, isConnect) — checks, in this order:
//   1. userinfo        any '@' in the authority
//   2. bad_authority   empty; a byte ≤ 0x20, 0x7F, '/', '?', '#' or '\'; misplaced '[' / ']';
//                      more than one ':' outside brackets; an empty host
//   3. non_ascii_host  a byte ≥ 0x80 in the host (IDNs must arrive as A-labels)
//   4. bad_authority   a bracketed IPv6 literal that does not parse (zone IDs included)
//   5. bad_host        an empty label (authority hygiene, issue 13): an empty name, a leading
//                      dot, "..", or ANY trailing dot. Envoy's strip_trailing_host_dot (reference
//                      configs) removes one trailing dot before the filter runs, so a dot that
//                      still reaches the filter means the request had two ("api.stripe.com..");
//                      the filter removes none itself: it cannot tell that case from a listener
//                      without the option, where "api.stripe.com." is refused too (fail closed:
//                      such listeners should set strip_trailing_host_dot). Whatever Envoy
//                      stripped, a name with an empty label is never judged (nor resolved) as its
//                      dot-less twin. IPv4-looking names too ("127.0.0.1." is bad_host).
//   5b. bad_authority  a name whose last label is a number (all digits, or "0x" + hex) but which
//                      is not an IPv4 address in one of inet_aton's forms (so "1.2.3.256" and
//                      "example.123" are rejected)
//   5c. bad_label      a label longer than 63 bytes, outside [A-Za-z0-9-] (compared lower-cased),
//                      or starting/ending '-'
//   6. name_too_long   the name is longer than 253 bytes
//   7. bad_port        ":" with no digits, more than 5 digits, a non-digit, 0 or > 65535; no
//                      port with CONNECT; no port and a scheme other than http (80) / https (443)
// EgressTarget.parseServerName(name, port): a TLS server_name (no port, no brackets): ONE
// trailing dot is removed (the FQDN form; no proxy strips it before the filter); then the same
// checks 3, 5, 5b, 5c and 6 (so two trailing dots are an empty label, `bad_host`). The SNI filter
// refuses anything but a valid name (`bad_sni`), IP literals included.
// IP literals: IPv4 in every inet_aton form ("127.0.0.1", "127.1", "0177.0.0.1", "0x7f000001",
// "2130706433") and bracketed IPv6 ("[::1]", "[::ffff:127.0.0.1]").
// They never match `hosts`, only `cidrs`. Only the canonical ones (`canonicalIp`: strict dotted
// quad, bracketed IPv6) get that far: decideEgress denies the other IPv4 forms (`ambiguous_ip`),
// because Envoy does not dial what inet_aton reads (docs/egress-behaviour.md).
// All addresses are kept as 16 bytes, IPv4 in its IPv4-mapped IPv6 form (::ffff:a.b.c.d), and
// an IPv4 CIDR a.b.c.d/n is compiled to ::ffff:a.b.c.d/(96+n); so "[::ffff:127.0.0.1]" is caught by a rule on 127.0.0.0/8, and an
// IPv6 CIDR that covers ::ffff:0:0/96 (e.g. ::/0) also covers every IPv4 address.
//
// Patterns: `hosts` entries are lower-case LDH names (labels 1..63, name ≤ 253, no trailing dot,
// not IP-like) or "*." + such a name. "*.stripe.com" matches a name with one or more extra labels
// ("a.stripe.com", "a.b.stripe.com"), never "stripe.com". `cidrs` entries: dotted-quad IPv4
// (decimal, no leading zeros) "/0..32" or IPv6 "/0..128", with no bits set beyond the prefix.
//
// HostSet.match: one hash lookup for the exact name plus one per '.'-suffix of the name (hashes
// computed once per request in EgressTarget). CidrSet.match: a scan of the (usually few) CIDRs.

import { Arena } from "../util/arena";
import { ByteTable } from "../util/bytetable";
import { hash64, isDigit, hexVal, lowerByte, bytesEqualAsciiFold } from "../util/bytes";
import { StrBuf } from "../util/strbuf";

export const TARGET_OK: i32 = 0;
export const TARGET_BAD_AUTHORITY: i32 = 1;
export const TARGET_USERINFO: i32 = 2;
export const TARGET_BAD_PORT: i32 = 3;
export const TARGET_NON_ASCII_HOST: i32 = 4;
export const TARGET_BAD_LABEL: i32 = 5;
export const TARGET_NAME_TOO_LONG: i32 = 6;
/** Not produced by parse (which still reads every inet_aton form, see `canonicalIp`): decideEgress
 *  denies an IPv4 literal that is not a plain dotted quad with this reason. */
export const TARGET_AMBIGUOUS_IP: i32 = 7;
/** An empty label: a leading dot, "..", or a trailing dot (check 5). */
export const TARGET_BAD_HOST: i32 = 8;

export function targetReasonName(code: i32): string {
  switch (code) {
    case TARGET_OK: return "ok";
    case TARGET_BAD_AUTHORITY: return "bad_authority";
    case TARGET_USERINFO: return "userinfo";
    case TARGET_BAD_PORT: return "bad_port";
    case TARGET_NON_ASCII_HOST: return "non_ascii_host";
    case TARGET_BAD_LABEL: return "bad_label";
    case TARGET_NAME_TOO_LONG: return "name_too_long";
    case TARGET_AMBIGUOUS_IP: return "ambiguous_ip";
    case TARGET_BAD_HOST: return "bad_host";
  }
  return "unknown";
}

export const MAX_NAME: i32 = 253;
const MAX_LABELS: i32 = 128;

/**
 * The parsed egress target of one request. Pre-allocate one per stream context; `parse`
 * allocates nothing. The name is copied (lower-cased) into the object's own buffer.
 */
export class EgressTarget {
  reason: i32 = TARGET_BAD_AUTHORITY;
  isIp: bool = false;
  /** An IP literal every resolver reads the same way: a strict dotted quad (4 decimal parts,
   *  no leading zeros, no trailing dot) or a bracketed IPv6 address. Envoy's dynamic forward proxy
   *  dials "0177.0.0.1" as 177.0.0.1 (leading zeros read as decimal) and sends the other inet_aton
   *  forms ("127.1", "0x7f000001", "2130706433") to DNS as names, so for those the address
   *  judged here is not the one dialed: decideEgress denies them (`ambiguous_ip`). */
  canonicalIp: bool = false;
  private readonly buf: ArrayBuffer = new ArrayBuffer(MAX_LABELS * 12 + 256 + 16);
  /** For each '.' in the name: hash64 of the suffix after it, and that suffix's offset. */
  readonly suffixHashes: usize = changetype<usize>(this.buf);
  readonly suffixOffs: usize = changetype<usize>(this.buf) + MAX_LABELS * 8;
  suffixCount: i32 = 0;
  /** Lower-case name (a server_name without its one trailing dot): [name, name+nameLen). */
  readonly name: usize = changetype<usize>(this.buf) + MAX_LABELS * 12;
  nameLen: i32 = 0;
  nameHash: u64 = 0;
  /** 16-byte address (IPv4 as ::ffff:a.b.c.d) when isIp. */
  readonly ip: usize = changetype<usize>(this.buf) + MAX_LABELS * 12 + 256;
  port: i32 = 0;

  get ok(): bool { return this.reason == TARGET_OK; }

  /** Parses an authority ("host[:port]", "[v6][:port]"); scheme gives the default port. */
  parse(a: usize, n: i32, scheme: usize, schemeLen: i32, isConnect: bool): bool {
    this.clear();
    const r = this.parseInner(a, n, scheme, schemeLen, isConnect);
    this.reason = r;
    return r == TARGET_OK;
  }

  /** Parses a TLS server_name (one trailing dot allowed) with the connection's `port`. */
  parseServerName(p: usize, n: i32, port: i32): bool {
    this.clear();
    let r = TARGET_OK;
    if (n <= 0) r = TARGET_BAD_HOST;
    else {
      for (let i = 0; i < n; i++) {
        const c = <u32>load<u8>(p + <usize>i);
        if (c >= 0x80) { r = TARGET_NON_ASCII_HOST; break; }
      }
      if (r == TARGET_OK) r = this.parseName(p, load<u8>(p + <usize>(n - 1)) == 0x2E ? n - 1 : n);
    }
    if (r == TARGET_OK && (port < 1 || port > 65535)) r = TARGET_BAD_PORT;
    this.port = port;
    this.reason = r;
    return r == TARGET_OK;
  }

  private clear(): void {
    this.isIp = false;
    this.canonicalIp = false;
    this.nameLen = 0;
    this.suffixCount = 0;
    this.port = 0;
  }

  private parseInner(a: usize, n: i32, scheme: usize, schemeLen: i32, isConnect: bool): i32 {
    if (n <= 0) return TARGET_BAD_AUTHORITY;
    let nonAscii = false;
    for (let i = 0; i < n; i++) if (load<u8>(a + <usize>i) == 0x40) return TARGET_USERINFO;
    for (let i = 0; i < n; i++) {
      const c = <u32>load<u8>(a + <usize>i);
      if (c <= 0x20 || c == 0x7F || c == 0x2F || c == 0x3F || c == 0x23 || c == 0x5C) return TARGET_BAD_AUTHORITY;
      if (c >= 0x80) nonAscii = true;
    }
    let hostStart = 0, hostEnd = 0, portAt = -1; // portAt: index of ':' before the port
    const bracketed = load<u8>(a) == 0x5B;
    if (bracketed) {
      let close = -1;
      for (let i = 1; i < n; i++) if (load<u8>(a + <usize>i) == 0x5D) { close = i; break; }
      if (close < 0) return TARGET_BAD_AUTHORITY;
      hostStart = 1;
      hostEnd = close;
      if (close + 1 < n) {
        if (load<u8>(a + <usize>(close + 1)) != 0x3A) return TARGET_BAD_AUTHORITY;
        portAt = close + 1;
      }
      for (let i = close + 1; i < n; i++) {
        const c = load<u8>(a + <usize>i);
        if (c == 0x5B || c == 0x5D) return TARGET_BAD_AUTHORITY;
      }
    } else {
      for (let i = 0; i < n; i++) {
        const c = load<u8>(a + <usize>i);
        if (c == 0x5B || c == 0x5D) return TARGET_BAD_AUTHORITY;
        if (c == 0x3A) {
          if (portAt >= 0) return TARGET_BAD_AUTHORITY;
          portAt = i;
        }
      }
      hostEnd = portAt >= 0 ? portAt : n;
    }
    if (hostEnd <= hostStart) return TARGET_BAD_AUTHORITY;
    if (nonAscii) {
      // non-ASCII in the port is a bad port, in the host a non-ASCII host
      for (let i = hostStart; i < hostEnd; i++) if (load<u8>(a + <usize>i) >= 0x80) return TARGET_NON_ASCII_HOST;
    }
    const hp = a + <usize>hostStart;
    const hl = hostEnd - hostStart;
    if (bracketed) {
      if (!parseIpv6(hp, hl, this.ip)) return TARGET_BAD_AUTHORITY;
      this.isIp = true;
      this.canonicalIp = true;
    } else {
      const r = this.parseName(hp, hl);
      if (r != TARGET_OK) return r;
    }
    // port
    if (portAt >= 0) {
      const pl = n - portAt - 1;
      if (pl < 1 || pl > 5) return TARGET_BAD_PORT;
      let v = 0;
      for (let i = portAt + 1; i < n; i++) {
        const c = <u32>load<u8>(a + <usize>i);
        if (!isDigit(c)) return TARGET_BAD_PORT;
        v = v * 10 + <i32>(c - 0x30);
      }
      if (v < 1 || v > 65535) return TARGET_BAD_PORT;
      this.port = v;
    } else {
      if (isConnect) return TARGET_BAD_PORT;
      if (bytesEqualAsciiFold(scheme, schemeLen, "https")) this.port = 443;
      else if (bytesEqualAsciiFold(scheme, schemeLen, "http")) this.port = 80;
      else return TARGET_BAD_PORT;
    }
    return TARGET_OK;
  }

  /** A host name, taken as it is: any trailing dot left is an empty label (check 5). */
  private parseName(hp: usize, n: i32): i32 {
    if (n == 0 || hasEmptyLabel(hp, n)) return TARGET_BAD_HOST;
    // IPv4 when the last label is a number
    let lastStart = n;
    while (lastStart > 0 && load<u8>(hp + <usize>(lastStart - 1)) != 0x2E) lastStart--;
    if (isNumericLabel(hp + <usize>lastStart, n - lastStart)) {
      if (!parseIpv4Loose(hp, n)) return TARGET_BAD_AUTHORITY;
      this.canonicalIp = parseIpv4Strict(hp, n, this.ip + 12);
      memory.fill(this.ip, 0, 10);
      store<u16>(this.ip + 10, 0xFFFF);
      store<u32>(this.ip + 12, bswap<u32>(<u32>ipv4Scratch));
      this.isIp = true;
      return TARGET_OK;
    }
    const r = checkLabels(hp, n, false);
    if (r != TARGET_OK) return r;
    if (n > MAX_NAME) return TARGET_NAME_TOO_LONG;
    const name = this.name;
    for (let i = 0; i < n; i++) store<u8>(name + <usize>i, <u8>lowerByte(load<u8>(hp + <usize>i)));
    this.nameLen = n;
    this.nameHash = hash64(name, n);
    let k = 0;
    for (let i = 0; i < n; i++) {
      if (load<u8>(name + <usize>i) != 0x2E) continue;
      const off = i + 1;
      store<i32>(this.suffixOffs + (<usize>k << 2), off);
      store<u64>(this.suffixHashes + (<usize>k << 3), hash64(name + <usize>off, n - off));
      k++;
    }
    this.suffixCount = k;
    return TARGET_OK;
  }
}

/** A leading dot, two dots in a row, or a trailing dot (n > 0). */
function hasEmptyLabel(p: usize, n: i32): bool {
  if (load<u8>(p) == 0x2E || load<u8>(p + <usize>(n - 1)) == 0x2E) return true;
  for (let i = 1; i < n; i++) if (load<u8>(p + <usize>i) == 0x2E && load<u8>(p + <usize>(i - 1)) == 0x2E) return true;
  return false;
}

/** LDH labels separated by '.', each 1..63, no leading/trailing '-'. Upper case allowed unless
 *  `lowerOnly` (then reported as TARGET_BAD_LABEL too; callers word it). */
function checkLabels(p: usize, n: i32, lowerOnly: bool): i32 {
  let start = 0;
  for (let i = 0; i <= n; i++) {
    if (i < n && load<u8>(p + <usize>i) != 0x2E) {
      const c = <u32>load<u8>(p + <usize>i);
      const ok = (c - 0x61 < 26) || (c - 0x30 < 10) || c == 0x2D || (!lowerOnly && c - 0x41 < 26);
      if (!ok) return TARGET_BAD_LABEL;
      continue;
    }
    const l = i - start;
    if (l < 1 || l > 63) return TARGET_BAD_LABEL;
    if (load<u8>(p + <usize>start) == 0x2D || load<u8>(p + <usize>(i - 1)) == 0x2D) return TARGET_BAD_LABEL;
    start = i + 1;
  }
  return TARGET_OK;
}

/** A label that makes the name an IPv4 literal: all decimal digits, or "0x"/"0X" + hex digits. */
function isNumericLabel(p: usize, n: i32): bool {
  if (n == 0) return false;
  let i = 0;
  if (n >= 2 && load<u8>(p) == 0x30 && (load<u8>(p + 1) | 0x20) == 0x78) {
    for (i = 2; i < n; i++) if (hexVal(load<u8>(p + <usize>i)) < 0) return false;
    return true;
  }
  for (; i < n; i++) if (!isDigit(load<u8>(p + <usize>i))) return false;
  return true;
}

let ipv4Scratch: u64 = 0;

/** inet_aton: 1..4 parts of decimal / 0-octal / 0x-hex; the last part fills the remaining
 *  bytes. Result (host order) in ipv4Scratch. */
export function parseIpv4Loose(p: usize, n: i32): bool {
  let parts = 0;
  let acc: u64 = 0;
  let i = 0;
  const vals = ipv4Parts;
  while (true) {
    if (parts == 4) return false;
    const s = i;
    while (i < n && load<u8>(p + <usize>i) != 0x2E) i++;
    const l = i - s;
    if (l == 0) return false;
    let v: u64 = 0;
    let k = s;
    let base: u64 = 10;
    if (load<u8>(p + <usize>s) == 0x30 && l > 1) {
      if ((load<u8>(p + <usize>(s + 1)) | 0x20) == 0x78) { base = 16; k = s + 2; }
      else { base = 8; k = s + 1; }
    }
    for (; k < i; k++) {
      const d = hexVal(load<u8>(p + <usize>k));
      if (d < 0 || <u64>d >= base) return false;
      v = v * base + <u64>d;
      if (v > 0xFFFFFFFF) return false;
    }
    unchecked(vals[parts] = v);
    parts++;
    if (i >= n) break;
    i++; // '.'
    if (i >= n) return false; // "1.2." (callers refuse empty labels first)
  }
  for (let j = 0; j < parts - 1; j++) {
    if (unchecked(vals[j]) > 255) return false;
    acc = (acc << 8) | unchecked(vals[j]);
  }
  const last = unchecked(vals[parts - 1]);
  const lastBytes = 5 - parts;
  if (lastBytes < 4 && last >= (<u64>1 << (<u64>lastBytes * 8))) return false;
  acc = (acc << (<u64>lastBytes * 8)) | last;
  ipv4Scratch = acc;
  return true;
}
const ipv4Parts = new StaticArray<u64>(4);

/** Strict dotted quad: 4 decimal parts 0..255 without leading zeros. Writes 4 bytes at out. */
export function parseIpv4Strict(p: usize, n: i32, out: usize): bool {
  let part = 0;
  let i = 0;
  while (part < 4) {
    const s = i;
    let v = 0;
    while (i < n && isDigit(load<u8>(p + <usize>i))) {
      v = v * 10 + <i32>(load<u8>(p + <usize>i) - 0x30);
      i++;
      if (i - s > 3) return false;
    }
    const l = i - s;
    if (l == 0 || v > 255 || (l > 1 && load<u8>(p + <usize>s) == 0x30)) return false;
    store<u8>(out + <usize>part, <u8>v);
    part++;
    if (part < 4) {
      if (i >= n || load<u8>(p + <usize>i) != 0x2E) return false;
      i++;
    }
  }
  return i == n;
}

/** RFC 4291 §2.2 text form (no zone). Writes 16 bytes at out. */
export function parseIpv6(p: usize, n: i32, out: usize): bool {
  if (n < 2) return false;
  memory.fill(out, 0, 16);
  let i = 0;
  let w = 0;        // 16-bit groups written
  let gap = -1;     // group index where "::" was
  if (load<u8>(p) == 0x3A) {
    if (load<u8>(p + 1) != 0x3A) return false;
    i = 2;
    gap = 0;
    if (i == n) return true; // "::"
  }
  while (i < n) {
    if (w == 8) return false;
    // an embedded IPv4 at the end?
    let j = i;
    let hasDot = false;
    while (j < n && load<u8>(p + <usize>j) != 0x3A) { if (load<u8>(p + <usize>j) == 0x2E) hasDot = true; j++; }
    if (hasDot) {
      if (j != n || w > 6) return false;
      if (!parseIpv4Strict(p + <usize>i, n - i, out + <usize>(w * 2))) return false;
      w += 2;
      i = n;
      break;
    }
    const l = j - i;
    if (l < 1 || l > 4) return false;
    let v = 0;
    for (let k = i; k < j; k++) {
      const d = hexVal(load<u8>(p + <usize>k));
      if (d < 0) return false;
      v = (v << 4) | d;
    }
    store<u8>(out + <usize>(w * 2), <u8>(v >> 8));
    store<u8>(out + <usize>(w * 2 + 1), <u8>v);
    w++;
    i = j;
    if (i == n) break;
    // at ':'
    i++;
    if (i < n && load<u8>(p + <usize>i) == 0x3A) {
      if (gap >= 0) return false;
      gap = w;
      i++;
      if (i == n) break;
    } else if (i == n) {
      return false; // trailing single ':'
    }
  }
  if (gap < 0) return w == 8;
  if (w == 8) return false; // "::" must stand for at least one group
  // move the groups after the gap to the end
  const after = w - gap;
  for (let k = after - 1; k >= 0; k--) {
    const from = (gap + k) * 2;
    const to = (8 - after + k) * 2;
    store<u16>(out + <usize>to, load<u16>(out + <usize>from));
  }
  for (let k = gap; k < 8 - after; k++) store<u16>(out + <usize>(k * 2), 0);
  return true;
}

/** Is the 16-byte address IPv4-mapped (::ffff:a.b.c.d)? */
export function isV4Mapped(ip: usize): bool {
  return load<u64>(ip) == 0 && load<u16>(ip + 8) == 0 && load<u16>(ip + 10) == 0xFFFF;
}

/** Writes the address: dotted quad for IPv4-mapped, else RFC 5952 (longest zero run as "::"). */
export function formatIp(ip: usize, b: StrBuf): void {
  if (isV4Mapped(ip)) {
    for (let k = 0; k < 4; k++) {
      if (k > 0) b.byte(0x2E);
      b.int(load<u8>(ip + <usize>(12 + k)));
    }
    return;
  }
  // longest run of ≥ 2 zero groups, first one wins
  let bestS = -1, bestL = 0;
  for (let k = 0; k < 8;) {
    if (groupAt(ip, k) != 0) { k++; continue; }
    let e = k;
    while (e < 8 && groupAt(ip, e) == 0) e++;
    if (e - k > bestL && e - k >= 2) { bestS = k; bestL = e - k; }
    k = e;
  }
  for (let k = 0; k < 8; k++) {
    if (k == bestS) { b.str("::"); k += bestL - 1; continue; }
    if (k > 0 && k != bestS + bestL) b.byte(0x3A);
    hex16(groupAt(ip, k), b);
  }
}

function groupAt(ip: usize, k: i32): u32 {
  return (<u32>load<u8>(ip + <usize>(k * 2)) << 8) | <u32>load<u8>(ip + <usize>(k * 2 + 1));
}

function hex16(v: u32, b: StrBuf): void {
  const h = "0123456789abcdef";
  let started = false;
  for (let s = 12; s >= 0; s -= 4) {
    const d = (v >> <u32>s) & 15;
    if (d != 0 || started || s == 0) { b.byte(<u32>h.charCodeAt(<i32>d)); started = true; }
  }
}

// ---- policy patterns ------------------------------------------------------------------------

/** Validates a `hosts` entry; null when valid, else the message. */
export function hostPatternError(p: usize, n: i32): string | null {
  if (n == 0) return "host is empty";
  let s = 0;
  if (load<u8>(p) == 0x2A) {
    if (n < 3 || load<u8>(p + 1) != 0x2E) return "'*' is only allowed as a leading \"*.\" label";
    s = 2;
  }
  const q = p + <usize>s;
  const m = n - s;
  for (let i = 0; i < m; i++) {
    const c = <u32>load<u8>(q + <usize>i);
    if (c == 0x2A) return "'*' is only allowed as a leading \"*.\" label";
    if (c >= 0x80) return "host has a non-ASCII character (use the A-label form, xn--...)";
    if (c - 0x41 < 26) return "host must be lower case";
    if (c == 0x3A || c == 0x5B || c == 0x5D) return "host must be a DNS name without a port (IP literals belong in cidrs)";
  }
  if (load<u8>(q + <usize>(m - 1)) == 0x2E) return "host must not end with '.'";
  let lastStart = m;
  while (lastStart > 0 && load<u8>(q + <usize>(lastStart - 1)) != 0x2E) lastStart--;
  if (isNumericLabel(q + <usize>lastStart, m - lastStart)) return "host looks like an IP address (IP literals belong in cidrs)";
  if (checkLabels(q, m, true) != TARGET_OK) return "host has a label that is empty, longer than 63 bytes, outside [a-z0-9-] or starts/ends with '-'";
  if (m > MAX_NAME) return "host name is longer than 253 bytes";
  return null;
}

/** A parsed `cidrs` entry (filled by parseCidr). */
export class CidrEntry {
  private readonly bytes: StaticArray<u8> = new StaticArray<u8>(16);
  /** 16 bytes: the address, IPv4 in its IPv4-mapped form (::ffff:a.b.c.d). */
  readonly addr: usize = changetype<usize>(this.bytes);
  /** Prefix length in IPv6 numbering (an IPv4 /n is 96 + n). */
  bits: i32 = 0;
  /** The message when the entry is invalid, else null. */
  error: string | null = null;
}

/** Parses a `cidrs` entry into out (address + prefix bits, or the error). */
export function parseCidr(p: usize, n: i32, out: CidrEntry): CidrEntry {
  out.error = cidrError(p, n, out);
  return out;
}

function cidrError(p: usize, n: i32, out: CidrEntry): string | null {
  const addr = out.addr;
  let slash = -1;
  for (let i = 0; i < n; i++) if (load<u8>(p + <usize>i) == 0x2F) { slash = i; break; }
  if (slash < 0) return "CIDR needs a prefix length (\"10.0.0.0/8\")";
  let v6 = false;
  for (let i = 0; i < slash; i++) if (load<u8>(p + <usize>i) == 0x3A) { v6 = true; break; }
  const ll = n - slash - 1;
  if (ll < 1 || ll > 3) return "CIDR prefix length is not a number in range";
  let bits = 0;
  for (let i = slash + 1; i < n; i++) {
    const c = <u32>load<u8>(p + <usize>i);
    if (!isDigit(c)) return "CIDR prefix length is not a number in range";
    bits = bits * 10 + <i32>(c - 0x30);
  }
  if (ll > 1 && load<u8>(p + <usize>(slash + 1)) == 0x30) return "CIDR prefix length has a leading zero";
  if (v6) {
    if (!parseIpv6(p, slash, addr)) return "CIDR address is not a valid IPv6 address";
    if (bits > 128) return "IPv6 CIDR prefix length must be 0..128";
  } else {
    memory.fill(addr, 0, 10);
    store<u16>(addr + 10, 0xFFFF);
    if (!parseIpv4Strict(p, slash, addr + 12)) return "CIDR address is not a dotted-quad IPv4 address (decimal, no leading zeros)";
    if (bits > 32) return "IPv4 CIDR prefix length must be 0..32";
    bits += 96;
  }
  if (!prefixOnly(addr, bits)) return "CIDR address has bits set beyond the prefix length";
  out.bits = bits;
  return null;
}

function prefixOnly(a: usize, bits: i32): bool {
  for (let k = 0; k < 16; k++) {
    const keep = bits - k * 8;
    const b = <u32>load<u8>(a + <usize>k);
    if (keep >= 8) continue;
    const mask: u32 = keep <= 0 ? 0 : (0xFF << <u32>(8 - keep)) & 0xFF;
    if ((b & ~mask) != 0) return false;
  }
  return true;
}

/** Does `ip` lie in (net, bits)? */
export function inCidr(ip: usize, net: usize, bits: i32): bool {
  let k = 0;
  for (; k * 8 + 8 <= bits; k++) if (load<u8>(ip + <usize>k) != load<u8>(net + <usize>k)) return false;
  const rem = bits - k * 8;
  if (rem == 0) return true;
  const mask: u32 = (0xFF << <u32>(8 - rem)) & 0xFF;
  return ((<u32>load<u8>(ip + <usize>k) ^ <u32>load<u8>(net + <usize>k)) & mask) == 0;
}

// ---- compiled matchers ----------------------------------------------------------------------

// @ts-ignore: decorator
@unmanaged
export class HostSet {
  exact: ByteTable | null;
  wildcard: ByteTable | null; // keys: the name after "*."

  static build(arena: Arena, ptrs: usize[], lens: i32[]): HostSet {
    const s = changetype<HostSet>(arena.alloc(offsetof<HostSet>()));
    let ne = 0, nw = 0;
    for (let i = 0; i < ptrs.length; i++) {
      if (load<u8>(ptrs[i]) == 0x2A) nw++; else ne++;
    }
    s.exact = ne > 0 ? ByteTable.create(arena, ne, false) : null;
    s.wildcard = nw > 0 ? ByteTable.create(arena, nw, false) : null;
    for (let i = 0; i < ptrs.length; i++) {
      if (load<u8>(ptrs[i]) == 0x2A) s.wildcard!.insert(arena, ptrs[i] + 2, lens[i] - 2, 0);
      else s.exact!.insert(arena, ptrs[i], lens[i], 0);
    }
    return s;
  }

  /** Names only: an IP literal never matches a host pattern. */
  match(t: EgressTarget): bool {
    if (t.isIp) return false;
    const exact = this.exact;
    if (exact !== null && exact.find(t.name, t.nameLen, t.nameHash) >= 0) return true;
    const wild = this.wildcard;
    if (wild !== null) {
      for (let k = 0; k < t.suffixCount; k++) {
        const off = load<i32>(t.suffixOffs + (<usize>k << 2));
        if (wild.find(t.name + <usize>off, t.nameLen - off, load<u64>(t.suffixHashes + (<usize>k << 3))) >= 0) return true;
      }
    }
    return false;
  }
}

// @ts-ignore: decorator
@unmanaged
export class CidrSet {
  count: i32;
  entries: usize; // per entry: 16 bytes address, i32 bits, 4 bytes pad

  static build(arena: Arena, cidrs: CidrEntry[]): CidrSet {
    const s = changetype<CidrSet>(arena.alloc(offsetof<CidrSet>()));
    s.count = cidrs.length;
    s.entries = arena.alloc(<usize>cidrs.length * 24);
    for (let i = 0; i < cidrs.length; i++) {
      const e = s.entries + <usize>i * 24;
      memory.copy(e, cidrs[i].addr, 16);
      store<i32>(e + 16, cidrs[i].bits);
    }
    return s;
  }

  /** IP literals only: a name never matches a CIDR (meshgate does not resolve names). */
  match(t: EgressTarget): bool {
    if (!t.isIp) return false;
    for (let i = 0; i < this.count; i++) {
      const e = this.entries + <usize>i * 24;
      if (inCidr(t.ip, e, load<i32>(e + 16))) return true;
    }
    return false;
  }
}
