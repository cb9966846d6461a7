/**
 * Every typed host call of meshgate's binding (assembly/proxywasm/hostcalls.ts), called from a
 * real module (test/fixtures/wasm/abi-probe.ts) in the emulator, phase by phase: what the host
 * answers (Envoy's semantics: NotFound for absent headers and properties, BadArgument for a
 * header map after Continue, the first value of a repeated header, ...) and how each wrapper
 * maps it. Also the lifecycle the binding sees: configure/tick, unknown root_id, local replies
 * forcing "stop", a trap failing the VM, and Envoy's on_log → on_done → on_delete order.
 */
import { ProxyWasmVm, type PluginHandle, type HttpStream } from '../../../harness/emulator/vm';
import { parsePairs, type Pairs } from '../../../harness/emulator/pairs';
import { fixtureModules } from './fixtures';

let probeWasm: Uint8Array;
beforeAll(async () => {
  ({ 'abi-probe': probeWasm } = await fixtureModules('abi-probe'));
}, 180_000);

// ---------------------------------------------------------------------------------------------
// Reading the probe's report lines (`probe <key>=<value>`, per context id)

function lines(vm: ProxyWasmVm, context: number): [string, string][] {
  const out: [string, string][] = [];
  for (const l of vm.logs) {
    if (l.context !== context) continue;
    const m = /^probe ([^=]+)=(.*)$/s.exec(l.message);
    if (m) out.push([m[1], m[2]]);
  }
  return out;
}

/** Key → value (the last one reported) of one context. */
function report(vm: ProxyWasmVm, context: number): Record<string, string> {
  return Object.fromEntries(lines(vm, context));
}

/** The values reported under `key` (e.g. `cb`: the callbacks in the order they ran). */
function values(vm: ProxyWasmVm, context: number, key: string): string[] {
  return lines(vm, context).filter(([k]) => k === key).map(([, v]) => v);
}

async function startProbe(o: { configuration?: string; vmConfiguration?: string; pluginName?: string } = {}): Promise<{ vm: ProxyWasmVm; plugin: PluginHandle }> {
  const vm = await ProxyWasmVm.load(probeWasm);
  vm.setTime(1_700_000_000_123_456_789n);
  const plugin = vm.startPlugin({ rootId: 'probe', configuration: 'probe-config', ...o });
  expect({ ok: plugin.ok, failure: plugin.failure }).toEqual({ ok: true, failure: undefined });
  return { vm, plugin };
}

function stream(plugin: PluginHandle, scenario: string, headers: Pairs = [], properties: Record<string, string | bigint | boolean> = {}): HttpStream {
  return plugin.newHttpStream({ requestHeaders: [[':authority', 'svc'], [':path', '/p?q=1'], [':method', 'GET'], ['x-probe', scenario], ...headers], properties });
}

// ---------------------------------------------------------------------------------------------

