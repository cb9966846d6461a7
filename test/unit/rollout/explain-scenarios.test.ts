/**
 * `explain` gives the filter's decision and rule on every request of every scenario suite: each
 * request runs through build/meshgate.wasm in the emulator (the scenario's emulator target, with
 * its model of Envoy's front), the facts the filter received are captured, and explaining them
 * as an access-log record would give them (the filter state's identity, method, path, authority)
 * must name the same decision and rule — and the scenario's pinned rule.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { sharedTestkit } from '../../../harness/engine/testkit';
import { compilePolicyText } from '../../../harness/policy/compile';
import { explainRequest } from '../../../harness/rollout/explain';
import { requestOfRecord } from '../../../harness/rollout/explain-record';
import { loadScenario } from '../../../harness/scenario/load';
import { EmulatorTarget } from '../../../harness/scenario/targets/emulator';
import { repoRoot } from '../../../harness/envoy/paths';

jest.setTimeout(300_000);

const ROOT = path.join(repoRoot(), 'test', 'scenarios');
const FILES = ['inbound', 'egress', 'adversarial'].flatMap((d) =>
  fs.readdirSync(path.join(ROOT, d)).filter((f) => f.endsWith('.yaml')).map((f) => path.join(ROOT, d, f)),
);
const STATE = /decision=\S+ rule=\S+ identity=\S+ policy=\S+(?: identity_reason=\S+)?(?: sni=[^\s)]+)?/;

it('covers every suite', () => {
  expect(FILES.length).toBeGreaterThanOrEqual(25);
});

describe.each(FILES.map((f) => [path.relative(ROOT, f), f]))('%s', (_name, file) => {
  it('explain names the decision and rule the filter recorded, for every request it decided', async () => {
    const scenario = loadScenario(file);
    const compiled = compilePolicyText(scenario.policyJson, file);
    expect(compiled.ok).toBe(true);
    const target = await EmulatorTarget.start(scenario);
    // the request headers the filter receives, per stream
    const plugin = (target as unknown as { plugin: { newHttpStream: (r: any) => any } }).plugin;
    const open = plugin.newHttpStream.bind(plugin);
    type Captured = { headers: [string, string][]; stream: { filterState: Record<string, string> } };
    const cap: { last?: Captured } = {};
    plugin.newHttpStream = (r: any) => {
      const stream = open(r);
      cap.last = { headers: r.requestHeaders, stream };
      return stream;
    };
    let explained = 0;
    try {
      for (const req of scenario.requests) {
        cap.last = undefined;
        const seen = await target.run(req);
        const last = cap.last as Captured | undefined;
        const state = last?.stream.filterState['wasm.meshgate'] ?? STATE.exec(seen.detail ?? '')?.[0];
        if (state === undefined) continue; // refused before the filter (TLS, codec, front)
        const where = `${req.where} ${req.label}: ${state}`;
        const record: Record<string, unknown> = { role: scenario.role, meshgate: state };
        if (last !== undefined) {
          const h = Object.fromEntries(last.headers);
          Object.assign(record, { method: h[':method'], path: h[':path'], authority: h[':authority'], scheme: h[':scheme'] });
        } else {
          // a TLS passthrough connection: judged by its server name, unless the ClientHello bytes
          // were refused first (not_tls, ech, bad_sni, ...: nothing to explain but the refusal)
          const sni = / sni=([^\s)]+)/.exec(state)?.[1];
          const refusal = / rule=(not_tls|no_sni|ech|malformed_client_hello|client_hello_too_large|bad_sni) /.exec(state)?.[1];
          if (sni === undefined || sni === '-' || refusal !== undefined) {
            expect([where, state]).toEqual([where, expect.stringMatching(/^decision=(deny|audit_deny) /)]);
            continue;
          }
          Object.assign(record, { role: 'egress-sni', port: req.port ?? 443 });
        }
        const logged = requestOfRecord(record);
        const rule = logged.logged.rule!;
        const e = explainRequest(sharedTestkit(), compiled, logged.request);
        if (rule.startsWith('tunnel_')) {
          // the CONNECT was allowed; the tunnel's first bytes were refused afterwards (egress/tunnel.ts)
          expect([where, e.decision]).toEqual([where, 'allow']);
        } else {
          expect([where, e.decision, e.rule]).toEqual([where, logged.logged.decision, rule]);
          if (req.rule !== undefined && seen.rule !== undefined) expect([where, e.rule]).toEqual([where, seen.rule]);
        }
        explained++;
      }
    } finally {
      await target.stop();
    }
    expect(explained).toBeGreaterThan(0);
  });
});
