/**
 * Canonical request paths and `paths` patterns (assembly/policy/path.ts) against
 * test/vectors/paths.json, plus deep paths and the deny-rule (case-insensitive) variant.
 */
import { loadTestkit, vectors } from './testkit';

const tk = loadTestkit();
interface PatternCase { pattern: string; valid: boolean; matches?: string[]; nonMatches?: string[]; denyMatches?: string[] }
const v = vectors<{ canonical: Array<{ path: string; canonical: boolean }>; patterns: PatternCase[] }>('paths.json');

const canonicalLen = (p: string) => tk.num('tk_path_canonical', p);
const match = (pattern: string, path: string, deny: boolean) => tk.num('tk_path_match', pattern, path, deny);

describe('canonical paths (paths.json)', () => {
  it.each(v.canonical.map((c) => [JSON.stringify(c.path), c.path, c.canonical] as const))('%s', (_l, p, canonical) => {
    const n = canonicalLen(p);
    if (canonical) expect(n).toBe(Buffer.byteLength(p.split('?')[0]));
    else expect(n).toBe(-1);
  });
});

describe('patterns (paths.json)', () => {
  it.each(v.patterns.map((c) => [JSON.stringify(c.pattern), c] as const))('%s', (_l, c) => {
    const info = tk.json('tk_path_pattern', c.pattern);
    expect(info.valid).toBe(c.valid);
    if (!c.valid) {
      expect(typeof info.error).toBe('string');
      expect(match(c.pattern, '/', false)).toBe(-1);
      return;
    }
    for (const p of c.matches ?? []) {
      expect([p, 'allow', match(c.pattern, p, false)]).toEqual([p, 'allow', 1]);
      expect([p, 'deny', match(c.pattern, p, true)]).toEqual([p, 'deny', 1]);
    }
    for (const p of c.nonMatches ?? []) {
      const deny = (c.denyMatches ?? []).includes(p);
      expect([p, 'allow', match(c.pattern, p, false)]).toEqual([p, 'allow', 0]);
      if (!deny && p.toLowerCase() === p) expect([p, 'deny', match(c.pattern, p, true)]).toEqual([p, 'deny', 0]);
    }
    for (const p of c.denyMatches ?? []) {
      expect([p, 'allow', match(c.pattern, p, false)]).toEqual([p, 'allow', 0]);
      expect([p, 'deny', match(c.pattern, p, true)]).toEqual([p, 'deny', 1]);
    }
  });

  it('every vector path is canonical (matching applies to canonical paths only)', () => {
    for (const c of v.patterns) for (const p of [...(c.matches ?? []), ...(c.nonMatches ?? []), ...(c.denyMatches ?? [])]) {
      expect([p, canonicalLen(p) > 0]).toEqual([p, true]);
    }
  });
});

describe('deep paths (more segments than the precomputed prefix hashes)', () => {
  const deep = '/' + Array.from({ length: 100 }, (_, i) => `s${i}`).join('/');
  it.each([
    ['/s0/*', 1], ['/s0/s1/s2/*', 1], ['/' + Array.from({ length: 70 }, (_, i) => `s${i}`).join('/') + '/*', 1],
    ['/' + Array.from({ length: 99 }, (_, i) => `s${i}`).join('/') + '/*', 1],
    ['/' + Array.from({ length: 100 }, (_, i) => `s${i}`).join('/') + '/*', 0],
    ['/s1/*', 0], [deep, 1], ['*99', 1],
  ] as const)('%s', (pattern, want) => {
    expect(match(pattern, deep, false)).toBe(want);
    expect(match(pattern.toUpperCase().replace('/*', '/*'), deep.toUpperCase(), true)).toBe(want);
  });
});

it('a query string is ignored, whatever it contains', () => {
  expect(match('/a', '/a?/../..//%2F', false)).toBe(1);
  expect(match('/a/*', '/a?x', false)).toBe(0);
});

it('non-canonical paths never reach a matcher', () => {
  expect(match('*', '//a', false)).toBe(-2);
  expect(match('*', '/a/%2e%2e/b', false)).toBe(-2);
});
