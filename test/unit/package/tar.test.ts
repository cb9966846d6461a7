/** The ustar writer/reader and the deterministic gzip, checked field by field and against GNU tar/gzip (a failure, not a skip, when they are missing). */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { crc32, gunzip, gzipDeterministic } from '../../../harness/package/gzip';
import { BLOCK, readTar, TarFormatError, writeTar } from '../../../harness/package/tar';

const ascii = (b: Uint8Array, off: number, len: number) => Buffer.from(b.subarray(off, off + len)).toString('latin1');
const bytes = (n: number, seed = 1) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);

function have(cmd: string): boolean {
  try {
    execFileSync(cmd, ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe('writeTar', () => {
  test('one member: header fields at their ustar offsets, data padded, two zero blocks at the end', () => {
    const data = bytes(700);
    const tar = writeTar([{ name: 'plugin.wasm', data }]);
    expect(tar.length).toBe(BLOCK + 2 * BLOCK + 2 * BLOCK); // header + 700 bytes in 2 blocks + end
    expect(ascii(tar, 0, 12)).toBe('plugin.wasm\0');
    expect(ascii(tar, 100, 8)).toBe('0000644\0'); // mode
    expect(ascii(tar, 108, 8)).toBe('0000000\0'); // uid
    expect(ascii(tar, 116, 8)).toBe('0000000\0'); // gid
    expect(ascii(tar, 124, 12)).toBe('00000001274\0'); // size 700 in octal
    expect(ascii(tar, 136, 12)).toBe('00000000000\0'); // mtime 0
    expect(ascii(tar, 156, 1)).toBe('0'); // regular file
    expect(ascii(tar, 257, 8)).toBe('ustar\u000000');
    // checksum: six octal digits, NUL, space; equals the header sum with the field as spaces
    const field = ascii(tar, 148, 8);
    expect(field).toMatch(/^[0-7]{6}\0 $/);
    let sum = 0;
    for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : tar[i];
    expect(parseInt(field.slice(0, 6), 8)).toBe(sum);
    expect(Buffer.from(tar.subarray(BLOCK, BLOCK + 700)).equals(Buffer.from(data))).toBe(true);
    expect(tar.subarray(BLOCK + 700).every((b) => b === 0)).toBe(true);
  });

  test.each([0, 1, 511, 512, 513, 1500])('round-trips a %i-byte member among others', (n) => {
    const entries = [
      { name: 'a.txt', data: bytes(3, 7) },
      { name: 'plugin.wasm', data: bytes(n), mode: 0o600, mtime: 1_700_000_000, uid: 1000, gid: 1001 },
      { name: 'dir/runtime-config.json', data: bytes(10, 9) },
    ];
    const back = readTar(writeTar(entries));
    expect(back.map((e) => e.name)).toEqual(['a.txt', 'plugin.wasm', 'dir/runtime-config.json']);
    expect(back[1]).toMatchObject({ type: '0', mode: 0o600, mtime: 1_700_000_000, uid: 1000, gid: 1001, size: n, magic: 'ustar\0', version: '00' });
    entries.forEach((e, i) => expect(Buffer.from(back[i].data).equals(Buffer.from(e.data))).toBe(true));
  });

  test('is deterministic', () => {
    const e = [{ name: 'plugin.wasm', data: bytes(1234) }];
    expect(Buffer.from(writeTar(e)).equals(Buffer.from(writeTar(e)))).toBe(true);
  });

  test.each([
    ['empty name', ''],
    ['absolute', '/plugin.wasm'],
    ['dot-dot', '../plugin.wasm'],
    ['empty segment', 'a//b'],
    ['over 100 bytes', 'x'.repeat(101)],
  ])('refuses a member name: %s', (_what, name) => {
    expect(() => writeTar([{ name, data: bytes(1) }])).toThrow(TarFormatError);
  });

  test('refuses duplicate names', () => {
    expect(() => writeTar([{ name: 'a', data: bytes(1) }, { name: 'a', data: bytes(1) }])).toThrow(/duplicate member name "a"/);
  });
});

describe('readTar', () => {
  const good = writeTar([{ name: 'plugin.wasm', data: bytes(600) }]);

  test('rejects a header whose checksum does not match', () => {
    const bad = Uint8Array.from(good);
    bad[5] ^= 1;
    expect(() => readTar(bad)).toThrow(/TAR_FORMAT: header at byte 0: checksum \d+ stored, \d+ computed/);
  });

  test('rejects a member longer than the archive, and a missing end block', () => {
    expect(() => readTar(good.subarray(0, BLOCK + 100))).toThrow(/claims 600 bytes/);
    expect(() => readTar(good.subarray(0, 3 * BLOCK))).toThrow(/without an end-of-archive block/);
  });
});

describe('gzipDeterministic', () => {
  test('CRC-32 check value and agreement with zlib', () => {
    expect(crc32(Buffer.from('123456789'))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array(0))).toBe(0);
    // zlib's CRC-32, read from the trailer of its own gzip output (zlib.crc32 is missing before Node 20.15).
    const zlibCrc = (d: Uint8Array) => {
      const gz = zlib.gzipSync(d);
      return gz.readUInt32LE(gz.length - 8);
    };
    for (const n of [1, 100, 4096, 70000]) expect(crc32(bytes(n, n))).toBe(zlibCrc(bytes(n, n)));
  });

  test('fixed header (no name, MTIME 0, OS unknown), correct trailer, round-trips through zlib', () => {
    const data = bytes(5000);
    const gz = gzipDeterministic(data);
    expect(Array.from(gz.subarray(0, 10))).toEqual([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 255]);
    const view = new DataView(gz.buffer, gz.byteOffset + gz.length - 8, 8);
    expect(view.getUint32(0, true)).toBe(crc32(data));
    expect(view.getUint32(4, true)).toBe(5000);
    expect(Buffer.from(zlib.gunzipSync(gz)).equals(Buffer.from(data))).toBe(true);
    expect(Buffer.from(gunzip(gz)).equals(Buffer.from(data))).toBe(true);
    expect(Buffer.from(gzipDeterministic(data)).equals(Buffer.from(gz))).toBe(true);
  });
});

test('GNU tar and gzip read what we write (independent implementations)', () => {
  const missing = ['tar', 'gzip'].filter((cmd) => !have(cmd));
  if (missing.length > 0) throw new Error(`this cross-check needs GNU ${missing.join(' and ')} on PATH (e.g. apt-get install ${missing.join(' ')})`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meshgate-tar-'));
  try {
    const data = bytes(1500);
    const file = path.join(dir, 'layer.tar.gz');
    fs.writeFileSync(file, gzipDeterministic(writeTar([{ name: 'plugin.wasm', data }])));
    execFileSync('gzip', ['-t', file]);
    const listing = execFileSync('tar', ['--numeric-owner', '-tvzf', file], { encoding: 'utf8' });
    expect(listing).toMatch(/^-rw-r--r-- 0\/0 +1500 1970-01-01 00:00 plugin\.wasm\n$/);
    execFileSync('tar', ['-xzf', file, '-C', dir]);
    expect(fs.readFileSync(path.join(dir, 'plugin.wasm')).equals(Buffer.from(data))).toBe(true);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
