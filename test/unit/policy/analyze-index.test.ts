/**
 * The analyzer's index (harness/policy/analyze-index.ts) changes how many pairs it compares,
 * never what it finds: on random policies its pairwise warnings equal those of the straightforward
 * loop over every pair (kept here as the reference), and every index key agrees with its field's
 * set operations on every pair of sample entries (the contract in entry-sets.ts).
 */
import fc from 'fast-check';
import { analyzeCompiled } from '../../../harness/policy/analyze';
import { compilePolicy } from '../../../harness/policy/compile';
import { FIELDS, isEntryError, listNames, listOf, type MatchField } from '../../../harness/policy/fields';
import type { NormalizedRule, NormalizedSection, Role } from '../../../harness/policy/model';
import { dimensionsOf, disjoint, emptyReason, ruleSets, subset } from '../../../harness/policy/rule-sets';
import { dimEqual } from '../../../harness/policy/sets';
import { largePolicy } from '../../../bench/validate-policies';
import { clean, subList } from './analyze-arbitraries';

const TD = 'example.org';
const ID_ENTRIES = [
  '*', 'spiffe://example.org/ns/*', 'spiffe://example.org/ns/a/*', 'spiffe://example.org/ns/a/sa/*', 'spiffe://example.org/ns/a/sa/x', 'spiffe://example.org/ns/a/sa/x/y/z',
  'spiffe://example.org/ns/b/sa/x', 'spiffe://example.org/a', 'spiffe://example.org/a/b', 'spiffe://other.org/ns/a/*', 'spiffe://other.org/ns/a/sa/x',
];
const METHODS = ['GET', 'POST', 'DELETE'];
const PATH_PATTERNS = [
  '*', '/*', '/', '/a', '/A', '/a/*', '/a/b', '/a/B', '/a/b/*', '/A/*', '*.json', '*b', '/a/{*}', '/a/{*}/b', '/{*}/b', '/{*}', '/a/b/{*}',
  '/a/b/c', '/a/B/c/*', '/b/*', '/a/b/{*}/{**}', '/a/{**}', '/ab', '/a/b/c/d', '/a/b/c/*', '/a;x', '/a;x/*',
];
const HOST_PATTERNS = ['a.com', 'b.a.com', 'c.b.a.com', '*.a.com', '*.b.a.com', '*.com', 'x.org', '*.x.org', 'localhost'];
const CIDRS = ['10.0.0.0/8', '10.1.0.0/16', '0.0.0.0/0', '::/0', '192.168.0.0/16'];
const PORTS = [80, 443, 8080];

const ruleBase = { action: fc.constantFrom('allow', 'deny'), mode: fc.constantFrom('enforce', 'enforce', 'enforce', 'audit'), from: subList(ID_ENTRIES, 2), notFrom: subList(ID_ENTRIES, 2) };
const inboundRule = fc.record({ ...ruleBase, methods: subList(METHODS, 2), notMethods: subList(METHODS, 1), paths: subList(PATH_PATTERNS), notPaths: subList(PATH_PATTERNS, 2) });
const egressRule = fc.record({
  ...ruleBase, hosts: subList(HOST_PATTERNS), notHosts: subList(HOST_PATTERNS, 2), ports: subList(PORTS, 2), notPorts: subList(PORTS, 1), cidrs: subList(CIDRS, 2), notCidrs: subList(CIDRS, 1),
});
// few distinct rules, so that copies, covers and overlaps are common
const rulesOf = (rule: fc.Arbitrary<Record<string, unknown>>) =>
  fc.array(rule, { minLength: 1, maxLength: 8 }).chain((pool) => fc.array(fc.constantFrom(...pool), { minLength: 1, maxLength: 24 }));

const PAIR_CODES = new Set(['duplicate-rule', 'shadowed-by-deny', 'unreachable', 'allow-deny-overlap']);

