/**
 * What meshgate leaves behind about a request, as the targets read it: its own record (the
 * `wasm.meshgate` filter state, `decision=<allow|deny|audit_deny> rule=<label> identity=… policy=…`,
 * docs/internals.md §3; the access log's `meshgate` field on Envoy) and the details of its 403
 * (`meshgate_denied[<label>]`).
 */

export interface FilterRecord {
  decision: string;
  /** The rule name, `default`, or the reason an invalid request was refused. */
  rule: string;
  /** Why the caller is unauthenticated (` identity_reason=<code>` when identity is `-`). */
  identityReason?: string;
}

/** Parses the filter-state value; undefined when meshgate wrote none (`-` in the access log). */
export function filterRecord(value: string | undefined): FilterRecord | undefined {
  const m = /^decision=(\S+) rule=(\S+)/.exec(value ?? '');
  if (!m) return undefined;
  const reason = / identity_reason=(\S+)/.exec(value ?? '');
  return reason ? { decision: m[1], rule: m[2], identityReason: reason[1] } : { decision: m[1], rule: m[2] };
}

/** The label meshgate named in `meshgate_denied[<label>]`, if these details are meshgate's. */
export function deniedRule(details: string | undefined): string | undefined {
  const m = /^meshgate_denied\[([^\]]*)\]$/.exec(details ?? '');
  return m ? m[1] : undefined;
}
