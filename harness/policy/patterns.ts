/**
 * The policy's matchers in TypeScript: `from` entries, methods, request paths and `paths`
 * entries, egress authorities, `hosts` and `cidrs` entries. The rules are docs/internals.md §1-2;
 * the Wasm filter implements the same rules in assembly/policy/{matchers,path,host}.ts and both
 * are held to test/vectors/*.json. Error messages use the filter's words, so `meshgate validate`
 * and a failing `proxy_on_configure` say the same thing.
 *
 * Every byte these grammars accept is ASCII, so scanning UTF-16 code units of a JS string gives
 * the same answers as the filter's byte scans (any code unit ≥ 0x80 is rejected either way).
 */
import { formatIp, ipInPrefix, ipv4Mapped, parseIpv4Loose, parseIpv4Strict, parseIpv6, hostBitsClear, type Ip16 } from './ip';
import { idPathOf, spiffeErrorMessage, trustDomainOf, validateSpiffeId, SPIFFE_SCHEME } from './spiffe';

// ---- identities (`from`, `notFrom`) ---------------------------------------------------------

/**
 * A `from` entry:
 *   "*"                       any valid identity in the policy's trust domain
 *   "spiffe://td/a/b"         exactly this ID (of any trust domain)
 *   "spiffe://td/ns/shop/*"   segment prefix: IDs under "spiffe://td/ns/shop/" (not that ID
 *                             itself, not ".../shopx/..."); the part before "/*" must be a valid
 *                             ID with a non-empty path.
 */
export type FromEntry = { kind: 'any' } | { kind: 'exact'; id: string } | { kind: 'prefix'; prefix: string };

export function parseFromEntry(entry: string): FromEntry | { error: string } {
  if (entry === '*') return { kind: 'any' };
  if (entry.endsWith('/*')) {
    const base = entry.slice(0, -2);
    const code = validateSpiffeId(base);
    if (code) return { error: spiffeErrorMessage(code) };
    if (base.indexOf('/', SPIFFE_SCHEME.length) < 0) {
      return { error: 'a segment prefix needs a non-empty path before "/*" (use "*" for the whole trust domain)' };
    }
    return { kind: 'prefix', prefix: entry.slice(0, -1) };
  }
  const code = validateSpiffeId(entry);
  if (code) return { error: spiffeErrorMessage(code) };
  return { kind: 'exact', id: entry };
}

export function fromEntryError(entry: string): string | null {
  const r = parseFromEntry(entry);
  return 'error' in r ? r.error : null;
}

/**
 * Does the caller's identity match the entry? `identity` is the caller's valid SPIFFE ID, or
 * null for an unauthenticated caller (who matches no entry).
 */
export function matchFrom(entry: string | FromEntry, identity: string | null, trustDomain: string): boolean {
  // a trust-domain ID ("spiffe://td") is never a caller (X.509-SVID §2): it matches no entry
  if (identity === null || idPathOf(identity) === '') return false;
  const e = typeof entry === 'string' ? parseFromEntry(entry) : entry;
  if ('error' in e) return false;
  switch (e.kind) {
    case 'any':
      return trustDomainOf(identity) === trustDomain;
    case 'exact':
      return identity === e.id;
    case 'prefix':
      return identity.startsWith(e.prefix);
  }
}

/** The trust domain an entry is confined to (null for "*": the policy's own). */
export function fromEntryTrustDomain(e: FromEntry): string | null {
  if (e.kind === 'any') return null;
  return trustDomainOf(e.kind === 'exact' ? e.id : e.prefix);
}

// ---- methods --------------------------------------------------------------------------------

/** null when the method is [A-Z]{1,32}. */
export function methodError(method: string): string | null {
  return /^[A-Z]{1,32}$/.test(method) ? null : 'method must be 1 to 32 upper-case letters';
}

// ---- request paths --------------------------------------------------------------------------

