/**
 * The scenario runner behind `meshgate test` fails every request it could not observe completely
 * (issue 17): a crash is never a correct deny, a missing access-log entry never switches checks
 * off, pins on status and rule hold whatever the outcome, and two targets must agree on outcome,
 * status and rule. Each case here passed under the old runner. No Envoy: the Envoy targets'
 * reading is the pure `observe`/`unlogged` (targets/observe.ts); their e2e twins are in
 * test/e2e/scenarios-runner.test.ts.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadScenario, ScenarioError } from '../../../harness/scenario/load';
import { emptySummary, judge, runScenario } from '../../../harness/scenario/run';
import { observe, unlogged } from '../../../harness/scenario/targets/observe';
import { waitForEntry } from '../../../harness/scenario/targets/access-log';
import { EmulatorTarget } from '../../../harness/scenario/targets/emulator';
import type { Observation, Scenario, ScenarioRequest, Target } from '../../../harness/scenario/types';
import type { TargetExecutor } from '../../../harness/scenario/targets/executor';
import { fixtureModules } from '../emulator/fixtures';

const SHOP = path.resolve(__dirname, '../../scenarios/policies/shop-inbound.yaml');
const EGRESS_SHOP = path.resolve(__dirname, '../../scenarios/policies/egress-shop.yaml');
// Created at load time: describe bodies write their scenario files while the tests are declared.
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'meshgate-verdicts-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A scenario file with these request lines (flow mappings), loaded. */
function scenario(requests: string[], o: { strict?: boolean; role?: 'inbound' | 'egress' } = {}): Scenario {
  const role = o.role ?? 'inbound';
  const file = path.join(tmp, `s${fs.readdirSync(tmp).length}.yaml`);
  const ids = role === 'inbound' ? '  store: spiffe://example.org/ns/shop/sa/store\n' : '  billing: spiffe://example.org/ns/shop/sa/billing\n';
  fs.writeFileSync(file, `name: verdicts\nrole: ${role}\npolicy: ${role === 'inbound' ? SHOP : EGRESS_SHOP}\nidentities:\n${ids}requests:\n${requests.map((r) => `  - ${r}\n`).join('')}`);
  return loadScenario(file, { strict: o.strict });
}

const ALLOWED = 'decision=allow rule=store-creates-charges identity=spiffe://example.org/ns/shop/sa/store policy=0123456789ab';
const DENIED = 'decision=deny rule=default identity=- policy=0123456789ab';

describe('judge: what used to pass and must fail', () => {
  const s = scenario([
    '{as: none, method: POST, path: /charges, expect: deny}',
    '{as: store, method: POST, path: /charges, expect: allow, rule: no-admin}',
    '{as: store, method: POST, path: /charges, expect: allow, status: 201, rule: store-creates-charges}',
    '{as: none, method: POST, path: /charges, expect: deny, status: 403}',
    '{as: none, method: POST, path: /charges, expect: deny, rule: default, reason: svid_root_id}',
  ]);
  const [unpinnedDeny, wrongRuleAllow, statusAllow, statusOnlyDeny, reasonDeny] = s.requests;
  const verdict = (req: ScenarioRequest, obs: Observation) => judge(s, req, 'envoy', obs);

  it.each<[string, ScenarioRequest, Observation, RegExp]>([
    ['a crash (Envoy 503 wasm_fail_stream) is no deny', unpinnedDeny, observe({ received: false, status: 503, details: 'wasm_fail_stream', meshgate: '-' }), /the filter crashed \(503 wasm_fail_stream\)/],
    ['an allow whose record names another rule', wrongRuleAllow, observe({ received: true, status: 200, details: 'via_upstream', meshgate: ALLOWED }), /allowed by store-creates-charges, expected rule no-admin/],
    ['an allow that left no record cannot satisfy a rule pin', wrongRuleAllow, observe({ received: true, status: 200, details: 'via_upstream', meshgate: '-' }), /the filter named no rule/],
    ['status pinned on an allow', statusAllow, observe({ received: true, status: 200, details: 'via_upstream', meshgate: ALLOWED }), /status 200, expected 201/],
    ['a missing access-log entry', unpinnedDeny, unlogged({ received: false, status: 403 }, 3000), /no access-log entry after 3000 ms/],
    ['an unauthenticated caller denied for another identity reason', reasonDeny, observe({ received: false, status: 403, details: 'meshgate_denied[default]', meshgate: `${DENIED} identity_reason=no_peer_certificate` }), /identity reason no_peer_certificate, expected svid_root_id/],
    ['a pinned identity reason the record does not carry', reasonDeny, observe({ received: false, status: 403, details: 'meshgate_denied[default]', meshgate: DENIED }), /identity reason none, expected svid_root_id/],
    ['a status-only pin on a request the filter decided', statusOnlyDeny, observe({ received: false, status: 403, details: 'meshgate_denied[default]', meshgate: DENIED }), /pin rule: default/],
  ])('%s', (_name, req, obs, message) => {
    const r = verdict(req, obs);
    expect(r.passed).toBe(false);
    expect(r.message).toMatch(message);
  });

  it('the same requests pass when observed as pinned', () => {
    const denied = observe({ received: false, status: 403, details: 'meshgate_denied[default]', meshgate: DENIED });
    expect(verdict(unpinnedDeny, denied).passed).toBe(true);
    expect(verdict({ ...wrongRuleAllow, rule: 'store-creates-charges' }, observe({ received: true, status: 200, details: 'via_upstream', meshgate: ALLOWED })).passed).toBe(true);
    expect(verdict({ ...statusOnlyDeny, status: 400 }, observe({ received: false, status: 400, details: 'http1.codec_error', meshgate: '-' })).passed).toBe(true);
    expect(verdict(reasonDeny, observe({ received: false, status: 403, details: 'meshgate_denied[default]', meshgate: `${DENIED} identity_reason=svid_root_id` })).passed).toBe(true);
  });

  it('a meshgate denial whose log entry is missing still fails when it caused DNS queries', () => {
    const e = scenario(['{as: billing, host: evil.example, expect: deny, rule: default}'], { role: 'egress' });
    const r = judge(e, e.requests[0], 'envoy', unlogged({ received: false, status: 403, dnsQueries: 1, externalConnections: 0 }, 3000));
    expect(r.passed).toBe(false);
    expect(r.message).toMatch(/no access-log entry/);
  });
});

