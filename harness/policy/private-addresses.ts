/**
 * The grants of Envoy's post-resolution guard (docs/design.md §3.7): meshgate decides before
 * anything is resolved, so the check of the address an allowed name resolves to is native Envoy
 * RBAC after the dynamic forward proxy (harness/envoy/address-guard.ts), which refuses loopback,
 * link-local, private and other non-public addresses unless the winning rule grants them. This is
 * what that renderer reads from a policy.
 */
import type { NormalizedPolicy } from './model';

/** A rule whose winning requests may be dialed at these (validated) networks. */
export interface PrivateAddressGrant {
  rule: string;
  cidrs: string[];
}

/**
 * Per enforced egress allow rule that has any, in policy order: its `privateAddresses` (the
 * networks its names may resolve to) then its `cidrs` (an IP network named explicitly is a grant
 * too: `cidrs: [169.254.169.254/32]` means cloud metadata on purpose, and the guard sees an IP
 * literal target as its resolved address). Deny rules never let a request through, and a rule with
 * `mode: audit` never decides, so neither grants anything.
 */
export function privateAddressGrants(policy: NormalizedPolicy): PrivateAddressGrant[] {
  return (policy.egress?.rules ?? [])
    .filter((r) => r.action === 'allow' && r.mode === 'enforce')
    .map((r) => ({ rule: r.name, cidrs: [...(r.privateAddresses ?? []), ...((r.cidrs as string[] | undefined) ?? [])] }))
    .filter((g) => g.cidrs.length > 0);
}