function isUnreserved(c: number): boolean {
  const l = c | 0x20;
  return (l >= 0x61 && l <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2e || c === 0x5f || c === 0x7e;
}

function hexVal(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const l = c | 0x20;
  if (l >= 0x61 && l <= 0x66) return l - 0x61 + 10;
  return -1;
}

function isDotSegment(seg: string): boolean {
  return seg === '.' || seg === '..';
}

/**
 * The path part of `:path` (before the first '?') when it is canonical, else null. Canonical
 * (docs/internals.md §2): starts with '/'; no "//", no "." or ".." segment (a trailing '/' is
 * fine); no '\', '#', byte ≤ 0x20, 0x7F or ≥ 0x80, nor a byte Envoy's normalize_path would
 * percent-encode (ENVOY_ESCAPED_BYTES); every '%' followed by two hex digits that
 * encode neither '/', '\' nor an unreserved byte ([A-Za-z0-9-._~], whose canonical form is the
 * byte itself); no segment with path parameters whose name (the part before its first ';') is
 * empty, "." or ".." ("/..;/", "/.;x/", "/;x/": servlet containers strip the parameters, then
 * resolve the dot segment or merge the slashes).
 */
/**
 * The printable ASCII bytes Envoy 1.40's normalize_path percent-encodes in the path part
 * (`/a"b` reaches filters as `/a%22b`; seen against real Envoy, test/e2e/front-model.test.ts).
 * A path that still holds one raw was not normalized as the reference listeners do, so it is not
 * canonical: the rules never see a spelling the upstream could receive differently.
 */
export const ENVOY_ESCAPED_BYTES = '"<>`{}|^';

export function canonicalPath(path: string): string | null {
  const q = path.indexOf('?');
  const p = q < 0 ? path : path.slice(0, q);
  const n = p.length;
  if (n === 0 || p.charCodeAt(0) !== 0x2f) return null;
  for (const seg of p.split('/').slice(1)) {
    const semi = seg.indexOf(';');
    if (semi < 0) continue;
    const name = seg.slice(0, semi);
    if (name.length === 0 || isDotSegment(name)) return null;
  }
  let seg = 0;
  for (let i = 1; i < n; i++) {
    const c = p.charCodeAt(i);
    if (c === 0x2f) {
      const s = p.slice(seg + 1, i);
      if (s.length === 0 || isDotSegment(s)) return null;
      seg = i;
      continue;
    }
    if (c <= 0x20 || c >= 0x7f || c === 0x5c || c === 0x23 || ENVOY_ESCAPED_BYTES.includes(p[i])) return null;
    if (c === 0x25) {
      if (i + 2 >= n) return null;
      const h = hexVal(p.charCodeAt(i + 1));
      const l = hexVal(p.charCodeAt(i + 2));
      if (h < 0 || l < 0) return null;
      const v = (h << 4) | l;
      if (v === 0x2f || v === 0x5c || isUnreserved(v)) return null;
      i += 2;
    }
  }
  if (isDotSegment(p.slice(seg + 1))) return null;
  return p;
}

export function isCanonicalPath(path: string): boolean {
  return canonicalPath(path) !== null;
}

/** A template segment: a literal, `{*}` (one non-empty segment) or `{**}`/a final `*` (the rest). */
export type PathSegment = { kind: 'literal'; text: string } | { kind: 'one' } | { kind: 'rest' };

/**
 * A `paths` entry, classified:
 *   any       "*", "/*", "/{**}"
 *   exact     "/a/b", "/" (the root)
 *   prefix    "/a/*" or "/a/{**}" — `prefix` is "/a/" (so "/a/" itself matches)
 *   suffix    "*.json" — `suffix` is ".json"
 *   template  "/a/{*}/b", "/a/{*}/{**}", "/a/{*}/*"
 */
export type PathPattern =
  | { kind: 'any' }
  | { kind: 'exact'; path: string }
  | { kind: 'prefix'; prefix: string }
  | { kind: 'suffix'; suffix: string }
  | { kind: 'template'; segments: PathSegment[] };

const MSG_STAR = "'*' is only allowed alone, as the whole last segment (\"/a/*\") or as a leading suffix wildcard (\"*.json\")";
const MSG_BRACE = "'{' and '}' are only allowed as whole \"{*}\" or \"{**}\" segments";
const MSG_CHAR = "path pattern has a character outside [A-Za-z0-9-._~!$&'()+,;=:@]";

/** RFC 3986 pchar minus '%' and '*': the bytes a literal part of a `paths` entry may use. */
export const PATH_LITERAL_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()+,;=:@";
const LITERAL = new Set(Array.from(PATH_LITERAL_CHARS, (c) => c.charCodeAt(0)));

/** The first problem of a literal run, checked per character in the filter's order. */
function literalError(s: string): string | null {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x2a) return MSG_STAR;
    if (c === 0x7b || c === 0x7d) return MSG_BRACE;
    if (!LITERAL.has(c)) return MSG_CHAR;
  }
  return null;
}

