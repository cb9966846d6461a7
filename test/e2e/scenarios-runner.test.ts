/**
 * The scenario runner against real Envoy (issue 17): the Envoy target reads the rule of an
 * inbound allow from the filter's record in the access log, so a wrong `rule:` fails there too;
 * a `status:` pin on an allow is checked; a Wasm trap (Envoy's 503 `wasm_fail_stream`) is a
 * failure that says so, never a correct deny. Under the old runner each of these passed.
 * Pure-logic twins of these cases: test/unit/cli/scenario-verdicts.test.ts.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadScenario } from '../../harness/scenario/load';
import { emptySummary, judge, runScenario } from '../../harness/scenario/run';
import { startTarget } from '../../harness/scenario/targets/factory';
import { EnvoyInboundTarget } from '../../harness/scenario/targets/envoy-inbound';
import { httpFilters, renderReference } from '../../harness/envoy/reference';
import type { Json } from '../../harness/envoy/bootstrap';
import type { Scenario } from '../../harness/scenario/types';
import { fixtureModules } from '../unit/emulator/fixtures';

const SHOP = path.resolve(__dirname, '../scenarios/policies/shop-inbound.yaml');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'meshgate-runner-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function scenario(name: string, requests: string[]): Scenario {
  const file = path.join(tmp, `${name}.yaml`);
  fs.writeFileSync(file, `name: ${name}\nrole: inbound\npolicy: ${SHOP}\nidentities:\n  store: spiffe://example.org/ns/shop/sa/store\nrequests:\n${requests.map((r) => `  - ${r}\n`).join('')}`);
  return loadScenario(file, { strict: true });
}

/** Runs every request of the scenario on one Envoy target; the verdicts in order. */
async function verdicts(s: Scenario, target: EnvoyInboundTarget) {
  try {
    const out = [];
    for (const req of s.requests) out.push(judge(s, req, 'envoy', await target.run(req)));
    return out;
  } finally {
    await target.stop();
  }
}

describe('meshgate on Envoy: pins on an inbound allow', () => {
  it('a wrong rule and a wrong status fail; the right ones pass', async () => {
    const s = scenario('allow-pins', [
      '{as: store, method: POST, path: /charges, expect: allow, rule: no-admin}',
      '{as: store, method: POST, path: /charges, expect: allow, status: 201, rule: store-creates-charges}',
      '{as: store, method: POST, path: /charges, expect: allow, status: 200, rule: store-creates-charges}',
      '{as: none, method: GET, path: /admin, expect: deny, status: 403, rule: no-admin}',
    ]);
    const [wrongRule, wrongStatus, right, deny] = await verdicts(s, await EnvoyInboundTarget.start(s));
    expect(wrongRule).toMatchObject({ passed: false, observed: { outcome: 'allow', rule: 'store-creates-charges' } });
    expect(wrongRule.message).toMatch(/allowed by store-creates-charges, expected rule no-admin/);
    expect(wrongStatus).toMatchObject({ passed: false });
    expect(wrongStatus.message).toMatch(/status 200, expected 201/);
    expect(right).toMatchObject({ passed: true, observed: { decision: 'allow', status: 200 } });
    expect(deny).toMatchObject({ passed: true, observed: { layer: 'meshgate', decision: 'deny', rule: 'no-admin' } });
  }, 120_000);
});

describe('coverage on Envoy (issue 14)', () => {
  it('credits the inbound allow and the audit rule that matched, from the filter counters', async () => {
    const s = scenario('coverage', [
      '{as: store, method: POST, path: /charges, expect: allow, rule: store-creates-charges}',
      '{as: store, method: GET, path: /charges/1/receipt, expect: deny, rule: default}',
    ]);
    const summary = emptySummary();
    await runScenario(s, { targets: ['envoy'] }, startTarget, summary);
    expect(summary.failed).toBe(0);
    expect(summary.coverage[0].rules).toEqual([
      { name: 'no-admin', audit: false, hits: 0 },
      { name: 'store-creates-charges', audit: false, hits: 1 },
      { name: 'try-new-reader', audit: true, hits: 1 },
    ]);
  }, 120_000);
});

describe('a crashing filter on Envoy', () => {
  it('fails the trapping request and the ones after it, naming the crash', async () => {
    const { 'trap-on-header': bytes } = await fixtureModules('trap-on-header');
    const wasmFile = path.join(tmp, 'trap-on-header.wasm');
    fs.writeFileSync(wasmFile, bytes);
    // The reference wasm filter, loading the trapping module under its own root id.
    const cfg = renderReference('inbound', { wasmFile, policyJson: '{}', certs: { caFile: 'x', certFile: 'x', keyFile: 'x' }, upstreamPort: 1 });
    const wasm = JSON.parse(JSON.stringify(httpFilters(cfg).find((f) => f.name === 'envoy.filters.http.wasm'))) as Json;
    ((wasm.typed_config as Json).config as Json).root_id = 'meshgate_trap';

    const s = scenario('crash', ['{as: store, method: POST, path: /charges, headers: {x-trap: "1"}, expect: deny, status: 503}', '{as: none, method: POST, path: /charges, expect: deny, status: 503}']);
    const results = await verdicts(s, await EnvoyInboundTarget.start(s, [wasm]));
    for (const r of results) {
      expect(r).toMatchObject({ passed: false, observed: { outcome: 'deny', status: 503, layer: 'crash' } });
      expect(r.message).toMatch(/the filter crashed \(503 wasm_fail_stream\)/);
    }
  }, 180_000);
});
