/**
 * One reading of a request that went through the filter chain, the same on every target: what the
 * client got, whether the service behind the proxy received it, Envoy's response details and the
 * filter's own record. A filter that failed (a trap: 503 `wasm_fail_stream`) is a crash, never a
 * decision, and an exchange whose record never arrived is incomplete: both carry a `problem`,
 * which fails the request whatever the scenario expects (harness/scenario/run.ts judge).
 */
import type { Observation } from '../types';
import { deniedRule, filterRecord } from './record';

export interface Exchange {
  /** The upstream (inbound) or an external service (egress) received the request. */
  received: boolean;
  /** HTTP status the client saw. */
  status: number;
  /** `%RESPONSE_CODE_DETAILS%` on Envoy; the local reply's details (or the delivery failure) on the emulator. */
  details: string | undefined;
  /** The `wasm.meshgate` filter-state value, if the filter wrote one. */
  meshgate: string | undefined;
  dnsQueries?: number;
  externalConnections?: number;
  /** CONNECT tunnels: bytes of the tunnel the external service received, when observed. */
  tunnelBytes?: number;
}

/** What the filter writes when its VM traps: Envoy's and the emulator's 503 details. */
const CRASH_DETAILS = /^wasm_fail/;

/** The post-resolution guard's RBAC policy named in Envoy's details (harness/envoy/address-guard.ts). */
export function guardPolicyOf(details: string | undefined): string | undefined {
  return /\brbac_access_denied_matched_policy\[(meshgate-private-address[^\]]*)\]/.exec(details ?? '')?.[1];
}

export function observe(x: Exchange): Observation {
  const record = filterRecord(x.meshgate);
  const denied = deniedRule(x.details);
  const counts = { dnsQueries: x.dnsQueries, externalConnections: x.externalConnections, ...(x.tunnelBytes !== undefined ? { tunnelBytes: x.tunnelBytes } : {}) };
  const detail = `${x.details ?? '-'} (${x.meshgate && x.meshgate !== '-' ? x.meshgate : 'meshgate left no record'})`;
  if (CRASH_DETAILS.test(x.details ?? '')) {
    return { outcome: x.received ? 'allow' : 'deny', status: x.status, layer: 'crash', detail, ...counts, problem: `the filter crashed (${x.status} ${x.details}): a failure, not a decision` };
  }
  // A tunnel refused for its inner SNI: the CONNECT's 200 was already sent, the stream was reset.
  const tunnelRefused = record?.decision === 'deny' && record.rule.startsWith('tunnel_');
  return {
    outcome: x.received ? 'allow' : 'deny',
    status: x.status,
    layer: x.received ? 'upstream' : denied !== undefined || tunnelRefused ? 'meshgate' : guardPolicyOf(x.details) !== undefined ? 'guard' : 'envoy',
    ...(guardPolicyOf(x.details) !== undefined ? { guard: guardPolicyOf(x.details) } : {}),
    decision: record?.decision,
    rule: record?.rule ?? denied,
    identityReason: record?.identityReason,
    detail,
    ...counts,
  };
}

/** An exchange whose access-log entry did not arrive: nothing about it may be assumed. */
export function unlogged(x: Omit<Exchange, 'details' | 'meshgate'>, waitedMs: number): Observation {
  return {
    outcome: x.received ? 'allow' : 'deny',
    status: x.status,
    layer: x.received ? 'upstream' : 'envoy',
    dnsQueries: x.dnsQueries,
    externalConnections: x.externalConnections,
    problem: `no access-log entry after ${waitedMs} ms: the filter's rule or reason and Envoy's response details are unknown`,
  };
}

/** One TLS passthrough connection as a target saw it (the SNI roles). */
export interface ConnectionExchange {
  /** The external service received the connection's bytes. */
  delivered: boolean;
  /** The `wasm.meshgate` value (the connection access log's `meshgate` field on Envoy). */
  meshgate: string | undefined;
  /** Why the connection ended where it did, for messages (termination details, the model's step). */
  details: string;
  /** The name the dynamic forward proxy dialed, when known. */
  dialed?: string;
  dnsQueries?: number;
  externalConnections?: number;
  /** The filter's VM failed on this connection. */
  crashed?: boolean;
}

/** A connection has no HTTP status: `status` is 0, the record says who decided. */
export function observeConnection(x: ConnectionExchange): Observation {
  const record = filterRecord(x.meshgate);
  const counts = { dnsQueries: x.dnsQueries, externalConnections: x.externalConnections, ...(x.dialed !== undefined ? { dialed: x.dialed } : {}) };
  const detail = `${x.details} (${x.meshgate && x.meshgate !== '-' ? x.meshgate : 'meshgate left no record'})`;
  if (x.crashed) return { outcome: x.delivered ? 'allow' : 'deny', status: 0, layer: 'crash', detail, ...counts, problem: `the filter crashed (${x.details}): a failure, not a decision` };
  return {
    outcome: x.delivered ? 'allow' : 'deny',
    status: 0,
    layer: x.delivered ? 'upstream' : record?.decision === 'deny' ? 'meshgate' : guardPolicyOf(x.details) !== undefined ? 'guard' : 'envoy',
    ...(guardPolicyOf(x.details) !== undefined ? { guard: guardPolicyOf(x.details) } : {}),
    decision: record?.decision,
    rule: record?.rule,
    identityReason: record?.identityReason,
    detail,
    ...counts,
  };
}
