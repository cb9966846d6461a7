/**
 * Shared pieces of the fuzz properties (issue 7, item 2; issue 17, item 9): the run count, the
 * seed, a mutator that biases generated inputs toward the interesting space around valid seeds,
 * and the per-property outcome counts every fuzz file prints.
 *
 *   MESHGATE_FUZZ_RUNS   runs per property (default 2000: the quick mode of `jest`)
 *   MESHGATE_FUZZ_SEED   the fast-check seed (default: a fresh random one per run)
 *
 * Each file prints `fuzz seed: N` before its properties run. To replay a failure, run the same
 * file with that seed (and the same run count, if it was set):
 *
 *   MESHGATE_FUZZ_SEED=N npx jest test/unit/fuzz/parsers.test.ts
 *   MESHGATE_FUZZ_SEED=N MESHGATE_FUZZ_RUNS=200000 npx jest test/unit/fuzz   # a failure of `npm run fuzz`
 *
 * No property bounds the time of a call: a hang in synchronous wasm cannot be interrupted, so it
 * shows up as the jest timeout of the property (timeoutFor), not as a timing assertion.
 */
import fc from 'fast-check';

export const RUNS = Number(process.env.MESHGATE_FUZZ_RUNS ?? 2000);
export const SEED = seedFromEnv(process.env.MESHGATE_FUZZ_SEED);

/** The seed named by MESHGATE_FUZZ_SEED (decimal or 0x hex), else a random 31-bit one. */
function seedFromEnv(text: string | undefined): number {
  if (text === undefined || text === '') return Math.floor(Math.random() * 0x7fffffff);
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw new Error(`MESHGATE_FUZZ_SEED must be an integer, got "${text}"`);
  return n;
}

/** fast-check parameters shared by every property. */
export function params<T>(runs = RUNS): fc.Parameters<T> {
  return { numRuns: runs, seed: SEED, endOnFailure: false };
}

/** Jest timeout for a property: generous for long runs (jest's default of 60 s is for quick mode). */
export function timeoutFor(runs = RUNS, msPerRun = 2): number {
  return Math.max(60_000, runs * msPerRun * 4);
}

/** The hostile characters every mutator may insert (NUL, 0x80-0xFF as U+0080-U+00FF, uppercase). */
export const HOSTILE = ['%', '.', '/', '\\', ';', '"', ',', '=', '@', ':', '[', ']', '\u0000', '?', '#', ' ', '\t', '\u007f', 'A', 'Z', 'X'];
const HIGH = fc.integer({ min: 0x80, max: 0xff }).map((c) => String.fromCharCode(c));

type Op = { kind: 'ins' | 'del' | 'rep'; at: number; ch: string } | { kind: 'dup'; at: number; len: number };

function apply(s: string, ops: Op[]): string {
  for (const op of ops) {
    const n = s.length;
    switch (op.kind) {
      case 'ins': { const i = op.at % (n + 1); s = s.slice(0, i) + op.ch + s.slice(i); break; }
      case 'del': if (n > 0) { const i = op.at % n; s = s.slice(0, i) + s.slice(i + 1); } break;
      case 'rep': if (n > 0) { const i = op.at % n; s = s.slice(0, i) + op.ch + s.slice(i + 1); } break;
      case 'dup': if (n > 0) { const i = op.at % n; s = s.slice(0, i) + s.slice(i, i + op.len) + s.slice(i); } break;
    }
  }
  return s;
}

/**
 * Strings made from a valid seed by up to `maxOps` byte edits (insert, delete, replace with a
 * character of `alphabet` or a hostile one, duplicate a short run), plus the seeds themselves.
 */
export function mutated(seeds: string[], alphabet: string, maxOps = 6): fc.Arbitrary<string> {
  return mutatedFrom(fc.constantFrom(...seeds), alphabet, maxOps);
}

/** Like mutated(), with the seeds drawn from an arbitrary (e.g. valid inputs built by construction). */
export function mutatedFrom(seeds: fc.Arbitrary<string>, alphabet: string, maxOps = 6): fc.Arbitrary<string> {
  const ch = fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...alphabet.split('')) },
    { weight: 3, arbitrary: fc.constantFrom(...HOSTILE) },
    { weight: 1, arbitrary: HIGH },
  );
  const op: fc.Arbitrary<Op> = fc.oneof(
    fc.record({ kind: fc.constant<'ins'>('ins'), at: fc.nat(), ch }),
    fc.record({ kind: fc.constant<'del'>('del'), at: fc.nat(), ch }),
    fc.record({ kind: fc.constant<'rep'>('rep'), at: fc.nat(), ch }),
    fc.record({ kind: fc.constant<'dup'>('dup'), at: fc.nat(), len: fc.integer({ min: 1, max: 8 }) }),
  );
  return fc.tuple(seeds, fc.array(op, { maxLength: maxOps })).map(([s, ops]) => apply(s, ops));
}

/** Outcome counts per property ("match", "no match", "valid", ...), printed by reportFuzz(). */
export const stats: Record<string, Record<string, number>> = {};

/** Counts one run of property `name` under `outcome`. */
export function tally(name: string, outcome: string): void {
  const s = (stats[name] ??= {});
  s[outcome] = (s[outcome] ?? 0) + 1;
}

/** Counts one input of property `name` as valid or not (the parsers' and the config's report). */
export function count(name: string, valid: boolean): void {
  tally(name, valid ? 'valid' : 'invalid');
}

/** Runs of property `name` counted so far, in all outcomes. */
export function runsOf(name: string): number {
  return Object.values(stats[name] ?? {}).reduce((a, b) => a + b, 0);
}

/**
 * Fails unless at least `share` of the runs of property `name` ended in `outcome`: a generator
 * that drifted away from the cases a property is about (matches, accepted paths) fails loudly.
 */
export function expectShare(name: string, outcome: string, share: number): void {
  const runs = runsOf(name);
  const got = stats[name]?.[outcome] ?? 0;
  expect({ property: name, outcome, enough: got >= share * runs, got, runs }).toEqual({ property: name, outcome, enough: true, got, runs });
}

/** Prints the seed before the file's properties run and every property's outcome counts after. */
export function reportFuzz(file: string): void {
  beforeAll(() => {
    // eslint-disable-next-line no-console
    console.log(`fuzz seed: ${SEED} (${file}; replay: MESHGATE_FUZZ_SEED=${SEED} npx jest ${file})`);
  });
  afterAll(() => {
    const lines = Object.entries(stats).map(([k, s]) => `${k}: ${Object.entries(s).map(([o, n]) => `${o} ${n}`).join(', ')}`);
    // eslint-disable-next-line no-console
    console.log(`fuzz ${file} (seed ${SEED}):\n  ${lines.join('\n  ')}`);
  });
}
