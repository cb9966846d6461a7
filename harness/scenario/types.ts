/**
 * Scenario files (docs/design.md §4): a policy, named identities, and requests with the outcome
 * each must have. This module holds the parsed, checked form; `load.ts` builds it from YAML.
 */

import type { NormalizedPolicy, PolicyDocument } from '../policy/model';
import type { AuthoritySpec, CertificateDescription } from '../pki/pki';

/** Certificates minted with a deliberate defect, named by it (harness/pki). */
export type BadCertKind = 'expired' | 'foreign-ca' | 'two-uri-sans' | 'non-spiffe-uri' | 'no-uri-san';

export type Expect = 'allow' | 'deny';

/** How a request is sent: HTTP/1.1, or HTTP/2 over TLS with ALPN `h2`. */
export type Protocol = 'http1' | 'h2';

/**
 * The first bytes a workload sends on a connection (`tls:`) or inside a CONNECT tunnel
 * (`inner:`): a ClientHello built by harness/tls/client-hello.ts, or `raw` bytes as they are.
 */
export interface FirstFlight {
  /** The server_name; null = no server_name extension; absent = the request's `host`. */
  sni?: string | null;
  /** Add an encrypted_client_hello extension (`sni` is then the outer, public name). */
  ech?: boolean;
  /** Bytes sent as they are instead of a hello: `hex:` then hex digits (spaces allowed), or text. */
  raw?: string;
  alpn?: string[];
  /** Pad the hello to at least this many bytes. */
  padTo?: number;
  /** Largest TLS record fragment: a smaller one splits the hello over several records. */
  fragment?: number;
}

export interface ScenarioRequest {
  /** Position in the scenario file, for messages: `file:line`. */
  where: string;
  /** A short label: `name` if given, else method + path (or host). */
  label: string;
  /** Identity name from `identities`, or `none` (no client certificate). */
  as: string;
  /** Present the identity's SPIFFE ID in a certificate with this defect instead of a good SVID. */
  cert?: BadCertKind;
  /** Present the certificate of this name from the scenario's `certificates:` (it says whom it claims). */
  certificate?: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  /** Bytes written as-is on the (TLS) connection instead of a composed request (HTTP/1.1 only). */
  raw?: string;
  /** h2 only: the header list sent as-is (pseudo-headers included) instead of a composed request. */
  h2headers?: [string, string][];
  /** The request's own `protocol:`; a run sets every request's (harness/scenario/run.ts forProtocol). */
  protocol?: Protocol;
  expect: Expect;
  /**
   * Pins. `rule`: the rule or reason the filter's record names (allow or deny). `status`: the
   * status the client sees (0 = no response: the TLS handshake was refused, or the h2 stream
   * reset). A deny must pin one of them: the
   * rule when meshgate decides, the status when the request is refused before the filter.
   */
  status?: number;
  rule?: string;
  /** Why the caller is unauthenticated, as the filter's record names it (`identity_reason=…`:
   *  `svid_root_id`, `foreign_trust_domain`, …); checked when given, on every target. */
  reason?: string;
  /** Egress deny: the post-resolution guard refuses the address the allowed name resolved to,
   *  by this RBAC policy (`meshgate-private-address` or `meshgate-private-address.<rule>`). */
  guard?: string;
  // egress
  /** A TLS passthrough connection (the SNI roles) instead of an HTTP request: what the workload
   *  sends first. `host` is then the name the workload dialed (default: the SNI), `port` the
   *  port it connected to (default 443). */
  tls?: FirstFlight;
  /** CONNECT only: the tunnel's first bytes (default: a TLS client's hello for `host`). */
  inner?: FirstFlight;
  host?: string;
  port?: number;
  connect?: boolean;
  scheme?: 'http' | 'https';
  /** Why this request's outcome legitimately differs under Envoy's RBAC filter (differential run). */
  rbac?: string;
  /** Where the attack comes from (adversarial suites): an advisory, a CVE, a write-up. */
  source?: string;
  /** The verdict of this request's h2 run where Envoy's h2 path differs from its HTTP/1 one
   *  (run.ts forProtocol applies it). */
  h2?: ProtocolPin;
}

