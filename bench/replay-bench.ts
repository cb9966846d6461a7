/**
 * `meshgate replay` throughput (issue 15's target: ≥ 50,000 records/s): a generated access log of
 * `records` decision records — 80 % inbound (the shop policy's callers, paths with ids, some
 * unauthenticated), 20 % egress (origin-form, CONNECT with a tunnel SNI) — each recorded with the
 * decision the module gives under the shop policy, then replayed end to end (read, parse, decide
 * through build/testkit.wasm, group) against a changed policy. Wall time, records/s, and the
 * process's heap before and after (the replay streams: memory must not grow with the log).
 *
 *   node dist/bench/replay-bench.js [--records 200000]
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { compilePolicy } from '../harness/policy/compile';
import type { DecisionRecord } from '../harness/records/record';
import { replayLogs } from '../harness/rollout/replay';
import { RecordDecider } from '../harness/rollout/replay-decide';
import { seededRandom } from './stats';

export interface ReplayBenchResult {
  records: number;
  logBytes: number;
  seconds: number;
  perSec: number;
  changes: Record<string, number>;
  heapBeforeMb: number;
  heapAfterMb: number;
}

const TD = 'example.org';
const id = (ns: string, sa: string) => `spiffe://${TD}/ns/${ns}/sa/${sa}`;
const CALLERS = [id('shop', 'store'), id('web', 'frontend'), id('shop', 'billing'), null];

function shopPolicy(changed: boolean): string {
  const inboundRules: object[] = [
    { name: 'no-admin', action: 'deny', paths: ['/admin', '/admin/*'] },
    { name: 'store-creates-charges', from: [id('shop', 'store')], methods: ['POST'], paths: ['/charges', '/charges/*'] },
    { name: 'web-reads', from: [id('web', 'frontend')], methods: ['GET'], paths: changed ? ['/catalog/*'] : ['/catalog/*', '/users/{*}'] },
  ];
  if (changed) inboundRules.push({ name: 'billing-reads-charges', from: [id('shop', 'billing')], methods: ['GET'], paths: ['/charges/{*}'] });
  return compilePolicy({
    trustDomain: TD,
    inbound: { default: 'deny', rules: inboundRules },
    egress: { default: 'deny', rules: [{ name: 'billing-to-stripe', from: [id('shop', 'billing')], hosts: ['api.stripe.com', '*.stripe.com'], ports: [443] }] },
  }, 'bench.yaml').json;
}

/** Writes the log; every record carries the decision the module gives under the unchanged policy. */
export function writeReplayLog(file: string, records: number, seed = 1): number {
  const rand = seededRandom(seed);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)];
  const decider = new RecordDecider(shopPolicy(false));
  const fd = fs.openSync(file, 'w');
  let bytes = 0;
  let batch: string[] = [];
  const t0 = Date.UTC(2026, 11, 4, 10);
  for (let i = 0; i < records; i++) {
    const identity = pick(CALLERS);
    const r: DecisionRecord = rand() < 0.8
      ? { role: 'inbound', identity, connect: false, decision: 'allow', rule: '', policy: '', ...pick([
        { method: 'POST', path: `/charges/ch_${Math.floor(rand() * 1e6)}` },
        { method: 'GET', path: `/charges/ch_${Math.floor(rand() * 1e6)}` },
        { method: 'GET', path: `/users/${Math.floor(rand() * 1e4)}` },
        { method: 'GET', path: `/catalog/item-${Math.floor(rand() * 100)}?page=2` },
        { method: 'DELETE', path: '/admin/users/1' },
      ]) }
      : { role: 'egress', identity, connect: false, decision: 'allow', rule: '', policy: '', ...pick([
        { method: 'POST', scheme: 'https', authority: 'api.stripe.com', path: '/v1/charges' },
        { method: 'CONNECT', connect: true, authority: 'files.stripe.com:443', sni: 'files.stripe.com' },
        { method: 'GET', scheme: 'https', authority: 'evil.example' },
      ]) };
    const d = decider.decide(r);
    const state = `decision=${d.decision} rule=${d.rule} identity=${identity ?? '-'} policy=${decider.digests.get(r.role)}${identity ? '' : ' identity_reason=no_peer_certificate'}${r.sni ? ` sni=${r.sni}` : ''}`;
    const line = JSON.stringify({ time: new Date(t0 + i * 10).toISOString(), role: r.role, authority: r.authority ?? 'billing', scheme: r.scheme ?? null, protocol: 'HTTP/1.1', port: 8443, method: r.method, path: r.path ?? null, status: d.decision === 'deny' ? 403 : 200, meshgate: state });
    batch.push(line);
    if (batch.length === 4096 || i === records - 1) {
      const chunk = batch.join('\n') + '\n';
      fs.writeSync(fd, chunk);
      bytes += Buffer.byteLength(chunk);
      batch = [];
    }
  }
  fs.closeSync(fd);
  return bytes;
}

export async function runReplayBench(o: { records: number; log?: (s: string) => void }): Promise<ReplayBenchResult> {
  const log = o.log ?? ((s: string) => process.stderr.write(s + '\n'));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meshgate-replay-bench-'));
  try {
    const file = path.join(dir, 'access.log');
    const logBytes = writeReplayLog(file, o.records);
    log(`replay: ${o.records} records (${(logBytes / 1e6).toFixed(1)} MB) written; replaying against a changed policy`);
    const changed = shopPolicy(true);
    global.gc?.();
    const heapBeforeMb = process.memoryUsage().heapUsed / 1e6;
    const t = process.hrtime.bigint();
    const report = await replayLogs([file], changed);
    const seconds = Number(process.hrtime.bigint() - t) / 1e9;
    const heapAfterMb = process.memoryUsage().heapUsed / 1e6;
    return { records: report.records, logBytes, seconds, perSec: Math.round(report.records / seconds), changes: report.changes, heapBeforeMb, heapAfterMb };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** One line for the bench report's notes. */
export async function replayBenchNote(mode: 'full' | 'quick', log: (s: string) => void): Promise<string> {
  const r = await runReplayBench({ records: mode === 'quick' ? 20_000 : 200_000, log });
  return `meshgate replay (bench/replay-bench.ts): ${r.records} records in ${r.seconds.toFixed(2)} s = ${r.perSec} records/s (target ≥ 50,000); heap ${r.heapBeforeMb.toFixed(0)} → ${r.heapAfterMb.toFixed(0)} MB.`;
}

if (require.main === module) {
  const at = process.argv.indexOf('--records');
  const records = at > 0 ? Number(process.argv[at + 1]) : 200_000;
  runReplayBench({ records }).then((r) => process.stdout.write(JSON.stringify(r, null, 2) + '\n'));
}
