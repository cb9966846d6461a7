import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadScenario } from '../../harness/scenario/load';
import { runScenario, formatResult, emptySummary } from '../../harness/scenario/run';
import { startTarget } from '../../harness/scenario/targets/factory';
import type { RequestResult, Scenario } from '../../harness/scenario/types';

/** Declares one describe per scenario file of test/scenarios/<dir>, one test per request and target. */
export function scenarioSuite(dir: string): void {
  const root = path.join(__dirname, '..', 'scenarios', dir);
  const files = fs.readdirSync(root).filter((f) => f.endsWith('.yaml')).sort();
  for (const file of files) {
    const scenario: Scenario = loadScenario(path.join(root, file), { strict: true });
    describe(`${dir}/${file}: ${scenario.name}`, () => {
      const summary = emptySummary();
      beforeAll(async () => {
        await runScenario(scenario, { targets: ['envoy', 'emulator'] }, startTarget, summary);
      }, 120_000);

      it.each(scenario.requests.map((r, i) => [i, r.label] as const))('#%i %s', (i) => {
        const req = scenario.requests[i];
        const mine: RequestResult[] = summary.results.filter((r) => r.request === req);
        expect(mine.length).toBeGreaterThanOrEqual(2);
        const failures = mine.filter((r) => !r.passed).map(formatResult);
        expect(failures).toEqual([]);
      });
    });
  }
}
