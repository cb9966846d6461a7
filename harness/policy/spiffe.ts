/**
 * SPIFFE ID validation (SPIFFE-ID spec §2, as go-spiffe's `spiffeid` package enforces it, plus the
 * spec's length limits): a hand-written scan with one error code per rule. The codes are the
 * contract of docs/internals.md §1 and test/vectors/spiffe-ids.json, shared with
 * assembly/spiffe/id.ts; so is the order in which the checks run (the first failing one wins):
 *
 *   1. empty                  ""
 *   2. too_long               the whole ID is longer than 2048 bytes (UTF-8)
 *   3. bad_scheme             does not start with "spiffe://" (lower case)
 *   4. bad_trust_domain_char  a trust-domain byte outside [a-z0-9._-] (scanned up to the first '/')
 *   5. missing_trust_domain   nothing between "spiffe://" and the first '/' or the end
 *   6. trust_domain_too_long  the trust domain is longer than 255 bytes
 *   7. the path, one segment at a time, left to right (the leftmost problem wins):
 *        bad_path_char   a byte outside [A-Za-z0-9._-]
 *        empty_segment   "//"
 *        dot_segment     a "." or ".." segment
 *        trailing_slash  the path ends with "/"
 *
 * Every character these grammars allow is ASCII, so scanning UTF-16 code units gives the same
 * answers as scanning UTF-8 bytes; only the overall length is measured in bytes.
 */

export type SpiffeError =
  | 'empty'
  | 'bad_scheme'
  | 'missing_trust_domain'
  | 'bad_trust_domain_char'
  | 'trust_domain_too_long'
  | 'empty_segment'
  | 'dot_segment'
  | 'trailing_slash'
  | 'bad_path_char'
  | 'too_long';

export const SPIFFE_SCHEME = 'spiffe://';
export const SPIFFE_MAX_ID_BYTES = 2048;
export const SPIFFE_MAX_TRUST_DOMAIN_BYTES = 255;

/** The bytes allowed in a trust domain name (test/vectors/spiffe-charsets.json). */
export const TRUST_DOMAIN_CHARS = 'abcdefghijklmnopqrstuvwxyz0123456789.-_';
/** The bytes allowed in a path segment. */
export const PATH_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.-_';

const MESSAGES: Record<SpiffeError, string> = {
  empty: 'SPIFFE ID is empty',
  bad_scheme: 'SPIFFE ID must start with "spiffe://"',
  missing_trust_domain: 'trust domain is missing',
  bad_trust_domain_char: 'trust domain has a character outside [a-z0-9._-]',
  trust_domain_too_long: 'trust domain is longer than 255 bytes',
  empty_segment: 'path has an empty segment',
  dot_segment: "path has a '.' or '..' segment",
  trailing_slash: "path ends with '/'",
  bad_path_char: 'path has a character outside [A-Za-z0-9._-]',
  too_long: 'SPIFFE ID is longer than 2048 bytes',
};

/** The policy error message for a code (the same words as the filter's configure errors). */
export function spiffeErrorMessage(code: SpiffeError): string {
  return MESSAGES[code];
}

export function isTrustDomainChar(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2e || c === 0x5f || c === 0x2d;
}

export function isPathChar(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || isTrustDomainChar(c);
}

/** Validates a SPIFFE ID; null when valid, else the first failing check's code. */
export function validateSpiffeId(id: string): SpiffeError | null {
  if (id.length === 0) return 'empty';
  if (Buffer.byteLength(id, 'utf8') > SPIFFE_MAX_ID_BYTES) return 'too_long';
  if (!id.startsWith(SPIFFE_SCHEME)) return 'bad_scheme';
  let i = SPIFFE_SCHEME.length;
  for (; i < id.length; i++) {
    const c = id.charCodeAt(i);
    if (c === 0x2f) break;
    if (!isTrustDomainChar(c)) return 'bad_trust_domain_char';
  }
  const tdLen = i - SPIFFE_SCHEME.length;
  if (tdLen === 0) return 'missing_trust_domain';
  if (tdLen > SPIFFE_MAX_TRUST_DOMAIN_BYTES) return 'trust_domain_too_long';
  return validateIdPath(id, i);
}

/** The path part of an ID, from the '/' at `from` (or `from` = length: no path). */
function validateIdPath(id: string, from: number): SpiffeError | null {
  if (from >= id.length) return null;
  let slash = from;
  for (let i = from + 1; i < id.length; i++) {
    const c = id.charCodeAt(i);
    if (c === 0x2f) {
      const r = checkSegment(id, slash, i);
      if (r) return r;
      slash = i;
      continue;
    }
    if (!isPathChar(c)) return 'bad_path_char';
  }
  if (slash === id.length - 1) return 'trailing_slash';
  return checkSegment(id, slash, id.length);
}

function checkSegment(id: string, slash: number, end: number): SpiffeError | null {
  const seg = id.slice(slash + 1, end);
  if (seg.length === 0) return 'empty_segment';
  if (seg === '.' || seg === '..') return 'dot_segment';
  return null;
}

/** Validates a bare trust domain name (the policy's `trustDomain`): characters, then emptiness,
 *  then length — the same order as the filter. */
export function validateTrustDomain(td: string): SpiffeError | null {
  for (let i = 0; i < td.length; i++) if (!isTrustDomainChar(td.charCodeAt(i))) return 'bad_trust_domain_char';
  if (td.length === 0) return 'missing_trust_domain';
  if (td.length > SPIFFE_MAX_TRUST_DOMAIN_BYTES) return 'trust_domain_too_long';
  return null;
}

export function isValidSpiffeId(id: string): boolean {
  return validateSpiffeId(id) === null;
}

/** The trust domain of a valid ID. */
export function trustDomainOf(id: string): string {
  const rest = id.slice(SPIFFE_SCHEME.length);
  const slash = rest.indexOf('/');
  return slash < 0 ? rest : rest.slice(0, slash);
}

/** The path of a valid ID ("" when it has none). */
export function idPathOf(id: string): string {
  const rest = id.slice(SPIFFE_SCHEME.length);
  const slash = rest.indexOf('/');
  return slash < 0 ? '' : rest.slice(slash);
}
