/**
 * The match fields of a rule, each declared once (docs/internals.md §1 "Field rules"). An entry
 * of FIELDS is one field with its negated twin: where it may appear, how one list entry is checked
 * and compiled, how it matches a request, how the static analysis reasons about its lists, and how
 * it renders to Envoy RBAC. The rule types (model.ts), the validator, the evaluator, the analyzer
 * and the RBAC renderer all loop over this table; the matchers themselves live in patterns.ts
 * (with ip.ts and spiffe.ts), entry-sets.ts and rbac-entries.ts.
 *
 * Semantics every field shares: an omitted list matches anything; a list matches when one of its
 * entries does; the negated twin matches when none of its entries does; a rule's fields AND, in
 * FIELDS order (the order in which the filter looks, which names the "first field that failed").
 *
 * Adding a field: an entry here (and its matcher in patterns.ts when it needs a new one), the
 * schema (schema/policy.schema.json), and a fact in RequestFacts when it reads a new part of the
 * request (evaluate.ts fills it in).
 */
import type { WarningCode } from './diagnostics';
import { cidrOps, hostKey, hostOps, identityKey, identityOps, pathKey, pathOps, valueKey, valueOps, type IndexKey } from './entry-sets';
import {
  matchCidr, matchFrom, matchHost, matchPath, methodError, parseCidr, parseFromEntry, parseHostPattern,
  parsePathPattern, pathFold, type ParsedAuthority,
} from './patterns';
import { identityPredicate, identityPrincipal, methodPermission, methodPredicate, pathPermission, pathPredicate } from './rbac-entries';
import type { IdContext, Permission, Principal, XdsPredicate } from './rbac-types';
import type { EntryOps } from './sets';
import type { Action, IdentitySource, Role } from './vocabulary';

/** The JSON type of one list entry (as in the schema). */
export type EntryType = 'string' | 'integer';
export type EntryValue<T extends EntryType> = T extends 'integer' ? number : string;

/** What a request brings to the matchers (evaluate.ts gathers it); a field reads its part. */
export interface RequestFacts {
  /** The policy's trust domain (`from: "*"` means its identities). */
  trustDomain: string;
  /** The caller's valid SPIFFE ID; null: unauthenticated. */
  identity: string | null;
  /** Inbound: `:method`, and the canonical `:path` (query included). */
  method?: string;
  path?: string;
  /** Egress: the valid target. */
  target?: ParsedAuthority;
  /** The request's headers as Envoy presents them (lower-case names, in order), for fields that
   *  match on headers; a field reads what it needs from them, so adding one needs no new fact. */
  headers?: readonly (readonly [string, string])[];
}

/** Where a list sits: its rule's action, and whether it is the field's negated twin. */
export interface ListPlace {
  action: Action;
  negated: boolean;
}

export interface FieldWarning {
  code: WarningCode;
  message: string;
}

/** What the caller's field needs to judge an enforced allow rule (FieldAnalysis.allowRuleWarnings). */
export interface AllowRuleFacts {
  rule: { name: string; path: string };
  sectionDefault: Action;
  identitySource: IdentitySource;
  trustDomain: string;
  /** What the rule lets a caller do when no destination field limits it ("call any path"). */
  reach: string;
  /** No destination field limits the rule. */
  unlimited: boolean;
}

/** How the static analysis (analyze.ts) reasons about a field's lists of compiled entries. */
export interface FieldAnalysis<C> {
  /** Set operations on entries (`from` entries depend on the trust domain). */
  ops(trustDomain: string): EntryOps<C>;
  /** Keys that bucket entries so the analyzer compares only rules that can meet (entry-sets.ts
   *  "index keys" states what a key must agree with); none: the field is not indexed. */
  indexKeys?: readonly IndexKey<C>[];
  /** Why a rule whose negated list empties its positive list matches nothing; `coversAll`: the
   *  negated list has an entry that covers everything. */
  emptyMessage(coversAll: boolean): string;
  /** Fields that share a universe split it: each element belongs to exactly one field's part (a
   *  target is a name or an IP address), so a rule with two of their positive lists matches
   *  nothing, and a positive list leaves the other parts out. `as`: what an element of this part
   *  is. */
  part?: { universe: string; as: string };
  /** The field limits what a caller reaches: an allow rule for any identity needs one. */
  destination?: boolean;
  /** A note on what an entry (of either list) names; reported before duplicate entries. */
  entryWarning?(entry: C, raw: string, trustDomain: string): FieldWarning | null;
  /** A note on an entry of an enforced allow rule's positive list that grants too much. */
  grantWarning?(raw: string): FieldWarning | null;
  /** Notes on an enforced allow rule from the field that names the caller, with their paths. */
  allowRuleWarnings?(list: string[] | undefined, facts: AllowRuleFacts): Array<FieldWarning & { path: string }>;
}

