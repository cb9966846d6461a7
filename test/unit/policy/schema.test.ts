/**
 * schema/policy.schema.json: a valid draft-07 schema that accepts the example, rejects unknown
 * fields everywhere, describes every field, and whose string patterns say exactly what the
 * validators say (checked on the shared vectors and on random strings) — an editor using the
 * schema never flags a valid policy, and flags what it can of an invalid one.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import Ajv from 'ajv';
import fc from 'fast-check';
import schema from '../../../schema/policy.schema.json';
import { compilePolicyFile } from '../../../harness/policy/compile';
import { cidrError, fromEntryError, hostPatternError, pathPatternError } from '../../../harness/policy/patterns';
import { validateSpiffeId, validateTrustDomain } from '../../../harness/policy/spiffe';

const ROOT = path.resolve(__dirname, '../../..');
const vectors = <T>(name: string): T => JSON.parse(fs.readFileSync(path.join(ROOT, 'test/vectors', name), 'utf8')) as T;
const defs = (schema as unknown as { definitions: Record<string, { pattern?: string; maxLength?: number }> }).definitions;
const ajv = new Ajv({ allErrors: true, strict: true, strictRequired: false });
const validate = ajv.compile(schema);

/** What ajv does with a `pattern` (+ maxLength, counted in code points). */
function schemaAccepts(def: string, s: string): boolean {
  const d = defs[def];
  if (d.maxLength !== undefined && Array.from(s).length > d.maxLength) return false;
  return new RegExp(d.pattern!, 'u').test(s);
}

describe('the schema', () => {
  it('compiles under ajv strict mode (draft-07)', () => {
    expect((schema as { $schema: string }).$schema).toBe('http://json-schema.org/draft-07/schema#');
    expect(typeof validate).toBe('function');
  });

  it('accepts the shop example', () => {
    const r = compilePolicyFile(path.join(ROOT, 'examples/shop/policy.yaml'));
    expect(validate(JSON.parse(r.json))).toBe(true);
  });

  it.each([
    ['top level', { trustDomain: 'example.org', extra: 1 }, '', 'extra'],
    ['identity', { trustDomain: 'example.org', identity: { from: 'peer-certificate', proxies: [] } }, '/identity', 'proxies'],
    ['inbound section', { trustDomain: 'example.org', inbound: { rules: [], fallback: 'deny' } }, '/inbound', 'fallback'],
    ['egress section', { trustDomain: 'example.org', egress: { rule: [] } }, '/egress', 'rule'],
    ['inbound rule', { trustDomain: 'example.org', inbound: { rules: [{ name: 'a', path: ['/a'] }] } }, '/inbound/rules/0', 'path'],
    ['inbound rule with an egress field', { trustDomain: 'example.org', inbound: { rules: [{ name: 'a', hosts: ['a.com'] }] } }, '/inbound/rules/0', 'hosts'],
    ['egress rule with an inbound field', { trustDomain: 'example.org', egress: { rules: [{ name: 'a', methods: ['GET'] }] } }, '/egress/rules/0', 'methods'],
  ])('rejects an unknown field: %s', (_n, doc, at, field) => {
    expect(validate(doc)).toBe(false);
    expect(validate.errors).toEqual([expect.objectContaining({ keyword: 'additionalProperties', instancePath: at, params: { additionalProperty: field } })]);
  });

  it.each([
    ['xfcc without trustedProxies', { from: 'xfcc' }],
    ['trustedProxies without xfcc', { trustedProxies: ['spiffe://example.org/gw'] }],
    ['local without id', { from: 'local' }],
    ['id without local', { from: 'xfcc', trustedProxies: ['spiffe://example.org/gw'], id: 'spiffe://example.org/x' }],
  ])('tells editors about identity combinations: %s', (_n, identity) => {
    expect(validate({ trustDomain: 'example.org', identity })).toBe(false);
  });

  it('describes every field', () => {
    const missing: string[] = [];
    const walk = (node: unknown, where: string) => {
      if (node === null || typeof node !== 'object') return;
      const n = node as Record<string, unknown>;
      if (n.properties) {
        for (const [k, v] of Object.entries(n.properties as Record<string, Record<string, unknown>>)) {
          const ref = typeof v.$ref === 'string' ? defs[(v.$ref as string).split('/').pop()!] as Record<string, unknown> : undefined;
          if (typeof v.description !== 'string' && typeof ref?.description !== 'string') missing.push(`${where}.${k}`);
          walk(v, `${where}.${k}`);
        }
      }
      for (const [k, v] of Object.entries(n.definitions ?? {})) {
        if (typeof (v as Record<string, unknown>).description !== 'string') missing.push(`definitions.${k}`);
        walk(v, `definitions.${k}`);
      }
    };
    walk(schema, '(root)');
    expect(missing).toEqual([]);
  });
});

