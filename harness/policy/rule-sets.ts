/**
 * A rule as the static analysis (analyze.ts) sees it: a product of dimensions, each one field's
 * pair of lists compiled to entries (or the parts of a universe that fields split), and the
 * set questions asked of whole rules — does it match nothing, does one rule's every request
 * match another, can two rules meet at all. Sound like sets.ts: never a false yes.
 */
import { compileList, fieldsOf, listOf, type MatchField } from './fields';
import type { NormalizedRule, Role } from './model';
import { dimDisjoint, dimEmpty, dimSubset, type Dim, type EntryOps } from './sets';

/** One field's pair of lists in a rule, compiled, with the field's set operations. */
export interface FieldSets extends Dim<unknown> {
  field: MatchField;
  ops: EntryOps<unknown>;
  /** Another field of its universe has a positive list: this part holds nothing. */
  none: boolean;
}

/** A rule as a product of dimensions; a dimension is one field, or the parts of a universe
 *  that fields split (fields.ts FieldAnalysis.part): a request lies in one part. */
export interface RuleSets {
  rule: NormalizedRule;
  dims: FieldSets[][];
  byField: Map<MatchField, FieldSets>;
}

/** The dimensions of a role's rules; a shared universe sits where its last part is. */
export function dimensionsOf(role: Role): MatchField[][] {
  const fields = fieldsOf(role);
  const universe = (f: MatchField) => f.analysis.part?.universe;
  return fields.flatMap((f, i) => {
    const u = universe(f);
    if (u === undefined) return [[f]];
    return fields.slice(i + 1).some((g) => universe(g) === u) ? [] : [fields.filter((g) => universe(g) === u)];
  });
}

export function ruleSets(rule: NormalizedRule, dims: MatchField[][], trustDomain: string): RuleSets {
  const compiled = (f: MatchField, negated: boolean) => {
    const list = listOf(rule, negated ? f.negation : f.name);
    return list === undefined ? undefined : compileList(f, list, { action: rule.action, negated });
  };
  const byField = new Map<MatchField, FieldSets>();
  const sets = dims.map((parts) =>
    parts.map((field) => {
      const none = parts.some((g) => g !== field && listOf(rule, g.name) !== undefined);
      const fs: FieldSets = { field, ops: field.analysis.ops(trustDomain), pos: compiled(field, false), neg: compiled(field, true), none };
      byField.set(field, fs);
      return fs;
    }),
  );
  return { rule, dims: sets, byField };
}

export function partEmpty(p: FieldSets): boolean {
  return p.none || dimEmpty(p.ops, p);
}

/** Why the rule matches nothing, or null. */
export function emptyReason(r: RuleSets): string | null {
  for (const parts of r.dims) {
    const given = parts.filter((p) => p.pos !== undefined);
    if (given.length > 1) {
      const names = given.map((p) => `\`${p.field.name}\``).join(' and ');
      const kinds = given.map((p) => p.field.analysis.part!.as).join(' or ');
      return `it has both ${names}, but a ${given[0].field.analysis.part!.universe} is either ${kinds} (use two rules)`;
    }
    if (parts.every(partEmpty)) {
      const p = given[0] ?? parts[parts.length - 1];
      return p.field.analysis.emptyMessage((p.neg ?? []).some((n) => p.ops.full(n)));
    }
  }
  return null;
}

/** Every request rule a matches, rule b matches. */
export function subset(a: RuleSets, b: RuleSets): boolean {
  return a.dims.every((parts, i) =>
    parts.every((x, j) => {
      const y = b.dims[i][j];
      return partEmpty(x) || (!y.none && dimSubset(x.ops, x, y));
    }),
  );
}

/** No request matches both rules. */
export function disjoint(a: RuleSets, b: RuleSets): boolean {
  return a.dims.some((parts, i) =>
    parts.every((x, j) => {
      const y = b.dims[i][j];
      return partEmpty(x) || partEmpty(y) || dimDisjoint(x.ops, x, y);
    }),
  );
}
