/**
 * Through real Envoy: `meshgate stats` against the live admin server after a few requests, and
 * the policy digest surviving re-serialization — Envoy is handed the policy the way Istio passes
 * `pluginConfig` (keys sorted, indented, `\/` escapes), and the access log's filter state names
 * the digest `meshgate validate` prints for the YAML.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { main } from '../../harness/cli';
import { decisionCount, waitForDecisions } from '../../harness/envoy/decisions';
import { compilePolicy } from '../../harness/policy/compile';
import { request } from '../../harness/services/client';
import { InboundStack } from '../../harness/stack/inbound';

const STORE = 'spiffe://example.org/ns/shop/sa/store';
const BILLING = 'spiffe://example.org/ns/shop/sa/billing';
const POLICY = {
  trustDomain: 'example.org',
  inbound: {
    default: 'deny',
    rules: [
      { name: 'no-admin', action: 'deny', paths: ['/admin', '/admin/*'] },
      { name: 'store-creates-charges', from: [STORE], methods: ['POST'], paths: ['/charges', '/charges/*'] },
      { name: 'health', from: ['*'], paths: ['/healthz'] },
      { name: 'try-new-reader', mode: 'audit', from: ['spiffe://example.org/ns/shop/*'], methods: ['GET'], paths: ['/charges/{*}/receipt'] },
      { name: 'block-debug', mode: 'audit', action: 'deny', paths: ['/debug/*'] },
    ],
  },
};

/** Keys sorted at every level, as Istio's protobuf Struct → JSON writes them. */
function sorted(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sorted);
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sorted((v as Record<string, unknown>)[k])]));
  return v;
}

describe('stats and the digest through Envoy', () => {
  let stack: InboundStack;
  const compiled = compilePolicy(POLICY, 'inline');
  const reserialized = JSON.stringify(sorted(POLICY), null, 2).replace(/\//g, '\\/');

  beforeAll(async () => {
    expect(reserialized).not.toBe(compiled.json);
    stack = await InboundStack.start({ policyJson: reserialized, trustDomain: 'example.org' });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('counts the decisions; stats lists the rules never hit and the audit rules\' counts', async () => {
    const before = decisionCount(await stack.envoy.stats());
    const send = async (who: string | null, method: string, path: string) =>
      (await request({ port: stack.port, tls: await stack.clientTls(who), method, path, headers: { host: 'billing' } })).status;
    expect(await send(STORE, 'POST', '/charges')).toBe(200);
    expect(await send(BILLING, 'GET', '/charges/ch_1/receipt')).toBe(403);
    expect(await send(BILLING, 'GET', '/debug/vars')).toBe(403);
    expect(await send(STORE, 'GET', '/admin')).toBe(403);
    await waitForDecisions(stack.envoy, before + 4);

    const out: string[] = [];
    const policyFile = path.join(stack.dir, 'policy.json');
    fs.writeFileSync(policyFile, compiled.json);
    expect(await main(['stats', stack.envoy.adminUrl, '--policy', policyFile], { out: (s) => out.push(s), err: (s) => out.push(s) })).toBe(0);
    expect(out).toEqual([
      'meshgate_inbound: allowed 1, denied 3, audit would-deny 0, by default 2, invalid requests 0',
      '  no-admin               deny: decided 1',
      '  store-creates-charges  allow: decided 1',
      '  health                 allow: decided 0  (never hit)',
      '  try-new-reader         audit allow: would allow 1',
      '  block-debug            audit deny: would deny 1',
      'never hit: health',
    ]);
  });

  it('the access log names the digest validate prints, though Envoy got the policy re-serialized', async () => {
    const records = stack.accessLog().filter((e) => typeof e.meshgate === 'string' && e.meshgate.startsWith('decision='));
    expect(records.length).toBeGreaterThan(0);
    for (const r of records) expect(r.meshgate).toContain(` policy=${compiled.digest12}`);
  });
});
