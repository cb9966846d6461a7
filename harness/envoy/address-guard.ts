/**
 * The post-resolution guard: an allowed name that resolves to a loopback, link-local, private or
 * otherwise non-public address is not dialed, unless the rule that allowed it lists that address
 * in `privateAddresses`. meshgate decides before anything is resolved, so it cannot see the
 * address; Envoy 1.40 can, natively:
 *
 *   - the dynamic forward proxy filters (HTTP `dynamic_forward_proxy`, network
 *     `sni_dynamic_forward_proxy`) with `save_upstream_address: true` put the resolved address in
 *     filter state `envoy.stream.upstream_address` once DNS has answered, before any dial;
 *   - an RBAC filter right after them matches it (`envoy.rbac.matchers.upstream_ip_port`) and the
 *     winning meshgate rule (a `filter_state` principal on `wasm.meshgate`, whose value carries
 *     ` rule=<name> `), and denies: HTTP 403 `rbac_access_denied_matched_policy[<policy>]`, or a
 *     closed connection; the upstream cluster sees no connection attempt.
 *
 * Policies (DENY; any match denies):
 *   - `meshgate-private-address`: the address is in a guarded range and the winning rule is none
 *     of those with `privateAddresses` (also when meshgate left no record: fail closed);
 *   - `meshgate-private-address.<rule>` per rule with `privateAddresses` or `cidrs`: guarded
 *     range and not one of the rule's own networks (grantsOf).
 * The DNS query for an allowed name still happens — the address cannot be known otherwise.
 */
import type { Json } from './bootstrap';
import { ipInPrefix, parseIpv4Strict, parseIpv6, type Ip16 } from '../policy/ip';
import { normalizePolicy, type PolicyDocument } from '../policy/model';
import { privateAddressGrants, type PrivateAddressGrant } from '../policy/private-addresses';

export type { PrivateAddressGrant };

/** Address ranges that are not globally reachable (IANA special-purpose registries). */
export const GUARDED_RANGES: ReadonlyArray<{ cidr: string; why: string }> = [
  { cidr: '0.0.0.0/8', why: '"this network"' },
  { cidr: '10.0.0.0/8', why: 'private (RFC 1918)' },
  { cidr: '100.64.0.0/10', why: 'carrier-grade NAT (RFC 6598)' },
  { cidr: '127.0.0.0/8', why: 'loopback' },
  { cidr: '169.254.0.0/16', why: 'link-local, cloud metadata (169.254.169.254)' },
  { cidr: '172.16.0.0/12', why: 'private (RFC 1918)' },
  { cidr: '192.0.0.0/24', why: 'IETF protocol assignments' },
  { cidr: '192.168.0.0/16', why: 'private (RFC 1918)' },
  { cidr: '198.18.0.0/15', why: 'benchmarking' },
  { cidr: '224.0.0.0/4', why: 'multicast' },
  { cidr: '240.0.0.0/4', why: 'reserved, broadcast' },
  { cidr: '::/128', why: 'unspecified' },
  { cidr: '::1/128', why: 'loopback' },
  { cidr: '::ffff:0:0/96', why: 'IPv4-mapped (would carry any IPv4 range above)' },
  { cidr: '64:ff9b:1::/48', why: 'local-use NAT64' },
  { cidr: 'fc00::/7', why: 'unique local' },
  { cidr: 'fe80::/10', why: 'link-local' },
  { cidr: 'ff00::/8', why: 'multicast' },
];

export interface AddressGuardOptions {
  /** Rules with `privateAddresses`, in policy order. */
  grants: PrivateAddressGrant[];
  /**
   * Addresses treated as public although they are in a guarded range. Only for the test harness,
   * whose fake external services live on loopback (127.0.0.1/32); never rendered for users.
   */
  treatAsPublic?: string[];
  /** RBAC stat prefix (stats `<http|connection>...rbac.<prefix>denied`). */
  statPrefix?: string;
}

export const GUARD_POLICY = 'meshgate-private-address';
export const GUARD_STAT_PREFIX = 'meshgate_address_guard.';

function splitCidr(cidr: string): { address_prefix: string; prefix_len: number } {
  const slash = cidr.lastIndexOf('/');
  if (slash < 0) throw new Error(`address guard: "${cidr}" is not a CIDR (address/bits)`);
  return { address_prefix: cidr.slice(0, slash), prefix_len: Number(cidr.slice(slash + 1)) };
}

function upstreamIn(cidr: string): Json {
  return {
    matcher: {
      name: 'envoy.rbac.matchers.upstream_ip_port',
      typed_config: {
        '@type': 'type.googleapis.com/envoy.extensions.rbac.matchers.upstream_ip_port.v3.UpstreamIpPortMatcher',
        upstream_ip: splitCidr(cidr),
      },
    },
  };
}

function anyOf(cidrs: string[]): Json {
  return cidrs.length === 1 ? upstreamIn(cidrs[0]) : { or_rules: { rules: cidrs.map(upstreamIn) } };
}

function wonBy(rule: string): Json {
  return { filter_state: { key: 'wasm.meshgate', string_match: { contains: ` rule=${rule} ` } } };
}

