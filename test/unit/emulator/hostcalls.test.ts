/**
 * Meshgate's binding (assembly/proxywasm/hostcalls.ts) through a real module
 * (test/fixtures/probe.ts) in the emulator, beyond the host-call-by-phase table
 * (hostcall-phases.test.ts): what the calls do to the stream (header edits, bodies, trailers,
 * local replies, filter actions), the plugin's life (configure, reject, unknown root id, ticks,
 * context recycling), and aborts (an unexpected status or an explicit abort fails the VM closed).
 * The probe logs `probe <callback> <command> => <result>`.
 */
import { ProxyWasmVm, type VmOptions } from '../../../harness/emulator/vm';
import type { PluginHandle, PropertyValue } from '../../../harness/emulator/stream';
import type { Pairs } from '../../../harness/emulator/pairs';
import { fixtureWasm } from './fixtures';
import { probeResult, probeResults } from './support';

let wasm: string;
beforeAll(() => {
  wasm = fixtureWasm('probe');
}, 120_000);

async function startProbe(o: { configuration?: string; vm?: VmOptions } = {}): Promise<{ vm: ProxyWasmVm; plugin: PluginHandle }> {
  const vm = await ProxyWasmVm.load(wasm, o.vm);
  const plugin = vm.startPlugin({ rootId: 'probe', configuration: o.configuration ?? 'ok' });
  expect(plugin.ok).toBe(true);
  return { vm, plugin };
}

/** Results of one stream's commands, in order, as `command => result`. */
function resultsOf(vm: ProxyWasmVm, callback: string): string[] {
  return probeResults(vm)
    .filter((r) => r.callback === callback)
    .map((r) => `${r.command} => ${r.result}`);
}

function request(plugin: PluginHandle, probe: Record<string, string>, o: { headers?: Pairs; properties?: Record<string, PropertyValue> } = {}) {
  const headers: Pairs = [[':method', 'GET'], [':path', '/p'], ...(o.headers ?? []), ...Object.entries(probe)];
  return plugin.newHttpStream({ requestHeaders: headers, properties: o.properties });
}