/** How a field renders to Envoy's RBAC filter (inbound only): on the principal (who) or the
 *  permission (what) side of a policy, one entry at a time. */
export type FieldRbac<C> = {
  /** The entry in a branch of the unified matcher form: true / false when the branch decides
   *  it, else a predicate. */
  predicate(entry: C, branch: IdContext, trustDomain: string): boolean | XdsPredicate;
} & (
  | {
      side: 'principal';
      entry(entry: C, trustDomain: string): Principal;
      /** The identity the entry names exactly (a key of the matcher form's identity map), or null. */
      identity(entry: C): string | null;
    }
  | { side: 'permission'; entry(entry: C, trustDomain: string): Permission }
);

export interface MatchField<N extends string = string, M extends string = string, R extends Role = Role, T extends EntryType = EntryType, C = unknown> {
  name: N;
  /** The negated twin: matches when none of its entries does. */
  negation: M;
  roles: readonly R[];
  entryType: T;
  /** The schema definition of one entry (schema/policy.schema.json `definitions`). */
  schemaDefinition: string;
  /** The words for a value that definition rejects, or null for the generic words (or, for a
   *  value of the right type, for `parse`'s). */
  schemaMessage?(value: unknown): string | null;
  /** Checks and compiles one entry of the right JSON type; the error in the filter's words. */
  parse(entry: EntryValue<T>, place: ListPlace): C | { error: string };
  /** Does the request match the compiled entry? */
  matches(entry: C, request: RequestFacts): boolean;
  analysis: FieldAnalysis<C>;
  rbac?: FieldRbac<C>;
}

/** Keeps each field's literal names, roles and entry type for the rule types. */
function field<const N extends string, const M extends string, const R extends Role, const T extends EntryType, C>(
  spec: MatchField<N, M, R, T, C>,
): MatchField<N, M, R, T, C> {
  return spec;
}

const q = (s: string) => JSON.stringify(s);

const from = field({
  name: 'from',
  negation: 'notFrom',
  roles: ['inbound', 'egress'],
  entryType: 'string',
  schemaDefinition: 'fromEntry',
  parse: (entry) => parseFromEntry(entry),
  matches: (entry, request) => matchFrom(entry, request.identity, request.trustDomain),
  analysis: {
    ops: identityOps,
    indexKeys: [identityKey(2), identityKey(4)],
    emptyMessage: () => 'every identity in `from` is also excluded by `notFrom`',
    allowRuleWarnings(list, f) {
      const out: Array<FieldWarning & { path: string }> = [];
      if (list === undefined && f.sectionDefault === 'deny' && f.identitySource !== 'local') {
        out.push({ code: 'unauthenticated-allow', path: f.rule.path, message: `rule ${q(f.rule.name)} has no \`from\`: it admits unauthenticated callers too` });
      }
      const star = list?.indexOf('*') ?? -1;
      if (star >= 0 && f.unlimited) {
        out.push({ code: 'broad-identity', path: `${f.rule.path}.from[${star}]`, message: `rule ${q(f.rule.name)} lets any identity of ${f.trustDomain} ${f.reach}` });
      }
      return out;
    },
  },
  rbac: {
    side: 'principal',
    entry: identityPrincipal,
    predicate: identityPredicate,
    identity: (entry) => (entry.kind === 'exact' ? entry.id : null),
  },
});

const methods = field({
  name: 'methods',
  negation: 'notMethods',
  roles: ['inbound'],
  entryType: 'string',
  schemaDefinition: 'method',
  schemaMessage: (value) => (typeof value === 'string' ? methodError(value) : null),
  parse: (method): string => method,
  matches: (method, request) => request.method === method,
  analysis: {
    ops: () => valueOps,
    indexKeys: [valueKey],
    emptyMessage: () => 'every method in `methods` is also in `notMethods`',
  },
  rbac: { side: 'permission', entry: methodPermission, predicate: methodPredicate },
});