/** Guarded and not exempt (exemptions: the rule's own networks, the harness's fake internet). */
function guardedExcept(exempt: string[]): Json {
  const guarded = anyOf(GUARDED_RANGES.map((r) => r.cidr));
  return exempt.length === 0 ? guarded : { and_rules: { rules: [guarded, { not_rule: anyOf(exempt) }] } };
}

/** The RBAC rules of the guard (shared by the HTTP and the network filter). */
export function addressGuardRules(o: AddressGuardOptions): Json {
  const publicToo = o.treatAsPublic ?? [];
  const granted = o.grants.filter((g) => g.cidrs.length > 0);
  const policies: Json = {
    [GUARD_POLICY]: {
      principals: [granted.length === 0 ? { any: true } : { not_id: { or_ids: { ids: granted.map((g) => wonBy(g.rule)) } } }],
      permissions: [guardedExcept(publicToo)],
    },
  };
  for (const g of granted) {
    policies[`${GUARD_POLICY}.${g.rule}`] = { principals: [wonBy(g.rule)], permissions: [guardedExcept([...g.cidrs, ...publicToo])] };
  }
  return { action: 'DENY', policies };
}

/** `envoy.filters.http.rbac`, to follow `envoy.filters.http.dynamic_forward_proxy`. */
export function httpAddressGuard(o: AddressGuardOptions): Json {
  return {
    name: 'envoy.filters.http.rbac',
    typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC',
      rules: addressGuardRules(o),
      rules_stat_prefix: o.statPrefix ?? GUARD_STAT_PREFIX,
    },
  };
}

/** `envoy.filters.network.rbac`, to follow `envoy.filters.network.sni_dynamic_forward_proxy`. */
export function networkAddressGuard(o: AddressGuardOptions): Json {
  return {
    name: 'envoy.filters.network.rbac',
    typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.filters.network.rbac.v3.RBAC',
      stat_prefix: o.statPrefix ?? GUARD_STAT_PREFIX,
      rules: addressGuardRules(o),
    },
  };
}

// ---------------------------------------------------------------------------------------------
// The same rules as a model, for the emulator (harness/scenario/targets/emulator.ts): which guard
// policy refuses a resolved address. Envoy's CIDR matching is per family — an IPv4 address never
// lies in an IPv6 range (`::ffff:0:0/96` catches only IPv6-written mapped addresses) — and so is
// this.

interface Net { v6: boolean; ip: Ip16; bits: number }

function parseAddress(text: string): { v6: boolean; ip: Ip16 } | null {
  const v4 = parseIpv4Strict(text);
  if (v4) return { v6: false, ip: v4 };
  const v6 = parseIpv6(text);
  return v6 ? { v6: true, ip: v6 } : null;
}

function parseNet(cidr: string): Net {
  const { address_prefix, prefix_len } = splitCidr(cidr);
  const a = parseAddress(address_prefix);
  if (!a || !Number.isInteger(prefix_len)) throw new Error(`address guard: "${cidr}" is not a CIDR (address/bits)`);
  return { v6: a.v6, ip: a.ip, bits: prefix_len }; // 4-byte IPv4, 16-byte IPv6
}

function inAny(a: { v6: boolean; ip: Ip16 }, cidrs: string[]): boolean {
  return cidrs.some((c) => {
    const n = parseNet(c);
    return n.v6 === a.v6 && ipInPrefix(a.ip, n.ip, n.bits);
  });
}

/**
 * The guard policy that refuses dialing `address` (an IP as DNS answered it) after meshgate wrote
 * `record` (its `wasm.meshgate` value; undefined = none), or null when the dial may go ahead.
 */
export function guardRefusal(address: string, record: string | undefined, o: AddressGuardOptions): string | null {
  const a = parseAddress(address);
  if (!a) throw new Error(`address guard model: "${address}" is not an IP address`);
  const guarded = GUARDED_RANGES.map((r) => r.cidr);
  const publicToo = o.treatAsPublic ?? [];
  const isGuarded = (exempt: string[]) => inAny(a, guarded) && !inAny(a, exempt);
  const won = (rule: string) => (record ?? '').includes(` rule=${rule} `);
  const granted = o.grants.filter((g) => g.cidrs.length > 0);
  if (!granted.some((g) => won(g.rule)) && isGuarded(publicToo)) return GUARD_POLICY;
  for (const g of granted) if (won(g.rule) && isGuarded([...g.cidrs, ...publicToo])) return `${GUARD_POLICY}.${g.rule}`;
  return null;
}

/**
 * The grants of a compiled policy (the plugin configuration JSON), as harness/policy reads them
 * (privateAddressGrants: each enforced allow rule's `privateAddresses` and `cidrs`). A
 * configuration that is not a valid policy grants nothing (the filter refuses it anyway).
 */
export function grantsOf(policyJson: string): PrivateAddressGrant[] {
  try {
    return privateAddressGrants(normalizePolicy(JSON.parse(policyJson) as PolicyDocument));
  } catch {
    return [];
  }
}