describe('header maps', () => {
  test('pairs (serialized, read with PairsReader), the header count and end of stream, and the byte size Envoy reports', async () => {
    const { vm, plugin } = await startProbe();
    const s = plugin.newHttpStream({ requestHeaders: [[':path', '/p'], ['a', '1'], ['x-probe', 'pairs req; size req; pairs resp; size resp']] });
    s.sendRequestHeaders();
    expect(vm.logsAt('info')).toContain('probe on_request_headers count=3 eos=1');
    expect(resultsOf(vm, 'on_request_headers')).toEqual([
      'pairs req => :path=/p|a=1|x-probe=pairs req; size req; pairs resp; size resp',
      // proxy_get_header_map_size answers BYTES (names + values), not a count
      `size req => ${':path/pa1x-probe'.length + 'pairs req; size req; pairs resp; size resp'.length}`,
      'pairs resp => empty', // a map Envoy does not hold reads as an empty list, status Ok
      'size resp => -1',
    ]);
  });

  test('add (appends), replace (removes every value, appends one: verified in Envoy 1.40), remove (every value)', async () => {
    const { vm, plugin } = await startProbe();
    const s = request(plugin, { 'x-probe': 'add req x-new 1; add req x-new 2; replace req x-rep three; replace req x-fresh yes; remove req x-gone; remove req x-never' }, {
      headers: [['x-rep', 'one'], ['x-rep', 'two'], ['x-gone', 'a'], ['x-gone', 'b']],
    });
    s.sendRequestHeaders();
    expect(resultsOf(vm, 'on_request_headers').every((r) => r.endsWith('=> true'))).toBe(true);
    const h = s.requestHeaders.filter(([k]) => k !== 'x-probe');
    expect(h).toEqual([[':method', 'GET'], [':path', '/p'], ['x-new', '1'], ['x-new', '2'], ['x-rep', 'three'], ['x-fresh', 'yes']]);
  });

  test('set pairs replaces the whole map; a malformed buffer wipes it (Envoy parses it as empty)', async () => {
    const { plugin } = await startProbe();
    const good = request(plugin, { 'x-probe': 'setpairs req :path=/new,x-a=1' });
    good.sendRequestHeaders();
    expect(good.requestHeaders).toEqual([[':path', '/new'], ['x-a', '1']]);
    const bad = request(plugin, { 'x-probe': 'setpairs-bad req' });
    bad.sendRequestHeaders();
    expect(bad.requestHeaders).toEqual([]);
  });

  test('trailers are readable and writable in their own callback', async () => {
    const { vm, plugin } = await startProbe();
    const s = request(plugin, { 'x-probe-request-trailers': 'get req-trailers x-t; add req-trailers x-u 2', 'x-probe-response-trailers': 'get req-trailers x-t; get resp-trailers grpc-status' });
    s.sendRequestHeaders({ endOfStream: false });
    s.sendRequestTrailers([['x-t', '1']]);
    s.sendResponseHeaders([[':status', '200']], { endOfStream: false });
    s.sendResponseTrailers([['grpc-status', '0']]);
    expect(resultsOf(vm, 'on_request_trailers')).toEqual(['get req-trailers x-t => value:1', 'add req-trailers x-u 2 => true']);
    expect(s.requestTrailers).toEqual([['x-t', '1'], ['x-u', '2']]);
    expect(resultsOf(vm, 'on_response_trailers')).toEqual(['get req-trailers x-t => false', 'get resp-trailers grpc-status => value:0']);
  });

  test('after Continue the response map is edited in place: set pairs replaces ALL, then add, replace, remove; on_log reads the results', async () => {
    const { vm, plugin } = await startProbe();
    const s = request(plugin, {
      'x-probe-response': 'setpairs resp :status=201,server=upstream,x-gone=bye; add resp x-added probe; replace resp server probe; remove resp x-gone; size resp',
      'x-probe-log': 'get resp :status; pairs req; pairs resp',
    });
    s.sendRequestHeaders();
    expect(s.sendResponseHeaders([[':status', '200'], ['server', 'envoy'], ['x-gone', '1']]).action).toBe('continue');
    // replace removes `server` and appends it (Envoy's setCopy)
    expect(s.responseHeaders).toEqual([[':status', '201'], ['x-added', 'probe'], ['server', 'probe']]);
    const bytes = s.responseHeaders.reduce((n, [k, v]) => n + k.length + v.length, 0);
    expect(resultsOf(vm, 'on_response_headers')).toEqual([
      'setpairs resp :status=201,server=upstream,x-gone=bye => true',
      'add resp x-added probe => true',
      'replace resp server probe => true',
      'remove resp x-gone => true',
      `size resp => ${bytes}`,
    ]);
    s.complete();
    expect(resultsOf(vm, 'on_log')).toEqual([
      'get resp :status => value:201',
      `pairs req => ${s.requestHeaders.map(([k, v]) => `${k}=${v}`).join('|')}`,
      'pairs resp => :status=201|x-added=probe|server=probe',
    ]);
  });

  test('a stopped request keeps its map; StopIteration from headers becomes stop-all unless allowed', async () => {
    const { plugin } = await startProbe();
    const s = request(plugin, { 'x-probe': 'return 1' });
    expect(s.sendRequestHeaders()).toMatchObject({ action: 'stop', status: 1 });
    expect(s.lastHostStatus).toBe(4);
    const other = await startProbe({ vm: { allowOnHeadersStopIteration: true } });
    const t = request(other.plugin, { 'x-probe': 'return 1' });
    t.sendRequestHeaders();
    expect(t.lastHostStatus).toBe(1);
    const u = request(other.plugin, { 'x-probe': 'return 2' });
    expect(u.sendRequestHeaders().action).toBe('continue'); // ContinueAndEndStream = Continue in Envoy
    const v = request(other.plugin, { 'x-probe': 'return 9' });
    v.sendRequestHeaders();
    expect(v.lastHostStatus).toBe(4); // out of range → StopAllIterationAndWatermark
  });
});

