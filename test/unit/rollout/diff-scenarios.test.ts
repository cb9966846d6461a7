/**
 * `diff` agrees with evaluating every scenario suite's requests through the module under both
 * policies: for each suite and each of several changes to its policy, every request whose decision
 * or rule changes falls in a class `diff` reports, and no reported class is contradicted by a
 * request of that class.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { sharedTestkit } from '../../../harness/engine/testkit';
import { repoRoot } from '../../../harness/envoy/paths';
import { compilePolicy, type CompileResult } from '../../../harness/policy/compile';

import { classOf, changeOf, diffPolicies } from '../../../harness/rollout/diff';
import type { ExplainRequest } from '../../../harness/rollout/explain';
import { loadScenario } from '../../../harness/scenario/load';
import type { Scenario, ScenarioRequest } from '../../../harness/scenario/types';

const tk = sharedTestkit();
let flips = 0;
let checked = 0;
const ROOT = path.join(repoRoot(), 'test', 'scenarios');
const FILES = ['inbound', 'egress', 'adversarial'].flatMap((d) =>
  fs.readdirSync(path.join(ROOT, d)).filter((f) => f.endsWith('.yaml')).map((f) => path.join(ROOT, d, f)),
);

type Doc = Record<string, any>;
/** Changes to a policy, each applied to a copy of the role's section. */
const CHANGES: Array<[string, (d: Doc, role: 'inbound' | 'egress') => void]> = [
  ['drop the first rule', (d, r) => d[r].rules?.splice(0, 1)],
  ['flip the default', (d, r) => (d[r].default = d[r].default === 'allow' ? 'deny' : 'allow')],
  ['flip the last rule\'s action', (d, r) => {
    const rule = d[r].rules?.at(-1);
    if (!rule) return;
    rule.action = rule.action === 'deny' ? 'allow' : 'deny';
    delete rule.privateAddresses;
  }],
  ['first rule to audit mode and back', (d, r) => {
    const rule = d[r].rules?.[0];
    if (rule) rule.mode = rule.mode === 'audit' ? 'enforce' : 'audit';
  }],
  ['global audit mode', (d) => (d.mode = d.mode === 'audit' ? 'enforce' : 'audit')],
];

/** The scenario request as the module's facts, when it is one the flags of explain can give. */
function requestOf(s: Scenario, r: ScenarioRequest): ExplainRequest | undefined {
  if (r.raw !== undefined || r.h2headers !== undefined || r.tls !== undefined || r.cert !== undefined || r.certificate !== undefined) return undefined;
  const peer = r.as === 'none' ? null : s.identities[r.as];
  const xfcc = r.headers['x-forwarded-client-cert'];
  if (s.role === 'inbound') return { role: 'inbound', peer, xfcc, method: r.method, path: r.path };
  if (r.host === undefined) return undefined;
  return { role: 'egress', peer, host: r.host, port: r.port, connect: Boolean(r.connect), scheme: r.scheme ?? 'https' };
}

describe.each(FILES.map((f) => [path.relative(ROOT, f), f]))('%s', (_name, file) => {
  const scenario = loadScenario(file);
  const requests = scenario.requests.map((r) => requestOf(scenario, r)).filter((r): r is ExplainRequest => r !== undefined);
  const old = compilePolicy(scenario.policy, file);

  it.each(CHANGES)('%s', (_change, apply) => {
    const doc = JSON.parse(JSON.stringify(scenario.policy)) as Doc;
    apply(doc, scenario.role);
    const changed: CompileResult = compilePolicy(doc, file);
    expect(changed.errors).toEqual([]);
    const d = diffPolicies(tk, old, changed, scenario.role);
    const reported = new Map(d.changed.map((c) => [c.key, c]));
    for (const r of requests) {
      const c = classOf(tk, old, changed, r);
      const where = `${r.peer} ${r.method ?? ''} ${r.path ?? r.host ?? ''}:${r.port ?? ''}`;
      const flip = changeOf(c.old, c.new);
      checked++;
      if (flip !== undefined) flips++;
      if (flip !== undefined) expect([where, reported.has(c.key)]).toEqual([where, true]);
      const k = reported.get(c.key);
      if (k !== undefined) expect([where, c.old, c.new]).toEqual([where, k.old, k.new]);
    }
  });
});

it('covers the suites and their requests, many of which change', () => {
  expect(FILES.length).toBeGreaterThanOrEqual(25);
  expect(checked).toBeGreaterThan(1000);
  expect(flips).toBeGreaterThan(200);
});
