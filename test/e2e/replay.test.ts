/**
 * Issue 15's acceptance through real Envoy: the scenario suites' traffic goes through the
 * reference configs (the scenario runner's envoy target), the access log (the decision records,
 * docs/records.md) is collected, and then
 *   (a) replayed against the same policies: zero changes, the same rule for every record;
 *   (b) replayed against changed policies: record by record what Envoy itself decides when the
 *       same scenarios run again under the changed policy — and so exactly its flips;
 *   (c) learned: the proposal validates with no warnings, `meshgate test --require-coverage` passes
 *       on the emitted scenarios (emulator and Envoy), and replaying the source log against the
 *       proposal shows no allow → deny.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { main } from '../../harness/cli';
import { compilePolicy } from '../../harness/policy/compile';
import { readRecords, RecordTally } from '../../harness/records/read';
import type { DecisionRecord } from '../../harness/records/record';
import { loadScenario } from '../../harness/scenario/load';
import { emptySummary, forProtocol, runScenario } from '../../harness/scenario/run';
import { startTarget } from '../../harness/scenario/targets/factory';
import type { Scenario, Target } from '../../harness/scenario/types';
import { replayLogs } from '../../harness/rollout/replay';
import { RecordDecider } from '../../harness/rollout/replay-decide';

const SCENARIOS = path.join(__dirname, '..', 'scenarios');
const SUITES = ['inbound/shop.yaml', 'egress/stripe.yaml', 'egress/tunnel-inner-sni.yaml', 'egress/sni-sidecar.yaml'];
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'meshgate-replay-e2e-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Runs the scenario's requests (HTTP/1.1 pass) on real Envoy; returns its access-log lines. */
async function envoyLog(scenario: Scenario): Promise<string[]> {
  const lines: string[] = [];
  const factory = async (s: Scenario, target: Target) => {
    const ex = await startTarget(s, target);
    const stop = ex.stop.bind(ex);
    ex.stop = async () => {
      const envoy = (ex as unknown as { stack: { envoy: { stdout(): string } } }).stack.envoy;
      lines.push(...envoy.stdout().split('\n').filter((l) => l.startsWith('{')));
      await stop();
    };
    return ex;
  };
  await runScenario(forProtocol(scenario, 'http1'), { targets: ['envoy'] }, factory, emptySummary());
  return lines;
}

async function records(file: string): Promise<DecisionRecord[]> {
  const out: DecisionRecord[] = [];
  for await (const { record } of readRecords([file], new RecordTally())) out.push(record);
  return out;
}

/** The scenario under another policy (its requests unchanged). */
function withPolicy(s: Scenario, policy: object): Scenario {
  const c = compilePolicy(policy, 'changed.yaml');
  if (!c.ok) throw new Error(c.errors.map((e) => e.message).join('; '));
  return { ...s, policy: c.policy!, policyJson: c.json, policyDigest12: c.digest12, normalized: c.normalized! };
}

function cli(...args: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  return main(args, { out: (l) => out.push(l), err: (l) => err.push(l) }).then((code) => ({ code, out, err }));
}

