/**
 * assembly/util: sha256 (against node:crypto), the JSON parser (against JSON.parse, plus the
 * stricter rules: duplicate keys, lone surrogates, UTF-8, depth), the 64-bit hashes and the
 * unmanaged ByteTable.
 */
import { createHash, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { loadTestkit } from './testkit';

const tk = loadTestkit();

describe('sha256', () => {
  const lengths = [0, 1, 3, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 129, 1000, 65536, 1 << 20];
  it.each(lengths)('%d random bytes', (n) => {
    const b = randomBytes(n);
    expect(tk.call('tk_sha256', b)).toBe(createHash('sha256').update(b).digest('hex'));
  });
  it('known answer: "abc"', () => {
    expect(tk.call('tk_sha256', 'abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
  it('every length 0..300', () => {
    for (let n = 0; n <= 300; n++) {
      const b = randomBytes(n);
      expect([n, tk.call('tk_sha256', b)]).toEqual([n, createHash('sha256').update(b).digest('hex')]);
    }
  });
});

describe('json', () => {
  const parse = (text: string | Buffer, depth = 64) => tk.json('tk_json', text, depth);

  it('round-trips any JSON value like JSON.parse (fast-check)', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6, stringUnit: 'grapheme' }), fc.boolean(), (value, pretty) => {
        const text = JSON.stringify(value, null, pretty ? 2 : undefined);
        const got = parse(text);
        expect(got.ok).toBe(true);
        expect(got.value).toEqual(JSON.parse(text));
      }),
      { numRuns: 1500 },
    );
  });

  it('decodes every escape', () => {
    const text = '"\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u0041 \\u00e9 \\u20AC \\ud83d\\ude00 \\u0000"';
    expect(parse(text)).toEqual({ ok: true, value: JSON.parse(text) });
    expect(parse('"h\u00e9\u20ac\ud83d\ude00"')).toEqual({ ok: true, value: 'h\u00e9\u20ac\ud83d\ude00' });
  });

  it.each([
    ['-0', -0], ['0', 0], ['1e3', 1000], ['-1.5E-3', -0.0015], ['123456789012345678901234567890', 1.2345678901234568e29], ['[]', []], ['{}', {}],
    [' \t\r\n[ 1 , 2 ]\n', [1, 2]], ['{"a":{"a":{"a":1}}}', { a: { a: { a: 1 } } }], ['{"a":1,"b":{"a":2}}', { a: 1, b: { a: 2 } }],
  ] as const)('accepts %s', (text, want) => {
    expect(parse(text)).toEqual({ ok: true, value: want });
  });

  const bad: Array<[string, string | Buffer, number]> = [
    ['empty', '', 0],
    ['whitespace only', '  ', 2],
    ['byte order mark', Buffer.from([0xef, 0xbb, 0xbf, 0x7b, 0x7d]), 0],
    ['trailing comma in object', '{"a":1,}', 7],
    ['trailing comma in array', '[1,]', 3],
    ['missing colon', '{"a" 1}', 5],
    ['missing comma', '[1 2]', 3],
    ['unquoted key', '{a:1}', 1],
    ['single quotes', "{'a':1}", 1],
    ['leading zero', '01', 0],
    ['bare minus', '-', 0],
    ['dot without digits', '1.', 2],
    ['leading dot', '.5', 0],
    ['exponent without digits', '1e', 2],
    ['plus sign', '+1', 0],
    ['NaN', 'NaN', 0],
    ['unknown literal', 'nul', 0],
    ['literal with tail', 'truee', 4],
    ['data after the document', '[1] x', 4],
    ['two documents', '{}{}', 2],
    ['invalid escape', '"\\x"', 1],
    ['short \\u escape', '"\\u12"', 1],
    ['lone high surrogate', '"\\ud800"', 1],
    ['lone low surrogate', '"a\\udc00"', 2],
    ['high surrogate + non-surrogate', '"\\ud800\\u0041"', 1],
    ['raw control character', '"a\u0001"', 2],
    ['raw newline in string', '"a\nb"', 2],
    ['unterminated string', '"abc', 0],
    ['unterminated array', '[1,2', 4],
    ['unterminated object', '{"a":1', 6],
    ['overlong UTF-8', Buffer.from([0x22, 0xc0, 0x80, 0x22]), 1],
    ['UTF-8 surrogate', Buffer.from([0x22, 0xed, 0xa0, 0x80, 0x22]), 1],
    ['above U+10FFFF', Buffer.from([0x22, 0xf4, 0x90, 0x80, 0x80, 0x22]), 1],
    ['stray continuation byte', Buffer.from([0x22, 0x61, 0x80, 0x22]), 2],
    ['truncated sequence', Buffer.from([0x22, 0xe2, 0x82, 0x22]), 1],
    ['duplicate key', '{"a":1,"b":2,"a":3}', 13],
    ['duplicate key after escapes', '{"a":1,"\\u0061":2}', 7],
    ['nested duplicate key', '{"x":{"k":1,"k":2}}', 12],
    ['duplicate key among many (hashed)', '{' + Array.from({ length: 40 }, (_, i) => `"k${i}":${i}`).join(',') + ',"k7":0}', -1],
  ];
  it.each(bad)('rejects: %s', (_n, text, offset) => {
    const got = parse(text);
    expect(got.ok).toBe(false);
    if (offset >= 0) expect(got.offset).toBe(offset);
    expect(typeof got.error).toBe('string');
  });

  it('duplicate keys: the error names the key', () => {
    expect(parse('{"trustDomain":"a","trustDomain":"b"}').error).toBe('duplicate key "trustDomain"');
  });

  it('limits nesting depth', () => {
    const nest = (n: number) => '['.repeat(n) + ']'.repeat(n);
    expect(parse(nest(64)).ok).toBe(true);
    expect(parse(nest(65))).toEqual({ ok: false, error: 'nesting deeper than 64 levels', offset: 64 });
    expect(parse(nest(3), 2).ok).toBe(false);
    expect(parse('{"a":'.repeat(100000) + '1' + '}'.repeat(100000)).ok).toBe(false);
  });

  it('arbitrary bytes never trap; accepted documents are what JSON.parse accepts', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), (b) => {
        const got = parse(Buffer.from(b));
        if (got.ok) expect(got.value).toEqual(JSON.parse(Buffer.from(b).toString('utf8')));
      }),
      { numRuns: 3000 },
    );
    fc.assert(
      fc.property(fc.array(fc.constantFrom('{', '}', '[', ']', '"', ':', ',', '1', 'a', '\\', 'u', ' ', '-', '.', 'e', 'true', 'null'), { maxLength: 20 }), (parts) => {
        const text = parts.join('');
        const got = parse(text);
        let js: unknown;
        let jsOk = true;
        try { js = JSON.parse(text); } catch { jsOk = false; }
        if (got.ok) expect(got.value).toEqual(js);
        else if (jsOk) expect(got.error).toMatch(/duplicate key|surrogate/);
      }),
      { numRuns: 5000 },
    );
  });
});

