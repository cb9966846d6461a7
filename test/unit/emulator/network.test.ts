/**
 * The emulator's TCP path (harness/emulator/network.ts) with a probe network filter
 * (network-probe.ts): Envoy's callback order, the read buffer that grows while the filter
 * answers StopIteration, proxy_close_stream(downstream), set_envoy_filter_state, the connection
 * properties; and the HTTP side's stream reset from a request body (CONNECT tunnels).
 */
import { buildWasm } from '../../../harness/emulator/wasm-build';
import { NetworkConnection } from '../../../harness/emulator/network';
import { protoFields } from '../../../harness/emulator/host/foreign';
import { ProxyWasmVm, type PluginHandle } from '../../../harness/emulator/vm';
import { ROOT } from './fixtures';

let wasm: string;
beforeAll(() => {
  wasm = buildWasm(ROOT, {
    entry: 'test/unit/emulator/network-probe.ts',
    outFile: 'build/fixtures/network-probe.wasm',
    options: ['--config', 'test/fixtures/wasm/asconfig.json', '--runtime', 'stub', '--exportStart', '_initialize', '--use', 'abort=test/fixtures/wasm/common/fixture_abort'],
    inputs: ['test/fixtures/wasm/common.ts'],
  }).file;
}, 120_000);

async function start(): Promise<{ vm: ProxyWasmVm; plugin: PluginHandle }> {
  const vm = await ProxyWasmVm.load(wasm);
  const plugin = vm.startPlugin({ rootId: 'net_probe' });
  expect(plugin.ok).toBe(true);
  vm.clearLogs();
  return { vm, plugin };
}

const info = (vm: ProxyWasmVm): string[] => vm.logsAt('info');

describe('network filter connections', () => {
  it('creates the context and calls on_new_connection at accept', async () => {
    const { vm, plugin } = await start();
    const conn = new NetworkConnection(plugin);
    expect(conn.newConnection()).toEqual({ action: 'stop', status: 1 });
    expect(info(vm)).toEqual([`create ${conn.id} ${plugin.id}`, 'new_connection']);
  });

  it('keeps the bytes in the read buffer while the filter stops, and hands the whole buffer over', async () => {
    const { vm, plugin } = await start();
    const conn = new NetworkConnection(plugin, { properties: { 'destination.port': 8443, 'connection.requested_server_name': 'api.stripe.com' } });
    conn.newConnection();
    expect(conn.downstreamData('dial api.str').action).toBe('stop');
    expect(conn.buffered.toString()).toBe('dial api.str');
    const r = conn.downstreamData('ipe.com 443\nrest');
    expect(r.action).toBe('continue');
    expect(info(vm).filter((l) => l.startsWith('data'))).toEqual([
      "data size=12 eos=0 port=8443 sni='api.stripe.com'",
      "data size=28 eos=0 port=8443 sni='api.stripe.com'",
    ]);
    expect(Buffer.concat(conn.forwarded).toString()).toBe('dial api.stripe.com 443\nrest');
    expect(conn.buffered.length).toBe(0);
    expect(conn.envoyFilterState).toEqual({ 'envoy.upstream.dynamic_host': 'api.stripe.com', 'envoy.upstream.dynamic_port': '443' });
    expect(conn.filterState).toEqual({ 'wasm.verdict': 'dial' });
    // A later read is judged on its own bytes (the probe passes any complete line).
    expect(conn.downstreamData('more\n').action).toBe('continue');
    expect(conn.forwarded.map(String)).toEqual(['dial api.stripe.com 443\nrest', 'more\n']);
  });

  it('reads an absent requested server name as NotFound and an empty one as empty', async () => {
    const { vm, plugin } = await start();
    new NetworkConnection(plugin, { properties: { 'destination.port': 443 } }).downstreamData('x');
    new NetworkConnection(plugin, { properties: { 'destination.port': 443, 'connection.requested_server_name': '' } }).downstreamData('x');
    expect(info(vm).filter((l) => l.startsWith('data'))).toEqual(['data size=1 eos=0 port=443 sni=status=1', "data size=1 eos=0 port=443 sni=''"]);
  });

  it('closes the connection on proxy_close_stream(downstream), then runs Envoy\'s TCP end order', async () => {
    const { vm, plugin } = await start();
    const conn = new NetworkConnection(plugin);
    conn.newConnection();
    vm.clearLogs();
    expect(conn.downstreamData('close\n')).toEqual({ action: 'closed', status: 1 });
    expect(conn.closedByFilter).toBe(true);
    expect(conn.forwarded).toEqual([]);
    expect(info(vm).slice(1)).toEqual(['close status=0', 'close peer=1', 'done', 'log', 'delete']);
    expect(conn.downstreamData('later\n').action).toBe('closed');
    expect(vm.streams.has(conn.id)).toBe(false);
  });

  it('ends a connection the peer closed with peer type remote, once', async () => {
    const { vm, plugin } = await start();
    const conn = new NetworkConnection(plugin);
    conn.downstreamData('partial');
    vm.clearLogs();
    conn.close();
    conn.close();
    expect(info(vm)).toEqual(['close peer=2', 'done', 'log', 'delete']);
  });

  it('refuses unknown filter-state keys (NotFound) and an HTTP close on a connection does nothing', async () => {
    const { vm, plugin } = await start();
    const conn = new NetworkConnection(plugin);
    conn.downstreamData('bad envoy.no.such.key\n');
    expect(info(vm)).toContain('bad status=1');
    expect(info(vm)).toContain('http close status=0');
    expect(conn.isClosed).toBe(false);
    expect(conn.envoyFilterState).toEqual({});
  });

  it('refuses a port Envoy\'s factory cannot parse (BadArgument)', async () => {
    const { vm, plugin } = await start();
    const conn = new NetworkConnection(plugin);
    conn.downstreamData('dial api.stripe.com https\n');
    expect(info(vm)).toEqual(expect.arrayContaining(['host status=0', 'port status=2']));
    expect(conn.envoyFilterState).toEqual({ 'envoy.upstream.dynamic_host': 'api.stripe.com' });
  });
});

