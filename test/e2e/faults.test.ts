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
import { loadReferenceConfig, wasmPluginConfig } from '../../harness/envoy/reference';
import { TestCa } from '../../harness/pki/ca';
import { request } from '../../harness/services/client';
import { InboundStack, type InboundStackOptions } from '../../harness/stack/inbound';
import { fixtureModules } from '../unit/emulator/fixtures';

const STORE = 'spiffe://example.org/ns/shop/sa/store';
const WEB = 'spiffe://example.org/ns/web/sa/frontend';

function policy(storeRules: Array<{ name: string; from: string[] }>): string {
  return JSON.stringify({
    trustDomain: 'example.org',
    inbound: { default: 'deny', rules: storeRules.map((r) => ({ ...r, methods: ['POST'], paths: ['/charges', '/charges/*'] })) },
  });
}
const SMALL_POLICY = policy([{ name: 'store-creates-charges', from: [STORE] }]);
/** FAIL_RELOAD: requests sent until a fresh VM serves; 200 x 100 ms is twenty times Envoy's 1 s backoff. */
const RELOAD_POLL_LIMIT = 200;
const RELOAD_POLL_INTERVAL_MS = 100;

describe('faults in Envoy', () => {
  let ca: TestCa;
  let dir: string;
  let trapWasm: string;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meshgate-faults-'));
    ca = await TestCa.create({ trustDomain: 'example.org' });
    const { 'trap-on-header': bytes } = await fixtureModules('trap-on-header');
    trapWasm = path.join(dir, 'trap-on-header.wasm');
    fs.writeFileSync(trapWasm, bytes);
  });
  afterAll(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  /** build/meshgate.wasm (or the options' module) with this policy; one CA for the whole file. */
  const start = (policyJson: string, o: Partial<InboundStackOptions> = {}) =>
    InboundStack.start({ policyJson, trustDomain: 'example.org', ca, componentLogLevel: 'wasm:info', readyTimeoutMs: 30_000, ...o });

  async function send(stack: InboundStack, id: string, o: { path?: string; headers?: Record<string, string> } = {}) {
    const { upstream } = stack;
    upstream.clear();
    const res = await request({ port: stack.port, tls: await stack.clientTls(id), method: 'POST', path: o.path ?? '/charges', headers: { host: 'billing', ...o.headers } });
    return { status: res.status, received: upstream.received().length };
  }

  /** The access log once it holds `n` entries (bounded poll; the caller asserts on what it got). */
  async function accessLog(stack: InboundStack, n: number): Promise<Record<string, string>[]> {
    let entries: Record<string, string>[] = [];
    for (let i = 0; i < 100; i++) {
      entries = stack.accessLog();
      if (entries.length >= n) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    return entries;
  }

  /** test/fixtures/wasm/trap-on-header.ts in meshgate's place, under this failure policy. */
  const startTrap = (failurePolicy: 'FAIL_CLOSED' | 'FAIL_RELOAD') =>
    start('{}', { wasmFile: trapWasm, plugin: { root_id: 'meshgate_trap', failure_policy: failurePolicy } });

  it('FAIL_CLOSED: a trap refuses the request (503) and every later one; nothing reaches the upstream', async () => {
    expect(wasmPluginConfig(loadReferenceConfig('inbound')).failure_policy).toBe('FAIL_CLOSED'); // what users run
    const stack = await startTrap('FAIL_CLOSED');
    try {
      expect(await send(stack, STORE)).toEqual({ status: 200, received: 1 });
      expect(await send(stack, STORE, { headers: { 'x-trap': '1' } })).toEqual({ status: 503, received: 0 });
      // The VM is dead: nothing is let through unchecked afterwards, even requests that would not trap.
      for (let i = 0; i < 5; i++) expect(await send(stack, i % 2 ? WEB : STORE)).toEqual({ status: 503, received: 0 });
      await new Promise((r) => setTimeout(r, 1500)); // longer than FAIL_RELOAD's backoff: still closed
      expect(await send(stack, STORE)).toEqual({ status: 503, received: 0 });
      const log = await accessLog(stack, 8);
      expect(log.map((e) => String(e.status))).toEqual(['200', '503', '503', '503', '503', '503', '503', '503']);
      expect(log[1].details).toBe('wasm_fail_stream');
      expect(log.slice(2).every((e) => e.details === 'wasm_fail_stream')).toBe(true);
      expect(stack.envoy.logs()).toMatch(/proxy_on_request_headers failed: Uncaught RuntimeError: unreachable/);
    } finally {
      await stack.stop();
    }
  });

  it('FAIL_RELOAD: the trapping request is refused, a fresh VM serves later requests after the backoff', async () => {
    const stack = await startTrap('FAIL_RELOAD');
    const stat = (s: Record<string, number>, name: string) => s[`wasm.meshgate_inbound.${name}`];
    try {
      expect(await send(stack, STORE)).toEqual({ status: 200, received: 1 });
      expect(await send(stack, STORE, { headers: { 'x-trap': '1' } })).toEqual({ status: 503, received: 0 });
      // Envoy reloads the VM on the first request after its backoff. Until then every request is
      // refused by the backoff (vm_reload_backoff), never passed. The poll is bounded by a count,
      // far above the backoff; running out is a failure that shows Envoy's reload counters.
      let served = await send(stack, STORE);
      let refusedMeanwhile = 0;
      while (served.status !== 200) {
        expect(served).toEqual({ status: 503, received: 0 }); // before the reload: refused, never passed
        if (++refusedMeanwhile >= RELOAD_POLL_LIMIT) {
          const reload = Object.entries(await stack.envoy.stats()).filter(([k]) => /vm_reload/.test(k));
          throw new Error(`FAIL_RELOAD: still refused after ${refusedMeanwhile} requests ${RELOAD_POLL_INTERVAL_MS} ms apart; ${reload.map(([k, v]) => `${k}=${v}`).join(' ')}`);
        }
        await new Promise((r) => setTimeout(r, RELOAD_POLL_INTERVAL_MS));
        served = await send(stack, STORE);
      }
      expect(served).toEqual({ status: 200, received: 1 });
      const stats = await stack.envoy.stats();
      expect(stat(stats, 'vm_reload_success')).toBeGreaterThanOrEqual(1);
      expect(stat(stats, 'vm_reload_backoff')).toBe(refusedMeanwhile);
      console.log(`FAIL_RELOAD: served again after ${refusedMeanwhile} refused requests`);
      // The fresh VM still runs the filter: another trap is refused, not passed.
      expect(await send(stack, STORE, { headers: { 'x-trap': '1' } })).toEqual({ status: 503, received: 0 });
    } finally {
      await stack.stop();
    }
  });

  it('refuses to start with a plugin configuration that is not JSON', async () => {
    const err = await start('trustDomain: example.org\ninbound: {default: deny').then(
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
    const stack = await start(json);
    try {
      console.log(`${label}: ${(json.length / 1024).toFixed(0)} KiB configuration, Envoy ready in ${stack.envoy.startupMs} ms`);
      expect(await send(stack, STORE)).toEqual({ status: 200, received: 1 });
      expect(await send(stack, WEB)).toEqual({ status: 403, received: 0 });
    } finally {
      await stack.stop();
    }
  });

  it('431s a 60 KiB header before any filter; decides an 8 KiB path normally', async () => {
    const stack = await start(SMALL_POLICY);
    try {
      console.log(`small configuration (${SMALL_POLICY.length} B): Envoy ready in ${stack.envoy.startupMs} ms`);
      const big = await send(stack, STORE, { headers: { 'x-big': 'a'.repeat(60 * 1024) } }).catch((e: Error) => e);
      expect(big).toEqual({ status: 431, received: 0 });
      const long = `/charges/${'p'.repeat(8 * 1024)}`;
      expect(await send(stack, STORE, { path: long })).toEqual({ status: 200, received: 1 });
      expect(stack.upstream.received()[0].path).toBe(long);
      expect(await send(stack, WEB, { path: long })).toEqual({ status: 403, received: 0 });
      expect(await send(stack, STORE, { path: `/refunds/${'p'.repeat(8 * 1024)}` })).toEqual({ status: 403, received: 0 });
    } finally {
      await stack.stop();
    }
  });
});
