/**
 * Which identity source (`identity.from`) makes sense on which listener. One table, read by both
 * renderers (`render envoy` per Envoy role, `render istio` per Istio role mapped onto the listener
 * it runs on), so a policy written for one place cannot be rendered silently for another:
 *
 *   - a SHARED listener (inbound sidecar, egress gateway) serves many callers, so a constant
 *     `local` identity would make every caller that identity;
 *   - a SIDECAR EGRESS listener hears its own workload in plain text (HTTP) or relays the
 *     workload's own TLS untouched (SNI): there is no client certificate, so `peer-certificate`
 *     denies everything, and so does `xfcc` (it trusts the header only from a peer certificate);
 *   - the SNI filter is a network filter: no request headers, so no `xfcc`.
 */
import type { Role } from '../envoy/reference';
import type { IdentitySource } from '../policy/model';
import type { IstioRole } from './istio-role';

/** null: allowed; a string: why this combination cannot work. */
export const IDENTITY_SOURCE_BY_LISTENER: Readonly<Record<Role, Readonly<Record<IdentitySource, string | null>>>> = {
  inbound: {
    'peer-certificate': null,
    xfcc: null,
    local: 'the inbound listener serves every caller of the service; with a constant identity every caller would be that identity',
  },
  egress: {
    'peer-certificate': null,
    xfcc: null,
    local: 'the egress gateway is shared by every workload; with a constant identity every caller would be that identity',
  },
  'egress-sidecar': {
    'peer-certificate': 'the workload talks plain text to its own sidecar, so there is no peer certificate and every request would be denied',
    xfcc: 'the workload talks plain text to its own sidecar, so no trusted proxy presents a certificate and every request would be denied',
    local: null,
  },
  'egress-sni-sidecar': {
    'peer-certificate': 'the sidecar relays the workload\'s own TLS untouched, so there is no client certificate and every connection would be denied',
    xfcc: 'the SNI filter judges TCP connections, which carry no x-forwarded-client-cert header',
    local: null,
  },
  'egress-sni-gateway': {
    'peer-certificate': null,
    xfcc: 'the SNI filter judges TCP connections, which carry no x-forwarded-client-cert header',
    local: 'the egress gateway is shared by every workload; with a constant identity every caller would be that identity',
  },
};

/** The Envoy listener each Istio role's resource lands on (egress roles select the egress gateway). */
export const ISTIO_LISTENER: Readonly<Record<IstioRole, Role>> = {
  inbound: 'inbound',
  egress: 'egress',
  'egress-sni': 'egress-sni-gateway',
};

/** What to use instead, per listener (the first allowed source, spelled as policy YAML). */
function suggestion(listener: Role): string {
  const allowed = (Object.keys(IDENTITY_SOURCE_BY_LISTENER[listener]) as IdentitySource[]).filter((s) => IDENTITY_SOURCE_BY_LISTENER[listener][s] === null);
  return allowed.map((s) => (s === 'local' ? 'identity: {from: local, id: <the workload\'s SPIFFE ID>}' : `identity.from: ${s}`)).join(' or ');
}

/**
 * The error message for rendering a policy with identity source `source` as `--role role`, or
 * undefined when the combination is allowed.
 */
export function identitySourceProblem(role: string, listener: Role, source: IdentitySource): string | undefined {
  const reason = IDENTITY_SOURCE_BY_LISTENER[listener][source];
  if (reason === null || reason === undefined) return undefined; // allowed, or not a source (validate reports that)
  return `--role ${role} with identity.from: ${source}: ${reason}; use ${suggestion(listener)} in the policy, or render it for another role`;
}
