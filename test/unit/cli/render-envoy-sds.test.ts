/**
 * `meshgate render envoy --sds` and `--service` without Envoy (test/e2e/sds.test.ts runs the
 * result): the listener's certificate and validation context name SDS secrets served over the
 * unix socket's gRPC cluster (SPIRE's default names unless told), no certificate file is written
 * or referenced, misuse is refused naming the flag; the inbound cluster carries the service's
 * name rather than the demo's `billing`.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse } from 'yaml';
import { main } from '../../../harness/cli';
import { TestPki } from '../../../harness/pki/pki';

const LEDGER = path.resolve(__dirname, '..', '..', '..', 'examples', 'ledger', 'policy.yaml');
const SOCKET = '/run/spire/sockets/agent.sock';

let tmp: string;
let n = 0;
beforeAll(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'meshgate-render-sds-'))));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Runs `render envoy LEDGER --role inbound ...flags`; returns the exit code, output and the bootstrap (when written). */
async function render(...flags: string[]) {
  const out = path.join(tmp, `out-${n++}`);
  const lines: string[] = [];
  const code = await main(['render', 'envoy', LEDGER, '--role', 'inbound', '--out', out, '--wasm', '/opt/meshgate.wasm', ...flags], { out: (s) => lines.push(s), err: (s) => lines.push(s) });
  const file = path.join(out, 'envoy.yaml');
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const cfg: any = fs.existsSync(file) ? parse(fs.readFileSync(file, 'utf8')) : undefined;
  return { code, text: lines.join('\n'), cfg, out };
}

const sdsConfig = { resource_api_version: 'V3', api_config_source: { api_type: 'GRPC', transport_api_version: 'V3', grpc_services: [{ envoy_grpc: { cluster_name: 'spire_agent' } }] } };

test('--sds: certificate and bundle are SPIRE\'s default secrets over gRPC on the unix socket', async () => {
  const r = await render('--sds', SOCKET);
  expect(r.code).toBe(0);
  const ctx = r.cfg.static_resources.listeners[0].filter_chains[0].transport_socket.typed_config.common_tls_context;
  expect(ctx.tls_certificate_sds_secret_configs).toEqual([{ name: 'default', sds_config: sdsConfig }]);
  expect(ctx.validation_context_sds_secret_config).toEqual({ name: 'ROOTCA', sds_config: sdsConfig });
  expect(ctx).not.toHaveProperty('tls_certificates');
  expect(ctx).not.toHaveProperty('validation_context');
  const cluster = r.cfg.static_resources.clusters.find((c: { name: string }) => c.name === 'spire_agent');
  expect(cluster.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address).toEqual({ pipe: { path: SOCKET } });
  expect(cluster.typed_extension_protocol_options['envoy.extensions.upstreams.http.v3.HttpProtocolOptions'].explicit_http_config).toEqual({ http2_protocol_options: {} });
  // An SDS client must name its node; with SPIRE's `default` SVID the service's name is unknown.
  expect(r.cfg.node).toEqual({ id: 'local_service', cluster: 'local_service' });
  // Nothing on disk but the bootstrap, and the bootstrap names no certificate file.
  expect(fs.readdirSync(r.out)).toEqual(['envoy.yaml']);
  expect(JSON.stringify(r.cfg)).not.toMatch(/\.pem/);
});

test('--sds-svid and --sds-bundle name other secrets (SPIRE: the SVID\'s and the trust domain\'s IDs)', async () => {
  const r = await render('--sds', SOCKET, '--sds-svid', 'spiffe://ledger.example/ns/ledger/sa/ledger', '--sds-bundle', 'spiffe://ledger.example');
  const ctx = r.cfg.static_resources.listeners[0].filter_chains[0].transport_socket.typed_config.common_tls_context;
  expect([ctx.tls_certificate_sds_secret_configs[0].name, ctx.validation_context_sds_secret_config.name]).toEqual(['spiffe://ledger.example/ns/ledger/sa/ledger', 'spiffe://ledger.example']);
  // The service is named after the SVID's SPIFFE ID.
  expect(r.cfg.node).toEqual({ id: 'ledger', cluster: 'ledger' });
  expect(r.cfg.static_resources.clusters.map((c: { name: string }) => c.name)).toEqual(['ledger', 'spire_agent']);
});

