/**
 * The reference configs are what users run (`func-e run -c envoy/<role>.yaml` after
 * `npm run build`): Envoy accepts each one as written — wasm module compiled, certificates read,
 * the plugin configured — and the policy inlined in them is exactly examples/shop/policy.yaml
 * compiled, so the docs cannot drift from the example.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { locateEnvoy } from '../../harness/envoy/locate';
import { loadReferenceConfig, wasmPluginConfig } from '../../harness/envoy/reference';
import { compilePolicyFile } from '../../harness/policy/compile';

const ROOT = path.resolve(__dirname, '..', '..');
const ROLES = ['inbound', 'egress', 'egress-sidecar'] as const;

describe.each(ROLES)('envoy/%s.yaml', (role) => {
  it('is accepted by Envoy as written (validate mode, from the repository root)', async () => {
    const envoy = await locateEnvoy();
    expect(fs.existsSync(path.join(ROOT, 'build/certs/ca.pem'))).toBe(true);
    const r = spawnSync(envoy.bin, ['--mode', 'validate', '-c', `envoy/${role}.yaml`, '--disable-hot-restart', '--log-level', 'info'], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
    expect(r.stdout + r.stderr).toContain(`configuration 'envoy/${role}.yaml' OK`);
    expect(r.status).toBe(0);
  });

  it('inlines the example policy, compiled', () => {
    const compiled = compilePolicyFile(path.join(ROOT, 'examples/shop/policy.yaml'));
    const inlined = JSON.parse((wasmPluginConfig(loadReferenceConfig(role)).configuration as { value: string }).value);
    const expected = JSON.parse(compiled.json);
    if (role === 'egress-sidecar') expected.identity = { from: 'local', id: 'spiffe://example.org/ns/shop/sa/billing' };
    expect(inlined).toEqual(expected);
  });
});
