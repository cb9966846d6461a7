/**
 * meshgate_passthrough (assembly/inbound/passthrough.ts) in build/meshgate-passthrough.wasm: it counts every
 * request, and adds `x-meshgate-peer: <peer URI SAN or "none">` to the response. Plus the memory
 * check of the binding: 100,000 requests and 100 re-configurations leave the module's linear
 * memory exactly where it was after a warm-up (Wasm memory never shrinks, so any per-request
 * allocation that is not given back shows up as growth).
 */
import { ProxyWasmVm } from '../../../harness/emulator/vm';
import type { PluginHandle } from '../../../harness/emulator/stream';
import { meshgateStubWasm, passthroughWasm } from './fixtures';

const ROOT_ID = 'meshgate_passthrough';
const COUNTER = 'meshgate.inbound.requests';
const STORE = 'spiffe://example.org/ns/shop/sa/store';

async function start(): Promise<{ vm: ProxyWasmVm; plugin: PluginHandle }> {
  const vm = await ProxyWasmVm.load(passthroughWasm());
  const plugin = vm.startPlugin({ rootId: ROOT_ID });
  expect(plugin.ok).toBe(true);
  return { vm, plugin };
}

/**
 * One request in Envoy's order; returns the x-meshgate-peer values of the response. Throws when
 * the filter stopped the stream (no `expect` here: the memory loops call this 100,000 times).
 */
function exchange(plugin: PluginHandle, peer: string | undefined): string[] {
  const properties: Record<string, string> = peer === undefined ? {} : { 'connection.uri_san_peer_certificate': peer };
  const s = plugin.newHttpStream({ properties, requestHeaders: [[':method', 'GET'], [':path', '/'], [':authority', 'svc']] });
  const request = s.sendRequestHeaders().action;
  const response = s.sendResponseHeaders([[':status', '200']]).action;
  s.complete();
  if (request !== 'continue' || response !== 'continue') throw new Error(`stream ${s.id}: request ${request}, response ${response}`);
  return s.responseHeaders.filter(([k]) => k === 'x-meshgate-peer').map(([, v]) => v);
}

describe('meshgate_passthrough', () => {
  test('defines its counter at configure time (a zero shows) and counts every request', async () => {
    const { vm, plugin } = await start();
    expect(vm.metric(COUNTER)).toBe(0);
    for (let i = 0; i < 3; i++) exchange(plugin, STORE);
    exchange(plugin, undefined);
    expect(vm.metric(COUNTER)).toBe(4);
    expect(vm.logs).toEqual([]); // nothing logged on the way
  });

  test.each([
    ['a peer URI SAN', STORE, [STORE]],
    ['plain text, or no client certificate (property absent)', undefined, ['none']],
    ['an empty URI SAN', '', ['none']],
    ['the longest SPIFFE ID (2048 bytes)', `spiffe://example.org/${'a'.repeat(2048 - 'spiffe://example.org/'.length)}`, [`spiffe://example.org/${'a'.repeat(2048 - 'spiffe://example.org/'.length)}`]],
    ['anything longer is not a SPIFFE ID', `spiffe://example.org/${'a'.repeat(2048)}`, ['none']],
  ])('response header for %s', async (_what, peer, header) => {
    const { plugin } = await start();
    expect(exchange(plugin, peer)).toEqual(header);
  });

  test('interleaved streams keep their own identity (per-stream state)', async () => {
    const { plugin } = await start();
    const ids = ['spiffe://example.org/a', 'spiffe://example.org/b', undefined];
    const streams = ids.map((peer) => plugin.newHttpStream({ properties: peer ? { 'connection.uri_san_peer_certificate': peer } : {}, requestHeaders: [[':path', '/']] }));
    for (const s of streams) s.sendRequestHeaders();
    for (const s of [...streams].reverse()) s.sendResponseHeaders([[':status', '204']]);
    for (const s of streams) s.complete();
    expect(streams.map((s) => s.responseHeaders)).toEqual([
      [[':status', '204'], ['x-meshgate-peer', 'spiffe://example.org/a']],
      [[':status', '204'], ['x-meshgate-peer', 'spiffe://example.org/b']],
      [[':status', '204'], ['x-meshgate-peer', 'none']],
    ]);
  });

  test('a recycled stream context does not remember the previous caller', async () => {
    const { plugin } = await start();
    expect(exchange(plugin, STORE)).toEqual([STORE]);
    expect(exchange(plugin, undefined)).toEqual(['none']);
  });

  test('a second plugin (config reload) counts into the same counter', async () => {
    const { vm, plugin } = await start();
    const reloaded = vm.startPlugin({ rootId: ROOT_ID, configuration: 'v2' });
    exchange(plugin, STORE);
    exchange(reloaded, STORE);
    expect(vm.metric(COUNTER)).toBe(2);
  });
});