/** Validates and classifies a `paths` entry (docs/internals.md §1, test/vectors/paths.json). */
export function parsePathPattern(p: string): PathPattern | { error: string } {
  const n = p.length;
  if (n === 0) return { error: 'path pattern is empty' };
  if (p.charCodeAt(0) === 0x2a) {
    if (n === 1) return { kind: 'any' };
    for (let i = 1; i < n; i++) {
      if (p.charCodeAt(i) === 0x2f) return { error: 'a suffix pattern ("*.json") cannot contain \'/\'' };
      const e = literalError(p[i]);
      if (e) return { error: e };
    }
    return { kind: 'suffix', suffix: p.slice(1) };
  }
  if (p.charCodeAt(0) !== 0x2f) return { error: 'path pattern must start with \'/\', or be \'*\' or a suffix pattern ("*.json")' };
  if (n === 1) return { kind: 'exact', path: '/' };
  const segments: PathSegment[] = [];
  let hasOne = false;
  let restAt = -1; // index of the '/' before a final rest segment
  let start = 1;
  for (;;) {
    let e = start;
    while (e < n && p.charCodeAt(e) !== 0x2f) e++;
    const seg = p.slice(start, e);
    const isLast = e >= n;
    if (seg.length === 0) return { error: 'path pattern has an empty segment' };
    if (restAt >= 0) return { error: "'{**}' must be the last segment" };
    if (seg === '*') {
      if (!isLast) return { error: MSG_STAR };
      restAt = start - 1;
      segments.push({ kind: 'rest' });
    } else if (seg === '{*}') {
      hasOne = true;
      segments.push({ kind: 'one' });
    } else if (seg === '{**}') {
      restAt = start - 1;
      segments.push({ kind: 'rest' });
    } else {
      const le = literalError(seg);
      if (le) return { error: le };
      if (isDotSegment(seg)) return { error: "path pattern has a '.' or '..' segment" };
      segments.push({ kind: 'literal', text: seg });
    }
    if (isLast) break;
    start = e + 1;
    if (start >= n) return { error: 'path pattern has an empty segment' };
  }
  if (hasOne) return { kind: 'template', segments };
  if (restAt >= 0) return restAt === 0 ? { kind: 'any' } : { kind: 'prefix', prefix: p.slice(0, restAt + 1) };
  return { kind: 'exact', path: p };
}

export function pathPatternError(p: string): string | null {
  const r = parsePathPattern(p);
  return 'error' in r ? r.error : null;
}

function lowerAscii(s: string): string {
  return s.replace(/[A-Z]+/g, (m) => m.toLowerCase());
}

export interface PathMatchOptions {
  /** ASCII case-insensitive matching: the restricting path lists (see pathFold). Default false
   *  (byte-exact). */
  caseInsensitive?: boolean;
}

/** Matches a classified pattern against the path part of a canonical request path. */
export function matchPathPattern(pat: PathPattern, path: string, options: PathMatchOptions = {}): boolean {
  const fold = options.caseInsensitive === true;
  const p = fold ? lowerAscii(path) : path;
  const lit = (s: string) => (fold ? lowerAscii(s) : s);
  switch (pat.kind) {
    case 'any':
      return true;
    case 'exact':
      return p === lit(pat.path);
    case 'prefix':
      return p.startsWith(lit(pat.prefix));
    case 'suffix':
      return p.endsWith(lit(pat.suffix));
    case 'template':
      return matchTemplate(pat.segments, p, lit);
  }
}

