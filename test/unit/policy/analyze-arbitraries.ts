/** Random rules for the analyzer's property tests (analyze.test.ts, analyze-index.test.ts). */
import fc from 'fast-check';

/** An omitted list, or 1 to `max` distinct entries of the pool. */
export const subList = <T>(pool: readonly T[], max = 3) => fc.option(fc.uniqueArray(fc.constantFrom(...pool), { minLength: 1, maxLength: max }), { nil: undefined });

/** A generated rule as a policy rule: named, its omitted lists left out. */
export const clean = (r: Record<string, unknown>, name: string) => {
  const out: Record<string, unknown> = { name };
  for (const [k, v] of Object.entries(r)) if (v !== undefined) out[k] = v;
  return out;
};
