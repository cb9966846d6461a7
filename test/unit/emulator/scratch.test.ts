/**
 * The scratch arena behind the binding's `malloc` export (assembly/proxywasm/scratch.ts): host
 * buffers live until the callback returns, the region grows to the demand it has seen (up to
 * 1 MiB), larger demands get blocks that are freed at the next callback — and in every case the
 * module's memory stops growing once the peak has been seen.
 */
import { ProxyWasmVm } from '../../../harness/emulator/vm';
import type { PluginHandle } from '../../../harness/emulator/stream';
import { fixtureWasm } from './fixtures';
import { probeResults } from './support';

let wasm: string;
beforeAll(() => {
  wasm = fixtureWasm('probe');
}, 120_000);

async function start(): Promise<{ vm: ProxyWasmVm; plugin: PluginHandle }> {
  const vm = await ProxyWasmVm.load(wasm);
  const plugin = vm.startPlugin({ rootId: 'probe', configuration: 'ok' });
  expect(plugin.ok).toBe(true);
  return { vm, plugin };
}

/** Reads `props` (name → size in bytes) in on_request_headers; reports the region size in on_response_headers. */
function stream(plugin: PluginHandle, props: Record<string, number>): void {
  const properties = Object.fromEntries(Object.entries(props).map(([k, n]) => [k, Buffer.alloc(n, 0x61)]));
  const reads = Object.keys(props).map((k) => `prop-len ${k}`).join('; ');
  const s = plugin.newHttpStream({ properties, requestHeaders: [['x-probe', reads], ['x-probe-response', 'scratch']] });
  s.sendRequestHeaders();
  s.sendResponseHeaders();
  s.complete();
}

function regionSizes(vm: ProxyWasmVm): number[] {
  return probeResults(vm).filter((r) => r.command === 'scratch').map((r) => Number(r.result));
}

test('values are handed over intact whatever their size', async () => {
  const { vm, plugin } = await start();
  stream(plugin, { small: 10, medium: 20_000, large: 3_000_000 });
  expect(probeResults(vm).filter((r) => r.command.startsWith('prop-len')).map((r) => r.result)).toEqual(['len:10', 'len:20000', 'len:3000000']);
});

test('the region grows to the largest demand of one callback, to the next power of two', async () => {
  const { vm, plugin } = await start();
  stream(plugin, { a: 100 });
  stream(plugin, { a: 10_000, b: 10_000, c: 10_000 }); // 30 KB in one callback: overflow blocks, then growth
  stream(plugin, { a: 100 });
  stream(plugin, { a: 300_000 });
  stream(plugin, { a: 5_000_000 }); // beyond the 1 MiB cap: a block of its own every time
  expect(regionSizes(vm)).toEqual([16384, 32768, 32768, 524288, 1048576]);
});

test.each([
  ['a 200 KB certificate-sized value', { cert: 200_000 }],
  ['forty 4 KB values in one callback', Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`p${i}`, 4096]))],
  ['a 3 MB value (over the region cap)', { huge: 3_000_000 }],
])('%s, 300 times: memory flat after the first', async (_what, props) => {
  const { vm, plugin } = await start();
  stream(plugin, props);
  stream(plugin, props);
  const before = vm.memoryBytes();
  for (let i = 0; i < 300; i++) stream(plugin, props);
  expect(vm.memoryBytes()).toBe(before);
  expect(vm.failed).toBeNull();
});
