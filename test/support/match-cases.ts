/**
 * Matcher cases built so that the answer is known: a valid `paths`, `hosts` or `cidrs` entry and
 * a target derived from it that matches (case variants, ports, trailing dots, other spellings of
 * the same address), or a near miss that must not (one byte, one label, one segment or one
 * address bit off). Random strings almost never match a random pattern; these do by construction.
 * The rules are docs/internals.md §1-2 (harness/policy/patterns.ts).
 */
import fc from 'fast-check';
import { formatIp, isV4Mapped, type Ip16 } from '../../harness/policy/ip';

export interface MatchCase {
  /** The `paths` / `hosts` / `cidrs` entry. */
  pattern: string;
  /** A request path (with query) or an http authority. */
  target: string;
  /** Paths only: case-insensitive matching (deny `paths`, allow `notPaths`). */
  fold: boolean;
  /** Whether the target matches by construction. */
  expect: boolean;
  /** How the case was built (pattern kind, variant), for the failure message. */
  how: string;
}

const chars = (alphabet: string, minLength: number, maxLength: number) =>
  fc.array(fc.constantFrom(...alphabet), { minLength, maxLength }).map((a) => a.join(''));

/** Flips the ASCII case of the letters of `s` selected by the bits of `mask`. */
function flipCase(s: string, mask: number): string {
  return Array.from(s, (c, i) => ((mask >>> (i % 31)) & 1 ? (c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase()) : c)).join('');
}

// ---- paths ------------------------------------------------------------------------------------

/** Bytes of a literal segment of a `paths` entry, minus ';' (parameters are added apart). */
const NAME_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()+,=:@";
/** Segment names are never "." or "..", which no entry and no canonical path has. */
const notDots = (s: string) => (s === '.' || s === '..' ? `a${s}` : s);
/** A literal segment: a name, sometimes with path parameters ("a;v=1"). */
const segmentName = chars(NAME_CHARS, 1, 6).map(notDots);
const literalSegment = fc.oneof(
  { weight: 4, arbitrary: segmentName },
  { weight: 1, arbitrary: fc.tuple(segmentName, chars(`${NAME_CHARS};`, 0, 4)).map(([name, params]) => `${name};${params}`) },
);
/** A segment the request chooses freely: canonical bytes and escapes, no ';'. */
const freeSegment = fc
  .array(fc.oneof({ weight: 8, arbitrary: fc.constantFrom(...NAME_CHARS) }, { weight: 1, arbitrary: fc.constantFrom('%20', '%3F', '%C3%A9', '*') }), { minLength: 1, maxLength: 5 })
  .map((a) => notDots(a.join('')));
const freeRest = fc.array(freeSegment, { maxLength: 3 }).map((s) => s.join('/'));
const query = fc.oneof({ weight: 3, arbitrary: fc.constant('') }, { weight: 1, arbitrary: fc.constantFrom('?x=1', '?a=/../b', '?', '?%2F') });

type Piece = { text: string; fixed: boolean };
const join = (pieces: Piece[], mask: number | null) => pieces.map((p) => (p.fixed && mask !== null ? flipCase(p.text, mask) : p.text)).join('');

/** A path pattern with a matching target, as pieces (fixed: copied from the pattern) and near misses. */
type PathShape = { kind: string; pattern: string; pieces: Piece[]; nearMisses: string[] };

const exactShape = fc.array(literalSegment, { minLength: 1, maxLength: 4 }).map((segs): PathShape => {
  const pattern = `/${segs.join('/')}`;
  return { kind: 'exact', pattern, pieces: [{ text: pattern, fixed: true }], nearMisses: [`${pattern}q`, `${pattern}/`, `/${segs.slice(0, -1).join('/')}`, `${pattern}/x`] };
});

const prefixShape = fc.tuple(fc.array(literalSegment, { minLength: 1, maxLength: 3 }), fc.constantFrom('*', '{**}'), freeRest).map(([segs, star, rest]): PathShape => {
  const base = `/${segs.join('/')}`;
  return { kind: 'prefix', pattern: `${base}/${star}`, pieces: [{ text: `${base}/`, fixed: true }, { text: rest, fixed: false }], nearMisses: [base, `${base}q/${rest}`] };
});

