import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadScenario } from '../../harness/scenario/load';
import { runScenario, formatResult, emptySummary, forProtocol } from '../../harness/scenario/run';
import { startTarget } from '../../harness/scenario/targets/factory';
import type { Protocol, RequestResult, Scenario } from '../../harness/scenario/types';

/**
 * Declares one describe per scenario file of test/scenarios/<dir> and protocol, one test per
 * request and target. Each file runs over every protocol in `protocols`; a request that can only
 * go over one (`h2headers:` h2, `protocol:`, or `raw:` bytes with no h2 form —
 * targets/raw-as-h2.ts) runs in that pass only; plain raw HTTP/1.1 requests run in both, as their
 * h2 header list (run.ts forProtocol).
 */
export function scenarioSuite(dir: string, protocols: Protocol[] = ['http1', 'h2']): void {
  const root = path.join(__dirname, '..', 'scenarios', dir);
  const files = fs.readdirSync(root).filter((f) => f.endsWith('.yaml')).sort();
  for (const file of files) {
    const loaded: Scenario = loadScenario(path.join(root, file), { strict: true });
    for (const protocol of protocols) {
      const scenario = forProtocol(loaded, protocol);
      if (scenario.requests.length === 0) continue;
      describe(`${dir}/${file} over ${protocol}: ${scenario.name}`, () => {
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
}
