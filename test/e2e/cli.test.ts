/**
 * Every `meshgate` command through the real bin (a spawned `node bin/meshgate.js`, which runs the
 * compiled dist/ — `npm test` builds first), including the error exits: 0 ok, 1 problem found,
 * 2 usage error.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { EnvoyProcess } from '../../harness/envoy/process';

const ROOT = path.resolve(__dirname, '..', '..');
const BIN = path.join(ROOT, 'bin', 'meshgate.js');
const SHOP = path.join(ROOT, 'examples', 'shop', 'policy.yaml');
const SHOP_SIDECAR = path.join(ROOT, 'examples', 'shop', 'billing-sidecar.yaml');

function meshgate(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'meshgate-cli-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const f = path.join(tmp, name);
  fs.writeFileSync(f, text);
  return f;
}

describe('meshgate (no command, help)', () => {
  it('prints help and exits 2 without a command', () => {
    const r = meshgate();
    expect(r.code).toBe(2);
    expect(r.out + r.err).toContain('Usage: meshgate');
  });
  it.each(['validate', 'render envoy', 'render istio', 'render rbac', 'package oci', 'eval', 'test'])('%s --help exits 0', (cmd) => {
    const r = meshgate(...cmd.split(' '), '--help');
    expect(r.code).toBe(0);
    expect(r.out).toContain(`Usage: meshgate ${cmd}`);
  });
  it('rejects an unknown command with exit 2', () => {
    expect(meshgate('frobnicate').code).toBe(2);
  });
});

describe('meshgate validate', () => {
  it('accepts the example policy', () => {
    const r = meshgate('validate', SHOP);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/policy\.yaml: ok \(policy [0-9a-f]{12}/);
  });
  it('reports every error as FILE:LINE:COL: message and exits 1', () => {
    const f = write('bad.yaml', 'trustDomain: example.org\ninbound:\n  rules:\n    - name: a\n      from: ["spiffe://Example.ORG/x"]\n      methods: [post]\n      pathz: ["/x"]\n    - name: a\n');
    const r = meshgate('validate', f);
    expect(r.code).toBe(1);
    const lines = r.err.trim().split('\n');
    expect(lines).toEqual(
      expect.arrayContaining([
        `${f}:5:14: inbound.rules[0].from[0]: trust domain has a character outside [a-z0-9._-]: "spiffe://Example.ORG/x"`,
        `${f}:6:17: inbound.rules[0].methods[0]: method must be 1 to 32 upper-case letters: "post"`,
        `${f}:7:7: inbound.rules[0].pathz: unknown field (did you mean "paths"?)`,
      ]),
    );
    expect(lines.some((l) => l.startsWith(`${f}:8:`) && l.includes('duplicate'))).toBe(true);
  });
  it('prints warnings, and fails on them only with --strict', () => {
    const f = write('broad.yaml', 'trustDomain: example.org\ninbound:\n  rules:\n    - name: anyone\n      from: ["*"]\n');
    const plain = meshgate('validate', f);
    expect(plain.code).toBe(0);
    expect(plain.err).toContain('warning:');
    expect(meshgate('validate', '--strict', f).code).toBe(1);
  });
  it('exits 1 for a missing file, naming it', () => {
    const r = meshgate('validate', path.join(tmp, 'nope.yaml'));
    expect(r.code).toBe(1);
    expect(r.err).toContain('nope.yaml');
  });
});

describe('meshgate eval', () => {
  it('allows store to create a charge, naming the rule', () => {
    const r = meshgate('eval', SHOP, '--role', 'inbound', '--identity', 'spiffe://example.org/ns/shop/sa/store', '--method', 'POST', '--path', '/charges');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/decision: allow\nrule: +store-creates-charges/);
  });
  it('explains a default deny with the nearest rule', () => {
    const r = meshgate('eval', SHOP, '--role', 'inbound', '--identity', 'spiffe://example.org/ns/web/sa/frontend', '--method', 'POST', '--path', '/charges', '--json');
    expect(r.code).toBe(0);
    const res = JSON.parse(r.out);
    expect(res).toMatchObject({ decision: 'deny', rule: 'default', status: 403, details: 'meshgate_denied[default]' });
    expect(res.explanation).toContain('nearest=store-creates-charges failed_field=from');
  });
  it('decides egress targets', () => {
    const r = meshgate('eval', SHOP, '--role', 'egress', '--identity', 'spiffe://example.org/ns/shop/sa/billing', '--host', 'API.Stripe.com.', '--port', '443');
    expect(r.out).toMatch(/decision: allow\nrule: +billing-to-stripe/);
    const bare = meshgate('eval', SHOP, '--role', 'egress', '--identity', 'spiffe://example.org/ns/shop/sa/billing', '--host', 'stripe.com');
    expect(bare.out).toMatch(/decision: deny/);
  });
  it('needs --host for egress (exit 2) and a known role', () => {
    expect(meshgate('eval', SHOP, '--role', 'egress').code).toBe(2);
    expect(meshgate('eval', SHOP, '--role', 'sideways').code).toBe(2);
  });
});

describe('meshgate render', () => {
  it('render rbac prints RBAC filters and lists what RBAC cannot express', () => {
    const r = meshgate('render', 'rbac', SHOP);
    expect(r.code).toBe(0);
    const filters = parse(r.out);
    expect(Array.isArray(filters)).toBe(true);
    expect(JSON.stringify(filters)).toContain('envoy.extensions.filters.http.rbac.v3.RBAC');
  });
  it('render istio prints a WasmPlugin with the compiled policy', () => {
    const r = meshgate('render', 'istio', SHOP, '--role', 'inbound', '--url', 'file:///opt/meshgate.wasm', '--namespace', 'shop', '--selector', 'app=billing');
    expect(r.code).toBe(0);
    const docs = parseAllDocuments(r.out).map((d) => d.toJS());
    expect(docs[0]).toMatchObject({ kind: 'WasmPlugin', spec: { pluginName: 'meshgate_inbound', failStrategy: 'FAIL_CLOSE', selector: { matchLabels: { app: 'billing' } } } });
    expect(docs[0].spec.pluginConfig.trustDomain).toBe('example.org');
  });
  it('render istio refuses a bad selector', () => {
    const r = meshgate('render', 'istio', SHOP, '--role', 'inbound', '--url', 'file:///x.wasm', '--namespace', 'shop', '--selector', 'nonsense');
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/selector/);
  });
  it.each(['egress', 'egress-sidecar'])('render envoy --role %s writes a bootstrap Envoy accepts', async (role) => {
    const out = path.join(tmp, `envoy-${role}`);
    // a sidecar's egress policy takes its identity from the workload (identity.from: local)
    const r = meshgate('render', 'envoy', role === 'egress-sidecar' ? SHOP_SIDECAR : SHOP, '--role', role, '--out', out);
    expect(r.code).toBe(0);
    const { locateEnvoy } = await import('../../harness/envoy/locate');
    const v = spawnSync((await locateEnvoy()).bin, ['--mode', 'validate', '-c', path.join(out, 'envoy.yaml'), '--disable-hot-restart'], { encoding: 'utf8', timeout: 60_000 });
    expect(v.status).toBe(0);
    // CONNECT goes to the internal listener `tunnel_exit`, whose filter is the same module
    const cfg = parse(fs.readFileSync(path.join(out, 'envoy.yaml'), 'utf8'));
    const exit = cfg.static_resources.listeners.find((l: { name: string }) => l.name === 'tunnel_exit');
    expect(exit.internal_listener).toEqual({});
    const plugin = exit.filter_chains[0].filters[0].typed_config.config;
    expect(plugin.root_id).toBe('meshgate_tunnel_exit');
    expect(plugin.vm_config.code.local.filename).toBe(path.resolve('build/meshgate.wasm'));
  });
  it('render envoy writes a bootstrap Envoy accepts, with certificates', async () => {
    const out = path.join(tmp, 'envoy-inbound');
    const r = meshgate('render', 'envoy', SHOP, '--role', 'inbound', '--out', out);
    expect(r.code).toBe(0);
    expect(r.out).toContain('func-e run -c');
    const cfg = parse(fs.readFileSync(path.join(out, 'envoy.yaml'), 'utf8'));
    expect(fs.existsSync(path.join(out, 'certs', 'ca.pem'))).toBe(true);
    // Envoy itself accepts the file (validation mode: config loaded, wasm compiled, nothing bound).
    const { locateEnvoy } = await import('../../harness/envoy/locate');
    const envoy = await locateEnvoy();
    const v = spawnSync(envoy.bin, ['--mode', 'validate', '-c', path.join(out, 'envoy.yaml'), '--disable-hot-restart'], { encoding: 'utf8', timeout: 60_000 });
    expect(v.stdout + v.stderr).toContain('configuration');
    expect(v.status).toBe(0);
    expect(cfg.static_resources.listeners[0].address.socket_address.port_value).toBe(10443);
    void EnvoyProcess;
  });
  it('render envoy of a federated policy validates clients with one SPIFFE bundle per trust domain, and Envoy accepts it', async () => {
    const policy = write('federated.yaml', [
      'trustDomain: example.org',
      'federatesWith: [partner.example]',
      'inbound:',
      '  rules:',
      '    - name: partner-reads',
      '      from: ["spiffe://partner.example/ns/pay/sa/reader"]',
      '      methods: [GET]',
      '',
    ].join('\n'));
    const out = path.join(tmp, 'envoy-federated');
    const r = meshgate('render', 'envoy', policy, '--role', 'inbound', '--out', out);
    expect(r.code).toBe(0);
    const cfg = parse(fs.readFileSync(path.join(out, 'envoy.yaml'), 'utf8'));
    const tls = cfg.static_resources.listeners[0].filter_chains[0].transport_socket.typed_config;
    const validator = tls.common_tls_context.validation_context.custom_validator_config;
    expect(validator.name).toBe('envoy.tls.cert_validator.spiffe');
    const domains = validator.typed_config.trust_domains.map((d: { name: string }) => d.name).sort();
    expect(domains).toEqual(['example.org', 'partner.example']);
    for (const d of validator.typed_config.trust_domains) expect(fs.existsSync(d.trust_bundle.filename)).toBe(true);
    const { locateEnvoy } = await import('../../harness/envoy/locate');
    const v = spawnSync((await locateEnvoy()).bin, ['--mode', 'validate', '-c', path.join(out, 'envoy.yaml'), '--disable-hot-restart'], { encoding: 'utf8', timeout: 60_000 });
    expect(v.status).toBe(0);
  });
  it('render envoy fails with exit 1 on an invalid policy', () => {
    const f = write('bad2.yaml', 'trustDomain: Example.ORG\n');
    expect(meshgate('render', 'envoy', f, '--role', 'inbound', '--out', path.join(tmp, 'x')).code).toBe(1);
  });
});

describe('meshgate package oci', () => {
  it('writes an OCI image layout with the module', () => {
    const out = path.join(tmp, 'oci');
    const r = meshgate('package', 'oci', '--out', out);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/manifest sha256:[0-9a-f]{64}/);
    expect(JSON.parse(fs.readFileSync(path.join(out, 'oci-layout'), 'utf8'))).toEqual({ imageLayoutVersion: '1.0.0' });
  });
});

describe('meshgate test', () => {
  const scenario = (expect: string) =>
    write(`s-${expect}.yaml`, `name: cli\nrole: inbound\npolicy: ${SHOP}\nidentities:\n  store: spiffe://example.org/ns/shop/sa/store\nrequests:\n  - {as: store, method: POST, path: /charges, expect: ${expect}}\n  - {as: none, method: POST, path: /charges, expect: deny}\n`);
  it('passes on the emulator and prints one line per request and the summary last', () => {
    const r = meshgate('test', scenario('allow'), '--target', 'emulator', '--coverage');
    expect(r.code).toBe(0);
    const lines = r.out.trim().split('\n');
    expect(lines.filter((l) => l.startsWith('PASS'))).toHaveLength(2);
    expect(r.out).toMatch(/NEVER HIT +no-admin/);
    expect(lines.at(-1)).toBe('2 passed, 0 failed');
  });
  it('fails (exit 1) when an outcome differs, on both targets', () => {
    const r = meshgate('test', scenario('deny'), '--target', 'both');
    expect(r.code).toBe(1);
    expect(r.out).toContain('BYPASS [envoy]');
    expect(r.out.trim().split('\n').at(-1)).toMatch(/^\d+ passed, [1-9]\d* failed$/);
  });
  it('--require-coverage fails when a rule is never hit', () => {
    expect(meshgate('test', scenario('allow'), '--require-coverage').code).toBe(1);
  });
  it('warns on an unpinned deny, and --strict makes it an error', () => {
    const f = scenario('allow');
    const plain = meshgate('test', f);
    expect(plain.code).toBe(0);
    expect(plain.err).toContain(`${f}:7:5: requests[0]: warning: an allow must pin the rule`);
    expect(plain.err).toContain(`${f}:8:5: requests[1]: warning: a deny must pin why`);
    const strict = meshgate('test', f, '--strict');
    expect(strict.code).toBe(1);
    expect(strict.err).toContain(`${f}:8:5: requests[1]: a deny must pin why`);
    expect(strict.out.trim().split('\n').at(-1)).toBe('0 passed, 1 failed');
  });
  it('reports scenario file errors with positions', () => {
    const f = write('broken.yaml', 'name: x\nrole: sideways\npolicy: {}\nrequests: []\nextra: 1\n');
    const r = meshgate('test', f);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`${f}:2:7: role must be "inbound" or "egress"`);
    expect(r.err).toContain(`${f}:5:1: unknown field "extra"`);
  });
});
