/**
 * A minimal POSIX ustar writer and reader (POSIX.1-1988 "ustar" as specified in POSIX.1-2001,
 * `pax` utility, "ustar Interchange Format"). Just enough for an OCI image layer holding a few
 * regular files: no directories, links, pax extended headers or GNU long names.
 *
 * Layout: each member is one 512-byte header block followed by its data padded with NULs to a
 * multiple of 512; the archive ends with two all-zero blocks. Numeric fields are octal ASCII,
 * NUL-terminated. The header checksum is the sum of all 512 header bytes with the checksum field
 * itself taken as eight spaces. We do not pad the archive to a 10 KiB record: Go's archive/tar
 * (what Istio's image fetcher uses) and GNU tar read it without.
 *
 * The writer is deterministic: the caller's fields or fixed defaults (mtime 0, uid/gid 0, empty
 * user/group names, mode 0644), never the file system's.
 */

export const BLOCK = 512;

/** One regular file to write. */
export interface TarEntryInput {
  /** Path inside the archive: relative, `/`-separated, ≤ 100 bytes of UTF-8 (no prefix field use). */
  name: string;
  data: Uint8Array;
  /** Permission bits; default 0o644. */
  mode?: number;
  /** Seconds since the epoch; default 0. */
  mtime?: number;
  uid?: number;
  gid?: number;
}

/** One member as read back. */
export interface TarEntry {
  /** `prefix + '/' + name` when the ustar prefix field is used, else `name`. */
  name: string;
  /** `'0'` regular file, `'5'` directory, … (`'\0'` is normalized to `'0'`). */
  type: string;
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  size: number;
  uname: string;
  gname: string;
  /** `"ustar\0"` for POSIX archives. */
  magic: string;
  /** `"00"` for POSIX archives. */
  version: string;
  data: Uint8Array;
}

export class TarFormatError extends Error {
  constructor(message: string) {
    super(`TAR_FORMAT: ${message}`);
    this.name = 'TarFormatError';
  }
}

// Field offsets and widths of the ustar header.
const F = {
  name: [0, 100],
  mode: [100, 8],
  uid: [108, 8],
  gid: [116, 8],
  size: [124, 12],
  mtime: [136, 12],
  chksum: [148, 8],
  typeflag: [156, 1],
  linkname: [157, 100],
  magic: [257, 6],
  version: [263, 2],
  uname: [265, 32],
  gname: [297, 32],
  devmajor: [329, 8],
  devminor: [337, 8],
  prefix: [345, 155],
} as const satisfies Record<string, readonly [number, number]>;

/** Writes `entries` as a ustar archive, in the given order. */
export function writeTar(entries: readonly TarEntryInput[]): Uint8Array {
  const parts: Uint8Array[] = [];
  const seen = new Set<string>();
  for (const e of entries) {
    checkName(e.name);
    if (seen.has(e.name)) throw new TarFormatError(`duplicate member name ${JSON.stringify(e.name)}`);
    seen.add(e.name);
    parts.push(header(e));
    parts.push(e.data);
    const pad = (BLOCK - (e.data.length % BLOCK)) % BLOCK;
    if (pad) parts.push(new Uint8Array(pad));
  }
  parts.push(new Uint8Array(2 * BLOCK));
  return concat(parts);
}

function checkName(name: string): void {
  const bytes = Buffer.byteLength(name, 'utf8');
  if (name === '' || bytes > 100) throw new TarFormatError(`member name must be 1..100 bytes, got ${bytes}: ${JSON.stringify(name)}`);
  if (name.startsWith('/') || name.split('/').some((s) => s === '' || s === '.' || s === '..')) {
    throw new TarFormatError(`member name must be a clean relative path: ${JSON.stringify(name)}`);
  }
  if (name.includes('\0')) throw new TarFormatError(`member name contains NUL: ${JSON.stringify(name)}`);
}

