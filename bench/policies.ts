/**
 * The policies the benchmark measures, one per size, and the callers that exercise them.
 *
 * Inbound (N identities): the shape of a typical service policy — a deny rule every request is
 * checked against, then one allow rule listing the N callers:
 *   no-admin  deny   paths /admin, /admin/*
 *   callers   allow  from <N exact SPIFFE IDs>, methods GET POST, paths /api/*
 *   default deny
 * Every measured request is allowed by `callers` (GET /api/items/<k>), so all variants do the same
 * work for the same answer. Callers are picked at evenly spread positions of the list, so a
 * linear scan (classic RBAC principals) does, on average, half the list per request.
 *
 * Egress (N host entries): a deny rule on the metadata CIDR, then one rule letting the bench's
 * callers (a namespace prefix) reach N exact names. Requests name hosts spread over the list.
 */
import type { PolicyDocument } from '../harness/policy/model';

export const TRUST_DOMAIN = 'example.org';
export const GATEWAY_ID = `spiffe://${TRUST_DOMAIN}/ns/edge/sa/gateway`;
export const SERVER_ID = `spiffe://${TRUST_DOMAIN}/ns/bench/sa/server`;
/** Egress callers live under this namespace (the policy admits the prefix). */
export const EGRESS_CALLER_NS = `spiffe://${TRUST_DOMAIN}/ns/egress-callers`;

/** The i-th identity of every inbound policy (the lists of different sizes share a prefix). */
export function identityAt(i: number): string {
  return `spiffe://${TRUST_DOMAIN}/ns/team-${i % 1000}/sa/workload-${i}`;
}

/** The i-th host of every egress policy. */
export function hostAt(i: number): string {
  return `svc-${i}.partner-${i % 997}.example.com`;
}

/** k evenly spread positions in [0, n): floor((j + 0.5) n / k). */
export function spreadPositions(n: number, k: number): number[] {
  const out: number[] = [];
  for (let j = 0; j < k; j++) out.push(Math.floor(((j + 0.5) * n) / k));
  return [...new Set(out)];
}

export type IdentitySourceKind = 'peer-certificate' | 'xfcc';

export function inboundPolicy(n: number, source: IdentitySourceKind): PolicyDocument {
  const from = Array.from({ length: n }, (_, i) => identityAt(i));
  return {
    trustDomain: TRUST_DOMAIN,
    identity: source === 'xfcc' ? { from: 'xfcc', trustedProxies: [GATEWAY_ID] } : { from: 'peer-certificate' },
    inbound: {
      default: 'deny',
      rules: [
        { name: 'no-admin', action: 'deny', paths: ['/admin', '/admin/*'] },
        { name: 'callers', from, methods: ['GET', 'POST'], paths: ['/api/*'] },
      ],
    },
  };
}

export function egressPolicy(n: number): PolicyDocument {
  return {
    trustDomain: TRUST_DOMAIN,
    identity: { from: 'peer-certificate' },
    egress: {
      default: 'deny',
      rules: [
        { name: 'no-metadata', action: 'deny', cidrs: ['169.254.0.0/16'] },
        { name: 'partners', from: [`${EGRESS_CALLER_NS}/*`], hosts: Array.from({ length: n }, (_, i) => hostAt(i)) },
      ],
    },
  };
}

/** An HTTP/1.1 request as bytes. */
export function requestBytes(method: string, path: string, host: string, headers: Record<string, string> = {}): Buffer {
  let s = `${method} ${path} HTTP/1.1\r\nhost: ${host}\r\n`;
  for (const [k, v] of Object.entries(headers)) s += `${k}: ${v}\r\n`;
  return Buffer.from(s + '\r\n', 'latin1');
}

/** The allowed requests a connection cycles through (inbound). */
export function inboundRequests(xfccIds?: string[]): Buffer[] {
  const paths = ['/api/items/1', '/api/items/2', '/api/orders/3', '/api/items/4'];
  if (!xfccIds) return paths.map((p) => requestBytes('GET', p, 'bench'));
  // XFCC as the trusted gateway appends it: its own ID in By, the caller's in URI.
  return xfccIds.map((id, i) => requestBytes('GET', paths[i % paths.length], 'bench', { 'x-forwarded-client-cert': `By=${GATEWAY_ID};URI=${id}` }));
}

/** The allowed requests a connection cycles through (egress). */
export function egressRequests(hosts: string[]): Buffer[] {
  return hosts.map((h) => requestBytes('GET', '/v1/ping', h));
}
