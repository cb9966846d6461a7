/**
 * A model of what the reference Envoy listeners do to a request before any HTTP filter sees it,
 * so the emulator target judges the same request Envoy's filter chain would see.
 *
 * Pinned against real Envoy 1.40 by test/e2e/front-model.test.ts (the HCM settings of
 * envoy/inbound.yaml: normalize_path, merge_slashes, path_with_escaped_slashes_action
 * REJECT_REQUEST). Observed behaviour it reproduces:
 * - `#`, an encoded NUL, `%2F`/`%5C` (any case), and a path not starting with `/` → 400;
 * - a raw NUL or a byte outside ASCII in the request target → 400 from the HTTP/1 codec (pinned
 *   by test/scenarios/adversarial/path-normalization.yaml on both targets);
 * - `\` becomes `/`; percent-encoded unreserved bytes are decoded (`%61` → `a`, `%2e` → `.`);
 * - dot segments are resolved (`/a/b/..` → `/a/`, `/..` → `/`), then slashes merged; a segment
 *   of a literal `.` or `..` followed by path parameters (`/a/..;x/b`) counts as that dot segment
 *   (not when the dots were percent-encoded, `/a/%2e%2e;/b` arrives as `/a/..;/b`, nor between
 *   backslashes, `/a\..;\b` arrives as `/a/..;/b`); a path of nothing but slashes becomes `//`;
 * - the bytes " < > ` { } | ^ of the path part are percent-encoded (`/a"b` → `/a%22b`); `[`, `]`
 *   and `'` pass unchanged;
 * - malformed escapes (`%zz`, a lone `%`) and other escapes (`%20`, `%C3%A9`) pass unchanged;
 * - the query string is left as it is;
 * - over h2 the codec has already refused control bytes and spaces (h2Codec below), and a byte
 *   outside ASCII in the path part is percent-encoded (`/caf\xe9` → `/caf%E9`), not refused.
 *
 * Before that, the codec (h2Codec for HTTP/2; the HTTP/1 parser in targets/emulator.ts) and the
 * request-header limit (max_request_headers_kb, default 60 KiB: requestHeadersTooLarge).
 */
import { ENVOY_ESCAPED_BYTES } from '../policy/patterns';
import type { Protocol } from './types';

export type FrontResult = { ok: true; path: string } | { ok: false; status: 400; reason: string };

const UNRESERVED = /^[A-Za-z0-9\-._~]$/;

/** `protocol`: the codec the target came through (HTTP/1 refuses bytes the h2 codec passes). */
export function normalizeRequestPath(target: string, protocol: Protocol = 'http1'): FrontResult {
  const q = target.indexOf('?');
  const rawPath = q < 0 ? target : target.slice(0, q);
  const query = q < 0 ? '' : target.slice(q);
  if (protocol === 'http1' && /[\0\u0080-\uffff]/.test(target)) return { ok: false, status: 400, reason: 'invalid_request_target' };
  if (target.includes('#')) return { ok: false, status: 400, reason: 'fragment' };
  if (!rawPath.startsWith('/')) return { ok: false, status: 400, reason: 'not_origin_form' };
  if (/%(2f|5c|00)/i.test(rawPath)) return { ok: false, status: 400, reason: 'escaped_slash_or_nul' };

  // A literal dot segment with parameters is a dot segment (before any %2e is decoded).
  const dotted = rawPath
    .split('/')
    .map((seg) => (/^\.\.?;/.test(seg) ? seg.slice(0, seg.indexOf(';')) : seg))
    .join('/');
  let decoded = '';
  for (let i = 0; i < dotted.length; i++) {
    const c = dotted[i];
    if (c === '\\') {
      decoded += '/';
    } else if (c === '%' && /^[0-9A-Fa-f]{2}$/.test(dotted.slice(i + 1, i + 3))) {
      const byte = String.fromCharCode(parseInt(dotted.slice(i + 1, i + 3), 16));
      if (UNRESERVED.test(byte)) {
        decoded += byte;
      } else {
        decoded += '%' + dotted.slice(i + 1, i + 3);
      }
      i += 2;
    } else {
      decoded += c;
    }
  }
  return { ok: true, path: escapeLikeEnvoy(mergeSlashes(removeDotSegments(decoded))) + query };
}

/** Envoy's path canonicalizer percent-encodes these bytes, and any outside ASCII (only h2 lets
 *  those through), with upper-case hex in the path part. */
