/**
 * The reference configs are what users run (`func-e run -c envoy/<role>.yaml` after
 * `npm run build`): Envoy accepts each one as written — wasm module compiled, certificates read,
 * the plugin configured — and the policy inlined in them is exactly examples/shop/policy.yaml
 * compiled, so the docs cannot drift from the example.
 *
 * `meshgate render envoy` for every egress role writes a bootstrap Envoy accepts, which resolves
 * through the system resolver (no c-ares `resolvers`) unless `--dns IP:PORT` names a server.
 *
 * MESHGATE_WASM=<file> validates against another build of the module (e.g. a branch's) instead of
 * build/meshgate.wasm; the configs are otherwise used as written.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { locateEnvoy } from '../../harness/envoy/locate';
import { EGRESS_ROLES, loadReferenceConfig, resolverAddresses, wasmPluginConfig, type Role } from '../../harness/envoy/reference';
import { compilePolicyFile } from '../../harness/policy/compile';
import { renderEnvoy } from '../../harness/render/envoy';
import type { Json } from '../../harness/envoy/bootstrap';

const ROOT = path.resolve(__dirname, '..', '..');
const ROLES: Role[] = ['inbound', 'egress', 'egress-sidecar', 'egress-sni-sidecar', 'egress-sni-gateway'];
const WASM = process.env.MESHGATE_WASM ? path.resolve(process.env.MESHGATE_WASM) : undefined;
/** Sidecar forms say who the workload is; the gateways read the peer certificate. */
const LOCAL_IDENTITY: Partial<Record<Role, Json>> = {
  'egress-sidecar': { from: 'local', id: 'spiffe://example.org/ns/shop/sa/billing' },
  'egress-sni-sidecar': { from: 'local', id: 'spiffe://example.org/ns/shop/sa/billing' },
};

let tmp: string;
beforeAll(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'meshgate-reference-'))));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** `envoy --mode validate` (config loaded, wasm compiled and configured, nothing bound). */
async function validate(file: string, cwd = ROOT): Promise<{ status: number | null; output: string }> {
  const envoy = await locateEnvoy();
  const r = spawnSync(envoy.bin, ['--mode', 'validate', '-c', file, '--disable-hot-restart', '--log-level', 'info'], { cwd, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, output: r.stdout + r.stderr };
}

describe.each(ROLES)('envoy/%s.yaml', (role) => {
  it('is accepted by Envoy as written (validate mode, from the repository root)', async () => {
    expect(fs.existsSync(path.join(ROOT, 'build/certs/ca.pem'))).toBe(true);
    let file = `envoy/${role}.yaml`;
    if (WASM) {
      file = path.join(tmp, `${role}.yaml`);
      fs.writeFileSync(file, fs.readFileSync(path.join(ROOT, 'envoy', `${role}.yaml`), 'utf8').replace(/filename: build\/meshgate\.wasm/g, `filename: ${WASM}`));
    }
    const r = await validate(file);
    expect(r.output).toContain(`configuration '${file}' OK`);
    expect(r.status).toBe(0);
  });

  it('inlines the example policy, compiled', () => {
    const compiled = compilePolicyFile(path.join(ROOT, 'examples/shop/policy.yaml'));
    const inlined = JSON.parse((wasmPluginConfig(loadReferenceConfig(role)).configuration as { value: string }).value);
    const expected = JSON.parse(compiled.json);
    if (LOCAL_IDENTITY[role]) expected.identity = LOCAL_IDENTITY[role];
    expect(inlined).toEqual(expected);
  });
});

describe.each(EGRESS_ROLES)('meshgate render envoy --role %s', (role) => {
  // a sidecar's egress policy takes its identity from the workload (identity.from: local)
  const shop = (role?: string) => compilePolicyFile(path.join(ROOT, role === 'egress-sidecar' || role === 'egress-sni-sidecar' ? 'examples/shop/billing-sidecar.yaml' : 'examples/shop/policy.yaml'));

  it('resolves through the system resolver by default (no resolver address), and Envoy accepts the bootstrap', async () => {
    const out = path.join(tmp, `render-${role}`);
    const written = await renderEnvoy({ role, compiled: shop(role), outDir: out, wasmFile: WASM ?? path.join(ROOT, 'build/meshgate.wasm') });
    expect(resolverAddresses(loadYaml(written.bootstrap))).toEqual([]);
    expect(resolverAddresses(loadReferenceConfig(role))).toEqual([]);
    const r = await validate(written.bootstrap, out);
    expect(r.output).toContain('OK');
    expect(r.status).toBe(0);
  });

  it('--dns IP:PORT puts that resolver (and only it) in every DNS cache config', async () => {
    const out = path.join(tmp, `render-${role}-dns`);
    const written = await renderEnvoy({ role, compiled: shop(role), outDir: out, wasmFile: WASM ?? path.join(ROOT, 'build/meshgate.wasm'), dns: '10.0.0.10:53' });
    const cfg = loadYaml(written.bootstrap);
    const found = resolverAddresses(cfg);
    expect(found.length).toBeGreaterThan(0);
    expect(new Set(found)).toEqual(new Set(['10.0.0.10:53']));
    expect(JSON.stringify(cfg)).not.toContain('"use_resolvers_as_fallback":true');
    const r = await validate(written.bootstrap, out);
    expect(r.status).toBe(0);
  });
});

function loadYaml(file: string): Json {
  return parseYaml(fs.readFileSync(file, 'utf8')) as Json;
}