describe('bodies', () => {
  test('the body buffer is readable in the body callback; StopIterationAndBuffer accumulates', async () => {
    const { vm, plugin } = await startProbe();
    const s = request(plugin, { 'x-probe-request-body': 'body; return 1', 'x-probe-response-body': 'body; config' });
    s.sendRequestHeaders({ endOfStream: false });
    expect(s.sendRequestBody('hello ', { endOfStream: false }).action).toBe('stop');
    s.sendRequestBody('world');
    s.sendResponseHeaders([[':status', '200']], { endOfStream: false });
    s.sendResponseBody('{}');
    expect(resultsOf(vm, 'on_request_body')).toEqual(['body => value:hello ', 'return 1 => ok', 'body => value:hello world', 'return 1 => ok']);
    expect(resultsOf(vm, 'on_response_body')).toEqual(['body => value:{}', 'config => false']);
  });
});

describe('properties', () => {
  test('a value larger than the scratch region arrives whole; the region grows at the next callback', async () => {
    const { vm, plugin } = await startProbe();
    const big = `A${'x'.repeat(99_998)}Z`;
    const s = request(plugin, { 'x-probe': 'scratch; prop-len probe/big', 'x-probe-log': 'scratch' }, { properties: { 'probe.big': big } });
    s.sendRequestHeaders();
    s.complete();
    expect(probeResult(vm, 'prop-len probe/big')).toBe(`len:${big.length}`);
    expect(Number(probeResult(vm, 'scratch', 'on_request_headers'))).toBeLessThan(big.length);
    expect(Number(probeResult(vm, 'scratch', 'on_log'))).toBeGreaterThanOrEqual(big.length);
  });

  test('a root callback sees plugin_* properties, no stream property, and cannot write filter state', async () => {
    const { vm } = await startProbe({ configuration: 'hello' });
    expect(vm.logsAt('info').find((l) => l.startsWith('probe configure'))).toBe(
      'probe configure probe id=1 size=5 read=true config=hello vm_config_readable=true plugin_root_id=probe connection_id_readable=false set_property=false',
    );
  });
});

describe('local replies', () => {
  test('sent from request headers: the stream stops whatever the callback returned; details get _ for spaces', async () => {
    const { vm, plugin } = await startProbe();
    const s = request(plugin, { 'x-probe': 'reply 403 denied by the probe' });
    const r = s.sendRequestHeaders();
    expect(r.status).toBe(0); // the probe returned Continue...
    expect(r.action).toBe('stop'); // ...and Envoy stops anyway
    expect(r.localReply).toEqual({ status: 403, body: 'probe denied\n', headers: [['x-probe-reply', 'yes']], details: 'denied_by_the_probe', grpcStatus: -1 });
    expect(s.lastHostStatus).toBe(4); // cpp-host: StopAllIterationAndWatermark after a local reply
    expect(probeResult(vm, 'reply 403 denied by the probe')).toBe('true');
  });

  test.each([['7', 7], ['16', 16], ['17', -1], ['-1', -1]])('gRPC status %s → %d', async (given, expected) => {
    const { plugin } = await startProbe();
    const r = request(plugin, { 'x-probe': `reply-grpc 418 ${given} no` }).sendRequestHeaders();
    expect(r.localReply?.grpcStatus).toBe(expected);
  });

  test('the reply then passes through the filter\'s own response callbacks, as in Envoy 1.40', async () => {
    const { vm, plugin } = await startProbe();
    const s = request(plugin, { 'x-probe': 'reply 403 denied', 'x-probe-response': 'pairs resp; add resp x-after 1', 'x-probe-response-body': 'body' });
    expect(s.sendRequestHeaders()).toMatchObject({ action: 'stop', localReply: { status: 403, details: 'denied' } });
    expect(resultsOf(vm, 'on_response_headers')).toEqual(['pairs resp => :status=403|x-probe-reply=yes|content-length=13|content-type=text/plain', 'add resp x-after 1 => true']);
    expect(resultsOf(vm, 'on_response_body')).toEqual(['body => value:probe denied\n']);
    expect(s.responseHeaders).toEqual([[':status', '403'], ['x-probe-reply', 'yes'], ['content-length', '13'], ['content-type', 'text/plain'], ['x-after', '1']]);
  });

  test('an empty reply has only :status and no body callback; a reply sent from there replaces it', async () => {
    const { vm, plugin } = await startProbe();
    const s = request(plugin, { 'x-probe': 'reply-empty 401 no body', 'x-probe-response': 'pairs resp; reply 500 again', 'x-probe-response-body': 'body' });
    const r = s.sendRequestHeaders();
    expect(resultsOf(vm, 'on_response_headers')).toEqual(['pairs resp => :status=401', 'reply 500 again => true']);
    expect(resultsOf(vm, 'on_response_body')).toEqual([]);
    expect(r.localReply).toMatchObject({ status: 500, details: 'again' });
  });

  test('from response headers too; a later callback without a reply is not stopped by the earlier one', async () => {
    const { plugin } = await startProbe();
    const s = request(plugin, { 'x-probe-response': 'reply 502 upstream said no' });
    expect(s.sendRequestHeaders().action).toBe('continue');
    const r = s.sendResponseHeaders([[':status', '200']]);
    expect(r).toMatchObject({ action: 'stop', localReply: { status: 502, details: 'upstream_said_no' } });
  });
});

