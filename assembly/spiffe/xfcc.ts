// x-forwarded-client-cert (XFCC) parser, Envoy's format
// (https://www.envoyproxy.io/docs/envoy/latest/configuration/http/http_conn_man/headers#x-forwarded-client-cert).
//
// Grammar accepted (no allocation; values are views into the header bytes):
//   header  = element *( "," element )            -- "," outside double quotes
//   element = pair *( ";" pair )                  -- ";" outside double quotes
//   pair    = OWS key "=" value OWS
//   key     = 1*tchar (RFC 9110 token), compared ASCII case-insensitively (By, URI, ...)
//   value   = quoted / unquoted
//   quoted  = DQUOTE *( qdtext / "\" any-byte ) DQUOTE   -- `\"` does not end the string
//   unquoted= *( any byte except "," ";" DQUOTE )  -- may contain "=" (Envoy leaves By/URI/DNS
//             unquoted and unescaped); surrounding SP/HTAB are trimmed
// Malformed (-> parse error with a byte offset): an empty header, an empty element or pair
// ("a=1,,b=2", "a=1;;b=2", trailing "," or ";"), a pair without "=", an empty or non-token key,
// an unterminated quote, bytes other than OWS between a closing quote and the next separator,
// and a DQUOTE inside an unquoted value.
//
// Why strictness is safe here: Envoy's writer does not escape quotes inside Subject, so a client
// certificate subject can try to inject pairs. Whatever it injects, the real `URI=` pair Envoy
// appends after Subject either stays a pair (the element then has two URI values: rejected by
// the identity logic) or ends up inside an unterminated quote (malformed).
//
// Only what the identity decision needs is kept: the number of elements and, for the LAST
// element (the one the nearest proxy appended), every By and URI value (count + the first
// XFCC_MAX_VALUES views). Quoted values are reported as the raw bytes between the quotes
// (escapes NOT decoded; `quoted[i]` says which) — a valid SPIFFE ID contains neither `"` nor `\`,
// so the identity logic never needs the decoded form.
//
//   const x = new XfccSummary();          // pre-allocate once, reuse per request
//   if (!parseXfcc(ptr, len, x)) { x.errorOffset ... }
//   x.uriCount, x.uriPtr[0], x.uriLen[0], x.byCount, x.byPtr[k], x.byLen[k]

import { bytesEqualAsciiFold } from "../util/bytes";

export const XFCC_MAX_VALUES: i32 = 8;

export class XfccSummary {
  ok: bool = false;
  /** Byte offset of the first problem when !ok. */
  errorOffset: i32 = 0;
  /** Short description of the problem when !ok (a static string). */
  error: string = "";
  elements: i32 = 0;
  byCount: i32 = 0;
  byPtr: StaticArray<usize> = new StaticArray<usize>(XFCC_MAX_VALUES);
  byLen: StaticArray<i32> = new StaticArray<i32>(XFCC_MAX_VALUES);
  byQuoted: StaticArray<bool> = new StaticArray<bool>(XFCC_MAX_VALUES);
  uriCount: i32 = 0;
  uriPtr: StaticArray<usize> = new StaticArray<usize>(XFCC_MAX_VALUES);
  uriLen: StaticArray<i32> = new StaticArray<i32>(XFCC_MAX_VALUES);
  uriQuoted: StaticArray<bool> = new StaticArray<bool>(XFCC_MAX_VALUES);

  reset(): void {
    this.ok = false;
    this.errorOffset = 0;
    this.error = "";
    this.elements = 0;
    this.byCount = 0;
    this.uriCount = 0;
  }
}

// RFC 9110 tchar: "!#$%&'*+-.^_`|~" DIGIT ALPHA
function isTchar(c: u32): bool {
  if ((c | 0x20) - 0x61 < 26 || c - 0x30 < 10) return true;
  switch (c) {
    case 0x21: case 0x23: case 0x24: case 0x25: case 0x26: case 0x27: case 0x2A: case 0x2B:
    case 0x2D: case 0x2E: case 0x5E: case 0x5F: case 0x60: case 0x7C: case 0x7E: return true;
  }
  return false;
}