function matchTemplate(segments: PathSegment[], p: string, lit: (s: string) => string): boolean {
  const n = p.length;
  let pos = 0; // at a '/' (or n when the path is used up)
  for (const s of segments) {
    if (pos >= n) return false;
    if (s.kind === 'rest') return true;
    let end = pos + 1;
    while (end < n && p.charCodeAt(end) !== 0x2f) end++;
    const seg = p.slice(pos + 1, end);
    if (s.kind === 'one') {
      if (seg.length === 0) return false;
    } else if (seg !== lit(s.text)) return false;
    pos = end;
  }
  return pos >= n;
}

/**
 * A canonical path without its path parameters: in every segment, everything from the first ';'
 * on is dropped ("/a;x=1/b;y" → "/a/b"), the way Tomcat, Jetty, Undertow and Spring route it.
 */
export function stripPathParams(path: string): string {
  return path.includes(';') ? path.split('/').map((s) => s.split(';')[0]).join('/') : path;
}

/**
 * Does the `paths` entry match the request's `:path` (query ignored)? A non-canonical path
 * matches nothing: the filter denies it (`non_canonical_path`) before looking at any rule. An
 * invalid pattern matches nothing either.
 *
 * A path with parameters (';') is also judged by its stripped view (stripPathParams), since a
 * servlet container upstream routes that: with `caseInsensitive` (the restricting lists, see
 * pathFold) a match in either view counts; otherwise (granting) a suffix entry
 * must hold in both views unless it contains a ';' itself ("*.json" does not grant
 * "/secret;.json"). Exact, prefix and template entries without ';' that match the received path
 * match the stripped view anyway.
 */
export function matchPath(pattern: string | PathPattern, path: string, options: PathMatchOptions = {}): boolean {
  const pat = typeof pattern === 'string' ? parsePathPattern(pattern) : pattern;
  if ('error' in pat) return false;
  const p = canonicalPath(path);
  if (p === null) return false;
  const stripped = stripPathParams(p);
  if (options.caseInsensitive === true) {
    return matchPathPattern(pat, p, options) || (stripped !== p && matchPathPattern(pat, stripped, options));
  }
  if (!matchPathPattern(pat, p, options)) return false;
  if (pat.kind === 'suffix' && stripped !== p && !pat.suffix.includes(';')) return matchPathPattern(pat, stripped, options);
  return true;
}

/**
 * Whether a rule's path list is matched case-insensitively (docs/internals.md §2): the positive
 * list of a deny rule and the negated list of an allow rule, so that a case variant ("/ADMIN")
 * never slips past a deny and never gains access through an allow.
 */
export function pathFold(action: 'allow' | 'deny', negated: boolean): boolean {
  return (action === 'deny') !== negated;
}

/** A path entry as its list uses it: the pattern, and whether it is matched case-insensitively. */
export interface PathEntry {
  pat: PathPattern;
  fold: boolean;
}

// ---- egress authorities ---------------------------------------------------------------------

export type AuthorityError = 'bad_authority' | 'userinfo' | 'bad_port' | 'non_ascii_host' | 'bad_host' | 'bad_label' | 'name_too_long';

export type ParsedAuthority =
  | { name: string; port: number }
  | { ip: string; port: number; addr: Ip16; canonical: boolean }
  | { error: AuthorityError };

export interface AuthorityOptions {
  /** `:scheme`; gives the port when the authority has none (http 80, https 443; any case). */
  scheme: string;
  /** A CONNECT request: the authority must carry a port. */
  connect: boolean;
}

export const MAX_NAME = 253;

function isLdh(c: number, allowUpper: boolean): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2d || (allowUpper && c >= 0x41 && c <= 0x5a);
}

/** LDH labels separated by '.', each 1..63 bytes, not starting or ending with '-'. */
function labelsOk(name: string, allowUpper: boolean): boolean {
  for (const label of name.split('.')) {
    if (label.length < 1 || label.length > 63) return false;
    for (let i = 0; i < label.length; i++) if (!isLdh(label.charCodeAt(i), allowUpper)) return false;
    if (label.startsWith('-') || label.endsWith('-')) return false;
  }
  return true;
}