describe('hash64', () => {
  const h = (s: string | Buffer, fold: boolean) => tk.big('tk_hash', s, fold);
  it('fold hashes the ASCII-lower-cased bytes', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary-ascii', maxLength: 40 }), (s) => {
        expect(h(s, true)).toBe(h(s.replace(/[A-Z]/g, (c) => c.toLowerCase()), false));
      }),
      { numRuns: 2000 },
    );
    expect(h(Buffer.from([0xc4, 0x41]), true)).toBe(h(Buffer.from([0xc4, 0x61]), false)); // non-ASCII kept
    expect(h(Buffer.from([0xc4]), true)).not.toBe(h(Buffer.from([0xe4]), false));
  });
  it('distinguishes lengths and trailing zero bytes', () => {
    const seen = new Set<bigint>();
    for (let n = 0; n < 40; n++) seen.add(h(Buffer.alloc(n), false));
    expect(seen.size).toBe(40);
  });
  it('prefix hashes (one pass) equal hashing each prefix', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom('/', 'a', 'B', 'xyz', 'LONGSEGMENT', '/'), { maxLength: 30 }), fc.nat(10), fc.boolean(), (parts, from, fold) => {
        expect(tk.num('tk_hash_prefixes_agree', parts.join(''), from, fold)).toBe(1);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('ByteTable', () => {
  const table = (keys: string[], probes: string[], fold = false) =>
    tk.json('tk_bytetable', keys.join('\0'), fold, probes.join('\0'));
  it('finds every key, reports duplicates, misses the rest', () => {
    const got = table(['a', 'b', 'a', '', 'spiffe://td/x'], ['a', 'b', '', 'spiffe://td/x', 'c', 'A', 'spiffe://td/']);
    expect(got).toEqual({ keys: 5, dups: 1, count: 4, probe: [0, 1, 3, 4, -1, -1, -1] });
  });
  it('fold tables compare ASCII case-insensitively', () => {
    const got = table(['/Admin', '/x'], ['/admin', '/ADMIN', '/X', '/y'], true);
    expect(got.probe).toEqual([0, 0, 1, -1]);
  });
  it('grows past its initial capacity (10 000 keys)', () => {
    const keys = Array.from({ length: 10000 }, (_, i) => `spiffe://example.org/ns/n${i}/sa/s${i * 7}`);
    const got = table(keys, [keys[0], keys[4999], keys[9999], 'spiffe://example.org/ns/n1/sa/s8']);
    expect(got.count).toBe(10000);
    expect(got.probe).toEqual([0, 4999, 9999, -1]);
  });
});

describe('abort handler', () => {
  it('logs the message and location through env.proxy_log at critical, then traps', () => {
    const fresh = loadTestkit(); // a trapped instance is not reused
    expect(() => fresh.exports.tk_trap()).toThrow();
    expect(fresh.logs).toEqual([[5, expect.stringMatching(/^meshgate abort: testkit trap at assembly\/testkit\.ts:\d+:\d+$/)]]);
  });
});