describe('root context: vm start, configure, tick', () => {
  it('configure reads the plugin configuration; root callbacks have no stream (NotFound, refused, or ignored)', async () => {
    const { vm, plugin } = await startProbe({ vmConfiguration: 'vm-config', pluginName: 'probe-plugin' });
    expect(report(vm, plugin.id)).toEqual({
      'vm_start.read': 'true',
      'vm_start.configuration': 'vm-config',
      'configure.read': 'true',
      'configure.configuration': 'probe-config',
      'configure.slice.read': 'true',
      'configure.slice': 'rob',
      'configure.vm_configuration.read': 'true', // Envoy 1.40 serves the VM configuration in any callback (verified)
      'configure.plugin_root_id.found': 'true',
      'configure.plugin_root_id': 'probe',
      'configure.plugin_name.found': 'true',
      'configure.plugin_name': 'probe-plugin',
      'configure.connection_id.found': 'false',
      'configure.connection_id.status': 'NotFound',
      'configure.set_property': 'false',
      'configure.set_property.status': 'NotFound',
      'configure.local_reply': 'true', // Envoy answers Ok and sends nothing
      'configure.request_path.found': 'false',
      'configure.request_path.status': 'BadArgument',
      'configure.log_level': '2',
      'configure.time': '1700000000123456789',
      'configure.metrics': '0,0',
    });
    expect(vm.tickPeriods.get(plugin.id)).toBe(250);
    expect(vm.metrics()).toEqual({ 'probe.counter': 0, 'probe.gauge': 0, 'probe.histogram': 0 });
  });

  it('an empty configuration reads as empty, not as absent', async () => {
    const { vm, plugin } = await startProbe({ configuration: '' });
    expect(report(vm, plugin.id)).toMatchObject({ 'configure.read': 'true', 'configure.configuration': '' });
  });

  it('on tick: the log level is current, the plugin configuration is gone (NotFound → false)', async () => {
    const { vm, plugin } = await startProbe();
    vm.logLevel = 1;
    plugin.tick();
    expect(report(vm, plugin.id)).toMatchObject({ 'tick.log_level': '1', 'tick.configuration.read': 'false', 'tick.configuration.status': 'NotFound' });
  });

  it('configure returning false rejects the plugin without failing the VM', async () => {
    const vm = await ProxyWasmVm.load(probeWasm);
    const plugin = vm.startPlugin({ rootId: 'probe', configuration: 'fail' });
    expect({ ok: plugin.ok, failure: plugin.failure, failed: vm.failed }).toEqual({ ok: false, failure: 'proxy_on_configure returned false', failed: null });
  });

  it('an unknown root_id fails configure with an error naming it, does not trap, and leaves the VM usable', async () => {
    const vm = await ProxyWasmVm.load(probeWasm);
    const unknown = vm.startPlugin({ rootId: 'nope', configuration: 'x' });
    expect({ ok: unknown.ok, failed: vm.failed }).toEqual({ ok: false, failed: null });
    expect(vm.logsAt('error').join('\n')).toMatch(/root_id "nope".*probe/);
    expect(lines(vm, unknown.id)).toEqual([]);
    const plugin = vm.startPlugin({ rootId: 'probe', configuration: 'x' });
    expect(plugin.ok).toBe(true);
    const s = stream(plugin, 'none');
    expect(s.sendRequestHeaders().action).toBe('continue');
  });
});

