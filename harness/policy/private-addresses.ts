/**
 * `privateAddresses` for the post-resolution guard (docs/design.md): meshgate decides before
 * anything is resolved, so the networks an allowed name may resolve to although they are not
 * public are enforced by Envoy (harness/envoy/address-guard.ts renders RBAC after the dynamic
 * forward proxy). This is what that renderer reads.
 */
import type { NormalizedPolicy } from './model';

/** A rule whose allowed names may resolve to these (validated) networks. */
export interface PrivateAddressGrant {
  rule: string;
  cidrs: string[];
}

/**
 * The enforced egress allow rules that list `privateAddresses`, in policy order. A rule with
 * `mode: audit` never decides, so it grants nothing; validation keeps the option off deny rules.
 */
export function privateAddressGrants(policy: NormalizedPolicy): PrivateAddressGrant[] {
  return (policy.egress?.rules ?? [])
    .filter((r) => r.action === 'allow' && r.mode === 'enforce' && r.privateAddresses !== undefined)
    .map((r) => ({ rule: r.name, cidrs: [...r.privateAddresses!] }));
}