const suffixShape = fc.tuple(chars(`${NAME_CHARS};`, 1, 6), fc.array(freeSegment, { maxLength: 2 }), chars(NAME_CHARS, 0, 3)).map(([suffix, dirs, stem]): PathShape => {
  const head = `/${dirs.map((d) => `${d}/`).join('')}f${stem}`;
  const wrongLast = suffix[suffix.length - 1].toLowerCase() === 'a' ? 'b' : 'a';
  return { kind: 'suffix', pattern: `*${suffix}`, pieces: [{ text: head, fixed: false }, { text: suffix, fixed: true }], nearMisses: [`${head}${suffix.slice(0, -1)}${wrongLast}`] };
});

const templatePart = fc.oneof({ weight: 1, arbitrary: fc.constant<string | null>(null) }, { weight: 2, arbitrary: literalSegment });
const templateShape = fc
  .tuple(fc.array(templatePart, { minLength: 1, maxLength: 4 }), fc.nat(3), fc.array(freeSegment, { minLength: 4, maxLength: 4 }), fc.constantFrom('', '/*', '/{**}'), freeRest)
  .map(([parts, at, fill, rest, restFill]): PathShape => {
    const segs = [...parts];
    if (!segs.includes(null)) segs[at % segs.length] = null; // at least one {*}
    const pattern = `/${segs.map((s) => s ?? '{*}').join('/')}${rest}`;
    const pieces: Piece[] = segs.map((s, i) => ({ text: `/${s ?? fill[i]}`, fixed: s !== null }));
    const whole = pieces.map((p) => p.text);
    if (rest !== '') pieces.push({ text: `/${restFill}`, fixed: false });
    return { kind: 'template', pattern, pieces, nearMisses: [whole.slice(0, -1).join('') || '/', ...(rest === '' ? [`${whole.join('')}/x`] : [])] };
  });

const anyShape = fc.tuple(fc.constantFrom('*', '/*', '/{**}'), freeRest).map(([pattern, rest]): PathShape => ({
  kind: 'any', pattern, pieces: [{ text: `/${rest}`, fixed: false }], nearMisses: [],
}));

/**
 * A valid `paths` entry and a canonical request path: the derived match (letters of the pattern's
 * part in random case; a match unless that changed a byte and the matching is byte-exact), or
 * one of the shape's near misses (never a match).
 */
export const pathMatchCase: fc.Arbitrary<MatchCase> = fc
  .tuple(
    fc.oneof({ weight: 2, arbitrary: exactShape }, { weight: 2, arbitrary: prefixShape }, { weight: 2, arbitrary: suffixShape }, { weight: 2, arbitrary: templateShape }, { weight: 1, arbitrary: anyShape }),
    fc.boolean(), fc.option(fc.nat(), { nil: null }), fc.nat(), fc.nat(9), query,
  )
  .map(([shape, fold, mask, pick, roll, q]) => {
    if (roll < 3 && shape.nearMisses.length > 0) {
      const target = shape.nearMisses[pick % shape.nearMisses.length];
      return { pattern: shape.pattern, target: target + q, fold, expect: false, how: `${shape.kind} near miss` };
    }
    const plain = join(shape.pieces, null);
    const target = join(shape.pieces, mask);
    return { pattern: shape.pattern, target: target + q, fold, expect: fold || target === plain, how: target === plain ? shape.kind : `${shape.kind} case variant` };
  });

// ---- hosts ------------------------------------------------------------------------------------

const LDH = 'abcdefghijklmnopqrstuvwxyz0123456789';
const label = fc.tuple(chars(LDH, 1, 5), fc.option(chars(`${LDH}-`, 0, 3).map((m) => `${m}z`), { nil: '' })).map(([a, b]) => a + b);
/** A last label with a letter, so the name never reads as an IPv4 address. */
const topLabel = fc.tuple(chars('abcdefghijklmnopqrstuvwxyz', 1, 1), chars(LDH, 0, 4)).map(([a, b]) => a + b);
const dnsName = fc.tuple(fc.array(label, { maxLength: 2 }), topLabel).map(([ls, top]) => [...ls, top].join('.'));

/**
 * A valid `hosts` entry (a name, or "*." + a name) and an http authority: a matching name (random
 * case, maybe a trailing dot, maybe a port) or a near miss (a subdomain of an exact name, a
 * parent, the wildcard's own base, a label with one more letter).
 */