describe('observe: the filter record is the source of the rule', () => {
  it('reads the rule of an allow from the record, not from the details', () => {
    expect(observe({ received: true, status: 200, details: 'via_upstream', meshgate: ALLOWED })).toMatchObject({ outcome: 'allow', layer: 'upstream', decision: 'allow', rule: 'store-creates-charges' });
  });
  it('an audit would-deny keeps its label', () => {
    expect(observe({ received: true, status: 200, details: 'via_upstream', meshgate: 'decision=audit_deny rule=no-admin identity=- policy=0123456789ab' })).toMatchObject({ decision: 'audit_deny', rule: 'no-admin' });
  });
  it('a refusal before the filter has no rule', () => {
    const o = observe({ received: false, status: 400, details: 'http1.codec_error', meshgate: '-' });
    expect(o).toMatchObject({ outcome: 'deny', layer: 'envoy' });
    expect([o.rule, o.problem]).toEqual([undefined, undefined]);
  });
});

describe('waitForEntry: a slow access log', () => {
  it('waits for an entry that arrives late', async () => {
    let reads = 0;
    const entry = await waitForEntry(() => (++reads < 3 ? [] : [{ details: 'via_upstream' }]), 0);
    expect(entry).toEqual({ details: 'via_upstream' });
  });
  it('reports one that never arrives as missing (undefined), which the target turns into a failure', async () => {
    expect(await waitForEntry(() => [{ details: 'earlier' }], 1, 50)).toBeUndefined();
  });
});

describe('--target both: outcome, status and rule must agree', () => {
  const s = scenario(['{as: store, method: POST, path: /charges, expect: allow, rule: store-creates-charges}']);
  /** Executors that answer every request with a fixed observation. */
  const fixed = (by: Partial<Record<Target, Observation>>) => async (_s: Scenario, target: Target): Promise<TargetExecutor> => ({
    name: target,
    run: async () => by[target]!,
    stop: async () => undefined,
  });
  const allowed: Observation = { outcome: 'allow', status: 200, layer: 'upstream', rule: 'store-creates-charges' };

  it.each<[string, Observation, string]>([
    ['rule', { ...allowed, rule: 'default' }, 'rule'],
    ['status', { ...allowed, status: 204 }, 'status'],
    ['identity reason', { ...allowed, identityReason: 'no_xfcc' }, 'identityReason'],
  ])('a disagreement on %s is a failure', async (_name, other, field) => {
    const summary = emptySummary();
    await runScenario(s, { targets: ['envoy', 'emulator'] }, fixed({ envoy: allowed, emulator: other }), summary);
    expect(summary.disagreements).toBe(1);
    expect(summary.results.filter((r) => !r.passed).map((r) => r.message).join('\n')).toMatch(new RegExp(`targets disagree on ${field}`));
  });
  it('agreement is no failure', async () => {
    const summary = emptySummary();
    await runScenario(s, { targets: ['envoy', 'emulator'] }, fixed({ envoy: allowed, emulator: { ...allowed } }), summary);
    expect(summary).toMatchObject({ passed: 2, failed: 0, disagreements: 0 });
  });
});

describe('the loader: every request pins why', () => {
  const lines = ['{as: none, method: POST, path: /charges, expect: deny}', '{as: store, method: POST, path: /charges, expect: allow}', '{as: store, method: POST, path: /admin, expect: deny, rule: no-admin}'];
  it('warns on an unpinned deny and an unpinned allow, with their positions', () => {
    const s = scenario(lines);
    expect(s.warnings).toHaveLength(2);
    expect(s.warnings[0]).toMatch(/:7:5: requests\[0\]: warning: a deny must pin why/);
    expect(s.warnings[1]).toMatch(/:8:5: requests\[1\]: warning: an allow must pin the rule/);
  });
  it('--strict makes them errors', () => {
    expect(() => scenario(lines, { strict: true })).toThrow(ScenarioError);
  });
});

describe('emulator: a crashing module is a failure, not a deny', () => {
  let wasmFile: string;
  beforeAll(async () => {
    const { 'trap-on-header': bytes } = await fixtureModules('trap-on-header');
    wasmFile = path.join(tmp, 'trap-on-header.wasm');
    fs.writeFileSync(wasmFile, bytes);
  }, 120_000);

  it('the trapping request, and every one after it on the dead VM, fail saying so', async () => {
    const s = scenario(['{as: store, method: POST, path: /charges, headers: {x-trap: "1"}, expect: deny}', '{as: none, method: POST, path: /charges, expect: deny}']);
    const target = await EmulatorTarget.start(s, { wasmFile, rootId: 'meshgate_trap' });
    try {
      for (const req of s.requests) {
        const obs = await target.run(req);
        expect(obs).toMatchObject({ outcome: 'deny', status: 503, layer: 'crash' });
        const r = judge(s, req, 'emulator', obs);
        expect(r.passed).toBe(false);
        expect(r.message).toMatch(/the filter crashed \(503 wasm_fail_stream\)/);
      }
    } finally {
      await target.stop();
    }
  });
});
