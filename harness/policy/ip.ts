/**
 * IP address text forms, as the egress filter reads them (assembly/policy/host.ts):
 *
 * - IPv4 in every inet_aton form: 1 to 4 dot-separated parts, each decimal, 0-prefixed octal or
 *   0x-prefixed hex; the last part fills the remaining bytes ("127.1", "0177.0.0.1",
 *   "0x7f000001", "2130706433").
 * - Strict dotted quad (CIDR entries, IPv4 embedded in IPv6): 4 decimal parts 0..255, no leading
 *   zeros.
 * - IPv6 (RFC 4291 §2.2), no zone ID, with an optional embedded strict dotted quad at the end.
 *
 * Every address is 16 bytes; IPv4 is stored IPv4-mapped (::ffff:a.b.c.d), so one CIDR table
 * covers both families: "[::ffff:127.0.0.1]" lies in 127.0.0.0/8 and ::/0 contains every IPv4
 * address (test/vectors/hosts.json).
 */

export type Ip16 = Uint8Array;

function hexDigit(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const l = c | 0x20;
  if (l >= 0x61 && l <= 0x66) return l - 0x61 + 10;
  return -1;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/** A 16-byte IPv4-mapped address for the 32-bit value. */
export function ipv4Mapped(v: number): Ip16 {
  const out = new Uint8Array(16);
  out[10] = 0xff;
  out[11] = 0xff;
  out[12] = (v >>> 24) & 0xff;
  out[13] = (v >>> 16) & 0xff;
  out[14] = (v >>> 8) & 0xff;
  out[15] = v & 0xff;
  return out;
}

/** inet_aton: the 32-bit value, or null. `s` must not end with a dot (the caller strips one). */
export function parseIpv4Loose(s: string): number | null {
  const parts = s.split('.');
  if (parts.length > 4) return null;
  const vals: number[] = [];
  for (const p of parts) {
    if (p.length === 0) return null;
    let base = 10;
    let k = 0;
    if (p.length > 1 && p.charCodeAt(0) === 0x30) {
      if ((p.charCodeAt(1) | 0x20) === 0x78) {
        base = 16;
        k = 2;
      } else {
        base = 8;
        k = 1;
      }
    }
    let v = 0;
    for (; k < p.length; k++) {
      const d = hexDigit(p.charCodeAt(k));
      if (d < 0 || d >= base) return null;
      v = v * base + d;
      if (v > 0xffffffff) return null;
    }
    vals.push(v);
  }
  let acc = 0;
  for (let j = 0; j < vals.length - 1; j++) {
    if (vals[j] > 255) return null;
    acc = acc * 256 + vals[j];
  }
  const lastBytes = 5 - vals.length;
  const last = vals[vals.length - 1];
  if (last >= 2 ** (lastBytes * 8)) return null;
  return acc * 2 ** (lastBytes * 8) + last;
}

/** Strict dotted quad → 4 bytes, or null. */
export function parseIpv4Strict(s: string): Uint8Array | null {
  const parts = s.split('.');
  if (parts.length !== 4) return null;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i];
    if (p.length < 1 || p.length > 3) return null;
    for (let k = 0; k < p.length; k++) if (!isDigit(p.charCodeAt(k))) return null;
    if (p.length > 1 && p.charCodeAt(0) === 0x30) return null;
    const v = Number(p);
    if (v > 255) return null;
    out[i] = v;
  }
  return out;
}

