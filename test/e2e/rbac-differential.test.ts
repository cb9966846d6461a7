/**
 * Differential check against Envoy's own RBAC filter: every inbound scenario whose policy RBAC
 * can express runs through Envoy + meshgate and through Envoy + the RBAC filters rendered from the
 * same policy (`meshgate render rbac`); outcomes must be identical. A request whose semantics
 * legitimately differ carries `rbac: <why>` in its scenario and is reported, not compared — and
 * must actually differ, so a stale mark cannot hide anything.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadScenario } from '../../harness/scenario/load';
import { EnvoyInboundTarget } from '../../harness/scenario/targets/envoy-inbound';
import { compilePolicy } from '../../harness/policy/compile';
import { renderRbac } from '../../harness/policy/rbac';
import type { Json } from '../../harness/envoy/bootstrap';
import type { Observation, Scenario } from '../../harness/scenario/types';

const DIR = path.join(__dirname, '..', 'scenarios', 'inbound');
const scenarios: Scenario[] = fs
  .readdirSync(DIR)
  .filter((f) => f.endsWith('.yaml'))
  .sort()
  .map((f) => loadScenario(path.join(DIR, f)))
  .filter((s) => ((s.policy.identity ?? {}) as { from?: string }).from !== 'xfcc');

describe.each(scenarios.map((s) => [path.basename(s.file), s] as const))('%s: meshgate and RBAC agree', (_name, scenario) => {
  const observed: { meshgate: Observation; rbac: Observation }[] = [];

  beforeAll(async () => {
    const compiled = compilePolicy(JSON.parse(scenario.policyJson), scenario.file);
    const rbac = renderRbac(compiled.normalized!);
    const meshgate = await EnvoyInboundTarget.start(scenario);
    const native = await EnvoyInboundTarget.start(scenario, rbac.filters as unknown as Json[]);
    try {
      for (const req of scenario.requests) observed.push({ meshgate: await meshgate.run(req), rbac: await native.run(req) });
    } finally {
      await meshgate.stop();
      await native.stop();
    }
  }, 120_000);

  it.each(scenario.requests.map((r, i) => [i, r.label] as const))('#%i %s', (i) => {
    const req = scenario.requests[i];
    const { meshgate, rbac } = observed[i];
    if (req.rbac !== undefined) {
      // A documented difference must be a real one.
      expect({ marked: req.rbac, meshgate: meshgate.outcome, rbac: rbac.outcome }).toEqual({ marked: req.rbac, meshgate: meshgate.outcome, rbac: meshgate.outcome === 'allow' ? 'deny' : 'allow' });
    } else {
      expect({ meshgate: meshgate.outcome, rbac: rbac.outcome, where: req.where }).toEqual({ meshgate: rbac.outcome, rbac: rbac.outcome, where: req.where });
    }
  });
});
