/**
 * The canonical-path scan (assembly/policy/path.ts, PathFacts.set / canonicalPathLength) against
 * the TypeScript reference (harness/policy/patterns.ts canonicalPath), byte for byte: every byte
 * value at every position, dot segments, percent escapes and path parameters at every offset
 * (so across the 8-byte words a word-at-a-time scan would load), random paths of length 0–40 and
 * long ones. Both must give the same verdict and the same path length. For canonical paths the
 * recorded '/'-prefixes are checked through prefix patterns ("/a/b/*" must match "/a/b/c").
 */
import { canonicalPath } from '../../../harness/policy/patterns';
import { seededRandom } from '../../../bench/stats';
import { loadTestkit } from './testkit';

const tk = loadTestkit();

/** The reference on raw bytes: latin1 gives one character per byte, so its rules apply per byte. */
function reference(bytes: Buffer): number {
  const p = canonicalPath(bytes.toString('latin1'));
  return p === null ? -1 : p.length;
}

function scan(bytes: Buffer): number {
  return tk.num('tk_path_canonical', bytes);
}

function mismatches(paths: Buffer[]): string[] {
  const out: string[] = [];
  for (const b of paths) {
    const got = scan(b);
    const want = reference(b);
    if (got !== want) out.push(`${JSON.stringify(b.toString('latin1'))}: scan ${got}, reference ${want}`);
  }
  return out;
}

const bytes = (s: string) => Buffer.from(s, 'latin1');

describe('canonical-path scan = reference', () => {
  it('every byte value at every position 1..24, after plain bytes, after a "/" and before a "/"', () => {
    const paths: Buffer[] = [];
    for (let c = 0; c < 256; c++) {
      const ch = String.fromCharCode(c);
      for (let at = 1; at <= 24; at++) {
        const pad = 'a'.repeat(at - 1);
        paths.push(bytes(`/${pad}${ch}`), bytes(`/${pad}${ch}bc/d`), bytes(`/${pad}/${ch}`), bytes(`/${pad}/${ch}/e`));
        paths.push(bytes(`/${pad}${ch}/x`), bytes(`/${pad}${ch}${ch}`), bytes(`/${pad}${ch}?q`));
      }
    }
    expect(mismatches(paths)).toEqual([]);
  });

  it('dot segments, escapes, parameters, query and slashes at every offset (across 8-byte words)', () => {
    const tokens = [
      '/', '//', '/./', '/../', '/.', '/..', '/.a', '/..a', '/...', '%2e', '%2E', '%2f', '%2F', '%5c', '%5C',
      '%41', '%7e', '%20', '%25', '%3B', '%zz', '%2', '%', '%%', ';', ';x', '/;x', '/;x/', '/.;x/', '/..;/',
      '/a;b/', '/..;', '?', '?/../', '#', '\\', 'A', 'Z', '~', '!', '$', '=', '.', '..', '"', '`', '^',
      '{', '}', '|', '<', '>', '\x7f', '\x80', '\xff', ' ', '\t', '[', ']', '_', '@', ':', '*',
    ];
    const paths: Buffer[] = [];
    for (const t of tokens) {
      for (let at = 0; at <= 20; at++) {
        const pad = 'b'.repeat(at);
        paths.push(bytes(`/${pad}${t}`), bytes(`/${pad}${t}c`), bytes(`/${pad}${t}/d`), bytes(`/x/${pad}${t}yz/`));
        for (const u of ['/', '%2e', ';', '/..', '?']) paths.push(bytes(`/${pad}${t}${u}`), bytes(`/${pad}${t}q${u}`));
      }
    }
    expect(mismatches(paths)).toEqual([]);
  });

  it('random paths of length 0–40 and long paths, mostly path bytes with specials mixed in', () => {
    const next = seededRandom(16);
    const alphabet = 'abcXYZ019-._~!$&\'()*+,;=:@/%/.%2e?';
    const pick = () => {
      const r = next();
      if (r < 0.85) return alphabet[Math.floor(next() * alphabet.length)];
      return String.fromCharCode(Math.floor(next() * 256));
    };
    const paths: Buffer[] = [Buffer.alloc(0)];
    for (let k = 0; k < 6000; k++) {
      const len = k < 5000 ? Math.floor(next() * 41) : 41 + Math.floor(next() * 400);
      let s = next() < 0.9 ? '/' : '';
      while (s.length < len) s += pick();
      paths.push(bytes(s.slice(0, len)));
    }
    // canonical ones too, so that the long clean stretches are exercised
    for (let k = 0; k < 500; k++) {
      const segs = Array.from({ length: 1 + Math.floor(next() * 12) }, () => 'seg' + 'x'.repeat(Math.floor(next() * 20)) + (next() < 0.2 ? ';p=1' : ''));
      paths.push(bytes('/' + segs.join('/') + (next() < 0.3 ? '/' : '') + (next() < 0.3 ? '?a=/../' : '')));
    }
    const bad = mismatches(paths);
    expect(bad).toEqual([]);
    // the random set holds both verdicts in quantity (the comparison above is not vacuous)
    const canonical = paths.filter((b) => reference(b) >= 0).length;
    expect(canonical).toBeGreaterThan(500);
    expect(paths.length - canonical).toBeGreaterThan(2000);
  });

  it('the recorded prefixes of canonical paths: each "/"-terminated prefix matches as a segment prefix', () => {
    const next = seededRandom(21);
    for (let k = 0; k < 300; k++) {
      const segs = Array.from({ length: 1 + Math.floor(next() * 8) }, () => 's' + 'y'.repeat(Math.floor(next() * 14)));
      const path = '/' + segs.join('/');
      expect(scan(bytes(path))).toBe(path.length);
      for (let i = 1; i < path.length; i++) {
        if (path[i] !== '/') continue;
        const prefix = path.slice(0, i + 1);
        expect([prefix, path, tk.num('tk_path_match', prefix + '*', path, false)]).toEqual([prefix, path, 1]);
        expect([prefix, path, tk.num('tk_path_match', prefix.slice(0, -1) + 'q/*', path, false)]).toEqual([prefix, path, 0]);
      }
    }
  });
});
