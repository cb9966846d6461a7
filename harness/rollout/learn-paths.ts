/**
 * How `meshgate learn` turns the paths it saw into `paths` entries (docs/internals.md §1):
 * segments that vary between requests — numbers, UUIDs, hex hashes, long or prefixed ids — and
 * segments a policy cannot spell literally become `{*}`; a parent with many distinct children
 * becomes `parent/*`.
 */

const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const NUMBER = /^[0-9]+$/;
/** A hex hash or object id: 8+ hex digits, at least one of them 0-9 (so "deadbeef" stays a word). */
const HEX = /^(?=.*[0-9])[0-9a-fA-F]{8,}$/;
/** A long opaque id: 16+ id characters with at least one digit. */
const LONG_ID = /^(?=.*[0-9])[A-Za-z0-9_-]{16,}$/;
/** A typed id, `ch_1Nv2`, `cus_42`: a short lower-case prefix, `_`, then an id with a digit. */
const PREFIXED_ID = /^[a-z]{1,8}_(?=[A-Za-z0-9]*[0-9])[A-Za-z0-9]{2,}$/;
/** What a literal path segment may hold: RFC 3986 pchar minus `%` (and `*`, which patterns use). */
const LITERAL = /^[A-Za-z0-9\-._~!$&'()+,;=:@]+$/;

export const ANY_SEGMENT = '{*}';

/** Whether a path segment is an id that varies between requests (or cannot be written literally). */
export function isVariableSegment(s: string): boolean {
  return NUMBER.test(s) || UUID.test(s) || HEX.test(s) || LONG_ID.test(s) || PREFIXED_ID.test(s) || !LITERAL.test(s);
}

/**
 * The `paths` entry for one request path: the query removed, variable segments as `{*}`; a
 * trailing `/` (an empty last segment, which no literal can spell) as a final `{**}`.
 */
export function generalizePath(path: string): string {
  const q = path.indexOf('?');
  const p = q >= 0 ? path.slice(0, q) : path;
  if (p === '/' || p === '') return '/';
  const segs = p.split('/').slice(1);
  const out = segs.map((s, i) => (s === '' && i === segs.length - 1 ? '{**}' : isVariableSegment(s) ? ANY_SEGMENT : s));
  return '/' + out.join('/');
}

/** The parent of a generalized path (`/a/b/c` → `/a/b`), or undefined for a top-level path. */
function parentOf(pattern: string): string | undefined {
  const i = pattern.lastIndexOf('/');
  return i > 0 ? pattern.slice(0, i) : undefined;
}

/**
 * Collapses the children of a parent into `parent/*` when it has at least `threshold` distinct
 * children (a subtree the caller walks, not a fixed set of endpoints): `parent/*`, or
 * `parent/{**}` below a template. Returns, for each input
 * pattern, the entry that now covers it.
 */
export function collapseSubtrees(patterns: Iterable<string>, threshold: number): Map<string, string> {
  const byParent = new Map<string, string[]>();
  const all = [...patterns];
  for (const p of all) {
    const parent = parentOf(p);
    if (parent === undefined || p.endsWith('{**}')) continue;
    let l = byParent.get(parent);
    if (!l) byParent.set(parent, (l = []));
    l.push(p);
  }
  const cover = new Map<string, string>(all.map((p) => [p, p]));
  for (const [parent, children] of byParent) {
    if (children.length < threshold) continue;
    // a segment prefix is literal (`/a/*`); below a template the subtree is a final `{**}`
    const subtree = parent.includes('{') ? `${parent}/{**}` : `${parent}/*`;
    for (const c of children) cover.set(c, subtree);
  }
  return cover;
}
