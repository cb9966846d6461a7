/**
 * Loading: the emulator refuses what proxy-wasm-cpp-host refuses (missing or mistyped imports,
 * wrong export signatures, no ABI marker, no allocator, no memory, a start function that breaks
 * restricted mode), and accepts what it accepts. Also checks what the real modules import and
 * export, since Envoy refuses a module importing anything it does not provide.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ProxyWasmVm, WasmLoadError } from '../../../harness/emulator/vm';
import { readModuleShape, sigText } from '../../../harness/emulator/module';
import { ENV_IMPORTS } from '../../../harness/emulator/signatures';
import { DROP, ROOT, UNREACHABLE, buildModule, call, fixtureWasm, i32Const, meshgateWasm, minimalModule } from './support';

async function loadError(bytes: Uint8Array): Promise<WasmLoadError> {
  try {
    await ProxyWasmVm.load(bytes);
  } catch (e) {
    if (e instanceof WasmLoadError) return e;
    throw e;
  }
  throw new Error('the module loaded');
}

describe('modules the host refuses', () => {
  const cases: [string, Uint8Array, string, RegExp][] = [
    [
      'an import Envoy does not have (AssemblyScript default env.abort)',
      minimalModule([], [{ module: 'env', name: 'abort', params: ['i32', 'i32', 'i32', 'i32'] }]),
      'missing_import',
      /missing import: env\.abort/,
    ],
    ['env.seed (first Math.random)', minimalModule([], [{ module: 'env', name: 'seed', results: ['i64'] }]), 'missing_import', /env\.seed/],
    ['a 0.1.0-only host call', minimalModule([], [{ module: 'env', name: 'proxy_get_configuration', params: ['i32', 'i32'], results: ['i32'] }]), 'missing_import', /proxy_get_configuration/],
    ['an unknown module', minimalModule([], [{ module: 'other', name: 'proxy_log', params: ['i32', 'i32', 'i32'], results: ['i32'] }]), 'missing_import', /other\.proxy_log/],
    [
      'a host call imported with another signature',
      minimalModule([], [{ module: 'env', name: 'proxy_increment_metric', params: ['i32', 'i32'], results: ['i32'] }]),
      'import_type_mismatch',
      /proxy_increment_metric: module \(i32,i32\)->\(i32\), host \(i32,i64\)->\(i32\)/,
    ],
    ['an imported memory', buildModule({ importMemory: true, funcs: [{ export: 'proxy_abi_version_0_2_1' }, { export: 'malloc', params: ['i32'], results: ['i32'] }] }), 'unsupported_import', /env\.memory is a memory/],
    ['proxy_on_request_headers with two parameters', minimalModule([{ export: 'proxy_on_request_headers', params: ['i32', 'i32'], results: ['i32'] }]), 'bad_export_signature', /Bad function signature for: proxy_on_request_headers/],
    ['proxy_on_vm_start returning nothing', minimalModule([{ export: 'proxy_on_vm_start', params: ['i32', 'i32'] }]), 'bad_export_signature', /proxy_on_vm_start/],
    ['proxy_on_context_create returning a value', minimalModule([{ export: 'proxy_on_context_create', params: ['i32', 'i32'], results: ['i32'] }]), 'bad_export_signature', /proxy_on_context_create/],
    ['main with the wrong shape', minimalModule([{ export: 'main', results: ['i32'] }]), 'bad_export_signature', /main/],
    ['no ABI marker', buildModule({ funcs: [{ export: 'malloc', params: ['i32'], results: ['i32'] }] }), 'missing_abi_version', /Missing or unknown Proxy-Wasm ABI version/],
    ['only the 0.1.0 marker', buildModule({ funcs: [{ export: 'proxy_abi_version_0_1_0' }, { export: 'malloc', params: ['i32'], results: ['i32'] }] }), 'unsupported_abi_version', /0\.1\.0/],
    ['no allocator', buildModule({ funcs: [{ export: 'proxy_abi_version_0_2_1' }] }), 'missing_allocator', /missing malloc function/],
    ['no memory', buildModule({ memory: false, funcs: [{ export: 'proxy_abi_version_0_2_1' }, { export: 'malloc', params: ['i32'], results: ['i32'] }] }), 'missing_memory', /no memory/],
    ['not WebAssembly at all', Uint8Array.from(Buffer.from('hello, world')), 'bad_module', /bad magic/],
    [
      '_initialize calling a host function restricted mode forbids',
      minimalModule([{ export: '_initialize', body: [...i32Const(16), ...call(0), ...DROP] }], [{ module: 'env', name: 'proxy_get_log_level', params: ['i32'], results: ['i32'] }]),
      'start_failed',
      /restricted_callback: proxy_get_log_level/,
    ],
    ['_initialize trapping', minimalModule([{ export: '_initialize', body: UNREACHABLE }]), 'start_failed', /_initialize/],
    [
      '_initialize calling WASI proc_exit (not in the restricted allow-list)',
      minimalModule([{ export: '_initialize', body: [...i32Const(0), ...call(0)] }], [{ module: 'wasi_snapshot_preview1', name: 'proc_exit', params: ['i32'] }]),
      'start_failed',
      /restricted_callback: proc_exit/,
    ],
  ];

  test.each(cases)('%s', async (_name, bytes, code, message) => {
    const e = await loadError(bytes);
    expect(e.code).toBe(code);
    expect(e.message).toMatch(message);
  });
});

describe('modules the host accepts', () => {
  test('the minimal module: marker, malloc, memory', async () => {
    const vm = await ProxyWasmVm.load(minimalModule());
    expect(vm.failed).toBeNull();
  });

  test('proxy_on_memory_allocate instead of malloc; WASI imports under both names; _initialize may log', async () => {
    const vm = await ProxyWasmVm.load(
      buildModule({
        imports: [
          { module: 'wasi_snapshot_preview1', name: 'fd_write', params: ['i32', 'i32', 'i32', 'i32'], results: ['i32'] },
          { module: 'wasi_unstable', name: 'proc_exit', params: ['i32'] },
          { module: 'env', name: 'proxy_log', params: ['i32', 'i32', 'i32'], results: ['i32'] },
        ],
        funcs: [
          { export: 'proxy_abi_version_0_2_1' },
          { export: 'proxy_on_memory_allocate', params: ['i32'], results: ['i32'] },
          // proxy_log(info, 0, 0): an empty line, allowed in restricted mode
          { export: '_initialize', body: [...i32Const(2), ...i32Const(0), ...i32Const(0), ...call(2), ...DROP] },
        ],
      }),
    );
    expect(vm.failed).toBeNull();
    expect(vm.logs).toEqual([{ level: 'info', message: '', context: 0 }]);
  });

  test('WASI: fd_write is one log line per call (stdout info, stderr error, one trailing newline dropped); proc_exit only logs', async () => {
    const store8 = (addr: number, byte: number) => [...i32Const(addr), ...i32Const(byte), 0x3a, 0x00, 0x00];
    const store32 = (addr: number, value: number) => [...i32Const(addr), ...i32Const(value), 0x36, 0x02, 0x00];
    const fdWrite = (fd: number) => [...i32Const(fd), ...i32Const(0), ...i32Const(2), ...i32Const(32), ...call(0), ...DROP];
    const vm = await ProxyWasmVm.load(
      minimalModule(
        [
          {
            export: '_initialize',
            body: [
              ...[...'hi '].flatMap((c, i) => store8(64 + i, c.charCodeAt(0))),
              ...[...'there\n'].flatMap((c, i) => store8(80 + i, c.charCodeAt(0))),
              ...store32(0, 64), ...store32(4, 3), ...store32(8, 80), ...store32(12, 6), // two iovecs
              ...fdWrite(1),
              ...fdWrite(2),
            ],
          },
          // proc_exit is not allowed while starting (it traps there); later it only logs and returns
          { export: 'proxy_on_tick', params: ['i32'], body: [...i32Const(3), ...call(1)] },
        ],
        [
          { module: 'wasi_snapshot_preview1', name: 'fd_write', params: ['i32', 'i32', 'i32', 'i32'], results: ['i32'] },
          { module: 'wasi_snapshot_preview1', name: 'proc_exit', params: ['i32'] },
        ],
      ),
      { logLevel: 0 },
    );
    vm.startPlugin({ rootId: 'any' }).tick();
    expect(vm.failed).toBeNull();
    expect(vm.logs.map((l) => `${l.level} ${l.message}`)).toEqual(['info hi there', 'error hi there', 'trace wasi_unstable proc_exit(3)']);
  });

  test('an unknown export name is fine (only the names the host looks up are checked)', async () => {
    const vm = await ProxyWasmVm.load(minimalModule([{ export: 'something_else', params: ['i64'] }]));
    expect(vm.exportNames.has('something_else')).toBe(true);
  });

  test('an Envoy host call the emulator does not model answers Unimplemented and says so', async () => {
    const vm = await ProxyWasmVm.load(
      minimalModule(
        [{ export: 'proxy_on_tick', params: ['i32'], body: [...i32Const(0), ...call(0), ...DROP] }],
        [{ module: 'env', name: 'proxy_continue_stream', params: ['i32'], results: ['i32'] }],
      ),
    );
    const plugin = vm.startPlugin({ rootId: 'x' });
    plugin.tick();
    expect(vm.logsAt('warn')).toEqual(['emulator: env.proxy_continue_stream is not emulated; answering Unimplemented']);
  });
});

describe('what the real modules import and export', () => {
  const forbidden = /^(abort|seed|trace|Date\.|console\.|Math\.)/;

  function shapeOf(file: string) {
    return readModuleShape(fs.readFileSync(file));
  }

  test('build/meshgate.wasm imports only Envoy host calls, with their signatures, and exports only what filters use', async () => {
    const shape = shapeOf(meshgateWasm());
    for (const imp of shape.imports) {
      expect(imp.module).toBe('env');
      expect(imp.name).not.toMatch(forbidden);
      expect(ENV_IMPORTS[imp.name]).toBeDefined();
      expect(sigText(imp.sig!)).toBe(sigText(ENV_IMPORTS[imp.name]));
    }
    expect(shape.exports.map((e) => e.name).sort()).toEqual(
      [
        '_initialize',
        'malloc',
        'memory',
        'proxy_abi_version_0_2_1',
        'proxy_on_configure',
        'proxy_on_context_create',
        'proxy_on_delete',
        'proxy_on_request_headers',
        'proxy_on_tick',
      ].sort(),
    );
    await expect(ProxyWasmVm.load(meshgateWasm())).resolves.toBeInstanceOf(ProxyWasmVm);
  });

  test('the debug text build shows the same imports (build/meshgate.debug.wat, when built)', () => {
    const wat = path.join(ROOT, 'build/meshgate.debug.wat');
    if (!fs.existsSync(wat)) return; // `npm run build` writes it; the .wasm check above is the binding one
    const imports = [...fs.readFileSync(wat, 'utf8').matchAll(/^ \(import "(\w+)" "([^"]+)"/gm)].map((m) => `${m[1]}.${m[2]}`);
    expect(imports.length).toBeGreaterThan(0);
    for (const i of imports) expect(i).toMatch(/^env\.proxy_/);
  });

  test('the probe fixture (every host call the binding wraps) imports only Envoy host calls', () => {
    const shape = shapeOf(fixtureWasm('probe'));
    const names = shape.imports.map((i) => i.name).sort();
    for (const imp of shape.imports) expect(sigText(imp.sig!)).toBe(sigText(ENV_IMPORTS[imp.name]));
    expect(names).toEqual(
      [
        'proxy_add_header_map_value', 'proxy_define_metric', 'proxy_get_buffer_bytes', 'proxy_get_current_time_nanoseconds',
        'proxy_get_header_map_pairs', 'proxy_get_header_map_size', 'proxy_get_header_map_value', 'proxy_get_log_level',
        'proxy_get_metric', 'proxy_get_property', 'proxy_increment_metric', 'proxy_log', 'proxy_record_metric',
        'proxy_remove_header_map_value', 'proxy_replace_header_map_value', 'proxy_send_local_response', 'proxy_set_header_map_pairs',
        'proxy_set_property', 'proxy_set_tick_period_milliseconds',
      ].sort(),
    );
  });

  test.each(['bench-null', 'bench-fetch'])('build/%s.wasm (when built) loads and imports nothing Envoy lacks', async (name) => {
    const file = path.join(ROOT, 'build', `${name}.wasm`);
    if (!fs.existsSync(file)) return; // asc assembly/bench/{null,fetch}.ts --target {null,fetch}
    for (const imp of shapeOf(file).imports) expect(ENV_IMPORTS[imp.name]).toBeDefined();
    await expect(ProxyWasmVm.load(file)).resolves.toBeInstanceOf(ProxyWasmVm);
  });
});
