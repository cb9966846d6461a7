/**
 * Runs probe commands (test/fixtures/probe.ts) in one callback phase of a whole plugin and stream
 * lifecycle, for the host-call-by-phase table (hostcall-phases.test.ts): root phases get their
 * commands through the plugin (or VM) configuration, stream phases through the probe's request
 * headers.
 */
import { ProxyWasmVm, type HttpStream } from '../../../harness/emulator/vm';
import type { PluginHandle, PropertyValue } from '../../../harness/emulator/stream';
import type { Pairs } from '../../../harness/emulator/pairs';
import { probeResults } from './support';

/** Every phase the probe runs commands in, in the order a plugin and one stream see them. */
export const PHASES = [
  'on_vm_start', 'on_configure', 'on_tick', 'on_context_create', 'on_request_headers',
  'on_response_headers', 'on_log', 'on_done', 'on_delete', 'root_done', 'root_delete',
] as const;
export type Phase = (typeof PHASES)[number];

/** Stream phases whose commands travel in a request header. */
const HEADER_OF: Partial<Record<Phase, string>> = {
  on_request_headers: 'x-probe',
  on_response_headers: 'x-probe-response',
  on_log: 'x-probe-log',
};

export const TIME_NS = 1_700_000_000_123_456_789n;
export const VM_CONFIGURATION = 'vm-bytes';

export interface PhaseSetup {
  /** PluginConfig.name; default: none (Envoy then reports the root id as plugin_name). */
  pluginName?: string;
  /** More request headers (after :method GET, :path /p, :authority svc). */
  headers?: Pairs;
  properties?: Record<string, PropertyValue>;
  /** Response headers; default `:status 200`. */
  response?: Pairs;
  /** The host's log level, set once the plugin started (before the tick). */
  logLevel?: number;
}

export interface PhaseRun {
  /** The phase's results, in order, as `command => result`. */
  results: string[];
  vm: ProxyWasmVm;
  plugin: PluginHandle;
  stream: HttpStream;
}

/**
 * Starts a plugin (root id `probe`), ticks it, runs one stream through request headers,
 * response headers and completion, releases the plugin; `commands` run in `phase`.
 */
export async function runInPhase(wasm: string, phase: Phase, commands: string[], setup: PhaseSetup = {}): Promise<PhaseRun> {
  const list = commands.join('; ');
  const header = HEADER_OF[phase];
  const rootHeld = phase !== 'on_vm_start' && header === undefined;
  const vm = await ProxyWasmVm.load(wasm);
  vm.setTime(TIME_NS);
  const plugin = vm.startPlugin({
    rootId: 'probe',
    pluginName: setup.pluginName,
    configuration: rootHeld ? `${phase}: ${list}` : 'probe-config',
    vmConfiguration: phase === 'on_vm_start' ? `on_vm_start: ${list}` : VM_CONFIGURATION,
  });
  if (!plugin.ok) throw new Error(`the probe did not start: ${plugin.failure}`);
  if (setup.logLevel !== undefined) vm.logLevel = setup.logLevel;
  plugin.tick();
  const requestHeaders: Pairs = [[':method', 'GET'], [':path', '/p'], [':authority', 'svc'], ...(setup.headers ?? [])];
  if (header !== undefined) requestHeaders.push([header, list]);
  const s = plugin.newHttpStream({ requestHeaders, properties: setup.properties });
  s.sendRequestHeaders();
  s.sendResponseHeaders(setup.response ?? [[':status', '200']]);
  s.complete();
  plugin.done();
  if (vm.failed) throw new Error(`the VM failed: ${vm.failed}`);
  const results = probeResults(vm).filter((r) => r.callback === phase).map((r) => `${r.command} => ${r.result}`);
  return { results, vm, plugin, stream: s };
}
