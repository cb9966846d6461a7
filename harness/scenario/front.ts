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
 * - the query string is left as it is.
 */
import { ENVOY_ESCAPED_BYTES } from '../policy/patterns';

export type FrontResult = { ok: true; path: string } | { ok: false; status: 400; reason: string };

const UNRESERVED = /^[A-Za-z0-9\-._~]$/;

export function normalizeRequestPath(target: string): FrontResult {
  const q = target.indexOf('?');
  const rawPath = q < 0 ? target : target.slice(0, q);
  const query = q < 0 ? '' : target.slice(q);
  if (/[\0\u0080-\uffff]/.test(target)) return { ok: false, status: 400, reason: 'invalid_request_target' };
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

/** Envoy's path canonicalizer percent-encodes these bytes (upper-case hex) in the path part. */
function escapeLikeEnvoy(path: string): string {
  return Array.from(path, (c) => (ENVOY_ESCAPED_BYTES.includes(c) ? `%${c.charCodeAt(0).toString(16).toUpperCase()}` : c)).join('');
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
