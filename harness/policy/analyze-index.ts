/**
 * Which rules the pairwise checks of the analysis (analyze.ts) look at. Comparing every rule with
 * every other is quadratic (20,000 rules: minutes); instead a pool of rules (the enforced deny
 * rules, the enforced allow rules) is bucketed by the index keys of its fields' entries
 * (entry-sets.ts), and a rule is compared only with the pool rules that can cover it or meet it:
 * a superset of those, in pool order, so the checks that then run on them give exactly the
 * findings the full comparison gives (test/unit/policy/analyze-index.test.ts holds them to that).
 *
 * Per rule, every key function of every indexed field proposes candidates and the fewest win:
 *   may cover r  a pool rule whose list has an entry without a key or is omitted (`wild`), or
 *                whose entries share the key of one of r's live entries (an entry without a key
 *                is covered only by wild ones; r's omitted list only by wild ones, unless the
 *                field shares its universe with another: then r may lie in the other's part)
 *   may meet r   when r's list gives every entry a key: the wild rules and those sharing a key
 */
import type { IndexKey } from './entry-sets';
import type { MatchField } from './fields';
import type { FieldSets, RuleSets } from './rule-sets';

/** Each entry's key per key function, computed once for all the pools of a section. */
export class KeyCache {
  private readonly memo = new Map<IndexKey<unknown>, Map<unknown, string | null>>();

  keyer(key: IndexKey<unknown>): (entry: unknown) => string | null {
    let m = this.memo.get(key);
    if (!m) this.memo.set(key, (m = new Map()));
    const memo = m;
    return (entry) => {
      let k = memo.get(entry);
      if (k === undefined) memo.set(entry, (k = key(entry)));
      return k;
    };
  }
}

/** One key function of one field over a pool: positions in the pool, ascending. */
interface KeyIndex {
  field: MatchField;
  key: (entry: unknown) => string | null;
  /** The list is omitted or has an entry without a key: a candidate for every rule. */
  wild: number[];
  buckets: Map<string, number[]>;
}

function buildIndex(pool: readonly RuleSets[], field: MatchField, key: KeyIndex['key']): KeyIndex {
  const ix: KeyIndex = { field, key, wild: [], buckets: new Map() };
  pool.forEach((r, i) => {
    const pos = r.byField.get(field)!.pos;
    const keys = pos?.map(key);
    if (keys === undefined || keys.includes(null)) {
      ix.wild.push(i);
      return;
    }
    for (const k of new Set(keys as string[])) {
      const b = ix.buckets.get(k);
      if (b) b.push(i);
      else ix.buckets.set(k, [i]);
    }
  });
  return ix;
}

const NONE: number[] = [];

/** The candidate lists that may cover r, or null when this index cannot narrow them. */
function coverLists(ix: KeyIndex, p: FieldSets): number[][] | null {
  if (p.pos === undefined) return ix.field.analysis.part ? null : [ix.wild];
  const live = p.pos.filter((a) => !(p.neg ?? []).some((m) => p.ops.covers(m, a)));
  if (live.length === 0) return null; // an empty part: anything covers it
  const keys = live.map(ix.key);
  if (keys.includes(null)) return [ix.wild];
  // every live entry must be covered: the smallest of their buckets will do
  let best = NONE;
  let first = true;
  for (const k of keys as string[]) {
    const b = ix.buckets.get(k) ?? NONE;
    if (first || b.length < best.length) best = b;
    first = false;
  }
  return [ix.wild, best];
}

/** The candidate lists that may meet r, or null when this index cannot narrow them. */
function meetLists(ix: KeyIndex, p: FieldSets): number[][] | null {
  const keys = p.pos?.map(ix.key);
  if (keys === undefined || keys.includes(null)) return null;
  return [ix.wild, ...[...new Set(keys as string[])].map((k) => ix.buckets.get(k) ?? NONE)];
}

/** Ascending positions, each once. */
function merge(lists: number[][]): number[] {
  const nonEmpty = lists.filter((l) => l.length > 0);
  if (nonEmpty.length <= 1) return nonEmpty[0] ?? [];
  return [...new Set(nonEmpty.flat())].sort((a, b) => a - b);
}

/** A pool of rules (ascending rule index) bucketed by every index key of the role's fields. */
export class RuleIndex {
  private readonly indexes: KeyIndex[];

  constructor(
    readonly pool: readonly RuleSets[],
    fields: readonly MatchField[],
    keys: KeyCache,
  ) {
    this.indexes = fields.flatMap((f) => (f.analysis.indexKeys ?? []).map((key) => buildIndex(pool, f, keys.keyer(key as IndexKey<unknown>))));
  }

  /** Pool rules that may match every request r matches, in pool order. */
  coverers(r: RuleSets): RuleSets[] {
    return this.pick(r, coverLists);
  }

  /** Pool rules that may match a request r matches, in pool order. */
  meeting(r: RuleSets): RuleSets[] {
    return this.pick(r, meetLists);
  }

  private pick(r: RuleSets, lists: (ix: KeyIndex, p: FieldSets) => number[][] | null): RuleSets[] {
    let best: number[][] | null = null;
    let size = Infinity;
    for (const ix of this.indexes) {
      const l = lists(ix, r.byField.get(ix.field)!);
      if (l === null) continue;
      const n = l.reduce((s, x) => s + x.length, 0);
      if (n < size) [best, size] = [l, n];
    }
    return best === null ? [...this.pool] : merge(best).map((i) => this.pool[i]);
  }
}