/**
 * A verdict for one protocol's run only. `status` and `rule` replace both of the request's own
 * (the pin says who refuses it over that protocol); `expect` and `reason` replace theirs when
 * given. A pin never turns a deny into an allow (load.ts refuses it: that would be a bypass).
 */
export interface ProtocolPin {
  expect?: Expect;
  status?: number;
  rule?: string;
  reason?: string;
  /** Why the protocol's path differs (required: a pin is a claim about Envoy). */
  why: string;
}

export interface Scenario {
  file: string;
  name: string;
  role: 'inbound' | 'egress';
  /** The plugin configuration JSON (compiled policy) and its digest. */
  policyJson: string;
  policyDigest12: string;
  /** The policy file when `policy:` is a path (resolved); undefined for an inline policy. */
  policyFile?: string;
  /** The policy as written, and with every default filled in (what the targets read). */
  policy: PolicyDocument;
  normalized: NormalizedPolicy;
  identities: Record<string, string>;
  /** Trust domains trusted besides the policy's own (its `federatesWith`): a CA and bundle each. */
  federatesWith?: string[];
  /** Authorities declared by the file (`authorities:`), besides one CA per trust domain. */
  authorities?: Record<string, AuthoritySpec>;
  /** Certificates described by the file (`certificates:`), by name. */
  certificates?: Record<string, CertificateDescription>;
  /** Egress: names the harness DNS server answers with another IPv4 address than the fake
   *  internet's 127.0.0.1 (`dns:`), e.g. cloud metadata for the post-resolution guard. */
  dns?: Record<string, string>;
  /** The file's requests are TLS passthrough connections (`tls:`), judged by SNI. */
  connections: boolean;
  /** The file's `protocol:`, the default of its requests (http1 when absent). */
  protocol: Protocol;
  requests: ScenarioRequest[];
  /** `FILE:LINE:COL: requests[i]: warning: …` for every unpinned request (errors when strict). */
  warnings: string[];
}

export type Target = 'emulator' | 'envoy' | 'envoy-native';

/** Who answered: the service (allowed), meshgate's 403, Envoy before or after the filter, the TLS
 *  handshake, a filter that crashed, or the post-resolution guard (harness/envoy/address-guard.ts)
 *  refusing the address an allowed name resolved to. */
export type Layer = 'upstream' | 'meshgate' | 'envoy' | 'tls' | 'crash' | 'guard';

export interface Observation {
  /** What happened: the upstream (or external service) received the request, or it did not. */
  outcome: Expect;
  /** HTTP status seen by the client; 0 when the connection was refused (e.g. TLS handshake). */
  status: number;
  layer: Layer;
  /** The filter's own record: its decision (`allow`, `deny`, `audit_deny`) and the rule or reason
   *  it named; undefined when the filter did not decide (refused before it, or crashed). */
  decision?: string;
  rule?: string;
  /** The record's `identity_reason` (why the caller is unauthenticated), if it has one. */
  identityReason?: string;
  detail?: string;
  /** Egress: DNS queries and external connections this request caused (a denial must cause none). */
  dnsQueries?: number;
  externalConnections?: number;
  /** Layer `guard`: the guard's RBAC policy that refused the resolved address. */
  guard?: string;
  /** The name the proxy dialed after an allowed connection (the dynamic forward proxy's host). */
  dialed?: string;
  /** A CONNECT tunnel's bytes the external service received (a tunnel refused for its inner SNI
   *  must have delivered none); undefined when not observed. */
  tunnelBytes?: number;
  /** The request could not be observed completely, or the filter crashed: it fails, saying why. */
  problem?: string;
}

export interface RequestResult {
  scenario: string;
  /** The scenario file. */
  file: string;
  request: ScenarioRequest;
  target: Target;
  observed: Observation;
  passed: boolean;
  /** A denied-by-policy request that reached the upstream. */
  bypass: boolean;
  message: string;
}
