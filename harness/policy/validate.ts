/**
 * Policy validation: the JSON schema (schema/policy.schema.json, checked with ajv, all errors)
 * plus what a schema cannot say or cannot say precisely — SPIFFE ID rules with their error codes,
 * `from` prefixes, path and host pattern rules, CIDR host bits, unique rule names, and the
 * `identity` combinations. Every problem is reported, each with its JSON field path and, for
 * value problems, the value; the words are the filter's (assembly/policy/config.ts), so
 * `meshgate validate` and a rejected `proxy_on_configure` read the same:
 *
 *   inbound.rules[2].from[0]: trust domain has a character outside [a-z0-9._-]: "spiffe://Example.ORG/x"
 *
 * validatePolicyValue() gives the problems of a plain value without positions (the filter's view);
 * validateSource() places them in the YAML (`FILE:LINE:COL`), sorted by position.
 */
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import schema from '../../schema/policy.schema.json';
import { quoteValue, sortDiagnostics, type Diagnostic } from './diagnostics';
import { FIELDS, isEntryError, listNames, listOf, listsOf, type MatchField } from './fields';
import { EGRESS_RULE_OPTIONS, type Role } from './model';
import { formatPath, type PathSegment, type PolicySource } from './source';
import { nearest } from './did-you-mean';
import { pathPatternHint } from './patterns';
import { spiffeErrorMessage, trustDomainOf, validateSpiffeId, validateTrustDomain } from './spiffe';

/** A problem in the document; `at` says which part of the source it points at. */
export interface Problem {
  path: string;
  /** The whole message, path first. */
  message: string;
  /** `key`: the member's key (unknown or duplicate fields); `value`: the value; a missing field
   *  points at its parent (the path does not exist). */
  at: 'key' | 'value';
  /** A suggestion for the fix (`did you mean "methods"?`), kept apart from the message, which
   *  is the filter's own words (the differential tests compare messages). */
  hint?: string;
}

export interface ValidateOptions {
  /** The filter the document is for: its section is then required (`inbound: required by the
   *  meshgate_inbound filter`). Without a role a document with either section (or none) is valid. */
  role?: Role;
  /** For the network filter meshgate_egress_sni (role egress): a TCP connection has no request
   *  headers, so `identity.from: xfcc` is refused. */
  connection?: boolean;
}

let compiled: ValidateFunction | undefined;
let definitionNames: Map<object, string> | undefined;

/** The ajv validator for schema/policy.schema.json (compiled once). */
export function schemaValidator(): ValidateFunction {
  if (!compiled) {
    const ajv = new Ajv({ allErrors: true, verbose: true, strictTypes: true, strictTuples: true });
    compiled = ajv.compile(schema);
    const defs = (schema as { definitions: Record<string, object> }).definitions;
    definitionNames = new Map(Object.entries(defs).map(([name, def]) => [def, name]));
  }
  return compiled;
}

/** The published schema (for `meshgate schema` and editors). */
export const policySchema: object = schema;

const ROLE_FIELDS: Record<Role, ReadonlySet<string>> = {
  inbound: new Set(listNames('inbound')),
  egress: new Set(listNames('egress')),
};

/** The field whose list entries a schema definition describes. */
const FIELD_OF_DEFINITION = new Map<string, MatchField>((FIELDS as readonly MatchField[]).map((f) => [f.schemaDefinition, f]));

function kindName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  switch (typeof v) {
    case 'boolean':
      return 'a boolean';
    case 'number':
      return 'a number';
    case 'string':
      return 'a string';
    case 'object':
      return 'an object';
  }
  return typeof v;
}

const TYPE_WORDS: Record<string, string> = {
  string: 'a string',
  array: 'a list',
  object: 'an object',
  integer: 'a number',
  number: 'a number',
  boolean: 'a boolean',
};

function choices(options: readonly unknown[]): string {
  const q = options.map((o) => JSON.stringify(o));
  return q.length <= 1 ? q.join('') : `${q.slice(0, -1).join(', ')} or ${q[q.length - 1]}`;
}

/** JSON pointer (`/inbound/rules/0`) → path segments, numbers where the value is a list. */
function pointerSegments(pointer: string, root: unknown): PathSegment[] {
  if (pointer === '') return [];
  const segs: PathSegment[] = [];
  let v: unknown = root;
  for (const raw of pointer.slice(1).split('/')) {
    const s = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(v)) {
      segs.push(Number(s));
      v = v[Number(s)];
    } else {
      segs.push(s);
      v = v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[s] : undefined;
    }
  }
  return segs;
}