describe('header maps', () => {
  const REQUEST: Pairs = [
    [':authority', 'svc'], [':path', '/p?q=1'], [':method', 'GET'], ['x-probe', 'headers'],
    ['x-rep', 'first'], ['x-rep', 'second'], ['x-mixed-case', 'MiXeD'], ['x-replaced', 'old1'], ['x-replaced', 'old2'], ['x-gone', 'bye'],
  ];
  const RESPONSE: Pairs = [[':status', '200'], ['server', 'envoy'], ['x-gone', '1']];
  const bytes = (pairs: Pairs) => pairs.reduce((n, [k, v]) => n + k.length + v.length, 0);
  let vm: ProxyWasmVm;
  let s: HttpStream;
  let request: Record<string, string>;

  beforeAll(async () => {
    let plugin;
    ({ vm, plugin } = await startProbe());
    s = plugin.newHttpStream({ requestHeaders: REQUEST });
    expect(s.sendRequestHeaders().action).toBe('continue');
    request = report(vm, s.id);
  });

  it('in on_request_headers: values, NotFound for an absent header, the FIRST of a repeated one, names folded', () => {
    expect(request).toMatchObject({
      'request_headers.count': '10',
      'request_headers.end_of_stream': 'true',
      'req.path.found': 'true',
      'req.path': '/p?q=1',
      'req.missing.found': 'false',
      'req.missing.len': '0',
      'req.missing.status': 'NotFound',
      'req.repeated.found': 'true',
      'req.repeated': 'first',
      'req.mixed_case.found': 'true',
      'req.mixed_case': 'MiXeD',
    });
  });

  it('pairs: the host\'s serialization round-trips (emulator parser and the binding\'s PairsReader agree)', () => {
    expect(request['req.pairs.ok']).toBe('true');
    expect(parsePairs(Buffer.from(request['req.pairs.hex'], 'hex'))).toEqual(REQUEST);
    expect(request['req.pairs']).toBe(REQUEST.map(([k, v]) => `${k}=${v}`).join('|'));
  });

  it('the map size is in BYTES (Envoy), and the response map does not exist yet (BadArgument)', () => {
    expect(request['req.size']).toBe(String(bytes(REQUEST)));
    expect(request).toMatchObject({ 'req.response_status.found': 'false', 'req.response_status.status': 'BadArgument', 'req.response_size': '-1' });
  });

  it('add appends, replace leaves one value (appended, like Envoy\'s setCopy), remove drops every value and is fine when absent', () => {
    expect(request).toMatchObject({ 'req.add': 'true', 'req.add_repeated': 'true', 'req.replace': 'true', 'req.replace_absent': 'true', 'req.remove': 'true', 'req.remove_absent': 'true' });
    expect(s.requestHeaders).toEqual([
      [':authority', 'svc'], [':path', '/p?q=1'], [':method', 'GET'], ['x-probe', 'headers'],
      ['x-rep', 'first'], ['x-rep', 'second'], ['x-mixed-case', 'MiXeD'],
      ['x-added', 'one'], ['x-rep', 'third'], ['x-replaced', 'new'], ['x-fresh', 'fresh'],
    ]);
  });

  describe('after the request continued', () => {
    let response: Record<string, string>;
    let requestAfter: Pairs;
    beforeAll(() => {
      requestAfter = s.requestHeaders.map(([k, v]) => [k, v]);
      vm.clearLogs();
      expect(s.sendResponseHeaders(RESPONSE).action).toBe('continue');
      response = report(vm, s.id);
    });

    it('the request map is gone: value reads BadArgument → false, pairs empty, size -1, writes refused', () => {
      expect(response).toMatchObject({
        'resp.req_path.found': 'false',
        'resp.req_path.status': 'BadArgument',
        'resp.req_pairs.ok': 'true',
        'resp.req_pairs.len': '0',
        'resp.req_size': '-1',
        'resp.req_add': 'false',
        'resp.req_replace': 'false',
        'resp.req_remove': 'false',
        'resp.req_set_pairs': 'false',
      });
      expect(s.requestHeaders).toEqual(requestAfter);
    });

    it('the response map is readable and writable: set pairs (replaces ALL), add, replace, remove', () => {
      expect(response).toMatchObject({
        'resp.status.found': 'true',
        'resp.status': '200',
        'resp.pairs': ':status=200|server=envoy|x-gone=1',
        'resp.set_pairs': 'true',
        'resp.add': 'true',
        'resp.replace': 'true',
        'resp.remove': 'true',
      });
      const final: Pairs = [[':status', '201'], ['x-added', 'probe'], ['server', 'probe']];
      expect(s.responseHeaders).toEqual(final);
      expect(response['resp.size']).toBe(String(bytes(final)));
    });

    it('on_log: both maps readable again (absent → NotFound), none writable (BadArgument → false)', () => {
      vm.clearLogs();
      s.complete();
      expect(report(vm, s.id)).toMatchObject({
        'log.req_path.found': 'true',
        'log.req_path': '/p?q=1',
        'log.resp_status.found': 'true',
        'log.resp_status': '201',
        'log.missing.found': 'false',
        'log.missing.status': 'NotFound',
        'log.req_pairs': s.requestHeaders.map(([k, v]) => `${k}=${v}`).join('|'),
        'log.resp_pairs': ':status=201|x-added=probe|server=probe',
        'log.req_add': 'false',
        'log.req_add.status': 'BadArgument',
      });
    });
  });
});