// @ts-ignore: decorator
@inline
function isOws(c: u32): bool { return c == 0x20 || c == 0x09; }

function fail(out: XfccSummary, msg: string, at: i32): bool {
  out.ok = false;
  out.error = msg;
  out.errorOffset = at;
  return false;
}

/** Parses an XFCC header value into `out`. Returns out.ok. Allocates nothing. */
export function parseXfcc(ptr: usize, len: i32, out: XfccSummary): bool {
  out.reset();
  let i = 0;
  // An empty (or all-whitespace) header is malformed: there is no element to believe.
  while (true) {
    // ---- one element
    out.elements++;
    out.byCount = 0;
    out.uriCount = 0;
    while (true) {
      // ---- one pair
      while (i < len && isOws(load<u8>(ptr + <usize>i))) i++;
      const keyStart = i;
      while (i < len && isTchar(load<u8>(ptr + <usize>i))) i++;
      const keyLen = i - keyStart;
      if (keyLen == 0) {
        if (i >= len) return fail(out, out.elements == 1 && keyStart == 0 ? "empty header" : "empty element or pair", i);
        const c = <u32>load<u8>(ptr + <usize>i);
        if (c == 0x2C || c == 0x3B) return fail(out, "empty element or pair", i);
        return fail(out, "bad key", i);
      }
      if (i >= len || load<u8>(ptr + <usize>i) != 0x3D) return fail(out, "expected '=' after the key", i);
      i++; // '='
      let vStart = i;
      let vEnd = i;
      let quoted = false;
      if (i < len && load<u8>(ptr + <usize>i) == 0x22) {
        quoted = true;
        const open = i;
        i++;
        vStart = i;
        while (true) {
          if (i >= len) return fail(out, "unterminated quoted value", open);
          const c = <u32>load<u8>(ptr + <usize>i);
          if (c == 0x22) break;
          if (c == 0x5C) {
            if (i + 1 >= len) return fail(out, "unterminated quoted value", open);
            i += 2;
            continue;
          }
          i++;
        }
        vEnd = i;
        i++; // closing quote
        while (i < len && isOws(load<u8>(ptr + <usize>i))) i++;
        if (i < len) {
          const c = <u32>load<u8>(ptr + <usize>i);
          if (c != 0x3B && c != 0x2C) return fail(out, "unexpected data after a quoted value", i);
        }
      } else {
        while (i < len) {
          const c = <u32>load<u8>(ptr + <usize>i);
          if (c == 0x3B || c == 0x2C) break;
          if (c == 0x22) return fail(out, "quote inside an unquoted value", i);
          i++;
        }
        vEnd = i;
        while (vEnd > vStart && isOws(load<u8>(ptr + <usize>(vEnd - 1)))) vEnd--;
      }
      const kp = ptr + <usize>keyStart;
      if (bytesEqualAsciiFold(kp, keyLen, "by")) {
        if (out.byCount < XFCC_MAX_VALUES) {
          unchecked(out.byPtr[out.byCount] = ptr + <usize>vStart);
          unchecked(out.byLen[out.byCount] = vEnd - vStart);
          unchecked(out.byQuoted[out.byCount] = quoted);
        }
        out.byCount++;
      } else if (bytesEqualAsciiFold(kp, keyLen, "uri")) {
        if (out.uriCount < XFCC_MAX_VALUES) {
          unchecked(out.uriPtr[out.uriCount] = ptr + <usize>vStart);
          unchecked(out.uriLen[out.uriCount] = vEnd - vStart);
          unchecked(out.uriQuoted[out.uriCount] = quoted);
        }
        out.uriCount++;
      }
      if (i >= len) { out.ok = true; return true; }
      const sep = <u32>load<u8>(ptr + <usize>i);
      i++;
      if (sep == 0x2C) break; // next element
      // ';' -> next pair of the same element
    }
  }
  return false;
}