/** IPv6 text (no brackets, no zone) → 16 bytes, or null. */
export function parseIpv6(s: string): Ip16 | null {
  if (s.length < 2) return null;
  const out = new Uint8Array(16);
  const groups: number[] = [];
  let gap = -1;
  let i = 0;
  const n = s.length;
  if (s.charCodeAt(0) === 0x3a) {
    if (s.charCodeAt(1) !== 0x3a) return null;
    i = 2;
    gap = 0;
    if (i === n) return out; // "::"
  }
  while (i < n) {
    if (groups.length === 8) return null;
    let j = i;
    let hasDot = false;
    while (j < n && s.charCodeAt(j) !== 0x3a) {
      if (s.charCodeAt(j) === 0x2e) hasDot = true;
      j++;
    }
    if (hasDot) {
      if (j !== n || groups.length > 6) return null;
      const v4 = parseIpv4Strict(s.slice(i));
      if (!v4) return null;
      groups.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
      i = n;
      break;
    }
    const l = j - i;
    if (l < 1 || l > 4) return null;
    let v = 0;
    for (let k = i; k < j; k++) {
      const d = hexDigit(s.charCodeAt(k));
      if (d < 0) return null;
      v = (v << 4) | d;
    }
    groups.push(v);
    i = j;
    if (i === n) break;
    i++; // ':'
    if (i < n && s.charCodeAt(i) === 0x3a) {
      if (gap >= 0) return null;
      gap = groups.length;
      i++;
      if (i === n) break;
    } else if (i === n) {
      return null; // a trailing single ':'
    }
  }
  let full: number[];
  if (gap < 0) {
    if (groups.length !== 8) return null;
    full = groups;
  } else {
    if (groups.length >= 8) return null; // "::" stands for at least one group
    full = [...groups.slice(0, gap), ...new Array<number>(8 - groups.length).fill(0), ...groups.slice(gap)];
  }
  for (let k = 0; k < 8; k++) {
    out[k * 2] = full[k] >> 8;
    out[k * 2 + 1] = full[k] & 0xff;
  }
  return out;
}

export function isV4Mapped(ip: Ip16): boolean {
  for (let k = 0; k < 10; k++) if (ip[k] !== 0) return false;
  return ip[10] === 0xff && ip[11] === 0xff;
}

/** Dotted quad for IPv4-mapped addresses, else RFC 5952 (the first longest run of ≥ 2 zero
 *  groups as "::", lower-case hex) — the form the filter logs and the vectors use. */
export function formatIp(ip: Ip16): string {
  if (isV4Mapped(ip)) return `${ip[12]}.${ip[13]}.${ip[14]}.${ip[15]}`;
  const g: number[] = [];
  for (let k = 0; k < 8; k++) g.push((ip[k * 2] << 8) | ip[k * 2 + 1]);
  let bestS = -1;
  let bestL = 0;
  for (let k = 0; k < 8; ) {
    if (g[k] !== 0) {
      k++;
      continue;
    }
    let e = k;
    while (e < 8 && g[e] === 0) e++;
    if (e - k > bestL && e - k >= 2) {
      bestS = k;
      bestL = e - k;
    }
    k = e;
  }
  if (bestS < 0) return g.map((x) => x.toString(16)).join(':');
  const head = g.slice(0, bestS).map((x) => x.toString(16)).join(':');
  const tail = g.slice(bestS + bestL).map((x) => x.toString(16)).join(':');
  return `${head}::${tail}`;
}

/** Does `ip` lie in the network (`net`, `bits`; bits counted on the 16-byte form)? */
export function ipInPrefix(ip: Ip16, net: Ip16, bits: number): boolean {
  let k = 0;
  for (; k * 8 + 8 <= bits; k++) if (ip[k] !== net[k]) return false;
  const rem = bits - k * 8;
  if (rem === 0) return true;
  const mask = (0xff << (8 - rem)) & 0xff;
  return ((ip[k] ^ net[k]) & mask) === 0;
}

/** Whether no bit beyond the first `bits` is set. */
export function hostBitsClear(ip: Ip16, bits: number): boolean {
  for (let k = 0; k < 16; k++) {
    const keep = bits - k * 8;
    if (keep >= 8) continue;
    const mask = keep <= 0 ? 0 : (0xff << (8 - keep)) & 0xff;
    if ((ip[k] & ~mask & 0xff) !== 0) return false;
  }
  return true;
}
