/**
 * Each entry kind's set operations (sets.ts EntryOps), for the static analysis: identities
 * (`from` entries), plain values (methods, ports), path patterns (with their case folding), host
 * patterns and CIDRs. Sound, not complete: when containment or disjointness is not provable from
 * the patterns, the answer is no.
 */
import { cidrContains, matchPathPattern, type Cidr, type FromEntry, type HostPattern, type PathEntry, type PathPattern } from './patterns';
import type { EntryOps } from './sets';
import { trustDomainOf } from './spiffe';

export function identityOps(trustDomain: string): EntryOps<FromEntry> {
  const td = (e: FromEntry) => (e.kind === 'any' ? trustDomain : trustDomainOf(e.kind === 'exact' ? e.id : e.prefix));
  const key = (e: FromEntry) => (e.kind === 'exact' ? e.id : e.kind === 'prefix' ? e.prefix : '');
  return {
    covers(b, a) {
      if (b.kind === 'any') return td(a) === trustDomain;
      if (b.kind === 'exact') return a.kind === 'exact' && a.id === b.id;
      return a.kind !== 'any' && key(a).startsWith(b.prefix);
    },
    disjoint(a, b) {
      if (a.kind === 'any' || b.kind === 'any') return td(a) !== td(b);
      if (a.kind === 'exact' && b.kind === 'exact') return a.id !== b.id;
      const [x, y] = [key(a), key(b)];
      if (a.kind === 'exact') return !x.startsWith(y);
      if (b.kind === 'exact') return !y.startsWith(x);
      return !x.startsWith(y) && !y.startsWith(x);
    },
    full: () => false, // unauthenticated callers are in no list
  };
}

export const valueOps: EntryOps<string | number> = {
  covers: (b, a) => a === b,
  disjoint: (a, b) => a !== b,
  full: () => false,
};

function lower(s: string): string {
  return s.replace(/[A-Z]+/g, (m) => m.toLowerCase());
}

function lowerPattern(p: PathPattern): PathPattern {
  switch (p.kind) {
    case 'any':
      return p;
    case 'exact':
      return { kind: 'exact', path: lower(p.path) };
    case 'prefix':
      return { kind: 'prefix', prefix: lower(p.prefix) };
    case 'suffix':
      return { kind: 'suffix', suffix: lower(p.suffix) };
    case 'template':
      return { kind: 'template', segments: p.segments.map((s) => (s.kind === 'literal' ? { kind: 'literal', text: lower(s.text) } : s)) };
  }
}

function hasLetters(p: PathPattern): boolean {
  const texts =
    p.kind === 'exact' ? [p.path] : p.kind === 'prefix' ? [p.prefix] : p.kind === 'suffix' ? [p.suffix] : p.kind === 'template' ? p.segments.map((s) => (s.kind === 'literal' ? s.text : '')) : [];
  return texts.some((t) => /[A-Za-z]/.test(t));
}

/** The literal start every path a template matches begins with ("/charges/{*}/x" → "/charges/"). */
function templateLead(p: Extract<PathPattern, { kind: 'template' }>): string {
  const lits: string[] = [];
  for (const s of p.segments) {
    if (s.kind !== 'literal') break;
    lits.push(s.text);
  }
  return '/' + lits.map((l) => l + '/').join('');
}

export const pathOps: EntryOps<PathEntry> = {
  covers(B, A) {
    if (B.pat.kind === 'any') return true;
    const aFold = A.fold && hasLetters(A.pat);
    if (aFold && !B.fold) return false;
    const a = B.fold ? lowerPattern(A.pat) : A.pat;
    const b = B.fold ? lowerPattern(B.pat) : B.pat;
    switch (a.kind) {
      case 'any':
        return false;
      case 'exact':
        return matchPathPattern(b, a.path);
      case 'prefix':
        return b.kind === 'prefix' && a.prefix.startsWith(b.prefix);
      case 'suffix':
        return b.kind === 'suffix' && a.suffix.endsWith(b.suffix);
      case 'template': {
        if (b.kind === 'prefix') return templateLead(a).startsWith(b.prefix);
        if (b.kind === 'suffix') {
          const last = a.segments[a.segments.length - 1];
          return last.kind === 'literal' && last.text.endsWith(b.suffix);
        }
        if (b.kind !== 'template') return false;
        for (let i = 0; ; i++) {
          const [x, y] = [a.segments[i], b.segments[i]];
          if (y === undefined) return x === undefined;
          if (y.kind === 'rest') return x !== undefined; // {**} needs the '/' a further segment brings
          if (x === undefined || x.kind === 'rest') return false;
          if (y.kind === 'one') continue; // a literal or {*} is one non-empty segment
          if (x.kind !== 'literal' || x.text !== y.text) return false;
        }
      }
    }
    return false;
  },
  disjoint(A, B) {
    const fold = A.fold || B.fold;
    const a = fold ? lowerPattern(A.pat) : A.pat;
    const b = fold ? lowerPattern(B.pat) : B.pat;
    if (a.kind === 'any' || b.kind === 'any') return false;
    if (a.kind === 'exact') return !matchPathPattern(b, a.path);
    if (b.kind === 'exact') return !matchPathPattern(a, b.path);
    const startsEither = (x: string, y: string) => x.startsWith(y) || y.startsWith(x);
    if (a.kind === 'prefix' && b.kind === 'prefix') return !startsEither(a.prefix, b.prefix);
    if (a.kind === 'suffix' && b.kind === 'suffix') return !(a.suffix.endsWith(b.suffix) || b.suffix.endsWith(a.suffix));
    if (a.kind === 'prefix' && b.kind === 'template') return !startsEither(a.prefix, templateLead(b));
    if (b.kind === 'prefix' && a.kind === 'template') return !startsEither(b.prefix, templateLead(a));
    const suffixVsTemplate = (s: string, t: Extract<PathPattern, { kind: 'template' }>) => {
      const last = t.segments[t.segments.length - 1];
      return last.kind === 'literal' && !last.text.endsWith(s);
    };
    if (a.kind === 'suffix' && b.kind === 'template') return suffixVsTemplate(a.suffix, b);
    if (b.kind === 'suffix' && a.kind === 'template') return suffixVsTemplate(b.suffix, a);
    if (a.kind === 'template' && b.kind === 'template') {
      for (let i = 0; ; i++) {
        const [x, y] = [a.segments[i], b.segments[i]];
        if (x === undefined && y === undefined) return false;
        if (x === undefined || y === undefined) return true; // one ends, the other needs more
        if (x.kind === 'rest' || y.kind === 'rest') return false;
        if (x.kind === 'literal' && y.kind === 'literal' && x.text !== y.text) return true;
      }
    }
    return false;
  },
  full: (B) => B.pat.kind === 'any',
};