/** The pairwise part of the analysis as it was before the index: every rule against every rule. */
function referencePairs(section: NormalizedSection, trustDomain: string): string[] {
  const out: string[] = [];
  const warn = (code: string, path: string, message: string) => out.push(`${code} ${path}: ${message}`);
  const role = section.role;
  const q = (s: string) => JSON.stringify(s);
  const ref = (r: NormalizedRule) => `${r.mode === 'audit' ? 'audit ' : ''}${r.action} rule ${q(r.name)} (${r.path})`;
  const same = (a: NormalizedRule, b: NormalizedRule) => listNames(role).every((f) => dimEqual(listOf(a, f), listOf(b, f)));
  const dims = dimensionsOf(role);
  const sets = section.rules.map((r) => ruleSets(r, dims, trustDomain));
  const live = section.rules.filter((r) => emptyReason(sets[r.index]) === null);
  const enforcedDeny = live.filter((r) => r.mode === 'enforce' && r.action === 'deny');
  const enforcedAllow = live.filter((r) => r.mode === 'enforce' && r.action === 'allow');
  const reported = new Set<number>();
  for (const r of live) {
    const dup = live.find((o) => o.index < r.index && same(o, r));
    if (dup) {
      const tail = dup.action !== r.action && dup.mode === 'enforce' && r.mode === 'enforce' ? '; the deny rule decides' : '';
      warn('duplicate-rule', r.path, `rule ${q(r.name)} has the same matchers as ${ref(dup)}${tail}`);
      reported.add(r.index);
    }
  }
  for (const r of live) {
    if (reported.has(r.index) || (r.mode === 'audit' && r.action === 'deny')) continue;
    const denies = enforcedDeny.filter((d) => d.index !== r.index && (r.action === 'allow' || d.index < r.index));
    const shadow = denies.find((d) => subset(sets[r.index], sets[d.index]));
    if (shadow) {
      const msg = r.action === 'allow'
        ? r.mode === 'audit'
          ? `audit rule ${q(r.name)} could never allow anything: every request it matches is denied by ${ref(shadow)}`
          : `rule ${q(r.name)} can never allow anything: every request it matches is denied by ${ref(shadow)}`
        : `rule ${q(r.name)} never decides: the earlier ${ref(shadow)} matches every request it matches`;
      warn('shadowed-by-deny', r.path, msg);
      continue;
    }
    if (r.mode === 'enforce' && r.action === 'allow') {
      const first = enforcedAllow.find((a) => a.index < r.index && subset(sets[r.index], sets[a.index]));
      if (first) {
        warn('unreachable', r.path, `rule ${q(r.name)} is unreachable: the earlier ${ref(first)} allows every request it matches first`);
        continue;
      }
      for (const d of enforcedDeny) {
        if (!disjoint(sets[r.index], sets[d.index])) warn('allow-deny-overlap', r.path, `rule ${q(r.name)} overlaps ${ref(d)}: requests matching both are denied`);
      }
    }
  }
  return out;
}

function checkSameFindings(role: Role, rules: Record<string, unknown>[]): void {
  const doc = { trustDomain: TD, federatesWith: ['other.org'], [role]: { rules: rules.map((r, i) => clean(r, `r${i}`)) } };
  const r = compilePolicy(doc, 'p');
  expect(r.errors).toEqual([]);
  const indexed = analyzeCompiled(r).filter((w) => PAIR_CODES.has(w.code)).map((w) => `${w.code} ${w.message}`);
  expect(indexed).toEqual(referencePairs(r.normalized![role]!, TD));
}

describe('the index finds what comparing every pair finds', () => {
  it('on the generated 600-rule policy of the bench (bench/validate-policies.ts), findings of every pair kind', () => {
    const r = compilePolicy(largePolicy(600), 'p');
    expect(r.errors).toEqual([]);
    const indexed = analyzeCompiled(r).filter((w) => PAIR_CODES.has(w.code));
    expect(new Set(indexed.map((w) => w.code))).toEqual(PAIR_CODES);
    const reference = (['inbound', 'egress'] as const).flatMap((role) => referencePairs(r.normalized![role]!, TD));
    expect(indexed.map((w) => `${w.code} ${w.message}`).sort()).toEqual(reference.sort());
  });
  it('inbound', () => {
    fc.assert(fc.property(rulesOf(inboundRule), (rules) => checkSameFindings('inbound', rules)), { numRuns: 300 });
  });
  it('egress', () => {
    fc.assert(fc.property(rulesOf(egressRule), (rules) => checkSameFindings('egress', rules)), { numRuns: 600 });
  });
});

// ---- the key contract ---------------------------------------------------------------------------

const SAMPLES: Record<string, readonly (string | number)[]> = { from: ID_ENTRIES, methods: METHODS, paths: PATH_PATTERNS, hosts: HOST_PATTERNS, ports: PORTS, cidrs: CIDRS };

describe.each((FIELDS as readonly MatchField[]).filter((f) => f.analysis.indexKeys))('index keys of $name agree with its set operations', (field) => {
  const ops = field.analysis.ops(TD);
  // both foldings of path entries (a deny rule's paths fold case, an allow rule's do not)
  const entries = [false, true].flatMap((negated) => SAMPLES[field.name].map((raw) => ({ raw, e: field.parse(raw as never, { action: 'allow', negated }) })));
  it('the samples are valid entries', () => expect(entries.filter((x) => isEntryError(x.e)).map((x) => x.raw)).toEqual([]));
  it.each(field.analysis.indexKeys!.map((key, depth) => [depth, key] as const))('key %d', (_depth, key) => {
    const broken: string[] = [];
    for (const a of entries) {
      for (const b of entries) {
        const [ka, kb] = [key(a.e as never), key(b.e as never)];
        const pair = `${JSON.stringify(a.raw)} (${ka}) / ${JSON.stringify(b.raw)} (${kb})`;
        if (ka !== null && kb !== null && ka !== kb && !ops.disjoint(a.e, b.e)) broken.push(`different keys, not disjoint: ${pair}`);
        if (kb !== null && ops.covers(b.e, a.e) && ka !== kb) broken.push(`covered across keys: ${pair}`);
      }
    }
    expect(broken).toEqual([]);
  });
});