describe('properties', () => {
  const BIG = `A${'x'.repeat(99_998)}Z`;
  let vm: ProxyWasmVm;
  let s: HttpStream;
  let r: Record<string, string>;

  beforeAll(async () => {
    let plugin;
    ({ vm, plugin } = await startProbe());
    s = stream(plugin, 'properties', [], {
      'connection.id': 4242n,
      'connection.mtls': true,
      'connection.requested_server_name': 'billing.shop',
      'probe.big': BIG,
    });
    expect(s.sendRequestHeaders().action).toBe('continue');
    s.complete();
    r = report(vm, s.id);
  });

  it('integers are 8 bytes LE (getPropertyU64), bools 1 byte; absent → NotFound → false / the fallback', () => {
    expect(r).toMatchObject({
      'prop.connection_id': '4242',
      'prop.connection_id.found': 'true',
      'prop.connection_id.hex': '9210000000000000',
      'prop.mtls.found': 'true',
      'prop.mtls.hex': '01',
      'prop.uri_san.found': 'false',
      'prop.uri_san.len': '0',
      'prop.uri_san.status': 'NotFound',
      'prop.uri_san.u64': '77',
      'prop.sni.u64': '9', // not 8 bytes: the fallback
      'prop.plugin_root_id.found': 'true',
      'prop.plugin_root_id': 'probe',
    });
  });

  it('set_property writes filter state wasm.<name>, read back by name and via filter_state; empty values too', () => {
    expect(r).toMatchObject({
      'prop.set': 'true',
      'prop.get_set.found': 'true',
      'prop.get_set': 'written by probe',
      'prop.filter_state.found': 'true',
      'prop.filter_state': 'written by probe',
      'prop.set_empty': 'true',
      'prop.get_empty.found': 'true',
      'prop.get_empty.len': '0',
    });
    expect(s.filterState).toEqual({ 'wasm.probe_state': 'written by probe', 'wasm.probe_empty': '' });
  });

  it('a value larger than the scratch region arrives whole; the region grows at the next callback', () => {
    expect(r).toMatchObject({ 'prop.big.found': 'true', 'prop.big.len': String(BIG.length), 'prop.big.ends': 'AZ' });
    const before = Number(r['prop.scratch_region.before']);
    const after = Number(values(vm, s.id, 'log.scratch_region')[0]);
    expect(before).toBeLessThan(BIG.length);
    expect(after).toBeGreaterThanOrEqual(BIG.length);
  });
});

describe('local replies', () => {
  it('force "stop" whatever the callback returned; details spaces become "_"; headers parsed from pairs', async () => {
    const { vm, plugin } = await startProbe();
    const s = stream(plugin, 'local-reply');
    const r = s.sendRequestHeaders();
    expect(report(vm, s.id)['local_reply.sent']).toBe('true');
    expect(s.lastHostStatus).toBe(4); // cpp-host: StopAllIterationAndWatermark after a local reply
    expect(r).toEqual({
      action: 'stop',
      status: 0, // the probe returned Continue
      localReply: { status: 418, body: 'I\'m a teapot\n', headers: [['x-why', 'probe'], ['content-type', 'text/plain']], details: 'probe_said_no', grpcStatus: -1 },
    });
  });

  it.each([['7', 7], ['16', 16], ['17', -1], ['-1', -1]])('grpc status %s → %d', async (given, expected) => {
    const { plugin } = await startProbe();
    const r = stream(plugin, 'local-reply', [['x-grpc', given]]).sendRequestHeaders();
    expect(r.localReply?.grpcStatus).toBe(expected);
  });
});

describe('metrics', () => {
  it('define/increment/record/get; counters refuse a delta ≤ 0 (BadArgument → false, no trap)', async () => {
    const { vm, plugin } = await startProbe();
    const s = stream(plugin, 'metrics');
    expect(s.sendRequestHeaders().action).toBe('continue');
    expect(report(vm, s.id)).toMatchObject({
      'metrics.increment': 'true',
      'metrics.record': 'true',
      'metrics.counter': '5', // 2, then record ADDS 3
      'metrics.counter_zero': 'false',
      'metrics.counter_zero.status': 'BadArgument',
      'metrics.counter_negative': 'false',
      'metrics.counter_after_refusals': '5',
      'metrics.redefine.increment': 'true',
      'metrics.redefine.counter': '6',
      'metrics.gauge_record': 'true',
      'metrics.gauge_decrement': 'true',
      'metrics.gauge': '7',
      'metrics.histogram_record': 'true',
      'metrics.histogram_increment': 'false',
      'metrics.histogram_increment.status': 'BadArgument',
      'metrics.histogram_get': '99',
      'metrics.histogram_get.status': 'BadArgument',
      'metrics.unknown_increment': 'false',
      'metrics.unknown_increment.status': 'NotFound',
      'metrics.unknown_record': 'false',
      'metrics.unknown_get': '7',
      'metrics.unknown_get.status': 'NotFound',
      'metrics.bad_type.status': 'BadArgument',
      'metrics.generic_define': 'ok',
    });
    expect(vm.failed).toBeNull();
    expect(vm.metric('probe.counter')).toBe(6);
    expect(vm.metric('probe.gauge')).toBe(7);
    expect(vm.histogram('probe.histogram')).toEqual([42n]);
  });
});

