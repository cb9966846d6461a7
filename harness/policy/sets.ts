/**
 * Set reasoning over one match field's pair of lists (the positive list and its negated twin),
 * for the static analysis (analyze.ts). A pair is a set of requests along one dimension: the
 * entries of the positive list (all of the dimension when it is omitted) minus those the negated
 * list covers. Each entry kind supplies its own EntryOps (entry-sets.ts); every answer here is
 * sound given sound EntryOps: "empty", "subset" and "disjoint" are claimed only when provable.
 */

/** Operations on the entries of one dimension; every answer must be sound (never a false yes). */
export interface EntryOps<E> {
  /** a ⊆ b */
  covers(b: E, a: E): boolean;
  /** a ∩ b = ∅ */
  disjoint(a: E, b: E): boolean;
  /** b is the whole universe of the dimension */
  full(b: E): boolean;
}

/** pos undefined = the field is omitted (everything); neg undefined = nothing excluded. */
export interface Dim<E> {
  pos?: E[];
  neg?: E[];
}

/** An entry excluded by the negated list contributes nothing. */
function live<E>(ops: EntryOps<E>, d: Dim<E>, a: E): boolean {
  return !(d.neg ?? []).some((m) => ops.covers(m, a));
}

export function dimEmpty<E>(ops: EntryOps<E>, d: Dim<E>): boolean {
  if ((d.neg ?? []).some((m) => ops.full(m))) return true;
  return d.pos !== undefined && d.pos.every((a) => !live(ops, d, a));
}

/** S(A) ⊆ S(B) */
export function dimSubset<E>(ops: EntryOps<E>, A: Dim<E>, B: Dim<E>): boolean {
  if (dimEmpty(ops, A)) return true;
  const posOk =
    B.pos === undefined ||
    B.pos.some((b) => ops.full(b)) ||
    (A.pos !== undefined && A.pos.every((a) => !live(ops, A, a) || B.pos!.some((b) => ops.covers(b, a))));
  if (!posOk) return false;
  return (B.neg ?? []).every(
    (n) =>
      (A.neg ?? []).some((m) => ops.covers(m, n)) ||
      (A.pos !== undefined && A.pos.every((a) => !live(ops, A, a) || ops.disjoint(a, n))),
  );
}

/** S(A) ∩ S(B) = ∅ */
export function dimDisjoint<E>(ops: EntryOps<E>, A: Dim<E>, B: Dim<E>): boolean {
  if (dimEmpty(ops, A) || dimEmpty(ops, B)) return true;
  const outside = (X: Dim<E>, Y: Dim<E>) =>
    X.pos !== undefined &&
    X.pos.every(
      (a) =>
        !live(ops, X, a) ||
        (Y.neg ?? []).some((n) => ops.covers(n, a)) ||
        (Y.pos !== undefined && Y.pos.every((b) => ops.disjoint(a, b))),
    );
  return outside(A, B) || outside(B, A);
}

export function dimEqual<T>(a: T[] | undefined, b: T[] | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  const sa = new Set(a.map((x) => JSON.stringify(x)));
  const sb = new Set(b.map((x) => JSON.stringify(x)));
  return sa.size === sb.size && [...sa].every((x) => sb.has(x));
}