const paths = field({
  name: 'paths',
  negation: 'notPaths',
  roles: ['inbound'],
  entryType: 'string',
  schemaDefinition: 'pathPattern',
  parse(entry, place) {
    const pat = parsePathPattern(entry);
    return 'error' in pat ? pat : { pat, fold: pathFold(place.action, place.negated) };
  },
  matches: (entry, request) => matchPath(entry.pat, request.path!, { caseInsensitive: entry.fold }),
  analysis: {
    ops: () => pathOps,
    indexKeys: [pathKey(1), pathKey(2), pathKey(3)],
    emptyMessage: (coversAll) => (coversAll ? '`notPaths` excludes every path' : 'every path in `paths` is also excluded by `notPaths`'),
    destination: true,
  },
  rbac: { side: 'permission', entry: pathPermission, predicate: pathPredicate },
});

const hosts = field({
  name: 'hosts',
  negation: 'notHosts',
  roles: ['egress'],
  entryType: 'string',
  schemaDefinition: 'hostPattern',
  parse: (entry) => parseHostPattern(entry),
  matches: (entry, request) => matchHost(entry, request.target!),
  analysis: {
    ops: () => hostOps,
    indexKeys: [hostKey(2), hostKey(3)],
    emptyMessage: () => 'every host in `hosts` is also excluded by `notHosts`',
    part: { universe: 'target', as: 'a name' },
    destination: true,
    grantWarning: (raw) =>
      /^\*\.[^.]+$/.test(raw) ? { code: 'broad-host', message: `${q(raw)} allows every name under the top-level domain ${q(raw.slice(2))}` } : null,
  },
});

const ports = field({
  name: 'ports',
  negation: 'notPorts',
  roles: ['egress'],
  entryType: 'integer',
  schemaDefinition: 'port',
  schemaMessage: (value) => (typeof value === 'number' ? 'port must be an integer 1..65535' : null),
  parse: (port): number => port,
  matches: (port, request) => (request.target as { port: number }).port === port,
  analysis: {
    ops: () => valueOps,
    indexKeys: [valueKey],
    emptyMessage: () => 'every port in `ports` is also in `notPorts`',
  },
});

const cidrs = field({
  name: 'cidrs',
  negation: 'notCidrs',
  roles: ['egress'],
  entryType: 'string',
  schemaDefinition: 'cidr',
  parse: (entry) => parseCidr(entry),
  matches: (entry, request) => matchCidr(entry, request.target!),
  analysis: {
    ops: () => cidrOps,
    emptyMessage: () => 'every network in `cidrs` is also excluded by `notCidrs`',
    part: { universe: 'target', as: 'an IP address' },
    destination: true,
  },
});

/** The positive fields, in evaluation order; each is followed by its negation when evaluated. */
export const FIELDS = [from, methods, paths, hosts, ports, cidrs] as const;

type Field = (typeof FIELDS)[number];

/** A rule's lists in role R (every role: R = Role), as optional members. */
export type FieldLists<R extends Role> = {
  [F in Field as R extends F['roles'][number] ? F['name'] | F['negation'] : never]?: EntryValue<F['entryType']>[];
};

/** The name of a list: a field or its negation. */
export type ListName<R extends Role = Role> = keyof FieldLists<R>;

/** The fields of a role, in evaluation order. */
export function fieldsOf(role: Role): readonly MatchField[] {
  return (FIELDS as readonly MatchField[]).filter((f) => f.roles.includes(role));
}

/** One list of a rule: a field's positive list or its negation. */
export interface RuleList {
  field: MatchField;
  negated: boolean;
  name: ListName;
}

/** The lists of a role's rules, in evaluation order: each field, then its negation. */
export function listsOf(role: Role): RuleList[] {
  return fieldsOf(role).flatMap((field) => [false, true].map((negated) => ({ field, negated, name: (negated ? field.negation : field.name) as ListName })));
}

export function listNames<R extends Role>(role: R): ListName<R>[] {
  return listsOf(role).map((l) => l.name) as ListName<R>[];
}

/** A rule's list by name (undefined: omitted). */
export function listOf(rule: object, name: string): unknown[] | undefined {
  return (rule as Record<string, unknown[] | undefined>)[name];
}

export function isEntryError(r: unknown): r is { error: string } {
  return typeof r === 'object' && r !== null && 'error' in r;
}

/** Compiles a list of a VALID policy (validate.ts first): throws on an invalid entry. */
export function compileList(f: MatchField, list: unknown[], place: ListPlace): unknown[] {
  return list.map((entry) => {
    const r = f.parse(entry as never, place);
    if (isEntryError(r)) throw new Error(`invalid ${place.negated ? f.negation : f.name} entry ${JSON.stringify(entry)}: ${r.error} (validate first)`);
    return r;
  });
}