describe('logging, time, configuration outside configure', () => {
  it('logBytes at every level; level 6 is BadArgument; the log level and the clock come from the host', async () => {
    const { vm, plugin } = await startProbe();
    vm.logLevel = 0;
    const s = stream(plugin, 'levels');
    s.sendRequestHeaders();
    const levels = vm.logs.filter((l) => l.context === s.id && l.message.startsWith('level ')).map((l) => `${l.level}: ${l.message}`);
    expect(levels).toEqual(['trace: level 0', 'debug: level 1', 'info: level 2', 'warn: level 3', 'error: level 4', 'critical: level 5']);
    expect(report(vm, s.id)).toMatchObject({ 'levels.six.status': 'BadArgument', 'levels.current': '0', 'levels.time': '1700000000123456789' });
  });

  it('lines below the logger level are dropped, like Envoy\'s wasm logger', async () => {
    const { vm, plugin } = await startProbe();
    vm.logLevel = 3;
    const s = stream(plugin, 'levels');
    s.sendRequestHeaders();
    expect(vm.logs.filter((l) => l.context === s.id && l.message.startsWith('level ')).map((l) => l.level)).toEqual(['warn', 'error', 'critical']);
  });

  it('the plugin configuration is not readable from a stream callback (NotFound → false)', async () => {
    const { vm, plugin } = await startProbe();
    const s = stream(plugin, 'config');
    s.sendRequestHeaders();
    expect(report(vm, s.id)).toMatchObject({ 'config.read': 'false', 'config.status': 'NotFound' });
  });
});

describe('stream lifecycle', () => {
  it('Envoy\'s order: create → request headers → response headers → on_log → on_done → on_delete; contexts are recycled', async () => {
    const { vm, plugin } = await startProbe();
    const first = stream(plugin, 'none');
    first.sendRequestHeaders();
    first.sendResponseHeaders();
    first.complete();
    expect(values(vm, first.id, 'cb')).toEqual(['create', 'request_headers', 'response_headers', 'log', 'done', 'delete']);
    // A stream no filter callback saw (an earlier filter replied): created, then log/done/delete.
    const second = stream(plugin, 'none');
    second.complete();
    expect(values(vm, second.id, 'cb')).toEqual(['create', 'log', 'done', 'delete']);
    expect(values(vm, second.id, 'streams_on_this_context')).toEqual(['2']); // the first one's context, reused
  });

  it('a released plugin gets on_done then on_delete', async () => {
    const { vm, plugin } = await startProbe();
    expect(plugin.done()).toBe(true);
    expect(values(vm, plugin.id, 'root.cb')).toEqual(['done', 'delete']);
  });
});

describe('a trap', () => {
  it('an unexpected status aborts naming the call; the VM is failed and every later stream gets the 503', async () => {
    const { vm, plugin } = await startProbe();
    const s = stream(plugin, 'trap');
    const r = s.sendRequestHeaders();
    const FAILED = { status: 503, body: '', headers: [], details: 'wasm_fail_stream', grpcStatus: 14 };
    expect(r).toMatchObject({ action: 'failed', localReply: FAILED });
    expect(vm.logsAt('critical')).toEqual([expect.stringMatching(/^meshgate abort: proxy_get_buffer_bytes returned BadArgument \(2\)( at \S+)?$/)]);
    expect(vm.failed).toMatch(/^proxy_on_request_headers: /);
    expect(values(vm, s.id, 'trap.survived')).toEqual([]);

    const linesBefore = vm.logs.length;
    const later = stream(plugin, 'none');
    expect(later.sendRequestHeaders()).toMatchObject({ action: 'failed', localReply: FAILED });
    later.complete();
    plugin.tick();
    plugin.done();
    expect(vm.logs.length).toBe(linesBefore); // nothing reaches the guest any more
    expect(vm.startPlugin({ rootId: 'probe', configuration: 'x' }).ok).toBe(false);
  });
});
