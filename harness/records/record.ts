/**
 * The decision record (docs/records.md): one access-log line of a reference config
 * (envoy/*.yaml `json_format`) read into the fields a replay needs. meshgate's own part is one
 * key, `meshgate`, the filter-state value `wasm.meshgate` (assembly/filter/report.ts):
 *
 *   decision=<allow|deny|audit_deny> rule=<label> identity=<id|-> policy=<digest12>
 *     [identity_reason=<code>] [sni=<name|->]
 *
 * which is split here; everything else is Envoy's (`%REQ(:PATH)%`, `%DOWNSTREAM_LOCAL_PORT%`, …).
 * Envoy writes "-" (or null) for a value it does not have; such values are left out.
 */

export type RecordRole = 'inbound' | 'egress' | 'egress-sni';
export const RECORD_ROLES: readonly RecordRole[] = ['inbound', 'egress', 'egress-sni'];

export type RecordDecision = 'allow' | 'deny' | 'audit_deny';
const DECISIONS: readonly string[] = ['allow', 'deny', 'audit_deny'];

export interface DecisionRecord {
  time?: string;
  role: RecordRole;
  /** The caller's SPIFFE ID; null when unauthenticated (then identity_reason says why). */
  identity: string | null;
  identity_reason?: string;
  method?: string;
  path?: string;
  authority?: string;
  scheme?: string;
  protocol?: string;
  /** The listener's (or the original destination's) port: what an SNI filter judged. */
  port?: number;
  /** Egress: the request was a CONNECT. */
  connect: boolean;
  decision: RecordDecision;
  /** The rule label: a rule name, `default`, or an invalid-request reason. */
  rule: string;
  /** The policy digest (12 hex digits) the decision was made with. */
  policy: string;
  /** The server name meshgate judged (SNI filter) or read in a CONNECT tunnel: a name, `-` (none),
   *  or absent when the filter state has no `sni=`. */
  sni?: string;
  status?: number;
}

/** A line read: a record, a request meshgate did not decide, or a line that is not a record. */
export type ParsedLine =
  | { kind: 'record'; record: DecisionRecord }
  | { kind: 'undecided'; reason: string }
  | { kind: 'bad'; message: string };

/** Envoy's "no value": absent, null, "" or "-". */
function value(v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  const s = typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined;
  return s === undefined || s === '' || s === '-' ? undefined : s;
}

/** The filter-state value's fields, or a message saying what is wrong with it. */
export function parseFilterState(text: string): Record<string, string> | string {
  const kv: Record<string, string> = {};
  for (const tok of text.split(' ')) {
    if (tok === '') continue;
    const i = tok.indexOf('=');
    if (i <= 0) return `meshgate: "${tok}" is not key=value`;
    kv[tok.slice(0, i)] = tok.slice(i + 1);
  }
  for (const k of ['decision', 'rule', 'identity', 'policy']) if (kv[k] === undefined) return `meshgate: no ${k}=`;
  if (!DECISIONS.includes(kv.decision)) return `meshgate: decision "${kv.decision}" is not allow, deny or audit_deny`;
  return kv;
}

/** The `role` of the tunnel exit's connection log. */
export const TUNNEL_EXIT_ROLE = 'egress-tunnel';

/**
 * One access-log line. `defaultRole` is used for a line without a `role` key (logs written
 * before the key existed).
 */
export function parseRecordLine(line: string, defaultRole?: RecordRole): ParsedLine {
  let o: unknown;
  try {
    o = JSON.parse(line);
  } catch (e) {
    return { kind: 'bad', message: `not JSON: ${(e as Error).message}` };
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o)) return { kind: 'bad', message: 'not a JSON object' };
  const e = o as Record<string, unknown>;
  const state = value(e.meshgate);
  // The tunnel exit (envoy/egress*.yaml's internal listener) logs each released CONNECT tunnel a
  // second time, with the CONNECT's own filter state: its decision is the CONNECT line's.
  if (value(e.role) === TUNNEL_EXIT_ROLE) return { kind: 'undecided', reason: 'tunnel exit (its CONNECT line is the decision)' };
  if (state === undefined) {
    return { kind: 'undecided', reason: `no meshgate decision (${value(e.details) ?? value(e.termination) ?? 'no details'})` };
  }
  const kv = parseFilterState(state);
  if (typeof kv === 'string') return { kind: 'bad', message: kv };
  const roleText = value(e.role) ?? defaultRole;
  if (roleText === undefined) return { kind: 'bad', message: 'no role (add `role` to the access log, or pass --role)' };
  if (!RECORD_ROLES.includes(roleText as RecordRole)) return { kind: 'bad', message: `role "${roleText}" is not one of ${RECORD_ROLES.join(', ')}` };
  const role = roleText as RecordRole;
  const portText = value(e.port);
  const port = portText === undefined ? undefined : Number(portText);
  if (port !== undefined && !(Number.isInteger(port) && port >= 0 && port <= 65535)) return { kind: 'bad', message: `port "${portText}" is not a port number` };
  const statusText = value(e.status);
  const r: DecisionRecord = {
    role,
    identity: kv.identity === '-' ? null : kv.identity,
    connect: false,
    decision: kv.decision as RecordDecision,
    rule: kv.rule,
    policy: kv.policy,
  };
  const time = value(e.time);
  if (time !== undefined) r.time = time;
  if (kv.identity_reason !== undefined) r.identity_reason = kv.identity_reason;
  for (const k of ['method', 'path', 'authority', 'scheme', 'protocol'] as const) {
    const v = value(e[k]);
    if (v !== undefined) r[k] = v;
  }
  if (port !== undefined) r.port = port;
  if (kv.sni !== undefined) r.sni = kv.sni;
  if (statusText !== undefined && /^\d+$/.test(statusText)) r.status = Number(statusText);
  r.connect = r.method === 'CONNECT';
  const missing = missingFact(r);
  if (missing) return { kind: 'bad', message: `${role} record without ${missing}` };
  return { kind: 'record', record: r };
}

/** The fact a role's decision needs that the record lacks, if any. */
function missingFact(r: DecisionRecord): string | undefined {
  if (r.role === 'inbound') return r.method === undefined ? 'method' : r.path === undefined ? 'path' : undefined;
  // egress: an absent :authority is a fact too (the filter judged it invalid)
  if (r.role === 'egress') return undefined;
  if (r.port === undefined) return 'port';
  return r.sni === undefined ? 'sni= in meshgate' : undefined;
}