/** One ajv error in meshgate's words, or null when a semantic check says it better. */
function schemaProblem(e: ErrorObject, root: unknown): Problem | null {
  if (e.keyword === 'if' || /\/(then|else|not)\//.test(e.schemaPath) || /\/(then|else|not)$/.test(e.schemaPath)) return null;
  const segs = pointerSegments(e.instancePath, root);
  const path = formatPath(segs);
  const def = definitionNames?.get(e.parentSchema as object);
  const value = e.data;
  const p = (where: string, message: string, at: Problem['at'] = 'value'): Problem => ({ path: where, message: `${where}: ${message}`, at });
  const entryMessage = def === undefined ? null : FIELD_OF_DEFINITION.get(def)?.schemaMessage?.(value);
  if (entryMessage) return p(path, `${entryMessage}: ${quoteValue(value)}`);
  switch (e.keyword) {
    case 'type': {
      const want = TYPE_WORDS[String((e.params as { type: string }).type)] ?? String((e.params as { type: string }).type);
      return p(path, `must be ${want}, got ${kindName(value)}`);
    }
    case 'additionalProperties': {
      const field = String((e.params as { additionalProperty: string }).additionalProperty);
      const where = formatPath([...segs, field]);
      if (def === 'inboundRule' && ROLE_FIELDS.egress.has(field)) return p(where, `unknown field (${field} is an egress field)`, 'key');
      if (def === 'inboundRule' && (EGRESS_RULE_OPTIONS as readonly string[]).includes(field)) return p(where, `unknown field (${field} is an egress rule option)`, 'key');
      if (def === 'egressRule' && ROLE_FIELDS.inbound.has(field)) return p(where, `unknown field (${field} is an inbound field)`, 'key');
      const known = Object.keys((e.parentSchema as { properties?: Record<string, unknown> }).properties ?? {});
      const near = nearest(field, known);
      return { ...p(where, 'unknown field', 'key'), ...(near !== undefined ? { hint: `did you mean "${near}"?` } : {}) };
    }
    case 'required':
      return p(formatPath([...segs, String((e.params as { missingProperty: string }).missingProperty)]), 'required');
    case 'enum':
      if (typeof value !== 'string') return null; // the type error says it
      return p(path, `must be ${choices((e.params as { allowedValues: unknown[] }).allowedValues)}: ${quoteValue(value)}`);
    case 'minItems':
      return p(path, 'must not be empty');
    case 'pattern':
    case 'minLength':
    case 'maxLength':
      if (def === 'ruleName') return p(path, `rule name must match [A-Za-z0-9_-]{1,64}: ${quoteValue(value)}`);
      // trust domains, SPIFFE IDs and list entries: the semantic checks below report these with
      // the precise rule that failed (fields.ts parse)
      return null;
  }
  return p(path, `${e.message ?? e.keyword}`);
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** The checks a schema cannot express; values of the wrong type are skipped (the schema reports them). */
function semanticProblems(doc: unknown, options: ValidateOptions): Problem[] {
  const out: Problem[] = [];
  const add = (path: string, message: string, value?: unknown, at: Problem['at'] = 'value') =>
    out.push({ path, message: `${path}: ${message}${value === undefined ? '' : `: ${quoteValue(value)}`}`, at });
  if (!isObject(doc)) return out;

  const ownValid = typeof doc.trustDomain === 'string' && validateTrustDomain(doc.trustDomain) === null;
  if (typeof doc.trustDomain === 'string' && !ownValid) add('trustDomain', spiffeErrorMessage(validateTrustDomain(doc.trustDomain)!), doc.trustDomain);

  // federatesWith: valid, distinct names (trustDomain itself is reported with the named IDs below)
  const federated = new Map<string, number>();
  if (Array.isArray(doc.federatesWith)) {
    doc.federatesWith.forEach((td, i) => {
      if (typeof td !== 'string') return;
      const code = validateTrustDomain(td);
      const first = federated.get(td);
      if (code) add(`federatesWith[${i}]`, spiffeErrorMessage(code), td);
      else if (first !== undefined) add(`federatesWith[${i}]`, `duplicate trust domain (also federatesWith[${first}])`, td);
      else federated.set(td, i);
    });
  }
  /** Valid SPIFFE IDs (or `from` prefixes) the document names: checked against the trust domains. */
  const namedIds: Array<[path: string, id: string]> = [];

  const identity = doc.identity;
  if (isObject(identity)) {
    const from = identity.from;
    const proxies = identity.trustedProxies;
    if (Array.isArray(proxies)) {
      proxies.forEach((id, i) => {
        if (typeof id !== 'string') return;
        const code = validateSpiffeId(id);
        if (code) add(`identity.trustedProxies[${i}]`, spiffeErrorMessage(code), id);
        else namedIds.push([`identity.trustedProxies[${i}]`, id]);
      });
    }
    if (typeof identity.id === 'string') {
      const code = validateSpiffeId(identity.id);
      if (code) add('identity.id', spiffeErrorMessage(code), identity.id);
      else namedIds.push(['identity.id', identity.id]);
    }
    if (options.connection && from === 'xfcc') {
      add('identity.from', 'not available to a network filter (meshgate_egress_sni): a TCP connection has no request headers; use peer-certificate or local', from);
    }
    const source = from === undefined ? 'peer-certificate' : from;
    if (source === 'peer-certificate' || source === 'xfcc' || source === 'local') {
      const hasProxies = 'trustedProxies' in identity;
      const hasId = 'id' in identity;
      if (source === 'xfcc' && !hasProxies) add('identity.trustedProxies', 'required with identity.from: xfcc');
      if (source !== 'xfcc' && hasProxies) add('identity.trustedProxies', 'only allowed with identity.from: xfcc', undefined, 'key');
      if (source === 'local' && !hasId) add('identity.id', 'required with identity.from: local');
      if (source !== 'local' && hasId) add('identity.id', 'only allowed with identity.from: local', undefined, 'key');
    }
  }

  for (const role of ['inbound', 'egress'] as const) {
    const section = doc[role];
    if (section === undefined) {
      if (options.role === role) add(role, `required by the meshgate_${role} filter`);
      continue;
    }
    if (!isObject(section) || !Array.isArray(section.rules)) continue;
    const names = new Map<string, number>();
    section.rules.forEach((rule, i) => {
      if (!isObject(rule)) return;
      const rp = `${role}.rules[${i}]`;
      if (typeof rule.name === 'string' && /^[A-Za-z0-9_-]{1,64}$/.test(rule.name)) {
        const first = names.get(rule.name);
        if (first !== undefined) add(`${rp}.name`, `duplicate rule name (also rules[${first}])`, rule.name);
        else names.set(rule.name, i);
      }
      const action = rule.action === 'deny' ? 'deny' : 'allow';
      for (const { field, negated, name } of listsOf(role)) {
        const list = listOf(rule, name);
        if (!Array.isArray(list)) continue;
        list.forEach((entry, k) => {
          if (typeof entry !== (field.entryType === 'integer' ? 'number' : 'string')) return;
          const r = field.parse(entry as never, { action, negated });
          if (isEntryError(r)) {
            add(`${rp}.${name}[${k}]`, r.error, entry);
            const hint = field.name === 'paths' ? pathPatternHint(entry as string) : undefined;
            if (hint !== undefined) out[out.length - 1].hint = hint;
          }
          else if (field.name === 'from' && entry !== '*') namedIds.push([`${rp}.${name}[${k}]`, entry as string]);
        });
      }
      if (role === 'egress') privateAddressProblems(rule, rp, action, add);
    });
  }

  if (ownValid) {
    const own = doc.trustDomain as string;
    const i = federated.get(own);
    if (i !== undefined) add(`federatesWith[${i}]`, "is the policy's own trustDomain", own);
    for (const [path, id] of namedIds) {
      const td = trustDomainOf(id);
      if (td !== own && !federated.has(td)) add(path, `trust domain is neither trustDomain nor in federatesWith (add ${JSON.stringify(td)} to federatesWith)`, id);
    }
  }
  return out;
}

/** `privateAddresses` (egress): entries checked like `cidrs` entries; only on allow rules. */
function privateAddressProblems(rule: Record<string, unknown>, rp: string, action: 'allow' | 'deny', add: (path: string, message: string, value?: unknown) => void): void {
  if (!('privateAddresses' in rule)) return;
  const list = rule.privateAddresses;
  if (Array.isArray(list)) {
    list.forEach((entry, k) => {
      if (typeof entry !== 'string') return;
      const r = CIDRS.parse(entry as never, { action, negated: false });
      if (isEntryError(r)) add(`${rp}.privateAddresses[${k}]`, r.error, entry);
    });
  }
  if (action === 'deny') add(`${rp}.privateAddresses`, 'only allowed on allow rules (the networks the names this rule allows may resolve to)');
}

/** The `cidrs` field: `privateAddresses` entries follow its rules. */
const CIDRS = (FIELDS as readonly MatchField[]).find((f) => f.name === 'cidrs')!;

/**
 * All problems of a policy value (what JSON.parse of the plugin configuration gives), without
 * positions, in document order as far as the checks allow. Empty when valid.
 */
export function validatePolicyValue(doc: unknown, options: ValidateOptions = {}): Problem[] {
  const validate = schemaValidator();
  const problems: Problem[] = [];
  if (!validate(doc)) {
    const typed = new Set<string>();
    const list = (validate.errors ?? []).map((e) => schemaProblem(e, doc)).filter((x): x is Problem => x !== null);
    for (const pr of list) if (/: must be (a|an) [a-z]+, got /.test(pr.message)) typed.add(pr.path);
    for (const pr of list) {
      // a value of the wrong type gets one message, not one per keyword it also fails
      if (typed.has(pr.path) && !/: must be (a|an) [a-z]+, got /.test(pr.message)) continue;
      problems.push(pr);
    }
  }
  problems.push(...semanticProblems(doc, options));
  const seen = new Set<string>();
  return problems.filter((pr) => (seen.has(pr.message) ? false : (seen.add(pr.message), true)));
}

/** Validates a parsed source: its YAML-level errors, or else every policy problem, positioned and
 *  sorted by position. Empty when valid. */
export function validateSource(src: PolicySource, options: ValidateOptions = {}): Diagnostic[] {
  if (src.errors.length > 0) return sortDiagnostics([...src.errors]);
  const diags = validatePolicyValue(src.value, options).map((pr) => {
    const { line, col } = src.locate(pr.path, pr.at);
    return { file: src.file, line, col, path: pr.path, message: pr.message, ...(pr.hint !== undefined ? { hint: pr.hint } : {}) };
  });
  return sortDiagnostics(diags);
}
