/**
 * Envoy launched through func-e v1.6 with no network: a private data home seeded with the located
 * binary (`$FUNC_E_DATA_HOME/envoy-versions/<version>/bin/envoy`), `ENVOY_VERSION` pinned, and
 * `ENVOY_VERSIONS_URL` pointing at a closed local port so any download attempt would fail at once.
 * Never skipped: without func-e the test fails and says how to install it.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { bootstrap, clusterRoute, httpListener, staticCluster } from '../../harness/envoy/bootstrap';
import { locateEnvoy, locateFuncE, type LocatedEnvoy } from '../../harness/envoy/locate';
import { EnvoyProcess, pidAlive } from '../../harness/envoy/process';
import { TestCa } from '../../harness/pki/ca';
import { request } from '../../harness/services/client';
import { RecordingUpstream } from '../../harness/services/upstream';

const SERVER_NAME = 'billing.test';
const STORE = 'spiffe://example.org/ns/shop/sa/store';

let located: LocatedEnvoy;
let dir: string;
let ca: TestCa;
let upstream: RecordingUpstream;
let config: object;

beforeAll(async () => {
  if (!locateFuncE()) {
    throw new Error('func-e not found (FUNC_E, .cache/bin/func-e, PATH). Install it with: GOBIN="$PWD/.cache/bin" go install github.com/tetratelabs/func-e/cmd/func-e@v1.6.0');
  }
  located = await locateEnvoy();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meshgate-e2e-funce-'));
  ca = await TestCa.create({ trustDomain: 'example.org' });
  const { caFile } = ca.writeTo(dir);
  const server = (await ca.mintSvid('spiffe://example.org/ns/billing/sa/billing', { dnsNames: [SERVER_NAME] })).writeTo(dir, 'billing');
  upstream = await RecordingUpstream.start({ name: 'billing' });
  config = bootstrap({
    listeners: [
      httpListener({
        name: 'inbound',
        tls: { certFile: server.chainFile, keyFile: server.keyFile, caFile, requireClientCertificate: true },
        routes: [clusterRoute('billing')],
      }),
    ],
    clusters: [staticCluster({ name: 'billing', port: upstream.port })],
  });
}, 120_000);

afterAll(async () => {
  await upstream?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

async function serveOne(envoy: EnvoyProcess, pathName: string): Promise<void> {
  const svid = await ca.mintSvid(STORE);
  const r = await request({
    port: await envoy.listenerPort('inbound'),
    tls: { cert: svid.chainPem, key: svid.keyPem, ca: ca.certPem, servername: SERVER_NAME },
    path: pathName,
  });
  expect(r.status).toBe(200);
  expect(r.body).toBe('upstream:billing');
  await upstream.waitFor((x) => x.path === pathName);
}

test('func-e runs the seeded Envoy offline, serves a request, and stop() leaves no process', async () => {
  const envoy = await EnvoyProcess.start({ envoy: located, bootstrap: config, launcher: 'func-e' });
  let envoyPid: number | undefined;
  try {
    envoyPid = envoy.envoyPid();
    expect(envoyPid).toBeDefined();
    expect(envoyPid).not.toBe(envoy.pid);
    expect(fs.readFileSync(`/proc/${envoyPid}/cmdline`, 'utf8').split('\0')).toContain('--admin-address-path');
    await serveOne(envoy, '/via-func-e');
    const out = envoy.stdout();
    expect(out).toContain(`${located.version} is already downloaded`);
    expect(out).not.toMatch(/downloading|looking up/);
    expect(out).toContain(path.join('envoy-versions', located.version, 'bin', 'envoy'));
    console.log(`func-e: Envoy ${located.version} ready in ${envoy.startupMs} ms`);
  } finally {
    await envoy.stop();
  }
  expect(pidAlive(envoy.pid)).toBe(false);
  expect(pidAlive(envoyPid!)).toBe(false);
});

test('func-e with ENVOY_PATH (no version resolution at all) serves a request', async () => {
  const envoy = await EnvoyProcess.start({ envoy: located, bootstrap: config, launcher: 'func-e', funcEMode: 'envoy-path' });
  const envoyPid = envoy.envoyPid();
  try {
    await serveOne(envoy, '/via-envoy-path');
    expect(envoy.stdout()).not.toContain('already downloaded');
  } finally {
    await envoy.stop();
  }
  expect(pidAlive(envoy.pid)).toBe(false);
  expect(pidAlive(envoyPid!)).toBe(false);
});

test('a broken bootstrap through func-e still surfaces Envoy\'s log tail', async () => {
  const broken = { ...bootstrap({}), static_resources: { clusters: [{ name: 'x', type: 'NOT_A_CLUSTER_TYPE' }] } };
  await expect(EnvoyProcess.start({ envoy: located, bootstrap: broken, launcher: 'func-e' })).rejects.toMatchObject({
    code: 'ENVOY_EXITED',
    message: expect.stringContaining('NOT_A_CLUSTER_TYPE'),
  });
});
