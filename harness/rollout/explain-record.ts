/**
 * One decision record (docs/records.md, read by harness/records — the same reader replay and
 * learn use) as a request to explain, with what the proxy logged for it.
 */
import { parseRecordLine, type DecisionRecord, type RecordRole } from '../records/record';
import type { ExplainRequest, Role } from './explain';

export interface RecordedRequest {
  request: ExplainRequest;
  /** What the proxy logged for it. */
  logged: { decision: string; rule: string; policy: string };
}

/** The SNI filter's refusals of a ClientHello (assembly/policy/decide.ts): decided from bytes a
 *  record does not keep, before any rule. */
const SNI_REFUSALS = new Set(['not_tls', 'no_sni', 'ech', 'malformed_client_hello', 'client_hello_too_large']);

/** Reads one record (its JSON line, or the parsed object); `role` for a line without `role`. */
export function requestOfRecord(record: string | Record<string, unknown>, role?: Role): RecordedRequest {
  const line = typeof record === 'string' ? record : JSON.stringify(record);
  const parsed = parseRecordLine(line, role as RecordRole | undefined);
  if (parsed.kind === 'bad') throw new Error(parsed.message);
  if (parsed.kind === 'undecided') throw new Error(`not a decision: ${parsed.reason}`);
  const r = parsed.record;
  return { request: requestOf(r), logged: { decision: r.decision, rule: r.rule, policy: r.policy } };
}

function requestOf(r: DecisionRecord): ExplainRequest {
  const resolved = r.identity !== null ? { id: r.identity } : { reason: r.identity_reason ?? 'no_peer_certificate' };
  if (r.role === 'inbound') return { role: 'inbound', resolved, method: r.method, path: r.path };
  if (r.role === 'egress-sni') {
    if (SNI_REFUSALS.has(r.rule)) {
      throw new Error(`the connection was refused for its first bytes (${r.rule}) before any rule was evaluated: nothing to trace`);
    }
    return { role: 'egress', resolved, sni: r.sni, port: r.port };
  }
  // an absent :authority is a fact the filter judged (bad_host), not a missing value
  return { role: 'egress', resolved, connect: r.connect, scheme: r.scheme ?? 'https', authority: r.authority ?? '' };
}