/** An empty name, a leading dot, two dots in a row, or a trailing dot. */
function hasEmptyLabel(name: string): boolean {
  return name.length === 0 || name.startsWith('.') || name.endsWith('.') || name.includes('..');
}

/** A last label that makes a name an IPv4 literal: all digits, or "0x"/"0X" + hex digits. */
function isNumericLabel(label: string): boolean {
  if (label.length === 0) return false;
  if (/^0[xX]/.test(label)) return /^0[xX][0-9A-Fa-f]*$/.test(label);
  return /^[0-9]+$/.test(label);
}

function lastLabel(name: string): string {
  return name.slice(name.lastIndexOf('.') + 1);
}

/**
 * Parses an egress target (docs/design.md §3.4): CONNECT's authority or `:authority`. Checks, in
 * the filter's order (test/vectors/hosts.json pins the precedence):
 *   1. userinfo        any '@'
 *   2. bad_authority   empty; a byte ≤ 0x20, 0x7F, '/', '?', '#', '\'; misplaced '[' / ']';
 *                      more than one ':' outside brackets; an empty host
 *   3. non_ascii_host  a byte ≥ 0x80 in the host (IDNs must arrive as A-labels)
 *   4. bad_authority   a bracketed IPv6 literal that does not parse (zones included)
 *   5. bad_host        an empty label: an empty name, a leading dot, "..", or ANY trailing dot.
 *                      Behind strip_trailing_host_dot (the reference configs) a dot that reaches
 *                      the filter means the client sent two ("api.stripe.com.."); the filter
 *                      cannot tell that from a listener without the option, so it removes none.
 *   5b. bad_authority  a name whose last label is numeric but which is no inet_aton IPv4 address
 *   5c. bad_label      a label over 63 bytes, a byte outside [A-Za-z0-9-], a leading or
 *                      trailing '-'
 *   6. name_too_long   more than 253 bytes
 *   7. bad_port        an empty, non-decimal, over-5-digit, 0 or > 65535 port; no port with
 *                      CONNECT; no port and a scheme other than http/https
 * A name comes back lower-cased; an IP literal as its text form
 * (dotted quad for IPv4, also for IPv4-mapped IPv6) plus its 16 bytes, and whether it is
 * `canonical`: a strict dotted quad, or bracketed IPv6 — the forms every
 * resolver reads the same way (the egress decision denies the others, see evaluate.ts).
 */
export function parseAuthority(authority: string, options: AuthorityOptions): ParsedAuthority {
  const a = authority;
  const n = a.length;
  if (n === 0) return { error: 'bad_authority' };
  if (a.includes('@')) return { error: 'userinfo' };
  let nonAscii = false;
  for (let i = 0; i < n; i++) {
    const c = a.charCodeAt(i);
    if (c <= 0x20 || c === 0x7f || c === 0x2f || c === 0x3f || c === 0x23 || c === 0x5c) return { error: 'bad_authority' };
    if (c >= 0x80) nonAscii = true;
  }
  let hostStart = 0;
  let hostEnd: number;
  let portAt = -1;
  const bracketed = a.charCodeAt(0) === 0x5b;
  if (bracketed) {
    const close = a.indexOf(']', 1);
    if (close < 0) return { error: 'bad_authority' };
    hostStart = 1;
    hostEnd = close;
    if (close + 1 < n) {
      if (a.charCodeAt(close + 1) !== 0x3a) return { error: 'bad_authority' };
      portAt = close + 1;
    }
    for (let i = close + 1; i < n; i++) if (a[i] === '[' || a[i] === ']') return { error: 'bad_authority' };
  } else {
    for (let i = 0; i < n; i++) {
      const c = a[i];
      if (c === '[' || c === ']') return { error: 'bad_authority' };
      if (c === ':') {
        if (portAt >= 0) return { error: 'bad_authority' };
        portAt = i;
      }
    }
    hostEnd = portAt >= 0 ? portAt : n;
  }
  if (hostEnd <= hostStart) return { error: 'bad_authority' };
  const host = a.slice(hostStart, hostEnd);
  if (nonAscii && /[^\x00-\x7f]/.test(host)) return { error: 'non_ascii_host' };

  let result: { name: string } | { ip: string; addr: Ip16; canonical: boolean };
  if (bracketed) {
    const addr = parseIpv6(host);
    if (!addr) return { error: 'bad_authority' };
    result = { ip: formatIp(addr), addr, canonical: true };
  } else {
    if (hasEmptyLabel(host)) return { error: 'bad_host' };
    if (isNumericLabel(lastLabel(host))) {
      const v = parseIpv4Loose(host);
      if (v === null) return { error: 'bad_authority' };
      const addr = ipv4Mapped(v);
      result = { ip: formatIp(addr), addr, canonical: parseIpv4Strict(host) !== null };
    } else {
      if (!labelsOk(host, true)) return { error: 'bad_label' };
      if (host.length > MAX_NAME) return { error: 'name_too_long' };
      result = { name: lowerAscii(host) };
    }
  }

  let port: number;
  if (portAt >= 0) {
    const digits = a.slice(portAt + 1);
    if (digits.length < 1 || digits.length > 5 || !/^[0-9]+$/.test(digits)) return { error: 'bad_port' };
    port = Number(digits);
    if (port < 1 || port > 65535) return { error: 'bad_port' };
  } else {
    if (options.connect) return { error: 'bad_port' };
    const scheme = options.scheme.toLowerCase();
    if (scheme === 'https') port = 443;
    else if (scheme === 'http') port = 80;
    else return { error: 'bad_port' };
  }
  return 'name' in result ? { name: result.name, port } : { ip: result.ip, port, addr: result.addr, canonical: result.canonical };
}