test.each<[string, string[], RegExp]>([
  ['relative socket', ['--sds', 'agent.sock'], /--sds "agent.sock": give the unix socket's absolute path/],
  ['with files', ['--sds', SOCKET, '--certs', '/tmp'], /--sds and --certs\/--cert: certificates come from the SDS server or from files, not both/],
  ['with --proxy-id', ['--sds', SOCKET, '--proxy-id', 'spiffe://ledger.example/x'], /--proxy-id: with --sds the certificate is the SDS server's as it is/],
  ['names without --sds', ['--sds-bundle', 'ROOTCA'], /--sds-svid\/--sds-bundle: secret names need --sds SOCKET/],
  ['bad service name', ['--service', 'a b'], /--service "a b": letters, digits/],
  ['an egress role', ['--sds', SOCKET, '--role', 'egress'], /--sds: only the inbound role for now; --role egress also verifies upstream certificates with a CA file SPIRE does not serve/],
])('refused: %s', async (_, flags, message) => {
  const r = await render(...flags);
  expect(r.code).not.toBe(0);
  expect(r.text).toMatch(message);
  expect(r.cfg).toBeUndefined();
});

test('--sds with federatesWith: SPIRE\'s ALL bundles (federated ones included) unless told', async () => {
  const file = path.join(tmp, 'federated.yaml');
  fs.writeFileSync(file, ['trustDomain: ledger.example', 'federatesWith: [partner.example]', 'inbound:', '  rules: [{name: partner, from: ["spiffe://partner.example/ns/p/sa/client"]}]', ''].join('\n'));
  const out = path.join(tmp, `out-${n++}`);
  const code = await main(['render', 'envoy', file, '--role', 'inbound', '--out', out, '--wasm', '/opt/meshgate.wasm', '--sds', SOCKET], { out: () => undefined, err: () => undefined });
  const cfg = parse(fs.readFileSync(path.join(out, 'envoy.yaml'), 'utf8'));
  const ctx = cfg.static_resources.listeners[0].filter_chains[0].transport_socket.typed_config.common_tls_context;
  expect([code, ctx.validation_context_sds_secret_config.name]).toEqual([0, 'ALL']);
});

describe('the inbound service is named after the workload, not the demo\'s billing', () => {
  test('from the certificate given with --cert', async () => {
    const pki = await TestPki.create({ trustDomains: ['ledger.example'] });
    const dir = path.join(tmp, 'pki');
    const { caFile } = pki.own.writeTo(dir, 'bundle');
    const svid = (await pki.own.mintSvid('spiffe://ledger.example/ns/ledger/sa/ledger')).writeTo(dir, 'ledger');
    const r = await render('--cert', svid.chainFile, '--key', svid.keyFile, '--ca', caFile);
    const hcm = r.cfg.static_resources.listeners[0].filter_chains[0].filters[0].typed_config;
    expect([r.cfg.static_resources.clusters[0].name, r.cfg.static_resources.clusters[0].load_assignment.cluster_name]).toEqual(['ledger', 'ledger']);
    expect([hcm.route_config.name, hcm.route_config.virtual_hosts[0].name, hcm.route_config.virtual_hosts[0].routes[0].route.cluster]).toEqual(['ledger', 'ledger', 'ledger']);
    expect(JSON.stringify(r.cfg)).not.toMatch(/billing/);
  });

  test('from --proxy-id for minted certificates, and --service over both', async () => {
    expect((await render('--proxy-id', 'spiffe://ledger.example/ns/ledger/sa/ledger-api')).cfg.static_resources.clusters[0].name).toBe('ledger-api');
    expect((await render('--proxy-id', 'spiffe://ledger.example/ns/ledger/sa/ledger-api', '--service', 'ledger_v2')).cfg.static_resources.clusters[0].name).toBe('ledger_v2');
  });
});
