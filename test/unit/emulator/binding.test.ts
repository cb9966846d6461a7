/**
 * Every host call of meshgate's binding (assembly/proxywasm/hostcalls.ts), through a real module
 * (test/fixtures/probe.ts) in the emulator: what the host answers in each phase (Envoy's
 * semantics), and how the wrapper maps it (NotFound → false, documented refusal → false,
 * anything else → abort). The probe logs `probe <callback> <command> => <result>`.
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
  test('value reads: present, absent, first of a repeated header, names folded to lower case', async () => {
    const { vm, plugin } = await startProbe();
    const s = request(plugin, { 'x-probe': 'get req :path; get req x-missing; get req x-rep; get req X-Rep; raw-get req x-missing; raw-get req :path' }, { headers: [['x-rep', 'one'], ['x-rep', 'two']] });
    expect(s.sendRequestHeaders().action).toBe('continue');
    expect(resultsOf(vm, 'on_request_headers')).toEqual([
      'get req :path => value:/p',
      'get req x-missing => false',
      'get req x-rep => value:one',
      'get req X-Rep => value:one',
      'raw-get req x-missing => status:1',
      'raw-get req :path => status:0',
    ]);
  });

  test('pairs (serialized, read with PairsReader) and the byte size Envoy reports', async () => {
    const { vm, plugin } = await startProbe();
    const s = plugin.newHttpStream({ requestHeaders: [[':path', '/p'], ['a', '1'], ['x-probe', 'pairs req; size req; pairs resp; size resp']] });
    s.sendRequestHeaders();
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

  test('after Continue the request map is gone: value reads BadArgument, pairs empty, writes refused', async () => {
    const { vm, plugin } = await startProbe();
    const s = request(plugin, {
      'x-probe-response': 'get req :path; raw-get req :path; pairs req; size req; add req x 1; replace req x 1; remove req :path; setpairs req a=1; get resp :status; add resp x-a 1',
    });
    expect(s.sendRequestHeaders().action).toBe('continue');
    expect(s.sendResponseHeaders([[':status', '200']]).action).toBe('continue');
    expect(resultsOf(vm, 'on_response_headers')).toEqual([
      'get req :path => false',
      'raw-get req :path => status:2',
      'pairs req => empty',
      'size req => -1',
      'add req x 1 => false',
      'replace req x 1 => false',
      'remove req :path => false',
      'setpairs req a=1 => false',
      'get resp :status => value:200',
      'add resp x-a 1 => true',
    ]);
    expect(s.responseHeaders).toEqual([[':status', '200'], ['x-a', '1']]);
    expect(s.requestHeaders.some(([k]) => k === ':path')).toBe(true); // untouched
  });

  test('on_log reads both maps again (absent → NotFound) and writes nothing', async () => {
    const { vm, plugin } = await startProbe();
    const s = request(plugin, { 'x-probe-log': 'get req :path; get resp :status; get req x-missing; raw-get req x-missing; add resp x 1; pairs resp' });
    s.sendRequestHeaders();
    s.sendResponseHeaders([[':status', '404']]);
    s.complete();
    expect(resultsOf(vm, 'on_log')).toEqual([
      'get req :path => value:/p',
      'get resp :status => value:404',
      'get req x-missing => false',
      'raw-get req x-missing => status:1',
      'add resp x 1 => false',
      'pairs resp => :status=404',
    ]);
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
  test('found, absent (NotFound → false), integers as 8 bytes LE, path segments split on 0x00', async () => {
    const { vm, plugin } = await startProbe();
    const s = request(
      plugin,
      { 'x-probe': 'prop connection/uri_san_peer_certificate; prop connection/dns_san_peer_certificate; prop-u64 connection/id; prop-u64 connection/uri_san_peer_certificate; prop-u64 nothing/here; prop plugin_root_id; prop plugin_name; prop xds/node/id' },
      { properties: { 'connection.uri_san_peer_certificate': 'spiffe://example.org/ns/a/sa/b', 'connection.id': 4242n, 'xds\0node\0id': 'sidecar~1' } },
    );
    s.sendRequestHeaders();
    expect(resultsOf(vm, 'on_request_headers')).toEqual([
      'prop connection/uri_san_peer_certificate => value:spiffe://example.org/ns/a/sa/b',
      'prop connection/dns_san_peer_certificate => false',
      'prop-u64 connection/id => 4242',
      'prop-u64 connection/uri_san_peer_certificate => 999', // not 8 bytes: the fallback
      'prop-u64 nothing/here => 999',
      'prop plugin_root_id => value:probe',
      'prop plugin_name => value:probe',
      'prop xds/node/id => value:sidecar~1',
    ]);
  });

  test('set_property writes filter state wasm.<path>, readable back by name and through filter_state', async () => {
    const { vm, plugin } = await startProbe();
    const s = request(plugin, { 'x-probe': 'setprop meshgate decided; prop meshgate; prop filter_state/wasm.meshgate; prop other' });
    s.sendRequestHeaders();
    expect(resultsOf(vm, 'on_request_headers')).toEqual([
      'setprop meshgate decided => true',
      'prop meshgate => value:decided',
      'prop filter_state/wasm.meshgate => value:decided',
      'prop other => false',
    ]);
    expect(s.filterState).toEqual({ 'wasm.meshgate': 'decided' });
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
    expect(probeResult(vm, 'reply 403 denied by the probe')).toBe('true');
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
  test('counters: delta must be > 0; record adds; get reads', async () => {
    const { vm, plugin } = await startProbe();
    request(plugin, { 'x-probe': 'inc counter 1; inc counter 5; inc counter 0; inc counter -1; record counter 4; get-metric counter' }).sendRequestHeaders();
    expect(resultsOf(vm, 'on_request_headers')).toEqual([
      'inc counter 1 => true',
      'inc counter 5 => true',
      'inc counter 0 => false',
      'inc counter -1 => false',
      'record counter 4 => true',
      'get-metric counter => 10',
    ]);
    expect(vm.metric('probe.counter')).toBe(10);
  });

  test('gauges go both ways and record sets; histograms only record; unknown ids are NotFound', async () => {
    const { vm, plugin } = await startProbe();
    request(plugin, {
      'x-probe': 'inc gauge 5; inc gauge -2; get-metric gauge; record gauge 42; get-metric gauge; inc histogram 1; record histogram 7; get-metric histogram; inc unknown 1; record unknown 1; get-metric unknown',
    }).sendRequestHeaders();
    expect(resultsOf(vm, 'on_request_headers')).toEqual([
      'inc gauge 5 => true',
      'inc gauge -2 => true',
      'get-metric gauge => 3',
      'record gauge 42 => true',
      'get-metric gauge => 42',
      'inc histogram 1 => false',
      'record histogram 7 => true',
      'get-metric histogram => 424242', // BadArgument → the fallback
      'inc unknown 1 => false',
      'record unknown 1 => false',
      'get-metric unknown => 424242',
    ]);
    expect(vm.histogram('probe.histogram')).toEqual([7n]);
  });

  test('defined at configure time (zero values show); every root defining a name shares the metric', async () => {
    const { vm, plugin } = await startProbe();
    expect(vm.metrics()).toEqual({ 'probe.counter': 0, 'probe.gauge': 0, 'probe.histogram': 0 });
    const other = vm.startPlugin({ rootId: 'probe_other', configuration: 'ok' });
    request(plugin, { 'x-probe': 'inc counter 1' }).sendRequestHeaders();
    request(other, { 'x-probe': 'inc counter 2' }).sendRequestHeaders();
    expect(vm.metric('probe.counter')).toBe(3);
  });
});

describe('time, log level, logging, ticks, configuration buffers', () => {
  test('time and log level come from the host', async () => {
    const { vm, plugin } = await startProbe({ vm: { logLevel: 1 } });
    vm.setTime(1_700_000_000_123_456_789n);
    request(plugin, { 'x-probe': 'time; loglevel' }).sendRequestHeaders();
    expect(resultsOf(vm, 'on_request_headers')).toEqual(['time => 1700000000123456789', 'loglevel => 1']);
  });

  test('lines below the logger level are dropped, like Envoy; a bad level is refused without trapping', async () => {
    const { vm, plugin } = await startProbe();
    request(plugin, { 'x-probe': 'log 1 quiet; log 3 loud; log 9 nowhere' }).sendRequestHeaders();
    expect(vm.logs.filter((l) => /quiet|loud|nowhere/.test(l.message) && !l.message.startsWith('probe on_')).map((l) => `${l.level} ${l.message}`)).toEqual(['warn loud']);
    expect(vm.failed).toBeNull();
  });

  test('the tick period applies to the root of the current context', async () => {
    const { vm, plugin } = await startProbe({ configuration: 'tick=250' });
    expect(plugin.tickPeriodMs).toBe(250);
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

  test('a trap in on_configure fails the plugin and the VM', async () => {
    const vm = await ProxyWasmVm.load(wasm);
    const plugin = vm.startPlugin({ rootId: 'probe', configuration: 'trap' });
    expect(plugin.ok).toBe(false);
    expect(plugin.failure).toMatch(/proxy_on_configure trapped/);
    expect(vm.logsAt('critical')).toEqual(['meshgate abort: probe: trap in configure']);
  });
});
