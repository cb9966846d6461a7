/**
 * `meshgate stats` over the filter's own counters: the module in the emulator decides a few
 * requests, its counters (as its timer hands them to the host) are read like Envoy's /stats —
 * rules never hit, audit would-deny and would-allow counts, the default's count.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { main } from '../../../harness/cli';
import { presentRequest, peerCertificate } from '../../../harness/emulator/request';
import { ProxyWasmVm } from '../../../harness/emulator/vm';
import { repoRoot } from '../../../harness/envoy/paths';
import { TestCa } from '../../../harness/pki/ca';
import { compilePolicy } from '../../../harness/policy/compile';
import { formatStats, parseStats, policyStats } from '../../../harness/rollout/stats';

const STORE = 'spiffe://example.org/ns/shop/sa/store';
const BILLING = 'spiffe://example.org/ns/shop/sa/billing';
const POLICY = {
  trustDomain: 'example.org',
  inbound: {
    rules: [
      { name: 'no-admin', action: 'deny', paths: ['/admin', '/admin/*'] },
      { name: 'store-creates-charges', from: [STORE], methods: ['POST'], paths: ['/charges'] },
      { name: 'health', from: ['*'], paths: ['/healthz'] },
      { name: 'try-new-reader', mode: 'audit', from: ['spiffe://example.org/ns/shop/*'], methods: ['GET'], paths: ['/charges/{*}/receipt'] },
      { name: 'block-debug', mode: 'audit', action: 'deny', paths: ['/debug/*'] },
    ],
  },
};
const compiled = compilePolicy(POLICY, 'inline');

/** The filter's counters after these requests ([identity, method, path]). */
async function countersAfter(requests: Array<[string | null, string, string]>): Promise<Record<string, number>> {
  const vm = await ProxyWasmVm.load(path.join(repoRoot(), 'build', 'meshgate.wasm'));
  const plugin = vm.startPlugin({ rootId: 'meshgate_inbound', configuration: compiled.json });
  const ca = await TestCa.create({ trustDomain: 'example.org' });
  let id = 1n;
  for (const [who, method, p] of requests) {
    const peer = who === null ? undefined : peerCertificate((await ca.mintSvid(who)).certPem);
    const stream = plugin.newHttpStream(presentRequest({ method, path: p, authority: 'billing', scheme: 'https', connectionId: id++, peer }));
    stream.sendRequestHeaders();
    stream.complete();
  }
  plugin.tick();
  return vm.metrics();
}

describe('from the filter\'s counters', () => {
  let metrics: Record<string, number>;
  beforeAll(async () => {
    metrics = await countersAfter([
      [STORE, 'POST', '/charges'],
      [STORE, 'POST', '/charges'],
      [BILLING, 'GET', '/charges/ch_1/receipt'],
      [null, 'GET', '/debug/vars'],
      [STORE, 'GET', '/admin'],
      [null, 'GET', '/charges/../x'],
    ]);
  });

  it('rules never hit, audit counts, totals', () => {
    const [s] = policyStats(compiled, metrics);
    expect(s.filter).toBe('inbound');
    expect(s.rules.map((r) => [r.name, r.count])).toEqual([
      ['no-admin', 1], ['store-creates-charges', 2], ['health', 0], ['try-new-reader', 1], ['block-debug', 1],
    ]);
    expect(s.neverHit).toEqual(['health']);
    expect(s.auditWouldDeny).toEqual({ 'block-debug': 1 });
    expect(s.auditWouldAllow).toEqual({ 'try-new-reader': 1 });
    expect(s.totals).toEqual({ allowed: 2, denied: 4, audit_would_deny: 0, invalid_request: 1, default: 2 });
    expect([s.unknownRules, s.missingRules]).toEqual([[], []]);
  });

  it('reads Envoy\'s text and JSON /stats alike (wasmcustom. prefix), and prints the report', () => {
    const text = Object.entries(metrics).map(([k, v]) => `wasmcustom.${k}: ${v}`).join('\n') + '\ncluster.billing.upstream_rq_total: 9\n';
    const json = JSON.stringify({ stats: Object.entries(metrics).map(([name, value]) => ({ name: `wasmcustom.${name}`, value })) });
    expect(policyStats(compiled, parseStats(text))).toEqual(policyStats(compiled, metrics));
    expect(policyStats(compiled, parseStats(json))).toEqual(policyStats(compiled, metrics));
    expect(formatStats(policyStats(compiled, parseStats(text)))).toEqual([
      'meshgate_inbound: allowed 2, denied 4, audit would-deny 0, by default 2, invalid requests 1',
      '  no-admin               deny: decided 1',
      '  store-creates-charges  allow: decided 2',
      '  health                 allow: decided 0  (never hit)',
      '  try-new-reader         audit allow: would allow 1',
      '  block-debug            audit deny: would deny 1',
      'never hit: health',
    ]);
  });

  it('says when the proxy\'s rules are not the policy\'s', () => {
    const other = compilePolicy({ trustDomain: 'example.org', inbound: { rules: [{ name: 'health', from: ['*'] }, { name: 'new-rule', from: ['*'] }] } }, 'inline');
    const [s] = policyStats(other, metrics);
    expect([s.unknownRules, s.missingRules]).toEqual([['no-admin', 'store-creates-charges', 'try-new-reader', 'block-debug'], ['new-rule']]);
  });

  it('the command reads a saved /stats file', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meshgate-stats-'));
    const statsFile = path.join(dir, 'stats.txt');
    fs.writeFileSync(statsFile, Object.entries(metrics).map(([k, v]) => `wasmcustom.${k}: ${v}`).join('\n'));
    const policyFile = path.join(dir, 'p.yaml');
    fs.writeFileSync(policyFile, JSON.stringify(POLICY));
    const out: string[] = [];
    expect(await main(['stats', statsFile, '--policy', policyFile, '--format', 'json'], { out: (s) => out.push(s), err: (s) => out.push(s) })).toBe(0);
    const doc = JSON.parse(out.join('\n'));
    expect([doc.policy, doc.filters[0].neverHit]).toEqual([compiled.digest12, ['health']]);
  });
});