function escapeLikeEnvoy(path: string): string {
  return Array.from(path, (c) => (ENVOY_ESCAPED_BYTES.includes(c) || c.charCodeAt(0) > 0x7f ? `%${c.charCodeAt(0).toString(16).toUpperCase()}` : c)).join('');
}

/** RFC 3986 section 5.2.4, on an absolute path. */
function removeDotSegments(path: string): string {
  const input = path.split('/').slice(1);
  const out: string[] = [];
  input.forEach((segment, i) => {
    const last = i === input.length - 1;
    if (segment === '.') {
      if (last) out.push('');
    } else if (segment === '..') {
      out.pop();
      if (last) out.push('');
    } else {
      out.push(segment);
    }
  });
  return '/' + out.join('/');
}

/** Envoy's PathUtil::mergeSlashes: only when there is a "//"; keeps one leading and one trailing
 *  '/', so a path of nothing but slashes becomes "//". */
function mergeSlashes(path: string): string {
  if (!path.includes('//')) return path;
  const inner = path.split('/').filter((s) => s !== '').join('/');
  return `${path.startsWith('/') ? '/' : ''}${inner}${path.endsWith('/') ? '/' : ''}`;
}

// ---- the codecs: what reaches the filter chain at all ----------------------------------------

/** HCM `max_request_headers_kb` left at its default: 60 KiB. */
export const MAX_REQUEST_HEADERS_BYTES = 60 * 1024;

/**
 * Envoy's request-header limit, pinned at the byte by test/e2e/front-model.test.ts. HTTP/1: the
 * request head as sent — request line, header lines and the empty line, every CRLF counted — may
 * be 60 KiB, one byte more is a 431 (`http1.headers_too_large`). h2: the header list's names and
 * values added up (no per-field overhead) may be 60 KiB, one byte more resets the stream.
 */
export function requestHeadersTooLarge(request: { head: string } | { h2: [string, string][] }): boolean {
  const bytes = 'head' in request ? request.head.length : request.h2.reduce((n, [k, v]) => n + k.length + v.length, 0);
  return bytes > MAX_REQUEST_HEADERS_BYTES;
}

/** The request the codec hands to the filter chain, before path normalization. */
export interface CodecRequest {
  method: string;
  /** The request target (`:path`) as received; undefined for CONNECT. */
  target: string | undefined;
  authority: string;
  scheme: string;
  /** Regular fields, lower-case names, in order; no Host (it became the authority). */
  headers: [string, string][];
}

export type CodecResult = { ok: true; request: CodecRequest } | { ok: false; status: number; reason: string };

