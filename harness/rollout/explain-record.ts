/**
 * One access-log record (the decision record of docs/records.md: one JSON object per line) as a
 * request to explain. Keys read: role, identity, identity_reason, method, path, authority, port,
 * scheme, connect, sni, and decision, rule, policy (what the proxy decided, to compare). Values
 * Envoy could not provide are absent or "-". A record of the older reference configs, whose
 * filter state is one `meshgate` value (`decision=… rule=… identity=… policy=…
 * [identity_reason=…]`), is read too.
 */
import type { ExplainRequest, Role } from './explain';

export interface RecordedRequest {
  request: ExplainRequest;
  /** What the proxy logged for it, when the record says. */
  logged: { decision?: string; rule?: string; policy?: string };
}

/** The SNI filter's refusals of a ClientHello (assembly/policy/decide.ts): decided from bytes a
 *  record does not keep, before any rule. */
const SNI_REFUSALS = new Set(['not_tls', 'no_sni', 'ech', 'malformed_client_hello', 'client_hello_too_large']);

function value(v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  const s = String(v);
  return s === '-' || s === '' ? undefined : s;
}

/** The `key=value` pairs of a `meshgate` filter-state value. */
function filterState(v: string | undefined): Record<string, string> {
  const kv: Record<string, string> = {};
  for (const part of (v ?? '').split(' ')) {
    const i = part.indexOf('=');
    if (i > 0) kv[part.slice(0, i)] = part.slice(i + 1);
  }
  return kv;
}

/** Reads one record (a parsed object or its JSON line); `role` when the record does not say. */
export function requestOfRecord(record: string | Record<string, unknown>, role?: Role): RecordedRequest {
  const r: Record<string, unknown> = typeof record === 'string' ? JSON.parse(record) : record;
  const fs = filterState(value(r.meshgate));
  const get = (k: string) => value(r[k]) ?? value(fs[k]);
  const recordRole = get('role');
  const theRole: Role | undefined = recordRole === 'inbound' || recordRole === 'egress' ? recordRole : recordRole?.startsWith('egress') ? 'egress' : role;
  if (theRole === undefined) throw new Error('the record has no role: give --role');
  const id = get('identity');
  const reason = get('identity_reason');
  const request: ExplainRequest = { role: theRole, resolved: id !== undefined ? { id } : { reason: reason ?? 'no_peer_certificate' } };
  const port = get('port');
  const connect = get('connect');
  if (theRole === 'inbound') {
    request.method = get('method') ?? 'GET';
    request.path = get('path') ?? '/';
  } else if (get('method') === undefined && SNI_REFUSALS.has(get('rule') ?? '')) {
    throw new Error(`the connection was refused for its first bytes (${get('rule')}) before any rule was evaluated: nothing to trace`);
  } else if (get('sni') !== undefined && get('method') === undefined) {
    request.sni = get('sni');
    if (port !== undefined) request.port = Number(port);
  } else {
    request.connect = connect === 'true' || connect === '1' || get('method') === 'CONNECT';
    request.scheme = get('scheme') ?? 'https';
    // an empty :authority is a fact the filter judges (bad_host), not a missing value
    const authority = r.authority === '' ? '' : get('authority');
    if (authority === undefined) throw new Error('an egress record needs authority');
    request.authority = authority;
  }
  return { request, logged: { decision: get('decision'), rule: get('rule'), policy: get('policy') } };
}