describe('decision records through real Envoy', () => {
  const logs: Record<string, string> = {};
  const loaded: Record<string, Scenario> = {};

  beforeAll(async () => {
    for (const suite of SUITES) {
      loaded[suite] = loadScenario(path.join(SCENARIOS, suite));
      logs[suite] = path.join(tmp, suite.replace('/', '-') + '.log');
      fs.writeFileSync(logs[suite], (await envoyLog(loaded[suite])).join('\n') + '\n');
    }
  }, 300_000);

  it.each(SUITES)('(a) %s: every request is a parseable record; replayed against its own policy nothing changes', async (suite) => {
    const tally = new RecordTally();
    const rs: DecisionRecord[] = [];
    for await (const { record } of readRecords([logs[suite]], tally)) rs.push(record);
    expect(tally.bad).toBe(0);
    expect(rs.length).toBeGreaterThan(5);
    expect(new Set(rs.map((r) => r.policy))).toEqual(new Set([loaded[suite].policyDigest12]));
    const report = await replayLogs([logs[suite]], loaded[suite].policyJson);
    expect(report.groups).toEqual([]);
    expect(report.unchanged).toBe(rs.length);
  });

  const CHANGED: Record<string, (p: any) => object> = {
    // one allow rule narrowed, a deny added, an audit rule made an enforced allow
    'inbound/shop.yaml': (p) => ({
      ...p,
      inbound: {
        default: 'deny',
        rules: [
          { name: 'no-refunds', action: 'deny', paths: ['/charges/{*}/refund'] },
          ...p.inbound.rules.map((r: any) => (r.name === 'store-creates-charges' ? { ...r, paths: ['/charges/*'] } : r.name === 'try-new-reader' ? { ...r, mode: 'enforce' } : r)),
        ],
      },
    }),
    // the Stripe rule removed, store allowed instead
    'egress/stripe.yaml': (p) => ({ ...p, egress: { default: 'deny', rules: [{ name: 'store-to-stripe', from: ['spiffe://example.org/ns/shop/sa/store'], hosts: ['api.stripe.com'], ports: [443] }] } }),
  };

  it.each(Object.keys(CHANGED))('(b) %s: against a changed policy, each record gets what Envoy decides under it', async (suite) => {
    const changed = withPolicy(loaded[suite], CHANGED[suite](loaded[suite].policy));
    const rerun = path.join(tmp, 'rerun.log');
    fs.writeFileSync(rerun, (await envoyLog(changed)).join('\n') + '\n');
    const before = await records(logs[suite]);
    const after = await records(rerun);
    expect(after.map((r) => [r.method, r.path, r.authority, r.identity])).toEqual(before.map((r) => [r.method, r.path, r.authority, r.identity]));
    const decider = new RecordDecider(changed.policyJson);
    expect(before.map((r) => decider.decide(r))).toEqual(after.map((r) => ({ decision: r.decision, rule: r.rule })));
    const flips = before.filter((r, i) => (r.decision === 'deny') !== (after[i].decision === 'deny')).length;
    expect(flips).toBeGreaterThan(0);
    const report = await replayLogs([logs[suite]], changed.policyJson);
    expect(report.changes['allow-to-deny'] + report.changes['deny-to-allow']).toBe(flips);
  }, 120_000);

  it('(c) learn on the inbound and egress logs → no warnings → coverage on both targets → no allow → deny', async () => {
    const sources = [logs['inbound/shop.yaml'], logs['egress/stripe.yaml']];
    const proposal = path.join(tmp, 'proposal.yaml');
    const scenarios = path.join(tmp, 'learned.yaml');
    const learned = await cli('learn', ...sources, '--policy', path.join(SCENARIOS, 'policies/shop-inbound.yaml'), '--out', proposal, '--scenarios', scenarios);
    expect(learned.code).toBe(0);
    const validated = await cli('validate', proposal);
    expect(validated.err).toEqual([]);
    expect(validated.out.join('\n')).toMatch(/: ok \(policy [0-9a-f]{12}\)$/);
    const files = [path.join(tmp, 'learned.inbound.yaml'), path.join(tmp, 'learned.egress.yaml')];
    const tested = await cli('test', ...files, '--require-coverage', '--target', 'both');
    expect([tested.code, tested.err]).toEqual([0, []]);
    expect(tested.out.filter((l) => l.startsWith('PASS [envoy]')).length).toBe(tested.out.filter((l) => l.startsWith('PASS [emulator]')).length);
    expect(tested.out.some((l) => l.startsWith('PASS [envoy]'))).toBe(true);
    const replayed = await cli('replay', ...sources, '--policy', proposal, '--fail-on', 'allow-to-deny', '--format', 'json');
    expect(replayed.code).toBe(0);
    expect(JSON.parse(replayed.out.join('\n')).changes['allow-to-deny']).toBe(0);
  }, 240_000);
});
