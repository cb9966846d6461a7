/**
 * Module loading as proxy-wasm-cpp-host does it (notes §1.1, §1.2, §1.6, §1.8): strict linking of
 * imports, exact signatures of the exports the host looks up, the ABI marker, an allocator
 * (`malloc` preferred over `proxy_on_memory_allocate`), and restricted mode while `_initialize`
 * and the allocator run. The bad modules are tiny AssemblyScript files in test/fixtures/wasm/.
 * Also: build/meshgate.wasm imports only what Envoy provides and starts through `_initialize`.
 */
import * as fs from 'node:fs';
import { ProxyWasmVm, WasmLoadError } from '../../../harness/emulator/vm';
import { readModuleShape, sigText } from '../../../harness/emulator/module';
import { ENV_IMPORTS } from '../../../harness/emulator/signatures';
import { fixtureModules, sectionIds, MESHGATE_WASM } from './fixtures';

const FIXTURES = [
  'shape-ok', 'missing-import', 'import-mismatch', 'bad-export-signature', 'no-abi-version', 'no-allocator',
  'both-allocators', 'allocate-only', 'restricted-start', 'restricted-malloc',
] as const;
let wasm: Record<(typeof FIXTURES)[number], Uint8Array>;

beforeAll(async () => {
  wasm = await fixtureModules(...FIXTURES);
}, 180_000);

/** How `ProxyWasmVm.load` refuses the module: `<code>: <message>` (fails the test if it loads). */
async function loadError(bytes: Uint8Array): Promise<string> {
  try {
    await ProxyWasmVm.load(bytes);
  } catch (e) {
    expect(e).toBeInstanceOf(WasmLoadError);
    return `${(e as WasmLoadError).code}: ${(e as Error).message}`;
  }
  throw new Error('the module loaded, but the host should have refused it');
}

describe('refused at load, with cpp-host\'s messages', () => {
  it.each([
    ['missing-import', 'an import the host lacks (AssemblyScript\'s default env.abort)', /^missing_import: Failed to load Wasm module due to a missing import: env\.abort$/],
    ['import-mismatch', 'env.proxy_log imported with two parameters', /^import_type_mismatch: Failed to load Wasm module due to an import type mismatch: env\.proxy_log: module \(i32,i32\)->\(i32\), host \(i32,i32,i32\)->\(i32\)$/],
    ['bad-export-signature', 'proxy_on_request_headers returning nothing', /^bad_export_signature: Bad function signature for: proxy_on_request_headers \(module \(i32,i32,i32\)->\(\), expected \(i32,i32,i32\)->\(i32\)\)$/],
    ['no-abi-version', 'no proxy_abi_version_0_2_1 export', /^missing_abi_version: Missing or unknown Proxy-Wasm ABI version$/],
    ['no-allocator', 'neither malloc nor proxy_on_memory_allocate', /^missing_allocator: Wasm module is missing malloc function$/],
  ] as const)('%s: %s', async (name, _what, message) => {
    expect(await loadError(wasm[name])).toMatch(message);
  });

  it('a module whose _initialize calls a host function other than proxy_log traps restricted_callback', async () => {
    const message = await loadError(wasm['restricted-start']);
    expect(message).toMatch(/^start_failed: module start failed: _initialize: .*restricted_callback: proxy_get_log_level/);
  });
});

describe('loaded modules', () => {
  it('a minimal module loads; proxy_log is allowed while _initialize runs', async () => {
    const vm = await ProxyWasmVm.load(wasm['shape-ok']);
    expect(vm.failed).toBeNull();
    expect(vm.logs).toEqual([{ level: 'info', message: 'started', context: 0 }]);
    const plugin = vm.startPlugin({ rootId: 'any', configuration: 'hello' });
    expect(plugin.ok).toBe(true);
    expect(vm.logsAt('info')).toEqual(['started', 'configuration=hello']);
  });

  it('prefers malloc over proxy_on_memory_allocate when both are exported', async () => {
    const vm = await ProxyWasmVm.load(wasm['both-allocators']);
    expect(vm.startPlugin({ rootId: 'any', configuration: 'twelve bytes' }).ok).toBe(true);
    expect(vm.logsAt('info')).toEqual(['malloc(12)', 'configuration=twelve bytes']);
  });

  it('falls back to proxy_on_memory_allocate without malloc', async () => {
    const vm = await ProxyWasmVm.load(wasm['allocate-only']);
    expect(vm.startPlugin({ rootId: 'any', configuration: 'abc' }).ok).toBe(true);
    expect(vm.logsAt('info')).toEqual(['proxy_on_memory_allocate(3)', 'configuration=abc']);
  });

  it('the allocator runs in restricted mode: proxy_log works, another host call traps the VM', async () => {
    const vm = await ProxyWasmVm.load(wasm['restricted-malloc']);
    const plugin = vm.startPlugin({ rootId: 'any', configuration: 'abc' });
    expect(plugin.ok).toBe(false);
    expect(vm.logsAt('info')).toEqual(['malloc logs fine']);
    expect(vm.failed).toMatch(/^proxy_on_configure: .*restricted_callback: proxy_get_log_level/);
  });
});

