/**
 * The field table (harness/policy/fields.ts) against schema/policy.schema.json: both rule
 * definitions list exactly the table's fields of their role, in evaluation order, each field and
 * its negation with the same list definition, whose entries are the definition and JSON type the
 * table names. Then what the table drives, once per field: an omitted list matches anything, a
 * list matches when an entry does, and the negation when none does.
 */
import schema from '../../../schema/policy.schema.json';
import { compilePolicy } from '../../../harness/policy/compile';
import { ruleMatches } from '../../../harness/policy/evaluate';
import { FIELDS, fieldsOf, listNames, type MatchField } from '../../../harness/policy/fields';
import { EGRESS_RULE_OPTIONS, type Role } from '../../../harness/policy/model';
import { parseAuthority } from '../../../harness/policy/patterns';
import { policyFields } from '../wasm/testkit';

interface Definition {
  type?: string;
  $ref?: string;
  items?: { $ref?: string };
  properties?: Record<string, Definition>;
}
const defs = (schema as unknown as { definitions: Record<string, Definition> }).definitions;
const RULE_DEFINITION: Record<Role, string> = { inbound: 'inboundRule', egress: 'egressRule' };
/** A rule's keys that are not match fields: every rule's, and egress rule options. */
const RULE_KEYS: Record<Role, string[]> = { inbound: ['name', 'action', 'mode'], egress: ['name', 'action', 'mode', ...EGRESS_RULE_OPTIONS] };
const ROLES: Role[] = ['inbound', 'egress'];
const ref = (name: string) => `#/definitions/${name}`;

describe('FIELDS and the schema', () => {
  it('names every field and negation once', () => {
    const names = FIELDS.flatMap((f) => [f.name, f.negation]);
    expect(new Set(names).size).toBe(names.length);
    for (const f of FIELDS) expect(f.roles.length).toBeGreaterThan(0);
  });

  it.each(ROLES)('%s rules: the schema lists exactly the fields of the role, in evaluation order', (role) => {
    const props = Object.keys(defs[RULE_DEFINITION[role]].properties!).filter((k) => !RULE_KEYS[role].includes(k));
    expect(props).toEqual(listNames(role));
  });

  it.each(ROLES)('%s rules: the schema lists the rule keys that are not fields (egress: the model\'s EGRESS_RULE_OPTIONS)', (role) => {
    const props = Object.keys(defs[RULE_DEFINITION[role]].properties!).filter((k) => !(listNames(role) as string[]).includes(k));
    expect(props).toEqual(RULE_KEYS[role]);
  });

  const cases = ROLES.flatMap((role) => fieldsOf(role).map((f) => [role, f.name, f] as const));
  it.each(cases)('%s %s: both lists share a list definition of the entries the table names', (role, _name, f: MatchField) => {
    const props = defs[RULE_DEFINITION[role]].properties!;
    const list = props[f.name].$ref;
    expect(props[f.negation].$ref).toBe(list);
    const listDef = defs[list!.slice(ref('').length)];
    expect([listDef.type, listDef.items?.$ref]).toEqual(['array', ref(f.schemaDefinition)]);
    expect(defs[f.schemaDefinition].type ?? 'string').toBe(f.entryType);
  });
});

/** Per field: an entry a sample request matches, one it does not, and the request. */
const SAMPLES: Record<string, { role: Role; hit: unknown; miss: unknown; request: object }> = {
  from: { role: 'inbound', hit: 'spiffe://example.org/a', miss: 'spiffe://example.org/b', request: { identity: 'spiffe://example.org/a', method: 'GET', path: '/x' } },
  methods: { role: 'inbound', hit: 'GET', miss: 'POST', request: { identity: null, method: 'GET', path: '/x' } },
  paths: { role: 'inbound', hit: '/x', miss: '/y', request: { identity: null, method: 'GET', path: '/x' } },
  hosts: { role: 'egress', hit: 'api.example.com', miss: 'example.com', request: { identity: null, target: parseAuthority('api.example.com', { scheme: 'https', connect: false }) } },
  ports: { role: 'egress', hit: 443, miss: 80, request: { identity: null, target: parseAuthority('api.example.com', { scheme: 'https', connect: false }) } },
  cidrs: { role: 'egress', hit: '10.0.0.0/8', miss: '192.168.0.0/16', request: { identity: null, target: parseAuthority('10.1.2.3:443', { scheme: 'https', connect: false }) } },
};

describe('every field matches through the table', () => {
  it('has a sample for each field', () => {
    expect(Object.keys(SAMPLES).sort()).toEqual(FIELDS.map((f) => f.name).sort());
  });

  it.each(FIELDS.map((f) => [f.name, f] as const))('%s: omitted, matching and negated lists', (name, f) => {
    const { role, hit, miss, request } = SAMPLES[name];
    const matches = (lists: Record<string, unknown[]>) => {
      const r = compilePolicy({ trustDomain: 'example.org', [role]: { rules: [{ name: 'r', ...lists }] } }, 'inline');
      expect(r.errors).toEqual([]);
      const policy = r.normalized!;
      return ruleMatches(policy, role, policy[role]!.rules[0], request as Parameters<typeof ruleMatches>[3]);
    };
    expect([
      matches({}),
      matches({ [f.name]: [hit] }),
      matches({ [f.name]: [miss] }),
      matches({ [f.name]: [miss, hit] }),
      matches({ [f.negation]: [hit] }),
      matches({ [f.negation]: [miss] }),
    ]).toEqual([true, true, false, true, false, true]);
  });
});

describe('one field list in three places', () => {
  // The JSON Schema, the TypeScript table and the AssemblyScript table (as build/testkit.wasm
  // lists it) must name the same fields, negations and roles, in the same evaluation order: a
  // field added to one language only fails here.
  const wasm = policyFields();
  const ts = FIELDS.map((f) => ({ name: f.name, negation: f.negation, roles: [...f.roles] }));

  it('the TypeScript and AssemblyScript tables are identical', () => {
    expect(wasm.length).toBeGreaterThanOrEqual(6);
    expect(wasm).toEqual(ts);
  });

  it.each(ROLES)('%s: the schema lists what the AssemblyScript table lists for the role', (role) => {
    const props = Object.keys(defs[RULE_DEFINITION[role]].properties!).filter((k) => !RULE_KEYS[role].includes(k));
    const fromWasm = wasm.filter((f) => f.roles.includes(role)).flatMap((f) => [f.name, f.negation]);
    expect(props).toEqual(fromWasm);
  });
});
