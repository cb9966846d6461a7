/**
 * The in-VM decision alone, several runs, for before/after comparisons of hot-path changes on a
 * shared machine (one run is noise; the range over runs is the figure to compare):
 *
 *     node dist/bench/decide-runs.js [--runs 5] [--sizes 10,1000,100000] [--dimensions identities]
 *                                    [--file build/bench-decide.wasm]
 *
 * Each run is bench/invm.ts's decision measurement (bench-decide.wasm: identity from the
 * per-connection cache, request facts, decide; batches of 16) on a fresh instance; printed per
 * case: p50 of the batches and the bulk mean, per run, then min–max over the runs. `--file` takes
 * another build of assembly/bench/decide.ts (e.g. with other asc options) to compare.
 */
import * as path from 'node:path';
import { flag, runMain } from './cli-args';
import { benchModule } from './modules';
import { decisionBench, type DecisionRow } from './invm';

async function main(): Promise<void> {
  const root = path.resolve(__dirname, '../..');
  const runs = Number(flag('runs', '5'));
  const sizes = flag('sizes', '10,1000,100000').split(',').map(Number);
  const dimensions = flag('dimensions', 'identities').split(',') as DecisionRow['dimension'][];
  const file = path.resolve(root, flag('file', '') || benchModule(root, 'decide').file);
  const byCase = new Map<string, { p50: number[]; mean: number[]; correct: boolean }>();
  for (let r = 0; r < runs; r++) {
    const { decisions } = await decisionBench(file, { sizes, batches: 3000, callbacks: 0, memoryRequests: [0, 0], reconfigures: 0, reconfigureRules: 0, log: () => undefined }, dimensions);
    for (const d of decisions) {
      const key = `${d.dimension}=${d.size} ${d.case}`;
      const c = byCase.get(key) ?? { p50: [], mean: [], correct: true };
      c.p50.push(d.p50Ns ?? NaN);
      c.mean.push(d.meanNs ?? NaN);
      c.correct &&= d.correct;
      byCase.set(key, c);
    }
  }
  console.log(`${path.relative(root, file)}: ${runs} runs (ns per decision)`);
  const range = (v: number[]) => `${Math.min(...v).toFixed(1)}–${Math.max(...v).toFixed(1)}`;
  for (const [key, c] of byCase) {
    console.log(`${key.padEnd(24)} p50 ${range(c.p50).padEnd(12)} mean ${range(c.mean).padEnd(12)} runs p50 [${c.p50.map((x) => x.toFixed(0)).join(' ')}]${c.correct ? '' : '  WRONG ANSWERS'}`);
  }
}

runMain(main);
