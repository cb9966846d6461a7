/**
 * `render envoy` for the user's service, without Envoy: --listen, --upstream and --admin land
 * where Envoy reads them; --server-name and --proxy-id go into the minted certificate;
 * --cert/--key/--ca are used as given; every misuse is refused naming the flag, before anything
 * is written.
 */
import { X509Certificate } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse } from 'yaml';
import type { Role } from '../../../harness/envoy/reference';
import { compilePolicyText } from '../../../harness/policy/compile';
import { renderEnvoy, type RenderEnvoyOptions } from '../../../harness/render/envoy';

const INBOUND = compilePolicyText(
  ['trustDomain: ledger.example', 'inbound:', '  rules: [{name: api-reads, from: ["spiffe://ledger.example/ns/ledger/sa/api"], methods: [GET]}]', ''].join('\n'),
  'ledger.yaml',
);
const SIDECAR = compilePolicyText(
  ['trustDomain: ledger.example', 'identity: {from: local, id: "spiffe://ledger.example/ns/ledger/sa/batch"}', 'egress:', '  rules: [{name: bank, hosts: [api.bank.example], ports: [443]}]', ''].join('\n'),
  'batch.yaml',
);

let tmp: string;
let n = 0;
beforeAll(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'meshgate-envoy-flags-'))));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const render = (o: Partial<RenderEnvoyOptions>) => renderEnvoy({ role: 'inbound', compiled: INBOUND, outDir: path.join(tmp, `out-${n++}`), wasmFile: '/opt/meshgate.wasm', ...o });
const load = (file: string) => parse(fs.readFileSync(file, 'utf8'));

test('defaults stay the reference config\'s', async () => {
  const cfg = load((await render({})).bootstrap);
  expect(cfg.static_resources.listeners[0].address).toEqual({ socket_address: { address: '127.0.0.1', port_value: 10443 } });
  expect(cfg.admin.address).toEqual({ socket_address: { address: '127.0.0.1', port_value: 9901 } });
  expect(cfg.static_resources.clusters[0].load_assignment.endpoints[0].lb_endpoints[0].endpoint.address).toEqual({ socket_address: { address: '127.0.0.1', port_value: 8081 } });
});

test('--listen, --upstream and --admin', async () => {
  const cfg = load((await render({ listen: '0.0.0.0:15006', upstream: '10.1.2.3:8080', admin: '[::1]:15000' })).bootstrap);
  expect(cfg.static_resources.listeners[0].address).toEqual({ socket_address: { address: '0.0.0.0', port_value: 15006 } });
  expect(cfg.static_resources.clusters[0].load_assignment.endpoints[0].lb_endpoints[0].endpoint.address).toEqual({ socket_address: { address: '10.1.2.3', port_value: 8080 } });
  expect(cfg.admin.address).toEqual({ socket_address: { address: '::1', port_value: 15000 } });
});

test.each<[Role, string]>([
  ['egress-sidecar', '127.0.0.1:15001'],
  ['egress-sni-sidecar', '127.0.0.1:15443'],
])('--listen moves the %s listener', async (role, listen) => {
  const cfg = load((await render({ role, compiled: SIDECAR, listen })).bootstrap);
  const [address, port] = listen.split(':');
  expect(cfg.static_resources.listeners.map((l: { address: unknown }) => l.address)).toEqual([{ socket_address: { address, port_value: Number(port) } }]);
});

test('--server-name and --proxy-id go into the minted proxy certificate', async () => {
  const written = await render({ serverNames: ['ledger.ledger.svc', 'ledger.local'], proxyId: 'spiffe://ledger.example/ns/ledger/sa/ledger' });
  const cert = new X509Certificate(fs.readFileSync(path.join(path.dirname(written.bootstrap), 'certs', 'proxy.pem')));
  expect(cert.subjectAltName).toBe('URI:spiffe://ledger.example/ns/ledger/sa/ledger, DNS:ledger.ledger.svc, DNS:ledger.local');
});