describe('metrics', () => {
  test('defined at configure time (zero values show); every root defining a name shares the metric', async () => {
    const { vm, plugin } = await startProbe();
    expect(vm.metrics()).toEqual({ 'probe.counter': 0, 'probe.gauge': 0, 'probe.histogram': 0 });
    const other = vm.startPlugin({ rootId: 'probe_other', configuration: 'ok' });
    request(plugin, { 'x-probe': 'inc counter 1' }).sendRequestHeaders();
    request(other, { 'x-probe': 'inc counter 2' }).sendRequestHeaders();
    expect(vm.metric('probe.counter')).toBe(3);
  });
});

describe('ticks, configuration buffers', () => {
  test('the tick period applies to the root of the current context', async () => {
    const { vm, plugin } = await startProbe({ configuration: 'tick=250' });
    expect(plugin.tickPeriodMs).toBe(250);
    expect(vm.tickPeriods.get(plugin.id)).toBe(250);
    plugin.tick();
    expect(vm.logsAt('info')).toContain('probe tick probe id=1');
    request(plugin, { 'x-probe': 'tick 0' }).sendRequestHeaders();
    expect(plugin.tickPeriodMs).toBe(0);
  });

  test('plugin configuration only in on_configure; VM configuration in any callback (Envoy 1.40)', async () => {
    const vm = await ProxyWasmVm.load(wasm);
    const plugin = vm.startPlugin({ rootId: 'probe', configuration: '{"a":1}', vmConfiguration: 'vm-bytes' });
    expect(plugin.ok).toBe(true);
    const info = vm.logsAt('info');
    expect(info).toContain('probe vm_start probe size=8 read=true vm_config=vm-bytes');
    expect(info.find((l) => l.startsWith('probe configure'))).toMatch(/^probe configure probe id=1 size=7 read=true config=\{"a":1\} vm_config_readable=true /);
    request(plugin, { 'x-probe': 'config; vm-config' }).sendRequestHeaders();
    expect(probeResult(vm, 'config')).toBe('false');
    expect(probeResult(vm, 'vm-config')).toBe('value:vm-by');
  });

  test('configure returning false rejects the plugin without failing the VM', async () => {
    const vm = await ProxyWasmVm.load(wasm);
    const plugin = vm.startPlugin({ rootId: 'probe', configuration: 'reject' });
    expect({ ok: plugin.ok, failure: plugin.failure, failed: vm.failed }).toEqual({ ok: false, failure: 'proxy_on_configure returned false', failed: null });
  });

  test('an unknown root_id fails configure with an error naming it, does not trap, and leaves the VM usable', async () => {
    const vm = await ProxyWasmVm.load(wasm);
    const unknown = vm.startPlugin({ rootId: 'nope', configuration: 'x' });
    expect({ ok: unknown.ok, failed: vm.failed }).toEqual({ ok: false, failed: null });
    expect(vm.logsAt('error').join('\n')).toMatch(/root_id "nope".*probe/);
    expect(vm.logs.filter((l) => l.context === unknown.id && l.message.startsWith('probe '))).toEqual([]);
    const plugin = vm.startPlugin({ rootId: 'probe', configuration: 'x' });
    expect(plugin.ok).toBe(true);
    expect(request(plugin, {}).sendRequestHeaders().action).toBe('continue');
  });

  test('stream contexts are recycled: a later stream gets the context object of a finished one', async () => {
    const { vm, plugin } = await startProbe({ vm: { logLevel: 1 } });
    request(plugin, {}).complete();
    const second = request(plugin, {});
    second.complete();
    expect(vm.logsAt('debug').filter((l) => l.startsWith('probe context '))).toEqual([`probe context id=2 streams_of_context=1`, `probe context id=${second.id} streams_of_context=2`]);
  });

  test('an empty configuration reads as zero bytes', async () => {
    const vm = await ProxyWasmVm.load(wasm);
    vm.startPlugin({ rootId: 'probe' });
    expect(vm.logsAt('info').find((l) => l.startsWith('probe configure'))).toMatch(/size=0 read=true config= /);
  });
});

