/**
 * The map serialization of harness/emulator/pairs.ts (notes §1.7): the exact byte layout, round
 * trips, and cpp-host's strict parse — any violation yields an EMPTY list, silently.
 */
import { parsePairs, serializePairs, type Pairs } from '../../../harness/emulator/pairs';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

it('lays out count, (key length, value length) pairs, then NUL-terminated keys and values', () => {
  expect(hex(serializePairs([['a', '1'], ['bc', '']]))).toBe(
    '02000000' + '01000000' + '01000000' + '02000000' + '00000000' + '6100' + '3100' + '626300' + '00',
  );
});

it('serializes an empty list to zero bytes (the host hands out ptr 0, size 0)', () => {
  expect(serializePairs([]).length).toBe(0);
});

describe('round trip', () => {
  const bytes = Array.from({ length: 256 }, (_, i) => String.fromCharCode(i)).join('');
  it.each<[string, Pairs]>([
    ['one pair', [[':path', '/charges']]],
    ['pseudo-headers first, repeated names kept in order', [[':authority', 'billing'], [':method', 'GET'], ['x-rep', 'a'], ['x-rep', 'b']]],
    ['empty names and values', [['', ''], ['k', ''], ['', 'v']]],
    ['every byte value, NUL included, in names and values', [[bytes, bytes.split('').reverse().join('')]]],
    ['1024 pairs (the limit)', Array.from({ length: 1024 }, (_, i): [string, string] => [`k${i}`, `v${i}`])],
  ])('%s', (_label, pairs) => {
    const serialized = serializePairs(pairs);
    expect(serialized.length).toBe(4 + 8 * pairs.length + pairs.reduce((n, [k, v]) => n + k.length + v.length + 2, 0));
    expect(parsePairs(serialized)).toEqual(pairs);
    expect(hex(serializePairs(parsePairs(serialized)))).toBe(hex(serialized));
  });

  it('parses from a view into a larger buffer (byteOffset respected)', () => {
    const inner = serializePairs([['a', 'b']]);
    const outer = Buffer.concat([Buffer.from('junk'), inner, Buffer.from('more')]);
    expect(parsePairs(outer.subarray(4, 4 + inner.length))).toEqual([['a', 'b']]);
  });
});

describe('strict parse: malformed input is an empty list, never an exception', () => {
  const good = serializePairs([['key', 'value'], ['k2', 'v2']]);
  const edit = (f: (b: Buffer) => Buffer) => f(Buffer.from(good));
  const cases: [string, Uint8Array][] = [
    ['empty input', new Uint8Array(0)],
    ['shorter than the count', Uint8Array.of(1, 0, 0)],
    ['count 0 (4 zero bytes)', new Uint8Array(4)],
    ['a trailing byte', Buffer.concat([good, Uint8Array.of(0)])],
    ['truncated by one byte', good.subarray(0, good.length - 1)],
    ['the size table runs past the end', Uint8Array.of(2, 0, 0, 0, 1, 0, 0, 0)],
    ['count 0xffffffff', Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0)],
    ['the key NUL is missing', edit((b) => { b[4 + 16 + 3] = 0x41; return b; })],
    ['the value NUL is missing', edit((b) => { b[b.length - 1] = 0x41; return b; })],
    ['a key length runs past the end', edit((b) => { b.writeUInt32LE(1000, 4); return b; })],
    ['a value length that shifts the NULs', edit((b) => { b.writeUInt32LE(4, 8); return b; })],
    ['more than 1024 pairs', serializePairs(Array.from({ length: 1025 }, (): [string, string] => ['k', 'v']))],
    ['more than 1 MiB', serializePairs([['big', 'x'.repeat(1024 * 1024)]])],
  ];
  it.each(cases)('%s', (_label, input) => {
    expect(parsePairs(input)).toEqual([]);
  });
});
