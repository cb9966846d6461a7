/**
 * Shared pieces of the fuzz properties (issue 7, item 2): the run count, the fixed seed, and a
 * mutator that biases generated inputs toward the interesting space around valid seeds.
 *
 *   MESHGATE_FUZZ_RUNS   runs per property (default 2000: the quick mode of `jest`)
 *   MESHGATE_FUZZ_SEED   the fast-check seed (default 0x6d657368)
 */
import fc from 'fast-check';

export const RUNS = Number(process.env.MESHGATE_FUZZ_RUNS ?? 2000);
export const SEED = Number(process.env.MESHGATE_FUZZ_SEED ?? 0x6d657368);

/** fast-check parameters shared by every property. */
export function params<T>(runs = RUNS): fc.Parameters<T> {
  return { numRuns: runs, seed: SEED, endOnFailure: false };
}

/** Jest timeout for a property: generous for long runs (jest's default of 60 s is for quick mode). */
export function timeoutFor(runs = RUNS, msPerRun = 2): number {
  return Math.max(60_000, runs * msPerRun * 4);
}

/** One wasm call must stay far below this (a hang shows as a very slow call; wasm cannot be interrupted). */
export const SLOW_CALL_MS = 1000;

/** Runs `f`, failing when it took longer than SLOW_CALL_MS. */
export function timed<T>(what: string, f: () => T): T {
  const t0 = performance.now();
  const r = f();
  const dt = performance.now() - t0;
  if (dt > SLOW_CALL_MS) throw new Error(`${what} took ${dt.toFixed(0)} ms (hang?)`);
  return r;
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
  return fc.tuple(fc.constantFrom(...seeds), fc.array(op, { maxLength: maxOps })).map(([s, ops]) => apply(s, ops));
}

/** Counts per property, printed once at the end of a file (the long run's report). */
export const stats: Record<string, { runs: number; valid: number; ms: number }> = {};
export function count(name: string, valid: boolean): void {
  const s = (stats[name] ??= { runs: 0, valid: 0, ms: 0 });
  s.runs++;
  if (valid) s.valid++;
}
