// SPIFFE ID validation (SPIFFE-ID spec §2, as go-spiffe's spiffeid package enforces it, plus the
// spec's length limits), as a hand-written scan with one error code per rule. Error codes are the
// contract of docs/internals.md §1 and test/vectors/spiffe-ids.json.
//
// Checks, in this order (the first failing one is reported):
//   1. empty                  ""
//   2. too_long               the whole ID is longer than 2048 bytes
//   3. bad_scheme             does not start with "spiffe://" (lower case)
//   4. bad_trust_domain_char  a trust-domain byte outside [a-z0-9._-] (scan stops at the first '/')
//   5. missing_trust_domain   nothing between "spiffe://" and the first '/' or the end
//   6. trust_domain_too_long  trust domain longer than 255 bytes
//   7. path, scanned left to right, one segment at a time (the segment before each '/' is checked
//      when the '/' is reached, so the leftmost problem wins):
//        bad_path_char  a byte outside [A-Za-z0-9._-]
//        empty_segment  "//" (or a path "/" followed by more)
//        dot_segment    a segment "." or ".."
//        trailing_slash the path ends with "/"
//
//   validateSpiffeId(ptr, len): i32       SPIFFE_OK or an error code
//   validateTrustDomain(ptr, len): i32    for a bare trust domain name (policy `trustDomain`)
//   spiffeCodeName(code) / spiffeCodeMessage(code)

export const SPIFFE_OK: i32 = 0;
export const SPIFFE_EMPTY: i32 = 1;
export const SPIFFE_BAD_SCHEME: i32 = 2;
export const SPIFFE_MISSING_TRUST_DOMAIN: i32 = 3;
export const SPIFFE_BAD_TRUST_DOMAIN_CHAR: i32 = 4;
export const SPIFFE_TRUST_DOMAIN_TOO_LONG: i32 = 5;
export const SPIFFE_EMPTY_SEGMENT: i32 = 6;
export const SPIFFE_DOT_SEGMENT: i32 = 7;
export const SPIFFE_TRAILING_SLASH: i32 = 8;
export const SPIFFE_BAD_PATH_CHAR: i32 = 9;
export const SPIFFE_TOO_LONG: i32 = 10;

export const SPIFFE_MAX_ID: i32 = 2048;
export const SPIFFE_MAX_TRUST_DOMAIN: i32 = 255;
/** Length of "spiffe://". */
export const SCHEME_LEN: i32 = 9;

export function spiffeCodeName(code: i32): string {
  switch (code) {
    case SPIFFE_OK: return "ok";
    case SPIFFE_EMPTY: return "empty";
    case SPIFFE_BAD_SCHEME: return "bad_scheme";
    case SPIFFE_MISSING_TRUST_DOMAIN: return "missing_trust_domain";
    case SPIFFE_BAD_TRUST_DOMAIN_CHAR: return "bad_trust_domain_char";
    case SPIFFE_TRUST_DOMAIN_TOO_LONG: return "trust_domain_too_long";
    case SPIFFE_EMPTY_SEGMENT: return "empty_segment";
    case SPIFFE_DOT_SEGMENT: return "dot_segment";
    case SPIFFE_TRAILING_SLASH: return "trailing_slash";
    case SPIFFE_BAD_PATH_CHAR: return "bad_path_char";
    case SPIFFE_TOO_LONG: return "too_long";
  }
  return "unknown";
}

/** Human message for policy errors (`<field>: <message>: "<value>"`). */
export function spiffeCodeMessage(code: i32): string {
  switch (code) {
    case SPIFFE_EMPTY: return "SPIFFE ID is empty";
    case SPIFFE_BAD_SCHEME: return "SPIFFE ID must start with \"spiffe://\"";
    case SPIFFE_MISSING_TRUST_DOMAIN: return "trust domain is missing";
    case SPIFFE_BAD_TRUST_DOMAIN_CHAR: return "trust domain has a character outside [a-z0-9._-]";
    case SPIFFE_TRUST_DOMAIN_TOO_LONG: return "trust domain is longer than 255 bytes";
    case SPIFFE_EMPTY_SEGMENT: return "path has an empty segment";
    case SPIFFE_DOT_SEGMENT: return "path has a '.' or '..' segment";
    case SPIFFE_TRAILING_SLASH: return "path ends with '/'";
    case SPIFFE_BAD_PATH_CHAR: return "path has a character outside [A-Za-z0-9._-]";
    case SPIFFE_TOO_LONG: return "SPIFFE ID is longer than 2048 bytes";
  }
  return "invalid SPIFFE ID";
}

