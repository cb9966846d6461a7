/**
 * The TypeScript matchers (harness/policy/spiffe.ts, patterns.ts) against the shared vectors in
 * test/vectors/ — the same files the Wasm filter's pure code is held to (test/unit/wasm/), so a
 * disagreement between the two implementations shows up here or there.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  canonicalPath, cidrError, hostPatternError, isCanonicalPath, matchCidr, matchHost, matchPath, parseAuthority, pathPatternError,
} from '../../../harness/policy/patterns';
import { isPathChar, isTrustDomainChar, validateSpiffeId, type SpiffeError } from '../../../harness/policy/spiffe';

const VECTORS = path.resolve(__dirname, '../../vectors');
const load = <T>(name: string): T => JSON.parse(fs.readFileSync(path.join(VECTORS, name), 'utf8')) as T;
const label = (s: string) => (s.length > 70 ? `${JSON.stringify(s.slice(0, 60))}… (${s.length})` : JSON.stringify(s));

describe('spiffe-ids.json', () => {
  const v = load<Array<{ id: string; error: SpiffeError | null }>>('spiffe-ids.json');
  it.each(v.map((c) => [label(c.id), c.id, c.error] as const))('%s → %s', (_l, id, error) => {
    expect(validateSpiffeId(id)).toBe(error);
  });
});

describe('spiffe-charsets.json: every byte value in every position class', () => {
  const v = load<{ trustDomain: string; path: string }>('spiffe-charsets.json');
  const bytes = Array.from({ length: 256 }, (_, b) => b);
  it.each(bytes)('byte %i', (b) => {
    const ch = String.fromCharCode(b);
    const inTd = v.trustDomain.includes(ch);
    const inPath = v.path.includes(ch);
    expect(isTrustDomainChar(b)).toBe(inTd);
    expect(isPathChar(b)).toBe(inPath);
    // as a whole ID (a byte ≥ 0x80 as the UTF-8 of U+0080..U+00FF: still rejected)
    expect(validateSpiffeId(`spiffe://a${ch}b/x`)).toBe(inTd ? null : b === 0x2f ? null : 'bad_trust_domain_char');
    expect(validateSpiffeId(`spiffe://td/a${ch}b`)).toBe(inPath ? null : b === 0x2f ? null : 'bad_path_char');
  });
});

interface PathPatternCase { pattern: string; valid: boolean; matches?: string[]; nonMatches?: string[]; denyMatches?: string[] }

describe('paths.json', () => {
  const v = load<{ canonical: Array<{ path: string; canonical: boolean }>; patterns: PathPatternCase[] }>('paths.json');

  it.each(v.canonical.map((c) => [label(c.path), c.path, c.canonical] as const))('canonical %s: %s', (_l, p, canonical) => {
    expect(isCanonicalPath(p)).toBe(canonical);
    if (canonical) expect(canonicalPath(p)).toBe(p.split('?')[0]);
  });

  it.each(v.patterns.map((c) => [label(c.pattern), c] as const))('pattern %s', (_l, c) => {
    expect(pathPatternError(c.pattern) === null).toBe(c.valid);
    if (!c.valid) return;
    const denyOnly = new Set(c.denyMatches ?? []);
    for (const p of c.matches ?? []) {
      expect([p, 'exact', matchPath(c.pattern, p)]).toEqual([p, 'exact', true]);
      expect([p, 'fold', matchPath(c.pattern, p, { caseInsensitive: true })]).toEqual([p, 'fold', true]);
    }
    for (const p of c.nonMatches ?? []) {
      expect([p, 'exact', matchPath(c.pattern, p)]).toEqual([p, 'exact', false]);
      if (!denyOnly.has(p) && p.toLowerCase() === p) {
        expect([p, 'fold', matchPath(c.pattern, p, { caseInsensitive: true })]).toEqual([p, 'fold', false]);
      }
    }
    for (const p of denyOnly) {
      expect([p, 'exact', matchPath(c.pattern, p)]).toEqual([p, 'exact', false]);
      expect([p, 'fold', matchPath(c.pattern, p, { caseInsensitive: true })]).toEqual([p, 'fold', true]);
    }
  });

  it('matching never accepts a non-canonical path', () => {
    for (const c of v.canonical.filter((x) => !x.canonical)) expect([c.path, matchPath('*', c.path)]).toEqual([c.path, false]);
  });
});

interface AuthorityCase { authority: string; scheme: string; connect: boolean; name?: string; ip?: string; port?: number; error?: string }
interface PatternCase { pattern: string; valid: boolean; matches?: string[]; nonMatches?: string[] }
interface CidrCase { cidr: string; valid: boolean; matches?: string[]; nonMatches?: string[] }

describe('hosts.json', () => {
  const v = load<{ authorities: AuthorityCase[]; patterns: PatternCase[]; cidrs: CidrCase[] }>('hosts.json');
  const http = (a: string) => parseAuthority(a, { scheme: 'http', connect: false });

  it.each(v.authorities.map((c) => [`${label(c.authority)} ${c.scheme}${c.connect ? ' CONNECT' : ''}`, c] as const))('authority %s', (_l, c) => {
    const r = parseAuthority(c.authority, { scheme: c.scheme, connect: c.connect });
    if (c.error !== undefined) expect(r).toEqual({ error: c.error });
    else if (c.name !== undefined) expect(r).toEqual({ name: c.name, port: c.port });
    else expect(r).toMatchObject({ ip: c.ip, port: c.port });
  });

  it.each(v.patterns.map((c) => [label(c.pattern), c] as const))('hosts entry %s', (_l, c) => {
    expect(hostPatternError(c.pattern) === null).toBe(c.valid);
    if (!c.valid) return;
    for (const a of c.matches ?? []) expect([a, matchHost(c.pattern, http(a))]).toEqual([a, true]);
    for (const a of c.nonMatches ?? []) expect([a, matchHost(c.pattern, http(a))]).toEqual([a, false]);
  });

  it.each(v.cidrs.map((c) => [label(c.cidr), c] as const))('cidrs entry %s', (_l, c) => {
    expect(cidrError(c.cidr) === null).toBe(c.valid);
    if (!c.valid) return;
    for (const a of c.matches ?? []) expect([a, matchCidr(c.cidr, http(a))]).toEqual([a, true]);
    for (const a of c.nonMatches ?? []) expect([a, matchCidr(c.cidr, http(a))]).toEqual([a, false]);
  });
});