describe('HTTP stream reset (CONNECT tunnel bytes as request body)', () => {
  it('buffers the body while the filter stops, and resets the stream on proxy_close_stream(request)', async () => {
    const { vm, plugin } = await start();
    const stream = plugin.newHttpStream({ requestHeaders: [[':method', 'CONNECT'], [':authority', 'api.stripe.com:443']] });
    expect(stream.sendRequestHeaders({ endOfStream: false }).action).toBe('continue');
    stream.sendResponseHeaders([[':status', '200']], { endOfStream: false });
    expect(stream.sendRequestBody('re', { endOfStream: false }).action).toBe('stop');
    const r = stream.sendRequestBody('set', { endOfStream: false });
    expect(r).toEqual({ action: 'stop', status: 1, reset: true });
    expect(stream.reset).toBe(true);
    // A network close from an HTTP filter is refused; the reset is recorded once.
    expect(info(vm)).toEqual(expect.arrayContaining(['body size=2', 'body size=5', 'reset status=0 downstream status=2']));
    expect(stream.sendRequestBody('more', { endOfStream: false })).toEqual({ action: 'stop', status: 0, reset: true });
    expect(info(vm).filter((l) => l.startsWith('body'))).toHaveLength(2);
  });
});

describe('protoFields', () => {
  it('reads length-delimited and varint fields, and refuses truncated messages', () => {
    const msg = Buffer.from([0x0a, 0x01, 0x61, 0x12, 0x02, 0x62, 0x63, 0x18, 0x01]);
    const f = protoFields(msg)!;
    expect(Buffer.from(f.get(1) as Uint8Array).toString()).toBe('a');
    expect(Buffer.from(f.get(2) as Uint8Array).toString()).toBe('bc');
    expect(f.get(3)).toBe(1n);
    expect(protoFields(Buffer.from([0x0a, 0x05, 0x61]))).toBeUndefined();
    expect(protoFields(Buffer.from([0x0f]))).toBeUndefined();
  });
});
