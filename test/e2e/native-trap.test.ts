/**
 * What the sandbox promises when the module itself fails: a trap inside it (an out-of-bounds load,
 * or recursion past the call-depth limit) fails that stream with a 503 `wasm_fail_stream`, every
 * later stream of that configuration fails the same way (fail closed, never open), other
 * configurations of the same library keep serving, and Envoy stays up — in the native library
 * (native/trap.h: the shim's landing point for a trap) exactly as in Envoy's Wasm filter with
 * FAIL_CLOSED. The module is build/fixture-trap.wasm (assembly/fixtures/trap.ts), which traps on
 * purpose after its first request, linked with the same shim as build/libmeshgate.so.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { EnvoyProcess } from '../../harness/envoy/process';
import { bootstrap, directResponseRoute, fileAccessLog, httpListener, wasmFilter, type Json } from '../../harness/envoy/bootstrap';
import { repoRoot } from '../../harness/envoy/paths';
import { buildNativeFixture } from '../../harness/native/build';
import { request } from '../../harness/services/client';

const FIXTURE = path.join(repoRoot(), 'build', 'fixture-trap.wasm');
const MODES = ['oob 1', 'stack 1'] as const;
const RUNTIMES = ['native', 'wasm'] as const;

let dir = '';
let library = '';
let envoy: EnvoyProcess | undefined;

function listenerName(runtime: string, mode: string): string {
  return `${runtime}_${mode.replace(' ', '_')}`;
}

function filterFor(runtime: (typeof RUNTIMES)[number], mode: string, name: string): Json {
  if (runtime === 'wasm') return wasmFilter({ pluginName: name, rootId: 'trap', wasmFile: FIXTURE, configuration: mode });
  return {
    name: 'meshgate.native',
    typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.filters.http.dynamic_modules.v3.DynamicModuleFilter',
      dynamic_module_config: { module: { local: { filename: library } } },
      filter_name: 'trap',
      filter_config: { '@type': 'type.googleapis.com/google.protobuf.StringValue', value: mode },
    },
  };
}

function listener(runtime: (typeof RUNTIMES)[number], mode: string): Json {
  const name = listenerName(runtime, mode);
  return httpListener({
    name,
    routes: [directResponseRoute(200, 'served')],
    httpFilters: [filterFor(runtime, mode, name)],
    accessLogs: [fileAccessLog(path.join(dir, `${name}.log`), '%RESPONSE_CODE% %RESPONSE_CODE_DETAILS%\n')],
  });
}

beforeAll(async () => {
  if (!fs.existsSync(FIXTURE)) throw new Error(`${FIXTURE} is missing: run npm run build:wasm`);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meshgate-native-trap-'));
  library = path.join(dir, 'libtrap.so');
  await buildNativeFixture(FIXTURE, library);
  const listeners = [...RUNTIMES.flatMap((r) => MODES.map((m) => listener(r, m))), listener('native', 'ok')];
  envoy = await EnvoyProcess.start({ bootstrap: bootstrap({ listeners }) });
}, 300_000);

afterAll(async () => {
  await envoy?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

/** Status of three requests in a row, and the details Envoy logged for each. */
async function threeRequests(name: string): Promise<{ statuses: number[]; details: string[] }> {
  const port = await envoy!.listenerPort(name);
  const statuses: number[] = [];
  for (let i = 0; i < 3; i++) statuses.push((await request({ port, path: `/r${i}` })).status);
  const log = path.join(dir, `${name}.log`);
  const deadline = Date.now() + 5000;
  let lines: string[] = [];
  while (Date.now() < deadline) {
    lines = fs.existsSync(log) ? fs.readFileSync(log, 'utf8').split('\n').filter((l) => l.length > 0) : [];
    if (lines.length >= 3) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return { statuses, details: lines.map((l) => l.split(' ')[1]) };
}

describe.each(MODES)('a module that traps (%s)', (mode) => {
  const seen: Record<string, { statuses: number[]; details: string[] }> = {};

  it.each(RUNTIMES)('%s: the first request is served, the trap fails its stream with 503 wasm_fail_stream, and the next one fails closed', async (runtime) => {
    const r = await threeRequests(listenerName(runtime, mode));
    seen[runtime] = r;
    expect(r.statuses).toEqual([200, 503, 503]);
    expect(r.details.slice(1)).toEqual(['wasm_fail_stream', 'wasm_fail_stream']);
  });

  it('both runtimes answer the same', () => {
    expect(seen.native).toEqual(seen.wasm);
  });
});

it('another configuration of the same library keeps serving, and Envoy stays up', async () => {
  const r = await threeRequests(listenerName('native', 'ok'));
  expect(r.statuses).toEqual([200, 200, 200]);
  expect((await envoy!.admin('GET', '/ready')).trim()).toBe('LIVE');
});