export const hostMatchCase: fc.Arbitrary<MatchCase> = fc
  .tuple(dnsName, fc.boolean(), fc.array(label, { minLength: 1, maxLength: 2 }), fc.option(fc.nat(), { nil: null }), fc.boolean(), fc.constantFrom('', ':8443', ':80'), fc.nat(9), fc.nat())
  .map(([name, wildcard, more, mask, dot, port, roll, pick]) => {
    const pattern = wildcard ? `*.${name}` : name;
    const spell = (n: string) => `${mask === null ? n : flipCase(n, mask)}${dot ? '.' : ''}${port}`;
    if (roll < 3) {
      const misses = wildcard ? [name, `x${name}`, `${more.join('.')}.${name}.evil`] : [`${more.join('.')}.${name}`, `x${name}`, `${name}x`, ...(name.includes('.') ? [name.slice(name.indexOf('.') + 1)] : [])];
      return { pattern, target: spell(misses[pick % misses.length]), fold: false, expect: false, how: `${wildcard ? 'wildcard' : 'exact'} near miss` };
    }
    return { pattern, target: spell(wildcard ? `${more.join('.')}.${name}` : name), fold: false, expect: true, how: wildcard ? 'wildcard' : 'exact' };
  });

// ---- cidrs ------------------------------------------------------------------------------------

const v4Text = (b: Uint8Array) => Array.from(b.subarray(12)).join('.');
const v6Full = (b: Uint8Array) => Array.from({ length: 8 }, (_, i) => ((b[2 * i] << 8) | b[2 * i + 1]).toString(16)).join(':');

/** `addr` with the bits from `bits` on taken from `fill`. */
function withHostBits(addr: Ip16, bits: number, fill: Uint8Array): Ip16 {
  const out = new Uint8Array(16);
  for (let i = 0; i < 16; i++) {
    const keep = Math.max(0, Math.min(8, bits - 8 * i));
    const mask = (0xff << (8 - keep)) & 0xff;
    out[i] = (addr[i] & mask) | (fill[i] & ~mask & 0xff);
  }
  return out;
}

function flipBit(addr: Ip16, bit: number): Ip16 {
  const out = Uint8Array.from(addr);
  out[bit >> 3] ^= 0x80 >> (bit & 7);
  return out;
}

/**
 * A valid `cidrs` entry (IPv4 /0-32 or IPv6 /0-128) and an http authority: an address inside it
 * (IPv4 also as a hex number or IPv4-mapped IPv6; IPv6 compressed or in full; maybe a port), or
 * the same address with one bit of the prefix flipped (outside).
 */
export const cidrMatchCase: fc.Arbitrary<MatchCase> = fc
  .tuple(fc.boolean(), fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.nat(128), fc.nat(), fc.nat(9), fc.nat(3), fc.constantFrom('', ':443'))
  .map(([v4, seed, fill, rawBits, pick, roll, form, port]) => {
    const prefix = new Uint8Array(16);
    if (v4) prefix.set([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, seed[12], seed[13], seed[14], seed[15]]);
    else prefix.set(seed);
    const bits = v4 ? rawBits % 33 : rawBits;
    const net = withHostBits(prefix, v4 ? 96 + bits : bits, new Uint8Array(16));
    const pattern = v4 ? `${v4Text(net)}/${bits}` : `${isV4Mapped(net) || form % 2 ? v6Full(net) : formatIp(net)}/${bits}`;
    const miss = roll < 3 && bits > 0;
    let addr = withHostBits(net, v4 ? 96 + bits : bits, fill);
    if (miss) addr = flipBit(addr, (v4 ? 96 : 0) + (pick % bits));
    let host: string;
    if (v4) host = [v4Text(addr), `[::ffff:${v4Text(addr)}]`, `0x${Buffer.from(addr.subarray(12)).toString('hex')}`, v4Text(addr)][form];
    else host = `[${isV4Mapped(addr) || form % 2 ? v6Full(addr) : formatIp(addr)}]`;
    return { pattern, target: host + port, fold: false, expect: !miss, how: `${v4 ? 'IPv4' : 'IPv6'} /${bits} ${miss ? 'near miss' : 'inside'}` };
  });