function header(e: TarEntryInput): Uint8Array {
  const h = new Uint8Array(BLOCK);
  putString(h, F.name, e.name);
  putOctal(h, F.mode, e.mode ?? 0o644);
  putOctal(h, F.uid, e.uid ?? 0);
  putOctal(h, F.gid, e.gid ?? 0);
  putOctal(h, F.size, e.data.length);
  putOctal(h, F.mtime, e.mtime ?? 0);
  h[F.typeflag[0]] = 0x30; // '0': regular file
  putString(h, F.magic, 'ustar\0');
  putString(h, F.version, '00');
  putOctal(h, F.devmajor, 0);
  putOctal(h, F.devminor, 0);
  // Checksum: computed with the field as spaces, stored as 6 octal digits, NUL, space.
  h.fill(0x20, F.chksum[0], F.chksum[0] + F.chksum[1]);
  const sum = checksum(h);
  putString(h, [F.chksum[0], 7], sum.toString(8).padStart(6, '0') + '\0');
  h[F.chksum[0] + 7] = 0x20;
  return h;
}

function putString(h: Uint8Array, [off, len]: readonly [number, number], s: string): void {
  const b = Buffer.from(s, 'utf8');
  if (b.length > len) throw new TarFormatError(`field too long (${b.length} > ${len}): ${JSON.stringify(s)}`);
  h.set(b, off);
}

/** Octal digits, zero-padded to width-1, then NUL. */
function putOctal(h: Uint8Array, [off, len]: readonly [number, number], v: number): void {
  if (!Number.isSafeInteger(v) || v < 0) throw new TarFormatError(`numeric field must be a non-negative integer, got ${v}`);
  const digits = v.toString(8);
  if (digits.length > len - 1) throw new TarFormatError(`value ${v} does not fit a ${len}-byte octal field`);
  putString(h, [off, len], digits.padStart(len - 1, '0') + '\0');
}

function checksum(h: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) {
    sum += i >= F.chksum[0] && i < F.chksum[0] + F.chksum[1] ? 0x20 : h[i];
  }
  return sum;
}

/**
 * Reads a ustar archive (also accepts the older V7/GNU headers' numeric fields). Checks every
 * header checksum, that data fits the archive, and that the archive ends with a zero block.
 */
export function readTar(bytes: Uint8Array): TarEntry[] {
  const out: TarEntry[] = [];
  let off = 0;
  for (;;) {
    if (off + BLOCK > bytes.length) throw new TarFormatError(`archive ends at byte ${bytes.length} without an end-of-archive block`);
    const h = bytes.subarray(off, off + BLOCK);
    if (h.every((b) => b === 0)) return out;
    const stored = readOctal(h, F.chksum, off);
    const actual = checksum(h);
    if (stored !== actual) throw new TarFormatError(`header at byte ${off}: checksum ${stored} stored, ${actual} computed`);
    const size = readOctal(h, F.size, off);
    const dataStart = off + BLOCK;
    if (dataStart + size > bytes.length) throw new TarFormatError(`member at byte ${off} claims ${size} bytes, archive has ${bytes.length - dataStart}`);
    const name = readString(h, F.name);
    const prefix = readString(h, F.prefix);
    const type = String.fromCharCode(h[F.typeflag[0]] || 0x30);
    out.push({
      name: prefix ? `${prefix}/${name}` : name,
      type,
      mode: readOctal(h, F.mode, off),
      uid: readOctal(h, F.uid, off),
      gid: readOctal(h, F.gid, off),
      mtime: readOctal(h, F.mtime, off),
      size,
      uname: readString(h, F.uname),
      gname: readString(h, F.gname),
      magic: Buffer.from(h.subarray(F.magic[0], F.magic[0] + F.magic[1])).toString('latin1'),
      version: Buffer.from(h.subarray(F.version[0], F.version[0] + F.version[1])).toString('latin1'),
      data: bytes.slice(dataStart, dataStart + size),
    });
    off = dataStart + Math.ceil(size / BLOCK) * BLOCK;
  }
}

function readString(h: Uint8Array, [off, len]: readonly [number, number]): string {
  const field = h.subarray(off, off + len);
  const end = field.indexOf(0);
  return Buffer.from(end < 0 ? field : field.subarray(0, end)).toString('utf8');
}

function readOctal(h: Uint8Array, f: readonly [number, number], at: number): number {
  const s = readString(h, f).trim();
  if (s === '') return 0;
  if (!/^[0-7]+$/.test(s)) throw new TarFormatError(`header at byte ${at}: field at offset ${f[0]} is not octal: ${JSON.stringify(s)}`);
  return parseInt(s, 8);
}

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  const total = parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