/** [a-z0-9._-] */
// @ts-ignore: decorator
@inline
export function isTrustDomainChar(c: u32): bool {
  return (c - 0x61 < 26) || (c - 0x30 < 10) || c == 0x2E || c == 0x5F || c == 0x2D;
}

/** [A-Za-z0-9._-] */
// @ts-ignore: decorator
@inline
export function isPathChar(c: u32): bool {
  return ((c | 0x20) - 0x61 < 26) || (c - 0x30 < 10) || c == 0x2E || c == 0x5F || c == 0x2D;
}

/** True if [ptr, ptr+len) starts with "spiffe://". */
export function hasSpiffeScheme(ptr: usize, len: i32): bool {
  // "spiffe:/" little-endian as u64, then the final '/'
  return len >= SCHEME_LEN && load<u64>(ptr) == 0x2F3A656666697073 && load<u8>(ptr + 8) == 0x2F;
}

/** Validates a SPIFFE ID. Allocates nothing. */
export function validateSpiffeId(ptr: usize, len: i32): i32 {
  if (len == 0) return SPIFFE_EMPTY;
  if (len > SPIFFE_MAX_ID) return SPIFFE_TOO_LONG;
  if (!hasSpiffeScheme(ptr, len)) return SPIFFE_BAD_SCHEME;
  let i = SCHEME_LEN;
  for (; i < len; i++) {
    const c = <u32>load<u8>(ptr + <usize>i);
    if (c == 0x2F) break;
    if (!isTrustDomainChar(c)) return SPIFFE_BAD_TRUST_DOMAIN_CHAR;
  }
  const tdLen = i - SCHEME_LEN;
  if (tdLen == 0) return SPIFFE_MISSING_TRUST_DOMAIN;
  if (tdLen > SPIFFE_MAX_TRUST_DOMAIN) return SPIFFE_TRUST_DOMAIN_TOO_LONG;
  return validatePath(ptr, len, i);
}

/** Validates the path [from, len) of an ID (empty, or "/seg/seg..."); `from` is at a '/'. */
export function validatePath(ptr: usize, len: i32, from: i32): i32 {
  if (from >= len) return SPIFFE_OK;
  let segStart = from; // index of the '/' that starts the current segment
  for (let i = from + 1; i < len; i++) {
    const c = <u32>load<u8>(ptr + <usize>i);
    if (c == 0x2F) {
      const r = checkSegment(ptr, segStart, i);
      if (r != SPIFFE_OK) return r;
      segStart = i;
      continue;
    }
    if (!isPathChar(c)) return SPIFFE_BAD_PATH_CHAR;
  }
  const n = len - segStart - 1;
  if (n == 0) return SPIFFE_TRAILING_SLASH;
  return checkSegment(ptr, segStart, len);
}

/** The segment between the '/' at `slash` and `end`. */
// @ts-ignore: decorator
@inline
function checkSegment(ptr: usize, slash: i32, end: i32): i32 {
  const n = end - slash - 1;
  if (n == 0) return SPIFFE_EMPTY_SEGMENT;
  if (n <= 2 && load<u8>(ptr + <usize>(slash + 1)) == 0x2E && (n == 1 || load<u8>(ptr + <usize>(slash + 2)) == 0x2E)) {
    return SPIFFE_DOT_SEGMENT;
  }
  return SPIFFE_OK;
}

/** Validates a bare trust domain name: non-empty, [a-z0-9._-], ≤ 255 bytes. */
export function validateTrustDomain(ptr: usize, len: i32): i32 {
  for (let i = 0; i < len; i++) {
    if (!isTrustDomainChar(load<u8>(ptr + <usize>i))) return SPIFFE_BAD_TRUST_DOMAIN_CHAR;
  }
  if (len == 0) return SPIFFE_MISSING_TRUST_DOMAIN;
  if (len > SPIFFE_MAX_TRUST_DOMAIN) return SPIFFE_TRUST_DOMAIN_TOO_LONG;
  return SPIFFE_OK;
}

/** For a valid ID: the index just past the trust domain (the first '/' of the path, or len). */
export function trustDomainEnd(ptr: usize, len: i32): i32 {
  for (let i = SCHEME_LEN; i < len; i++) if (load<u8>(ptr + <usize>i) == 0x2F) return i;
  return len;
}
