/**
 * `render envoy --runtime native` through real Envoy, from flags alone: examples/ledger's policy
 * rendered by the CLI (the package's build/libmeshgate.so by default, built first when missing or
 * stale; the demo certificates it mints), then Envoy started the way the printed run line says — func-e with ENVOY_VERSION pinned,
 * from a directory that is not the library's and without ENVOY_DYNAMIC_MODULES_SEARCH_PATH (the
 * config's absolute filename is all Envoy needs). The ledger's callers get their statuses from
 * the dynamic module: its counters move in /stats, and the config dump has no Wasm filter.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse } from 'yaml';
import { main } from '../../harness/cli';
import { waitForDecisions } from '../../harness/envoy/decisions';
import { freePort } from '../../harness/envoy/lds';
import { locateEnvoy } from '../../harness/envoy/locate';
import { EnvoyProcess } from '../../harness/envoy/process';
import { NATIVE_ENVOY_MINOR } from '../../harness/native/build';
import { ensureNativeLibraries } from '../../harness/native/ensure';
import { request, type ClientTls } from '../../harness/services/client';
import { RecordingUpstream } from '../../harness/services/upstream';
import { LEDGER_POLICY, LEDGER_PROXY_ID, LEDGER_SERVER_NAME } from './render-ledger-stack';

let tmp: string;
let library: string;
let printed: string[];
let code: number;
let envoy: EnvoyProcess | undefined;
let upstream: RecordingUpstream;
let listenPort: number;

/** A caller with the SVID the render minted for it (DIR/certs/client-<name>-chain.pem), or none. */
function tlsAs(caller: 'api' | 'batch' | 'none'): ClientTls {
  const certs = path.join(tmp, 'rendered', 'certs');
  const tls: ClientTls = { ca: fs.readFileSync(path.join(certs, 'ca.pem'), 'utf8'), servername: LEDGER_SERVER_NAME };
  if (caller === 'none') return tls;
  const [chain, key] = [`client-${caller}-chain.pem`, `client-${caller}-key.pem`].map((f) => path.join(certs, f));
  expect(printed).toEqual(expect.arrayContaining([chain, key]));
  return { ...tls, cert: fs.readFileSync(chain, 'utf8'), key: fs.readFileSync(key, 'utf8') };
}

beforeAll(async () => {
  ({ library } = await ensureNativeLibraries());
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'meshgate-render-native-'));
  upstream = await RecordingUpstream.start({ name: 'ledger' });
  listenPort = await freePort();

  printed = [];
  const io = { out: (s: string) => printed.push(s), err: (s: string) => printed.push(s) };
  // the demo PKI the render mints: the proxy's SVID for the ledger's name, one SVID per caller the policy names
  code = await main([
    'render', 'envoy', LEDGER_POLICY, '--role', 'inbound', '--out', path.join(tmp, 'rendered'), '--runtime', 'native',
    '--listen', `127.0.0.1:${listenPort}`, '--upstream', `127.0.0.1:${upstream.port}`, '--admin', `127.0.0.1:${await freePort()}`,
    '--server-name', LEDGER_SERVER_NAME, '--proxy-id', LEDGER_PROXY_ID,
  ], io);
  if (code !== 0) return;
  // Nothing but the bootstrap tells Envoy where the library is.
  delete process.env.ENVOY_DYNAMIC_MODULES_SEARCH_PATH;
  const elsewhere = fs.mkdtempSync(path.join(tmp, 'cwd-'));
  envoy = await EnvoyProcess.start({ bootstrap: parse(fs.readFileSync(printed[0], 'utf8')), cwd: elsewhere, launcher: 'func-e' });
}, 600_000);

afterAll(async () => {
  await envoy?.stop();
  await upstream?.stop();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

test('the CLI prints the bootstrap, the Envoy version the library needs and a run line pinned to it', async () => {
  const bootstrap = path.join(tmp, 'rendered', 'envoy.yaml');
  expect([code, printed[0], ...printed.slice(-2)]).toEqual([
    0,
    bootstrap,
    `native: ${library} is built for Envoy ${NATIVE_ENVOY_MINOR} only (its dynamic-module ABI); run it with Envoy ${NATIVE_ENVOY_MINOR}`,
    // func-e's seeded launch above pins exactly this version
    `run it: ENVOY_VERSION=${(await locateEnvoy()).version} func-e run -c ${bootstrap}`,
  ]);
});

test('Envoy loaded the dynamic module and no Wasm filter', async () => {
  // the listeners' part of the dump (the bootstrap part lists every extension the binary has)
  const { configs } = JSON.parse(await envoy!.admin('GET', '/config_dump')) as { configs: Array<{ '@type': string }> };
  const dump = JSON.stringify(configs.find((c) => c['@type'].endsWith('.ListenersConfigDump')), null, 1);
  expect(dump).toContain('envoy.extensions.filters.http.dynamic_modules.v3.DynamicModuleFilter');
  expect(dump).toContain(`"filename": "${library}"`);
  expect(dump).not.toMatch(/filters\.(http|network)\.wasm/);
  expect(envoy!.logs()).toMatch(/Dynamic module ABI version \S+ matched/);
});

test('an allowed and a denied caller, decided and counted by the module', async () => {
  const send = async (caller: 'api' | 'batch' | 'none', method: string, target: string) => {
    upstream.clear();
    const res = await request({ port: listenPort, tls: tlsAs(caller), method, path: target, headers: { host: 'ledger' } });
    return { status: res.status, received: upstream.received().length };
  };
  expect(await send('api', 'GET', '/accounts/acc_1/balance')).toEqual({ status: 200, received: 1 });
  expect(await send('batch', 'GET', '/accounts/acc_1/balance')).toEqual({ status: 403, received: 0 });
  expect(await send('api', 'POST', '/entries')).toEqual({ status: 403, received: 0 });

  const stats = await waitForDecisions(envoy!, 3);
  const counters = Object.fromEntries(Object.entries(stats).filter(([k]) => k.startsWith('dynamicmodulescustom.meshgate.inbound.')));
  expect(counters).toMatchObject({ 'dynamicmodulescustom.meshgate.inbound.allowed': 1, 'dynamicmodulescustom.meshgate.inbound.denied': 2 });
  expect(Object.keys(stats).filter((k) => k.startsWith('wasmcustom.'))).toEqual([]);
});
