/**
 * The policy document's shape (docs/design.md §3.1, docs/internals.md §1) as TypeScript types, and its
 * normalized form with every default filled in, which the analyzer, the RBAC renderer and the
 * reference evaluator read. The plugin configuration itself is the document exactly as written
 * (compile.ts): defaults are never added to it.
 */
import { listNames, listOf, type FieldLists, type ListName } from './fields';
import type { Action, IdentitySource, Mode, Role, Tunnel } from './vocabulary';

export type { Action, IdentitySource, Mode, Role, Tunnel } from './vocabulary';

// (a type alias, not an interface: it is then assignable to Record<string, unknown>)
export type PolicyDocument = {
  trustDomain: string;
  mode?: Mode;
  /** Other trust domains whose identities are callers (named explicitly in `from`). */
  federatesWith?: string[];
  identity?: { from?: IdentitySource; trustedProxies?: string[]; id?: string };
  inbound?: SectionDocument<InboundRuleDocument>;
  egress?: SectionDocument<EgressRuleDocument>;
};

export interface SectionDocument<R> {
  default?: Action;
  rules?: R[];
}

interface RuleBase {
  name: string;
  action?: Action;
  mode?: Mode;
}

/**
 * Egress rule options (not match fields; the filter validates them the same way):
 *   tunnel            what a CONNECT tunnel the rule allows may carry: `tls` (default: a
 *                     ClientHello naming the CONNECT host) or `any` (non-TLS bytes too);
 *   privateAddresses  allow rules only: the networks the rule's names may resolve to although
 *                     they are not public — read by Envoy's post-resolution guard
 *                     (privateAddressGrants), not by the filter, which decides before DNS.
 */
export interface EgressRuleOptions {
  tunnel?: Tunnel;
  privateAddresses?: string[];
}
export const EGRESS_RULE_OPTIONS: readonly (keyof EgressRuleOptions)[] = ['tunnel', 'privateAddresses'];

/** A rule as written: its match fields are those of fields.ts FIELDS for the role. */
export interface InboundRuleDocument extends RuleBase, FieldLists<'inbound'> {}
export interface EgressRuleDocument extends RuleBase, FieldLists<'egress'>, EgressRuleOptions {}

/** Matcher lists per role, in the filter's evaluation order (the "first field that failed"). */
export const INBOUND_FIELDS: readonly ListName<'inbound'>[] = listNames('inbound');
export const EGRESS_FIELDS: readonly ListName<'egress'>[] = listNames('egress');
export type InboundField = ListName<'inbound'>;
export type EgressField = ListName<'egress'>;
export type MatcherField = ListName;

export function roleFields(role: Role): readonly MatcherField[] {
  return role === 'inbound' ? INBOUND_FIELDS : EGRESS_FIELDS;
}

/** One rule with defaults applied; an omitted matcher field stays undefined (matches anything). */
export interface NormalizedRule extends FieldLists<Role> {
  /** Index in its section's `rules`, and the JSON path of the rule (`inbound.rules[2]`). */
  index: number;
  path: string;
  name: string;
  action: Action;
  mode: Mode;
  /** Egress rules: `tunnel` with its default (`tls`); inbound rules: undefined. */
  tunnel?: Tunnel;
  /** Egress allow rules that list them. */
  privateAddresses?: string[];
}

export interface NormalizedSection {
  role: Role;
  default: Action;
  rules: NormalizedRule[];
}

export interface NormalizedPolicy {
  trustDomain: string;
  mode: Mode;
  /** `federatesWith`, [] when absent. */
  federatesWith: string[];
  identity: { from: IdentitySource; trustedProxies: string[]; id?: string };
  inbound?: NormalizedSection;
  egress?: NormalizedSection;
}

/** Fills in the defaults of a VALID document (validate.ts first). */
export function normalizePolicy(doc: PolicyDocument): NormalizedPolicy {
  const section = (role: Role, s: SectionDocument<InboundRuleDocument | EgressRuleDocument> | undefined): NormalizedSection | undefined => {
    if (s === undefined) return undefined;
    return {
      role,
      default: s.default ?? 'deny',
      rules: (s.rules ?? []).map((r, index) => {
        const out: NormalizedRule = {
          index,
          path: `${role}.rules[${index}]`,
          name: r.name,
          action: r.action ?? 'allow',
          mode: r.mode ?? 'enforce',
        };
        for (const f of roleFields(role)) {
          const v = listOf(r, f);
          if (v !== undefined) (out as unknown as Record<string, unknown>)[f] = v;
        }
        if (role === 'egress') {
          const o = r as EgressRuleOptions;
          out.tunnel = o.tunnel ?? 'tls';
          if (o.privateAddresses !== undefined) out.privateAddresses = o.privateAddresses;
        }
        return out;
      }),
    };
  };
  return {
    trustDomain: doc.trustDomain,
    mode: doc.mode ?? 'enforce',
    federatesWith: doc.federatesWith ?? [],
    identity: {
      from: doc.identity?.from ?? 'peer-certificate',
      trustedProxies: doc.identity?.trustedProxies ?? [],
      ...(doc.identity?.id !== undefined ? { id: doc.identity.id } : {}),
    },
    inbound: section('inbound', doc.inbound),
    egress: section('egress', doc.egress),
  };
}
