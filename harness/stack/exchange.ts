/**
 * One exchange through an egress stack, with everything that proves what happened: the access-log
 * entry it produced, the Envoy stats it moved (read once the filter's counters have flushed), the
 * DNS queries, and what the external services saw (TLS connections, TCP accepts, raw bytes,
 * requests). Shared by the HTTP, CONNECT and SNI passthrough e2e tests.
 */
import { decisionCount, waitForDecisions } from '../envoy/decisions';
import type { DnsQuery } from '../services/dns';
import type { RecordedRequest } from '../services/upstream';
import type { EgressStack } from './egress';

export type Entry = Record<string, string | number | null>;

export interface Exchange<T> {
  res: T;
  entry: Entry;
  /** How much an Envoy stat moved during the exchange. */
  delta(name: string): number;
  dns: DnsQuery[];
  /** TLS handshakes (or plain connections) the external services completed. */
  connections: number;
  /** TCP connections the external services accepted. */
  accepted: number;
  /** Raw bytes the external services received. */
  bytes: number;
  received: RecordedRequest[];
}

/** Clears the stack's records, runs `send`, then waits for its access-log entry and counters. */
export async function exchange<T>(stack: EgressStack, send: () => Promise<T>): Promise<Exchange<T>> {
  stack.clear();
  const before = stack.accessLog().length;
  const statsBefore = await stack.envoy.stats();
  const res = await send();
  let entry: Entry | undefined;
  for (let i = 0; i < 150 && !entry; i++) {
    const log = stack.accessLog();
    if (log.length > before) entry = log[before] as Entry;
    else await new Promise((r) => setTimeout(r, 20));
  }
  if (!entry) throw new Error(`no access log entry\n${stack.envoy.logTail()}`);
  // the filter decided iff it left its filter state in the access log; that decision is counted
  // once the filter's timer has flushed it
  const decided = typeof entry.meshgate === 'string' && entry.meshgate.startsWith('decision=') ? 1 : 0;
  const statsAfter = await waitForDecisions(stack.envoy, decisionCount(statsBefore) + decided);
  const delta = (name: string) => (statsAfter[name] ?? 0) - (statsBefore[name] ?? 0);
  return {
    res,
    entry,
    delta,
    dns: stack.dns.queries(),
    connections: stack.connections(),
    accepted: stack.accepted(),
    bytes: stack.bytesReceived(),
    received: stack.received(),
  };
}