// ---- `hosts` entries ------------------------------------------------------------------------

const MSG_HOST_STAR = "'*' is only allowed as a leading \"*.\" label";

/**
 * Validates a `hosts` entry: a lower-case DNS name (LDH labels of 1..63 bytes, ≤ 253 bytes, no
 * trailing dot, last label not numeric) or "*." + such a name. null when valid.
 */
export function hostPatternError(pattern: string): string | null {
  const n = pattern.length;
  if (n === 0) return 'host is empty';
  let q = pattern;
  if (pattern.charCodeAt(0) === 0x2a) {
    if (n < 3 || pattern.charCodeAt(1) !== 0x2e) return MSG_HOST_STAR;
    q = pattern.slice(2);
  }
  for (let i = 0; i < q.length; i++) {
    const c = q.charCodeAt(i);
    if (c === 0x2a) return MSG_HOST_STAR;
    if (c >= 0x80) return 'host has a non-ASCII character (use the A-label form, xn--...)';
    if (c >= 0x41 && c <= 0x5a) return 'host must be lower case';
    if (c === 0x3a || c === 0x5b || c === 0x5d) return 'host must be a DNS name without a port (IP literals belong in cidrs)';
  }
  if (q.endsWith('.')) return "host must not end with '.'";
  if (isNumericLabel(lastLabel(q))) return 'host looks like an IP address (IP literals belong in cidrs)';
  if (!labelsOk(q, false)) return "host has a label that is empty, longer than 63 bytes, outside [a-z0-9-] or starts/ends with '-'";
  if (q.length > MAX_NAME) return 'host name is longer than 253 bytes';
  return null;
}

/** A valid `hosts` entry, classified: "*.stripe.com" → wildcard with base "stripe.com". */
export type HostPattern = { kind: 'exact'; name: string } | { kind: 'wildcard'; base: string };

export function parseHostPattern(pattern: string): HostPattern | { error: string } {
  const e = hostPatternError(pattern);
  if (e) return { error: e };
  return pattern.startsWith('*.') ? { kind: 'wildcard', base: pattern.slice(2) } : { kind: 'exact', name: pattern };
}

/**
 * Does a `hosts` entry match the target? Names only (an IP literal never matches): exact
 * equality, or for "*.base" a name with one or more labels in front of "base" (never "base").
 * `target` is a parsed authority or a name already lower-cased without a trailing dot.
 */
