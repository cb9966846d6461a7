/**
 * Faults never let a request through unchecked (issue 7, item 3; docs/hardening.md):
 * - a Wasm trap inside the filter: the trapping request gets 503 and never reaches the upstream;
 *   with FAIL_CLOSED (envoy/inbound.yaml) every later request is refused too (the VM is dead),
 *   with FAIL_RELOAD a fresh VM serves again after the backoff. The trapping filter is
 *   test/fixtures/wasm/trap-on-header.ts, built on the real binding;
 * - the real module: a plugin configuration that is not JSON keeps Envoy from starting; a 1 MiB
 *   configuration and a 100,000-identity policy load and decide correctly; a 60 KiB header is
 *   refused by Envoy (431) before any filter, an 8 KiB path is decided normally.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { EnvoyProcess } from '../../harness/envoy/process';
import { renderReference, wasmPluginConfig } from '../../harness/envoy/reference';
import type { Json } from '../../harness/envoy/bootstrap';
import { TestCa } from '../../harness/pki/ca';
import { RecordingUpstream } from '../../harness/services/upstream';
import { request, type ClientTls } from '../../harness/services/client';
import { repoRoot } from '../../harness/envoy/paths';
import { fixtureModules } from '../unit/emulator/fixtures';

const STORE = 'spiffe://example.org/ns/shop/sa/store';
const WEB = 'spiffe://example.org/ns/web/sa/frontend';
const MESHGATE_WASM = path.join(repoRoot(), 'build/meshgate.wasm');

function policy(storeRules: Array<{ name: string; from: string[] }>): string {
  return JSON.stringify({
    trustDomain: 'example.org',
    inbound: { default: 'deny', rules: storeRules.map((r) => ({ ...r, methods: ['POST'], paths: ['/charges', '/charges/*'] })) },
  });
}
const SMALL_POLICY = policy([{ name: 'store-creates-charges', from: [STORE] }]);

describe('faults in Envoy', () => {
  let ca: TestCa;
  let dir: string;
  let upstream: RecordingUpstream;
  let certs: { caFile: string; certFile: string; keyFile: string };
  let trapWasm: string;
  const tls = new Map<string, ClientTls>();

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meshgate-faults-'));
    ca = await TestCa.create({ trustDomain: 'example.org' });
    const { caFile } = ca.writeTo(dir);
    const own = (await ca.mintSvid('spiffe://example.org/ns/shop/sa/billing')).writeTo(dir, 'billing');
    certs = { caFile, certFile: own.chainFile, keyFile: own.keyFile };
    upstream = await RecordingUpstream.start({ name: 'billing' });
    for (const id of [STORE, WEB]) {
      const c = await ca.mintSvid(id);
      tls.set(id, { ca: ca.certPem, cert: c.chainPem, key: c.keyPem, checkServerName: false });
    }
    const { 'trap-on-header': bytes } = await fixtureModules('trap-on-header');
    trapWasm = path.join(dir, 'trap-on-header.wasm');
    fs.writeFileSync(trapWasm, bytes);
  });
  afterAll(async () => {
    await upstream?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const render = (wasmFile: string, policyJson: string) => renderReference('inbound', { wasmFile, policyJson, certs, upstreamPort: upstream.port });

  async function start(bootstrap: Json): Promise<{ envoy: EnvoyProcess; port: number }> {
    const envoy = await EnvoyProcess.start({ bootstrap, componentLogLevel: 'wasm:info', readyTimeoutMs: 30_000 });
    return { envoy, port: await envoy.listenerPort('inbound') };
  }

  async function send(port: number, id: string, o: { path?: string; headers?: Record<string, string> } = {}) {
    upstream.clear();
    const res = await request({ port, tls: tls.get(id), method: 'POST', path: o.path ?? '/charges', headers: { host: 'billing', ...o.headers } });
    return { status: res.status, received: upstream.received().length };
  }

  async function accessLog(envoy: EnvoyProcess, n: number): Promise<Record<string, string>[]> {
    let entries: Record<string, string>[] = [];
    for (let i = 0; i < 100; i++) {
      entries = envoy.stdout().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, string>);
      if (entries.length >= n) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    return entries;
  }

  function trapBootstrap(failurePolicy: 'FAIL_CLOSED' | 'FAIL_RELOAD'): Json {
    const b = render(trapWasm, '{}');
    const plugin = wasmPluginConfig(b);
    plugin.root_id = 'meshgate_trap';
    plugin.failure_policy = failurePolicy;
    return b;
  }

  it('FAIL_CLOSED: a trap refuses the request (503) and every later one; nothing reaches the upstream', async () => {
    const b = trapBootstrap('FAIL_CLOSED');
    expect(wasmPluginConfig(render(MESHGATE_WASM, SMALL_POLICY)).failure_policy).toBe('FAIL_CLOSED'); // what users run
    const { envoy, port } = await start(b);
    try {
      expect(await send(port, STORE)).toEqual({ status: 200, received: 1 });
      expect(await send(port, STORE, { headers: { 'x-trap': '1' } })).toEqual({ status: 503, received: 0 });
      // The VM is dead: nothing is let through unchecked afterwards, even requests that would not trap.
      for (let i = 0; i < 5; i++) expect(await send(port, i % 2 ? WEB : STORE)).toEqual({ status: 503, received: 0 });
      await new Promise((r) => setTimeout(r, 1500)); // longer than FAIL_RELOAD's backoff: still closed
      expect(await send(port, STORE)).toEqual({ status: 503, received: 0 });
      const log = await accessLog(envoy, 8);
      expect(log.map((e) => String(e.status))).toEqual(['200', '503', '503', '503', '503', '503', '503', '503']);
      expect(log[1].details).toBe('wasm_fail_stream');
      expect(log.slice(2).every((e) => e.details === 'wasm_fail_stream')).toBe(true);
      expect(envoy.logs()).toMatch(/proxy_on_request_headers failed: Uncaught RuntimeError: unreachable/);
    } finally {
      await envoy.stop();
    }
  });

  it('FAIL_RELOAD: the trapping request is refused, a fresh VM serves later requests after the backoff', async () => {
    const { envoy, port } = await start(trapBootstrap('FAIL_RELOAD'));
    try {
      expect(await send(port, STORE)).toEqual({ status: 200, received: 1 });
      expect(await send(port, STORE, { headers: { 'x-trap': '1' } })).toEqual({ status: 503, received: 0 });
      const t0 = Date.now();
      let served: { status: number; received: number } = { status: 0, received: 0 };
      let refusedMeanwhile = 0;
      while (Date.now() - t0 < 5000) {
        served = await send(port, STORE);
        if (served.status === 200) break;
        expect(served).toEqual({ status: 503, received: 0 }); // before the reload: refused, never passed
        refusedMeanwhile++;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(served).toEqual({ status: 200, received: 1 });
      const stats = await envoy.stats();
      const reload = Object.entries(stats).filter(([k]) => /reload/.test(k));
      console.log(`FAIL_RELOAD: served again after ${Date.now() - t0} ms (${refusedMeanwhile} refused meanwhile); ${reload.map(([k, v]) => `${k}=${v}`).join(' ')}`);
      const success = reload.find(([k]) => k.endsWith('vm_reload_success'));
      if (success) expect(success[1]).toBeGreaterThanOrEqual(1);
      // The fresh VM still runs the filter: another trap is refused, not passed.
      expect(await send(port, STORE, { headers: { 'x-trap': '1' } })).toEqual({ status: 503, received: 0 });
    } finally {
      await envoy.stop();
    }
  });

  it('refuses to start with a plugin configuration that is not JSON', async () => {
    const err = await EnvoyProcess.start({ bootstrap: render(MESHGATE_WASM, 'trustDomain: example.org\ninbound: {default: deny'), readyTimeoutMs: 30_000 }).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err).toBeInstanceOf(Error);
    expect(err!.message).toMatch(/meshgate_inbound: configuration refused/);
  });

  const ids = (n: number, prefix: string) => Array.from({ length: n }, (_, i) => `spiffe://example.org/ns/${prefix}/sa/svc-${String(i).padStart(6, '0')}`);

  it.each([
    ['1 MiB configuration (one rule, 23,000 identities)', () => policy([{ name: 'big', from: [...ids(23_000, 'tenants'), STORE] }])],
    ['100,000 identities (100 rules of 1,000)', () =>
      policy(Array.from({ length: 100 }, (_, r) => ({ name: `r${r}`, from: r === 99 ? [...ids(999, `t${r}`), STORE] : ids(1000, `t${r}`) })))],
  ])('loads a %s and decides correctly', async (label, make) => {
    const json = make();
    if (label.startsWith('1 MiB')) expect(json.length).toBeGreaterThanOrEqual(1 << 20);
    const { envoy, port } = await start(render(MESHGATE_WASM, json));
    try {
      console.log(`${label}: ${(json.length / 1024).toFixed(0)} KiB configuration, Envoy ready in ${envoy.startupMs} ms`);
      expect(await send(port, STORE)).toEqual({ status: 200, received: 1 });
      expect(await send(port, WEB)).toEqual({ status: 403, received: 0 });
    } finally {
      await envoy.stop();
    }
  });

  it('431s a 60 KiB header before any filter; decides an 8 KiB path normally', async () => {
    const { envoy, port } = await start(render(MESHGATE_WASM, SMALL_POLICY));
    try {
      console.log(`small configuration (${SMALL_POLICY.length} B): Envoy ready in ${envoy.startupMs} ms`);
      const big = await send(port, STORE, { headers: { 'x-big': 'a'.repeat(60 * 1024) } }).catch((e: Error) => e);
      expect(big).toEqual({ status: 431, received: 0 });
      const long = `/charges/${'p'.repeat(8 * 1024)}`;
      expect(await send(port, STORE, { path: long })).toEqual({ status: 200, received: 1 });
      expect(upstream.received()[0].path).toBe(long);
      expect(await send(port, WEB, { path: long })).toEqual({ status: 403, received: 0 });
      expect(await send(port, STORE, { path: `/refunds/${'p'.repeat(8 * 1024)}` })).toEqual({ status: 403, received: 0 });
    } finally {
      await envoy.stop();
    }
  });
});
