/**
 * XFCC parsing (assembly/spiffe/xfcc.ts) against test/vectors/xfcc.json "parse", plus random
 * headers (never a trap; a successful parse is consistent with a reference splitter).
 */
import fc from 'fast-check';
import { loadTestkit, vectors } from './testkit';
import { xfccModel } from '../../support/xfcc-model';

const tk = loadTestkit();
interface ParseCase { name: string; header: string; ok: boolean; elements?: number; by?: string[]; uri?: string[] }
const v = vectors<{ parse: ParseCase[] }>('xfcc.json');

describe('xfcc.json parse', () => {
  it.each(v.parse.map((c) => [c.name, c] as const))('%s', (_n, c) => {
    const got = tk.json('tk_xfcc', c.header);
    if (!c.ok) {
      expect(got.ok).toBe(false);
      expect(typeof got.offset).toBe('number');
      return;
    }
    expect(got).toEqual({ ok: true, elements: c.elements, byCount: c.by!.length, uriCount: c.uri!.length, by: c.by, uri: c.uri });
  });
});

/** The TypeScript model of the grammar (shared with the fuzzers). */
const reference = xfccModel;

it('the reference model agrees with every vector', () => {
  for (const c of v.parse) {
    const r = reference(c.header);
    expect([c.name, r.ok]).toEqual([c.name, c.ok]);
    if (c.ok) expect([c.name, r.by, r.uri, r.elements]).toEqual([c.name, c.by, c.uri, c.elements]);
  }
});

it('random headers: never a trap, same result as the reference model', () => {
  const piece = fc.constantFrom('By', 'URI', 'uri', 'Hash', 'Subject', '=', ';', ',', '"', '\\', ' ', 'spiffe://td/a', 'x', '=y', '"CN=a"', '\\"', '\t');
  fc.assert(
    fc.property(fc.array(piece, { maxLength: 24 }), (parts) => {
      const h = parts.join('');
      const got = tk.json('tk_xfcc', h);
      const want = reference(h);
      expect(got.ok).toBe(want.ok);
      if (want.ok) {
        expect(got.elements).toBe(want.elements);
        expect(got.by).toEqual(want.by!.slice(0, 8));
        expect(got.uri).toEqual(want.uri!.slice(0, 8));
      }
    }),
    { numRuns: 5000 },
  );
});

it('arbitrary bytes never trap', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), (b) => {
      const got = tk.json('tk_xfcc', Buffer.from(b));
      expect(typeof got.ok).toBe('boolean');
    }),
    { numRuns: 3000 },
  );
});
