/**
 * What the reference Envoy listeners (envoy/inbound.yaml: normalize_path, merge_slashes,
 * path_with_escaped_slashes_action REJECT_REQUEST) make of a request target before any filter
 * sees it: harness/scenario/front.ts (dot segments, merged slashes, decoded unreserved escapes,
 * 400 on escaped slashes, NUL and fragments), plus one step that model leaves out — Envoy's
 * path canonicalizer (Chromium's URL library) percent-encodes, with upper-case hex, the bytes
 * " < > ` { } | ^ of the path part. Observed with Envoy 1.40 behind envoy/inbound.yaml:
 * `/a"b` → `/a%22b`, `/a<b>` → `/a%3Cb%3E`, `/a{b}` → `/a%7Bb%7D`, `/a|b` → `/a%7Cb`,
 * `/a^b` → `/a%5Eb`, `/a`b` → `/a%60b`; `[`, `]`, `'` pass unchanged. The query is untouched.
 */
import { normalizeRequestPath, type FrontResult } from '../../harness/scenario/front';

/** The printable ASCII bytes Envoy's normalize_path percent-encodes in the path part. */
export const ENVOY_ESCAPED_BYTES = '"<>`{}|^';

/** `path` with every byte of ENVOY_ESCAPED_BYTES before the first '?' percent-encoded. */
export function escapeLikeEnvoy(path: string): string {
  const q = path.indexOf('?');
  const head = q < 0 ? path : path.slice(0, q);
  const escaped = Array.from(head, (c) => (ENVOY_ESCAPED_BYTES.includes(c) ? `%${c.charCodeAt(0).toString(16).toUpperCase()}` : c)).join('');
  return q < 0 ? escaped : escaped + path.slice(q);
}

/** The request target as the filter chain sees it, or Envoy's 400. */
export function envoyNormalizedTarget(target: string): FrontResult {
  const r = normalizeRequestPath(target);
  return r.ok ? { ok: true, path: escapeLikeEnvoy(r.path) } : r;
}
