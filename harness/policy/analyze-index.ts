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
 * For a field that shares its universe (hosts, cidrs), a rule with another part's list is in no
 * bucket: such a rule covers or meets none that lists this field.
 */
import type { IndexKey } from './entry-sets';
import type { MatchField } from './fields';
import type { RuleSets } from './rule-sets';

/** One key function of one field, and every rule's entry keys under it (by rule index;
 *  undefined: the list is omitted). */
export interface KeyColumn {
  field: MatchField;
  keys: Array<Array<string | null> | undefined>;
}

/** The key columns of a section's rules: each entry's keys computed once for all pools. */
export function keyColumns(rules: readonly RuleSets[], fields: readonly MatchField[]): KeyColumn[] {
  return fields.flatMap((field) =>
    (field.analysis.indexKeys ?? []).map((key) => {
      const k = key as IndexKey<unknown>;
      const keys: KeyColumn['keys'] = [];
      for (const r of rules) keys[r.rule.index] = r.byField.get(field)!.pos?.map(k);
      return { field, keys };
    }),
  );
}

/** One key column over a pool: positions in the pool, ascending. */
interface KeyIndex {
  column: KeyColumn;
  /** The list is omitted or has an entry without a key: a candidate for every rule. */
  wild: number[];
  buckets: Map<string, number[]>;
}

function buildIndex(pool: readonly RuleSets[], column: KeyColumn): KeyIndex {
  const ix: KeyIndex = { column, wild: [], buckets: new Map() };
  pool.forEach((r, i) => {
    // another field of the universe has the rule's positive list: it never covers or meets a
    // rule with this one (the only rules this index is asked about)
    if (r.byField.get(column.field)!.none) return;
    const keys = column.keys[r.rule.index];
    if (keys === undefined || keys.includes(null)) {
      ix.wild.push(i);
      return;
    }
    for (let j = 0; j < keys.length; j++) {
      const k = keys[j]!;
      if (keys.indexOf(k) < j) continue;
      const b = ix.buckets.get(k);
      if (b) b.push(i);
      else ix.buckets.set(k, [i]);
    }
  });
  return ix;
}

const NONE: number[] = [];

/** The candidate lists that may cover r, or null when this index cannot narrow them. */
function coverLists(ix: KeyIndex, r: RuleSets): number[][] | null {
  const p = r.byField.get(ix.column.field)!;
  if (p.pos === undefined) return ix.column.field.analysis.part ? null : [ix.wild];
  const keys = ix.column.keys[r.rule.index]!;
  // every live entry must be covered: the smallest of their buckets will do
  let best: number[] | null = null;
  for (let j = 0; j < p.pos.length; j++) {
    if ((p.neg ?? []).some((m) => p.ops.covers(m, p.pos![j]))) continue;
    const k = keys[j];
    if (k === null) return [ix.wild];
    const b = ix.buckets.get(k) ?? NONE;
    if (best === null || b.length < best.length) best = b;
  }
  return best === null ? null : [ix.wild, best]; // no live entry: an empty part, anything covers it
}

/** The candidate lists that may meet r, or null when this index cannot narrow them. */
function meetLists(ix: KeyIndex, r: RuleSets): number[][] | null {
  const keys = ix.column.keys[r.rule.index];
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
    columns: readonly KeyColumn[],
  ) {
    this.indexes = columns.map((c) => buildIndex(pool, c));
  }

  /** Pool rules that may match every request r matches, in pool order. */
  coverers(r: RuleSets): RuleSets[] {
    return this.pick(r, coverLists);
  }

  /** Pool rules that may match a request r matches, in pool order. */
  meeting(r: RuleSets): RuleSets[] {
    return this.pick(r, meetLists);
  }

  private pick(r: RuleSets, lists: (ix: KeyIndex, r: RuleSets) => number[][] | null): RuleSets[] {
    let best: number[][] | null = null;
    let size = Infinity;
    for (const ix of this.indexes) {
      const l = lists(ix, r);
      if (l === null) continue;
      const n = l.reduce((s, x) => s + x.length, 0);
      if (n < size) [best, size] = [l, n];
    }
    return best === null ? [...this.pool] : merge(best).map((i) => this.pool[i]);
  }
}
