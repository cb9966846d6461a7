/**
 * SPIFFE ID validation (assembly/spiffe/id.ts) against test/vectors/spiffe-ids.json and, per
 * position class, all 256 byte values (test/vectors/spiffe-charsets.json).
 */
import { loadTestkit, vectors } from './testkit';

const tk = loadTestkit();
const ids = vectors<Array<{ id: string; error: string | null }>>('spiffe-ids.json');
const charsets = vectors<{ trustDomain: string; path: string }>('spiffe-charsets.json');

const validate = (id: string | Buffer): string => tk.call('tk_spiffe_validate', id);

describe('spiffe-ids.json', () => {
  it('has at least 60 cases, each error a known code', () => {
    expect(ids.length).toBeGreaterThanOrEqual(60);
    const codes = new Set([null, 'empty', 'bad_scheme', 'missing_trust_domain', 'bad_trust_domain_char',
      'trust_domain_too_long', 'empty_segment', 'dot_segment', 'trailing_slash', 'bad_path_char', 'too_long']);
    for (const c of ids) expect(codes.has(c.error)).toBe(true);
    for (const code of codes) expect(ids.some((c) => c.error === code)).toBe(true);
  });

  it.each(ids.map((c) => [JSON.stringify(c.id).slice(0, 80), c.id, c.error] as const))('%s', (_label, id, error) => {
    expect(validate(id)).toBe(error ?? 'ok');
  });
});

describe('all 256 byte values per position class', () => {
  const bytesOf = (s: string) => new Set([...Buffer.from(s, 'latin1')]);
  const tdSet = bytesOf(charsets.trustDomain);
  const pathSet = bytesOf(charsets.path);

  it('charsets are exactly [a-z0-9._-] and [A-Za-z0-9._-]', () => {
    expect([...tdSet].sort()).toEqual([...Buffer.from('abcdefghijklmnopqrstuvwxyz0123456789._-')].sort());
    expect([...pathSet].sort()).toEqual([...Buffer.from('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-')].sort());
  });

  const all = Array.from({ length: 256 }, (_, b) => b);
  it.each([
    // [class, build(b), allowed set, error when not allowed, result for '/' (a separator)]
    ['trust domain', (b: number) => Buffer.concat([Buffer.from('spiffe://ex'), Buffer.from([b]), Buffer.from('ample.org/ns/a')]), tdSet, 'bad_trust_domain_char', 'ok'],
    ['path', (b: number) => Buffer.concat([Buffer.from('spiffe://example.org/ns/a'), Buffer.from([b]), Buffer.from('b')]), pathSet, 'bad_path_char', 'ok'],
    ['path segment start', (b: number) => Buffer.concat([Buffer.from('spiffe://example.org/'), Buffer.from([b]), Buffer.from('x')]), pathSet, 'bad_path_char', 'empty_segment'],
    ['path end', (b: number) => Buffer.concat([Buffer.from('spiffe://example.org/x'), Buffer.from([b])]), pathSet, 'bad_path_char', 'trailing_slash'],
  ] as const)('%s', (_cls, build, allowed, error, slash) => {
    const got = all.map((b) => [b, validate(build(b))] as const);
    for (const [b, code] of got) {
      const want = b === 0x2f ? slash : allowed.has(b) ? 'ok' : error;
      expect([b, code]).toEqual([b, want]);
    }
  });

  it('trust domain names alone (policy trustDomain)', () => {
    for (const b of all) {
      const code = tk.call('tk_trust_domain_validate', Buffer.from([0x61, b, 0x62]));
      expect([b, code]).toEqual([b, tdSet.has(b) ? 'ok' : 'bad_trust_domain_char']);
    }
    expect(tk.call('tk_trust_domain_validate', '')).toBe('missing_trust_domain');
    expect(tk.call('tk_trust_domain_validate', 'a'.repeat(255))).toBe('ok');
    expect(tk.call('tk_trust_domain_validate', 'a'.repeat(256))).toBe('trust_domain_too_long');
  });
});
