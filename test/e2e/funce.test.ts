/**
 * Envoy launched through func-e v1.6 with no network: a private data home seeded with the located
 * binary (`$FUNC_E_DATA_HOME/envoy-versions/<version>/bin/envoy`), `ENVOY_VERSION` pinned, and
 * `ENVOY_VERSIONS_URL` pointing at a closed local port so any download attempt would fail at once.
 * The stack is harness/stack/mtls.ts with `launcher: 'func-e'` (func-e needs no config of its own).
 * Never skipped: func-e is installed on demand (harness/envoy/funce.ts); without it and without
 * `go`, beforeAll fails and says how to install it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { bootstrap } from '../../harness/envoy/bootstrap';
import { ensureFuncE } from '../../harness/envoy/funce';
import { locateEnvoy, type LocatedEnvoy } from '../../harness/envoy/locate';
import { EnvoyProcess, pidAlive } from '../../harness/envoy/process';
import { request } from '../../harness/services/client';
import { MtlsStack, type MtlsStackOptions } from '../../harness/stack/mtls';

const SERVER_NAME = 'billing.test';
const STORE = 'spiffe://example.org/ns/shop/sa/store';

let located: LocatedEnvoy;

beforeAll(async () => {
  await ensureFuncE();
  located = await locateEnvoy();
}, 20 * 60_000); // bounds a first-time `go install` and wheel install (jest globalSetup normally did both)

function startViaFuncE(funcEMode?: MtlsStackOptions['funcEMode']): Promise<MtlsStack> {
  return MtlsStack.start({ trustDomain: 'example.org', serverName: SERVER_NAME, envoy: located, launcher: 'func-e', funcEMode });
}

async function serveOne(stack: MtlsStack, pathName: string): Promise<void> {
  const svid = await stack.ca.mintSvid(STORE);
  const r = await request({
    port: stack.port,
    tls: { cert: svid.chainPem, key: svid.keyPem, ca: stack.ca.certPem, servername: SERVER_NAME },
    path: pathName,
  });
  expect(r.status).toBe(200);
  expect(r.body).toBe('upstream:billing');
  await stack.upstream.waitFor((x) => x.path === pathName);
}

test('func-e runs the seeded Envoy offline, serves a request, and stop() leaves no process', async () => {
  const stack = await startViaFuncE();
  const { envoy } = stack;
  let envoyPid: number | undefined;
  try {
    envoyPid = envoy.envoyPid();
    expect(envoyPid).toBeDefined();
    expect(envoyPid).not.toBe(envoy.pid);
    expect(fs.readFileSync(`/proc/${envoyPid}/cmdline`, 'utf8').split('\0')).toContain('--admin-address-path');
    await serveOne(stack, '/via-func-e');
    const out = envoy.stdout();
    expect(out).toContain(`${located.version} is already downloaded`);
    expect(out).not.toMatch(/downloading|looking up/);
    expect(out).toContain(path.join('envoy-versions', located.version, 'bin', 'envoy'));
    console.log(`func-e: Envoy ${located.version} ready in ${envoy.startupMs} ms`);
  } finally {
    await stack.stop();
  }
  expect(pidAlive(envoy.pid)).toBe(false);
  expect(pidAlive(envoyPid!)).toBe(false);
});

test('func-e with ENVOY_PATH (no version resolution at all) serves a request', async () => {
  const stack = await startViaFuncE('envoy-path');
  const { envoy } = stack;
  const envoyPid = envoy.envoyPid();
  try {
    await serveOne(stack, '/via-envoy-path');
    expect(envoy.stdout()).not.toContain('already downloaded');
  } finally {
    await stack.stop();
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