export function matchHost(pattern: string | HostPattern, target: ParsedAuthority | string): boolean {
  const pat = typeof pattern === 'string' ? parseHostPattern(pattern) : pattern;
  if ('error' in pat) return false;
  let name: string;
  if (typeof target === 'string') name = target;
  else if ('name' in target) name = target.name;
  else return false;
  return pat.kind === 'exact' ? name === pat.name : name.endsWith('.' + pat.base);
}

// ---- `cidrs` entries ------------------------------------------------------------------------

/** A valid CIDR: the network's 16 bytes and the prefix length counted on them (IPv4: 96 + n). */
export interface Cidr {
  addr: Ip16;
  bits: number;
  family: 4 | 6;
}

/**
 * Parses a `cidrs` entry: dotted-quad IPv4 (decimal, no leading zeros) "/0..32" or IPv6
 * "/0..128", with no bits set beyond the prefix.
 */
export function parseCidr(s: string): Cidr | { error: string } {
  const slash = s.indexOf('/');
  if (slash < 0) return { error: 'CIDR needs a prefix length ("10.0.0.0/8")' };
  const address = s.slice(0, slash);
  const len = s.slice(slash + 1);
  const v6 = address.includes(':');
  if (len.length < 1 || len.length > 3 || !/^[0-9]+$/.test(len)) return { error: 'CIDR prefix length is not a number in range' };
  if (len.length > 1 && len[0] === '0') return { error: 'CIDR prefix length has a leading zero' };
  let bits = Number(len);
  let addr: Ip16;
  if (v6) {
    const a = parseIpv6(address);
    if (!a) return { error: 'CIDR address is not a valid IPv6 address' };
    if (bits > 128) return { error: 'IPv6 CIDR prefix length must be 0..128' };
    addr = a;
  } else {
    const a = parseIpv4Strict(address);
    if (!a) return { error: 'CIDR address is not a dotted-quad IPv4 address (decimal, no leading zeros)' };
    if (bits > 32) return { error: 'IPv4 CIDR prefix length must be 0..32' };
    addr = ipv4Mapped(((a[0] << 24) | (a[1] << 16) | (a[2] << 8) | a[3]) >>> 0);
    bits += 96;
  }
  if (!hostBitsClear(addr, bits)) return { error: 'CIDR address has bits set beyond the prefix length' };
  return { addr, bits, family: v6 ? 6 : 4 };
}

export function cidrError(s: string): string | null {
  const r = parseCidr(s);
  return 'error' in r ? r.error : null;
}

/** Does the target (an IP literal; a name never matches) lie in the CIDR? */
export function matchCidr(cidr: string | Cidr, target: ParsedAuthority): boolean {
  const c = typeof cidr === 'string' ? parseCidr(cidr) : cidr;
  if ('error' in c) return false;
  if (!('addr' in target)) return false;
  return ipInPrefix(target.addr, c.addr, c.bits);
}

/** Is network `inner` inside network `outer`? */
export function cidrContains(outer: Cidr, inner: Cidr): boolean {
  return inner.bits >= outer.bits && ipInPrefix(inner.addr, outer.addr, outer.bits);
}

/**
 * A hint for a `paths` entry written in another router's syntax: `*` inside a path (a glob's one
 * segment; an error here), `:id` (Express-style; here a literal, legal, so a warning) or `{id}`
 * (OpenAPI-style; an error). Undefined when nothing looks borrowed. Shown apart from the
 * message, which stays the filter's own words.
 */
export function pathPatternHint(p: string): string | undefined {
  if (!p.startsWith('/')) return undefined;
  const segments = p.slice(1).split('/');
  const last = segments.length - 1;
  for (const [i, seg] of segments.entries()) {
    if (seg === '*' && i < last) return 'use "{*}" for one segment, "{**}" or a final "/*" for the rest';
    if (seg === '**') return 'use "{**}" for any number of segments (last), or "{*}" for one';
    if (/^:[A-Za-z_][A-Za-z0-9_]*$/.test(seg)) return `"${seg}" is a literal here; use "{*}" for one segment`;
    if (/^\{[A-Za-z_][A-Za-z0-9_]*\}$/.test(seg)) return `use "{*}" for one segment: named parameters like "${seg}" do not exist here`;
  }
  return undefined;
}