describe('memory stays flat', () => {
  const WARM_UP = 1_000;
  const REQUESTS = 100_000;
  const peers = [STORE, undefined, 'spiffe://example.org/ns/web/sa/frontend', `spiffe://example.org/${'x'.repeat(1500)}`];

  test(`${REQUESTS} requests after ${WARM_UP} of warm-up: linear memory unchanged`, async () => {
    const { vm, plugin } = await start();
    for (let i = 0; i < WARM_UP; i++) exchange(plugin, peers[i % peers.length]);
    const before = vm.memoryBytes();
    for (let i = 0; i < REQUESTS; i++) exchange(plugin, peers[i % peers.length]);
    const after = vm.memoryBytes();
    expect({ failed: vm.failed, counted: vm.metric(COUNTER) }).toEqual({ failed: null, counted: WARM_UP + REQUESTS });
    expect(after).toBe(before);
  }, 120_000);

  test('100 re-configurations (a new root context each, the old one released) after 10: unchanged', async () => {
    const { vm } = await start();
    let plugin = vm.startPlugin({ rootId: ROOT_ID, configuration: 'same' });
    const reconfigure = (times: number) => {
      for (let i = 0; i < times; i++) {
        const next = vm.startPlugin({ rootId: ROOT_ID, configuration: 'same' });
        if (!next.ok) throw new Error(`re-configuration ${i} refused: ${next.failure}`);
        for (let r = 0; r < 20; r++) exchange(next, peers[r % peers.length]);
        plugin.done();
        plugin = next;
      }
    };
    reconfigure(10);
    const before = vm.memoryBytes();
    reconfigure(100);
    expect(vm.memoryBytes()).toBe(before);
    expect(vm.failed).toBeNull();
  }, 60_000);

  test('100 configure calls on the same root context after 100: unchanged', async () => {
    // Configure allocates (and the incremental GC frees later): the heap reaches its plateau within
    // the first GC cycles, after which memory must not move.
    const { vm, plugin } = await start();
    for (let i = 0; i < 100; i++) {
      expect(plugin.reconfigure('same')).toBe(true);
      exchange(plugin, STORE); // the first request sizes the scratch arena: part of the warm-up
    }
    const before = vm.memoryBytes();
    for (let i = 0; i < 100; i++) {
      if (!plugin.reconfigure('same')) throw new Error(`configure ${i} refused`);
      exchange(plugin, STORE);
    }
    expect(vm.memoryBytes()).toBe(before);
  });
});

describe('no allocation per request', () => {
  test('with the stub runtime (which never frees), 10,000 requests after a warm-up do not grow memory', async () => {
    const vm = await ProxyWasmVm.load(meshgateStubWasm('passthrough'));
    const plugin = vm.startPlugin({ rootId: ROOT_ID });
    expect(plugin.ok).toBe(true);
    const peers = [STORE, undefined];
    for (let i = 0; i < 200; i++) exchange(plugin, peers[i % 2]); // warm: stream contexts, registry, scratch region
    const before = vm.memoryBytes();
    for (let i = 0; i < 10_000; i++) exchange(plugin, peers[i % 2]);
    expect(vm.memoryBytes()).toBe(before);
  }, 120_000);
});