/** Every `env` function Envoy registers for an ABI 0.2.1 module, with its spec signature (notes §1.3). */
const I = 'i32';
const ENVOY_HOST_FUNCTIONS: Record<string, string> = Object.fromEntries(
  Object.entries({
    proxy_log: [I, I, I],
    proxy_get_log_level: [I],
    proxy_get_current_time_nanoseconds: [I],
    proxy_set_tick_period_milliseconds: [I],
    proxy_get_buffer_bytes: [I, I, I, I, I],
    proxy_get_buffer_status: [I, I, I],
    proxy_set_buffer_bytes: [I, I, I, I, I],
    proxy_get_header_map_pairs: [I, I, I],
    proxy_set_header_map_pairs: [I, I, I],
    proxy_get_header_map_size: [I, I],
    proxy_get_header_map_value: [I, I, I, I, I],
    proxy_add_header_map_value: [I, I, I, I, I],
    proxy_replace_header_map_value: [I, I, I, I, I],
    proxy_remove_header_map_value: [I, I, I],
    proxy_continue_stream: [I],
    proxy_close_stream: [I],
    proxy_send_local_response: [I, I, I, I, I, I, I, I],
    proxy_http_call: [I, I, I, I, I, I, I, I, I, I],
    proxy_grpc_call: [I, I, I, I, I, I, I, I, I, I, I, I],
    proxy_grpc_stream: [I, I, I, I, I, I, I, I, I],
    proxy_grpc_send: [I, I, I, I],
    proxy_grpc_cancel: [I],
    proxy_grpc_close: [I],
    proxy_get_status: [I, I, I],
    proxy_set_shared_data: [I, I, I, I, I],
    proxy_get_shared_data: [I, I, I, I, I],
    proxy_register_shared_queue: [I, I, I],
    proxy_resolve_shared_queue: [I, I, I, I, I],
    proxy_enqueue_shared_queue: [I, I, I],
    proxy_dequeue_shared_queue: [I, I, I],
    proxy_define_metric: [I, I, I, I],
    proxy_increment_metric: [I, 'i64'],
    proxy_record_metric: [I, 'i64'],
    proxy_get_metric: [I, I],
    proxy_get_property: [I, I, I, I],
    proxy_set_property: [I, I, I, I],
    proxy_set_effective_context: [I],
    proxy_done: [],
    proxy_call_foreign_function: [I, I, I, I, I, I],
  }).map(([name, params]) => [name, `(${params.join(',')})->(i32)`]),
);

it('the emulator links every one of these with the spec signature', () => {
  for (const [name, sig] of Object.entries(ENVOY_HOST_FUNCTIONS)) {
    expect({ name, sig: ENV_IMPORTS[name] && sigText(ENV_IMPORTS[name]) }).toEqual({ name, sig });
  }
});

describe('build/meshgate.wasm', () => {
  const bytes = new Uint8Array(fs.readFileSync(MESHGATE_WASM));
  const shape = readModuleShape(bytes);

  it('imports only env functions Envoy provides, with the spec signatures (no abort/seed/trace/Date/console)', () => {
    expect(shape.imports.length).toBeGreaterThan(0);
    for (const imp of shape.imports) {
      expect({ import: `${imp.module}.${imp.name}`, kind: imp.kind }).toEqual({ import: `env.${imp.name}`, kind: 'function' });
      expect({ import: imp.name, sig: sigText(imp.sig!) }).toEqual({ import: imp.name, sig: ENVOY_HOST_FUNCTIONS[imp.name] });
    }
  });

  it('starts through an exported _initialize, not a wasm start section, and exports the marker, malloc and memory', () => {
    expect(sectionIds(bytes)).not.toContain(8);
    const exports = new Map(shape.exports.map((e) => [e.name, e]));
    expect(sigText(exports.get('_initialize')!.sig!)).toBe('()->()');
    expect(sigText(exports.get('proxy_abi_version_0_2_1')!.sig!)).toBe('()->()');
    expect(sigText(exports.get('malloc')!.sig!)).toBe('(i32)->(i32)');
    expect(exports.get('memory')?.kind).toBe('memory');
  });

  it('loads in the emulator and runs _initialize without logging anything', async () => {
    const vm = await ProxyWasmVm.load(MESHGATE_WASM);
    expect(vm.failed).toBeNull();
    expect(vm.logs).toEqual([]);
  });
});