describe('abort: the VM traps and fails closed', () => {
  test('the handler logs the message at critical through proxy_log and traps; the VM is dead after', async () => {
    const { vm, plugin } = await startProbe();
    const r = request(plugin, { 'x-probe': 'abort' }).sendRequestHeaders();
    expect(r).toEqual({ action: 'failed', status: -1, localReply: { status: 503, body: '', headers: [], details: 'wasm_fail_stream', grpcStatus: 14 } });
    expect(vm.logsAt('critical')).toEqual(['meshgate abort: probe asked to abort']); // explicit abort(): no location
    expect(vm.failed).toMatch(/^proxy_on_request_headers: /);
    expect(vm.logsAt('error')).toEqual([expect.stringMatching(/^Wasm VM failed Function: proxy_on_request_headers failed/)]);
    // every later stream, and every later plugin, fails closed
    const next = request(plugin, {});
    expect(next.sendRequestHeaders().action).toBe('failed');
    next.complete();
    expect(vm.startPlugin({ rootId: 'probe', configuration: 'ok' }).ok).toBe(false);
  });

  test('a failed assertion (compiler-generated abort) logs its source location', async () => {
    const { vm, plugin } = await startProbe();
    expect(request(plugin, { 'x-probe': 'assert' }).sendRequestHeaders().action).toBe('failed');
    expect(vm.logsAt('critical')).toEqual([expect.stringMatching(/^meshgate abort: probe assertion at test\/fixtures\/probe\.ts:\d+:\d+$/)]);
  });

  test('an unexpected status aborts naming the call; nothing reaches the guest any more', async () => {
    const { vm, plugin } = await startProbe();
    const s = request(plugin, { 'x-probe': 'bad-buffer' });
    const FAILED = { status: 503, body: '', headers: [], details: 'wasm_fail_stream', grpcStatus: 14 };
    expect(s.sendRequestHeaders()).toMatchObject({ action: 'failed', localReply: FAILED });
    expect(vm.logsAt('critical')).toEqual([expect.stringMatching(/^meshgate abort: proxy_get_buffer_bytes returned BadArgument \(2\)( at \S+)?$/)]);
    expect(vm.failed).toMatch(/^proxy_on_request_headers: /);
    expect(probeResult(vm, 'bad-buffer')).toBeUndefined();
    const linesBefore = vm.logs.length;
    const later = request(plugin, {});
    expect(later.sendRequestHeaders()).toMatchObject({ action: 'failed', localReply: FAILED });
    later.complete();
    plugin.tick();
    plugin.done();
    expect(vm.logs.length).toBe(linesBefore);
  });

  test('a trap in on_configure fails the plugin and the VM', async () => {
    const vm = await ProxyWasmVm.load(wasm);
    const plugin = vm.startPlugin({ rootId: 'probe', configuration: 'trap' });
    expect(plugin.ok).toBe(false);
    expect(plugin.failure).toMatch(/proxy_on_configure trapped/);
    expect(vm.logsAt('critical')).toEqual(['meshgate abort: probe: trap in configure']);
  });
});
