/**
 * Scenario files (DESIGN.md section 3): a policy, named identities, and requests with the outcome
 * each must have. This module holds the parsed, checked form; `load.ts` builds it from YAML.
 */

import type { NormalizedPolicy, PolicyDocument } from '../policy/model';

/** Certificates minted with a deliberate defect, named by it (harness/pki). */
export type BadCertKind = 'expired' | 'foreign-ca' | 'two-uri-sans' | 'non-spiffe-uri' | 'no-uri-san';

export type Expect = 'allow' | 'deny';

export interface ScenarioRequest {
  /** Position in the scenario file, for messages: `file:line`. */
  where: string;
  /** A short label: `name` if given, else method + path (or host). */
  label: string;
  /** Identity name from `identities`, or `none` (no client certificate). */
  as: string;
  /** Present the identity's SPIFFE ID in a certificate with this defect instead of a good SVID. */
  cert?: BadCertKind;
  method: string;
  path: string;
  headers: Record<string, string>;
  /** Bytes written as-is on the (TLS) connection instead of a composed request. */
  raw?: string;
  expect: Expect;
  /** Optional pins on a denial: the HTTP status and the rule named in the details string. */
  status?: number;
  rule?: string;
  // egress
  host?: string;
  port?: number;
  connect?: boolean;
  scheme?: 'http' | 'https';
  /** Why this request's outcome legitimately differs under Envoy's RBAC filter (differential run). */
  rbac?: string;
  /** Where the attack comes from (adversarial suites): an advisory, a CVE, a write-up. */
  source?: string;
}

export interface Scenario {
  file: string;
  name: string;
  role: 'inbound' | 'egress';
  /** The plugin configuration JSON (compiled policy) and its digest. */
  policyJson: string;
  policyDigest12: string;
  /** The policy as written, and with every default filled in (what the targets read). */
  policy: PolicyDocument;
  normalized: NormalizedPolicy;
  identities: Record<string, string>;
  requests: ScenarioRequest[];
}

export type Target = 'emulator' | 'envoy';

export interface Observation {
  /** What happened: the upstream (or external service) received the request, or it did not. */
  outcome: Expect;
  /** HTTP status seen by the client; 0 when the connection was refused (e.g. TLS handshake). */
  status: number;
  /** Which layer refused it: `meshgate`, `tls`, `envoy` (e.g. 400 from path normalization). */
  layer: string;
  /** The rule or reason meshgate named, when known. */
  rule?: string;
  detail?: string;
  /** Egress: DNS queries and external connections this request caused (a denial must cause none). */
  dnsQueries?: number;
  externalConnections?: number;
}

export interface RequestResult {
  scenario: string;
  request: ScenarioRequest;
  target: Target;
  observed: Observation;
  passed: boolean;
  /** A denied-by-policy request that reached the upstream. */
  bypass: boolean;
  message: string;
}