describe('schema patterns agree with the validators', () => {
  const ids = vectors<Array<{ id: string; error: string | null }>>('spiffe-ids.json').map((v) => v.id);
  const paths = vectors<{ patterns: Array<{ pattern: string }> }>('paths.json').patterns.map((p) => p.pattern);
  const hosts = vectors<{ patterns: Array<{ pattern: string }>; cidrs: Array<{ cidr: string }> }>('hosts.json');

  it('spiffeId, on spiffe-ids.json', () => {
    for (const id of ids) expect([id, schemaAccepts('spiffeId', id)]).toEqual([id, validateSpiffeId(id) === null]);
  });

  it('fromEntry, on spiffe-ids.json as exact IDs and as prefixes, and "*"', () => {
    for (const e of ['*', '**', '/*', ...ids, ...ids.map((id) => `${id}/*`)]) {
      expect([e, schemaAccepts('fromEntry', e)]).toEqual([e, fromEntryError(e) === null]);
    }
  });

  it('pathPattern, on paths.json', () => {
    for (const p of paths) expect([p, schemaAccepts('pathPattern', p)]).toEqual([p, pathPatternError(p) === null]);
  });

  it('hostPattern, on hosts.json', () => {
    for (const { pattern } of hosts.patterns) {
      expect([pattern, schemaAccepts('hostPattern', pattern)]).toEqual([pattern, hostPatternError(pattern) === null]);
    }
  });

  it('cidr (an over-approximation: host bits need the validator), on hosts.json', () => {
    for (const { cidr } of hosts.cidrs) if (cidrError(cidr) === null) expect([cidr, schemaAccepts('cidr', cidr)]).toEqual([cidr, true]);
    expect(schemaAccepts('cidr', '10.0.0.0/33')).toBe(false);
    expect(schemaAccepts('cidr', '010.0.0.0/8')).toBe(false);
  });

  it('trustDomain', () => {
    for (const td of ['example.org', 'Example.org', '', 'a'.repeat(255), 'a'.repeat(256), 'ex ample', 'a_b-c.d']) {
      expect([td, schemaAccepts('trustDomain', td)]).toEqual([td, validateTrustDomain(td) === null]);
    }
  });

  const chars = (alphabet: string, maxLength = 24) => fc.array(fc.constantFrom(...alphabet.split('')), { maxLength }).map((a) => a.join(''));
  it('pathPattern, on random strings', () => {
    fc.assert(
      fc.property(chars('/ab.*{}%?#A~:@-_ '), (p) => schemaAccepts('pathPattern', p) === (pathPatternError(p) === null)),
      { numRuns: 20000 },
    );
  });

  it('hostPattern, on random strings', () => {
    fc.assert(
      fc.property(chars('ab0x9.-*A_:', 20), (h) => schemaAccepts('hostPattern', h) === (hostPatternError(h) === null)),
      { numRuns: 20000 },
    );
  });

  it('fromEntry, on random strings after spiffe://', () => {
    fc.assert(
      fc.property(chars('ab/.*-_A ', 16), fc.boolean(), (rest, scheme) => {
        const e = (scheme ? 'spiffe://' : '') + rest;
        return schemaAccepts('fromEntry', e) === (fromEntryError(e) === null);
      }),
      { numRuns: 20000 },
    );
  });
});
