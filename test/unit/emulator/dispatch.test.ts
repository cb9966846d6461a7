/**
 * The binding's dispatch (assembly/proxywasm/dispatch.ts) under Envoy's lifecycle, through the
 * probe fixture: callback order, per-root state with several roots alive, unknown root ids,
 * failing configure, and the orders a real host may produce that the spec does not (on_log
 * first, ids it never created, a second delete). Also the context registry under many live
 * streams and out-of-order completion.
 */
import { ProxyWasmVm } from '../../../harness/emulator/vm';
import type { HttpStream, PluginHandle } from '../../../harness/emulator/stream';
import { fixtureWasm } from './fixtures';
import { probeTrace } from './support';

let wasm: string;
beforeAll(() => {
  wasm = fixtureWasm('probe');
}, 120_000);

async function load(): Promise<ProxyWasmVm> {
  return ProxyWasmVm.load(wasm, { logLevel: 1 }); // debug: the probe's callback trace
}

function start(vm: ProxyWasmVm, rootId = 'probe', configuration = 'ok'): PluginHandle {
  const plugin = vm.startPlugin({ rootId, configuration });
  expect({ ok: plugin.ok, failure: plugin.failure }).toEqual({ ok: true, failure: undefined });
  return plugin;
}

/** Deterministic shuffle (a linear congruential generator), so failures reproduce. */
function shuffled<T>(items: T[], seed: number): T[] {
  const out = [...items];
  let s = seed;
  for (let i = out.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

describe('lifecycle in Envoy order', () => {
  test('plugin start: context create, vm start, configure; the module starts in _initialize', async () => {
    const vm = await load();
    expect(vm.logsAt('info')).toEqual(['probe: module initialized']);
    start(vm);
    expect(vm.logsAt('info').slice(1).map((l) => l.split(' ').slice(0, 3).join(' '))).toEqual(['probe vm_start probe', 'probe configure probe']);
  });

  test('a full stream: every callback once, log before done and delete', async () => {
    const vm = await load();
    const plugin = start(vm);
    const s = plugin.newHttpStream({ requestHeaders: [[':path', '/']] });
    s.sendRequestHeaders({ endOfStream: false });
    s.sendRequestBody('x', { endOfStream: false });
    s.sendRequestTrailers([['t', '1']]);
    s.sendResponseHeaders([[':status', '200']], { endOfStream: false });
    s.sendResponseBody('y', { endOfStream: false });
    s.sendResponseTrailers([['t', '2']]);
    s.complete();
    expect(probeTrace(vm)).toEqual(
      ['on_context_create', 'on_request_headers', 'on_request_body', 'on_request_trailers', 'on_response_headers', 'on_response_body', 'on_response_trailers', 'on_log', 'on_done', 'on_delete'].map(
        (cb) => `${cb} id=${s.id}`,
      ),
    );
  });

  test('on_log without any request callback (an earlier filter replied): created, logged, deleted', async () => {
    const vm = await load();
    const plugin = start(vm);
    const s = plugin.newHttpStream();
    s.complete();
    expect(probeTrace(vm)).toEqual([`on_context_create id=${s.id}`, `on_log id=${s.id}`, `on_done id=${s.id}`, `on_delete id=${s.id}`]);
    expect(vm.logsAt('info')).toContain('probe on_log saw_request=false');
  });

  test('context ids: roots and streams share one counter starting at 1', async () => {
    const vm = await load();
    const a = start(vm);
    const s = a.newHttpStream();
    const b = start(vm, 'probe_other');
    expect([a.id, s.id, b.id]).toEqual([1, 2, 3]);
  });

  test('plugin released: root on_done then on_delete; its later streams reach no context', async () => {
    const vm = await load();
    const plugin = start(vm);
    expect(plugin.done()).toBe(true);
    expect(vm.logsAt('info').slice(-2)).toEqual(['probe root done probe id=1', 'probe root delete probe id=1']);
    const s = plugin.newHttpStream({ requestHeaders: [['x-probe', 'abort']] });
    expect(s.sendRequestHeaders().action).toBe('continue'); // no context: the binding lets it pass
    s.complete();
    expect(vm.failed).toBeNull();
  });
});

describe('several root contexts in one VM', () => {
  test('each root keeps its own state; streams get their own root; releasing one leaves the other', async () => {
    const vm = await load();
    const a = start(vm, 'probe', 'first');
    const b = start(vm, 'probe', 'second'); // a config reload: same root_id, new root context
    const c = start(vm, 'probe_other');
    for (const p of [a, a, b, c, a]) p.newHttpStream().complete();
    const created = vm.logs.map((l) => /on_context_create id=\d+ root=(\S+) streams_of_root=(\d+)/.exec(l.message)).filter(Boolean).map((m) => `${m![1]}#${m![2]}`);
    expect(created).toEqual(['probe#1', 'probe#2', 'probe#1', 'probe_other#1', 'probe#3']);
    a.done();
    b.newHttpStream().complete();
    const last = vm.logs.filter((l) => l.message.includes('on_context_create')).at(-1)!.message;
    expect(last).toMatch(/root=probe streams_of_root=2$/); // b's second stream: a's count left with a
  });

  test('an unknown root_id: an error naming it and the known ones, configure fails, nothing traps', async () => {
    const vm = await load();
    const good = start(vm);
    const bad = vm.startPlugin({ rootId: 'nobody', configuration: 'ok' });
    expect(bad.ok).toBe(false);
    expect(vm.failed).toBeNull();
    expect(vm.logsAt('error')).toEqual([
      'proxy_on_context_create: no root context is registered for root_id "nobody" (this module serves: probe, probe_other)',
      `proxy_on_configure: context ${bad.id} has no root context (unknown root_id): configuration refused`,
    ]);
    const s = bad.newHttpStream({ requestHeaders: [['x-probe', 'abort']] });
    expect(s.sendRequestHeaders().action).toBe('continue');
    good.newHttpStream().complete();
    expect(vm.failed).toBeNull();
  });

  test('an empty root_id is just another unknown one', async () => {
    const vm = await load();
    expect(vm.startPlugin({ rootId: '' }).ok).toBe(false);
    expect(vm.logsAt('error')[0]).toMatch(/root_id ""/);
  });

  test('configure returning false, or vm start failing, refuses the plugin without failing the VM', async () => {
    const vm = await load();
    const rejected = vm.startPlugin({ rootId: 'probe', configuration: 'reject' });
    expect({ ok: rejected.ok, failure: rejected.failure }).toEqual({ ok: false, failure: 'proxy_on_configure returned false' });
    const noStart = vm.startPlugin({ rootId: 'probe', vmConfiguration: 'fail-vm-start' });
    expect({ ok: noStart.ok, failure: noStart.failure }).toEqual({ ok: false, failure: 'proxy_on_vm_start returned false' });
    expect(vm.failed).toBeNull();
    start(vm);
  });

  test('a root that watches no streams: no stream callback reaches the module', async () => {
    const vm = await load();
    const plugin = start(vm, 'probe', 'no-streams');
    const s = plugin.newHttpStream({ requestHeaders: [['x-probe', 'abort']] });
    expect(s.sendRequestHeaders().action).toBe('continue');
    s.complete();
    expect(probeTrace(vm)).toEqual([]);
  });
});

describe('orders the spec does not promise', () => {
  test('callbacks for ids the module never saw do nothing and answer Continue', async () => {
    const vm = await load();
    start(vm);
    vm.clearLogs();
    expect(vm.callExport('proxy_on_request_headers', 999, 3, 1)).toBe(0);
    expect(vm.callExport('proxy_on_response_body', 999, 10, 1)).toBe(0);
    expect(vm.callExport('proxy_on_log', 999)).toBe(0);
    expect(vm.callExport('proxy_on_done', 999)).toBe(1);
    expect(vm.callExport('proxy_on_delete', 999)).toBe(0);
    expect(vm.callExport('proxy_on_tick', 999)).toBe(0);
    expect(vm.callExport('proxy_on_configure', 999, 0)).toBe(0); // not a root: refused, logged
    expect(vm.callExport('proxy_on_context_create', 1000, 555)).toBe(0); // a stream of an unknown root
    expect(vm.callExport('proxy_on_request_headers', 1000, 0, 1)).toBe(0);
    expect(vm.failed).toBeNull();
    expect(probeTrace(vm)).toEqual([]);
  });

  test('stream callbacks on a root id and root callbacks on a stream id are ignored', async () => {
    const vm = await load();
    const plugin = start(vm);
    const s = plugin.newHttpStream();
    s.sendRequestHeaders();
    vm.clearLogs();
    expect(vm.callExport('proxy_on_request_headers', plugin.id, 0, 1)).toBe(0);
    expect(vm.callExport('proxy_on_tick', s.id)).toBe(0);
    expect(vm.callExport('proxy_on_configure', s.id, 0)).toBe(0);
    expect(probeTrace(vm)).toEqual([]);
    expect(vm.logsAt('info')).toEqual([]);
  });

  test('on_log and on_delete before the request, then delete twice', async () => {
    const vm = await load();
    const plugin = start(vm);
    expect(vm.callExport('proxy_on_context_create', 50, plugin.id)).toBe(0);
    vm.callExport('proxy_on_log', 50);
    vm.callExport('proxy_on_delete', 50);
    vm.callExport('proxy_on_delete', 50);
    vm.callExport('proxy_on_done', 50);
    expect(probeTrace(vm)).toEqual(['on_context_create id=50', 'on_log id=50', 'on_delete id=50']);
    expect(vm.failed).toBeNull();
  });

  test('a recycled stream context starts clean (state of the previous stream is gone)', async () => {
    const vm = await load();
    const plugin = start(vm);
    const first = plugin.newHttpStream({ requestHeaders: [['x-probe-log', 'get req :path'], [':path', '/first']] });
    first.sendRequestHeaders();
    first.complete();
    const second = plugin.newHttpStream();
    second.complete();
    const logRuns = vm.logsAt('info').filter((l) => l.startsWith('probe on_log get req'));
    expect(logRuns).toEqual(['probe on_log get req :path => value:/first']);
    expect(vm.logsAt('info')).toContain('probe on_log saw_request=false');
  });
});

describe('the context registry', () => {
  test('600 live streams, completed in shuffled order: every callback reaches its own context', async () => {
    const vm = await load();
    const plugin = start(vm);
    const streams: HttpStream[] = [];
    for (let i = 0; i < 600; i++) {
      const s = plugin.newHttpStream({ requestHeaders: [[':path', `/${i}`]] });
      s.sendRequestHeaders();
      streams.push(s);
    }
    for (const s of shuffled(streams, 7)) s.sendResponseHeaders([[':status', '200']]);
    for (const s of shuffled(streams, 11)) s.complete();
    const trace = probeTrace(vm);
    for (const s of streams) {
      expect(trace.filter((t) => t.endsWith(` id=${s.id}`))).toEqual(
        ['on_context_create', 'on_request_headers', 'on_response_headers', 'on_log', 'on_done', 'on_delete'].map((cb) => `${cb} id=${s.id}`),
      );
    }
    // all deleted: the ids are unknown again
    vm.clearLogs();
    for (const s of streams) vm.callExport('proxy_on_log', s.id);
    expect(probeTrace(vm)).toEqual([]);
    expect(vm.failed).toBeNull();
  });
});