test('a local-identity policy\'s proxy certificate carries its identity.id', async () => {
  const written = await render({ role: 'egress-sidecar', compiled: SIDECAR });
  const cert = new X509Certificate(fs.readFileSync(path.join(path.dirname(written.bootstrap), 'certs', 'proxy.pem')));
  expect(cert.subjectAltName).toContain('URI:spiffe://ledger.example/ns/ledger/sa/batch');
});

test('--cert, --key and --ca are used as given (absolute paths)', async () => {
  const dir = path.join(tmp, 'own');
  fs.mkdirSync(dir);
  for (const f of ['chain.pem', 'key.pem', 'bundle.pem']) fs.writeFileSync(path.join(dir, f), '');
  const cwd = process.cwd();
  process.chdir(dir);
  let written;
  try {
    written = await render({ certFile: 'chain.pem', keyFile: 'key.pem', caFile: 'bundle.pem' });
  } finally {
    process.chdir(cwd);
  }
  const ctx = load(written.bootstrap).static_resources.listeners[0].filter_chains[0].transport_socket.typed_config.common_tls_context;
  expect(ctx.tls_certificates).toEqual([{ certificate_chain: { filename: path.join(dir, 'chain.pem') }, private_key: { filename: path.join(dir, 'key.pem') } }]);
  expect(ctx.validation_context.trusted_ca).toEqual({ filename: path.join(dir, 'bundle.pem') });
  expect(fs.existsSync(path.join(path.dirname(written.bootstrap), 'certs'))).toBe(false);
});

test.each<[string, Partial<RenderEnvoyOptions>, RegExp]>([
  ['--listen without a port', { listen: '0.0.0.0' }, /^--listen "0\.0\.0\.0": expected IP:PORT or \[IPv6\]:PORT, e\.g\. /],
  ['--listen with a name', { listen: 'localhost:80' }, /--listen "localhost:80": expected IP:PORT/],
  ['--upstream port 0', { upstream: '127.0.0.1:0' }, /--upstream "127\.0\.0\.1:0"/],
  ['--admin bad IPv6', { admin: '::1:15000' }, /--admin "::1:15000"/],
  ['--upstream on an egress role', { role: 'egress', upstream: '127.0.0.1:8080' }, /--upstream: only the inbound role forwards to a local service/],
  ['--cert without --key and --ca', { certFile: 'c.pem' }, /--cert without --key, --ca: --cert, --key and --ca go together/],
  ['--certs and --cert', { certsDir: 'd', certFile: 'c.pem', keyFile: 'k.pem', caFile: 'ca.pem' }, /--certs and --cert\/--key\/--ca: give the directory or the files, not both/],
  ['--server-name with own certificates', { certsDir: 'd', serverNames: ['x.example'] }, /--server-name: names go into minted certificates only/],
  ['--proxy-id outside the trust domain', { proxyId: 'spiffe://other.example/ns/a/sa/b' }, /--proxy-id .*must be in the policy's trust domain ledger\.example/],
  ['--proxy-id not SPIFFE', { proxyId: 'https://ledger.example/x' }, /--proxy-id "https:/],
  ['--server-name not DNS', { serverNames: ['bad name'] }, /--server-name "bad name": not a DNS name/],
  ['--cert file missing', { certFile: '/nonexistent/c.pem', keyFile: '/nonexistent/k.pem', caFile: '/nonexistent/ca.pem' }, /--cert: \/nonexistent\/c\.pem does not exist\n--key: .*\n--ca: /],
])('%s is refused', async (_what, o, re) => {
  const outDir = path.join(tmp, `refused-${n++}`);
  await expect(render({ ...o, outDir })).rejects.toThrow(re);
  if (!o.certFile?.startsWith('/nonexistent')) expect(fs.existsSync(outDir)).toBe(false);
});

test('all problems at once', async () => {
  await expect(render({ listen: 'x', admin: 'y', upstream: 'z' })).rejects.toThrow(/--listen "x".*\n--upstream "z".*\n--admin "y"/);
});