export const hostOps: EntryOps<HostPattern> = {
  covers(b, a) {
    if (b.kind === 'exact') return a.kind === 'exact' && a.name === b.name;
    const under = (n: string) => n.endsWith('.' + b.base);
    return a.kind === 'exact' ? under(a.name) : a.base === b.base || under(a.base);
  },
  disjoint(a, b) {
    if (a.kind === 'exact' && b.kind === 'exact') return a.name !== b.name;
    if (a.kind === 'exact') return !a.name.endsWith('.' + (b as { base: string }).base);
    if (b.kind === 'exact') return !b.name.endsWith('.' + a.base);
    return !(a.base === b.base || a.base.endsWith('.' + b.base) || b.base.endsWith('.' + a.base));
  },
  full: () => false,
};

export const cidrOps: EntryOps<Cidr> = {
  covers: (b, a) => cidrContains(b, a),
  disjoint: (a, b) => !cidrContains(a, b) && !cidrContains(b, a),
  full: (b) => b.bits === 0,
};

// ---- index keys -------------------------------------------------------------------------------
//
// The analyzer compares rules pairwise only where it must (analyze-index.ts): it buckets a list's
// entries by a key. A key function K of a field must agree with the field's EntryOps:
//   - K(a), K(b) both non-null and different  ⇒  disjoint(a, b), and neither covers the other;
//   - K(a) null, K(b) non-null                 ⇒  b does not cover a.
// null means "no key" (the entry may overlap anything). Each kind offers keys at a few depths:
// a deeper key separates more entries but leaves the shorter prefixes without one.

export type IndexKey<E> = (entry: E) => string | null;

/** The first `depth` '/'-separated segments of `text` (which starts with '/'), when they are
 *  complete: `exact` text is whole (fewer segments: the text itself, marked with '#', a byte no
 *  pattern or ID holds); otherwise (a prefix ending in '/') only its complete segments count. */
function segmentKey(text: string, exact: boolean, depth: number): string | null {
  const segs = text.slice(1).split('/');
  if (!exact) segs.pop(); // the empty tail after a prefix's final '/'
  if (segs.length >= depth) return segs.slice(0, depth).join('/');
  return exact ? `${text}#` : null;
}

/** `from` entries: the trust domain and the first `depth` path segments of the ID or prefix. */
export function identityKey(depth: number): IndexKey<FromEntry> {
  return (e) => {
    if (e.kind === 'any') return null;
    const s = e.kind === 'exact' ? e.id : e.prefix;
    const slash = s.indexOf('/', 'spiffe://'.length);
    if (slash < 0) return `${s}#`; // a trust domain's own ID
    const k = segmentKey(s.slice(slash), e.kind === 'exact', depth);
    return k === null ? null : `${s.slice(0, slash)} ${k}`;
  };
}

/** Methods, ports: the value itself. */
export const valueKey: IndexKey<string | number> = (v) => String(v);

/** Path entries: the first `depth` literal segments, lower-cased (so both foldings agree). */
export function pathKey(depth: number): IndexKey<PathEntry> {
  return ({ pat }) => {
    switch (pat.kind) {
      case 'any':
      case 'suffix':
        return null;
      case 'exact':
        return segmentKey(lower(pat.path), true, depth);
      case 'prefix':
        return segmentKey(lower(pat.prefix), false, depth);
      case 'template': {
        const lits = templateLead(pat);
        return segmentKey(lower(lits), false, depth);
      }
    }
  };
}

/** Host patterns: the last `depth` labels of the name (of the base, for a wildcard). */
export function hostKey(depth: number): IndexKey<HostPattern> {
  return (e) => {
    const name = e.kind === 'exact' ? e.name : e.base;
    const labels = name.split('.');
    if (labels.length >= depth) return labels.slice(-depth).join('.');
    return e.kind === 'exact' ? `${name}#` : null;
  };
}