const PSEUDO_HEADERS = new Set([':method', ':scheme', ':authority', ':path']);
/** RFC 9113 §8.2.2: connection-specific fields make a request malformed (`te` unless `trailers`). */
const CONNECTION_SPECIFIC = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade']);
/** A field name: an RFC 9110 token in lower case (§8.2: upper case is malformed). */
const H2_NAME = /^[!#$%&'*+\-.^_`|~0-9a-z]+$/;
/** Value bytes the codec refuses: controls other than HTAB, and DEL (RFC 9113 §8.2.1). */
const H2_BAD_VALUE = /[\0-\x08\x0a-\x1f\x7f]/;
const H2_METHOD = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const H2_SCHEME = /^[A-Za-z][A-Za-z0-9+\-.]*$/;
/** Authority bytes the codec accepts: no '@' (userinfo), no space, nothing outside ASCII. */
const H2_AUTHORITY = /^[A-Za-z0-9!$&'()*+,\-.:;=[\]_~%]+$/;
/** A :path the codec refuses: empty, or a control byte, space or DEL anywhere. */
const H2_BAD_PATH = /^$|[\0-\x20\x7f]/;

/**
 * What Envoy 1.40's HTTP/2 codec does with a request's header list before any filter sees it, each
 * point pinned by test/e2e/front-model.test.ts. A malformed request (RFC 9113 §8.1.1) never gets a
 * response: the stream is reset (`status: 0`), details `http2.invalid.header.field` or
 * `http2.violation.of.messaging.rule`:
 * - a field name that is empty, has upper case or a byte outside the token set; a value with a
 *   control byte other than HTAB; a connection-specific field, or `te` other than `trailers`;
 * - a pseudo-header after a regular field, repeated, unknown (`:protocol`, `:status`);
 * - `:method` missing or not a token (lower case passes: `get` reaches the filter);
 * - not CONNECT: `:scheme` or `:path` missing; `:path` not starting with `/` (`*` passes only
 *   with OPTIONS, and the HCM answers it 404); CONNECT with `:scheme` or `:path`;
 * - no `:authority` and no `host`, or several `host` fields; an empty authority or one with a
 *   byte outside the authority set (`@` included);
 * - a `content-length` other than 0 on a request without a body;
 * - the list over the header limit (requestHeadersTooLarge).
 * Otherwise: `:authority` wins over `host` (which is dropped; without `:authority`, `host` is the
 * authority), values of regular fields lose leading and trailing spaces and tabs, and `cookie` fields are joined with
 * `; `. `:scheme` is passed as sent (`http`, `ftp`).
 */
export function h2Codec(list: [string, string][]): CodecResult {
  const invalid: CodecResult = { ok: false, status: 0, reason: 'http2.invalid.header.field' };
  const messaging: CodecResult = { ok: false, status: 0, reason: 'http2.violation.of.messaging.rule' };
  if (requestHeadersTooLarge({ h2: list })) return { ok: false, status: 0, reason: 'http2.header_list_size_too_large' };
  const pseudo = new Map<string, string>();
  const fields: [string, string][] = [];
  for (const [name, sent] of list) {
    if (H2_BAD_VALUE.test(sent)) return invalid;
    const value = sent.replace(/^[ \t]+|[ \t]+$/g, '');
    if (name.startsWith(':')) {
      if (fields.length > 0 || !PSEUDO_HEADERS.has(name) || pseudo.has(name)) return invalid;
      pseudo.set(name, sent);
    } else if (!H2_NAME.test(name) || CONNECTION_SPECIFIC.has(name) || (name === 'te' && value !== 'trailers')) {
      return invalid;
    } else {
      fields.push([name, value]);
    }
  }
  const method = pseudo.get(':method');
  const path = pseudo.get(':path');
  if (path !== undefined && H2_BAD_PATH.test(path)) return invalid;
  if (method !== undefined && !H2_METHOD.test(method)) return invalid;
  const scheme = pseudo.get(':scheme');
  if (scheme !== undefined && !H2_SCHEME.test(scheme)) return invalid;
  const hosts = fields.filter(([k]) => k === 'host').map(([, v]) => v);
  if (hosts.length > 1) return invalid;
  const authority = pseudo.get(':authority') ?? hosts[0];
  if (authority !== undefined && !H2_AUTHORITY.test(authority)) return invalid;
  if (method === undefined || authority === undefined) return messaging;
  if (method === 'CONNECT') {
    if (scheme !== undefined || path !== undefined) return messaging;
  } else if (scheme === undefined || path === undefined || !(path.startsWith('/') || (path === '*' && method === 'OPTIONS'))) {
    return messaging;
  }
  if (fields.some(([k, v]) => k === 'content-length' && v !== '0')) return messaging;

  const cookies = fields.filter(([k]) => k === 'cookie').map(([, v]) => v);
  const headers = fields.filter(([k]) => k !== 'host' && k !== 'cookie');
  if (cookies.length > 0) headers.push(['cookie', cookies.join('; ')]);
  return { ok: true, request: { method, target: path, authority, scheme: scheme ?? 'https', headers } };
}

/**
 * The HCM after the codec: a path that is not absolute (`OPTIONS *`) is a 404
 * (`absolute_path_rejected`), any other is normalized (normalizeRequestPath) or refused.
 */
export function hcmFront(codec: CodecResult, protocol: Protocol): CodecResult {
  if (!codec.ok || codec.request.target === undefined) return codec;
  if (codec.request.target === '*') return { ok: false, status: 404, reason: 'absolute_path_rejected' };
  const path = normalizeRequestPath(codec.request.target, protocol);
  if (!path.ok) return path;
  return { ok: true, request: { ...codec.request, target: path.path } };
}

/** HCM `strip_trailing_host_dot: true` (HeaderUtility::stripTrailingHostDot): the last '.' of the
 *  authority goes if it ends the authority or stands right before the ':' of the port. */
export function stripTrailingHostDot(authority: string): string {
  const dot = authority.lastIndexOf('.');
  if (dot < 0) return authority;
  if (dot === authority.length - 1) return authority.slice(0, -1);
  if (authority[dot + 1] === ':') return authority.slice(0, dot) + authority.slice(dot + 1);
  return authority;
}
