/**
 * The modules the emulator tests load, all built by the one builder (harness/emulator/wasm-build.ts)
 * when missing or stale, into build/ of this checkout:
 * - build/meshgate.wasm and build/meshgate-passthrough.wasm come from `npm run build`: a clear
 *   failure says so when they are missing;
 * - fixtureWasm(name): test/fixtures/<name>.ts (the probe, on the real binding) → build/fixtures/;
 * - fixtureModules(...names): test/fixtures/wasm/<name>.ts (tiny modules, most of them breaking
 *   one load rule) → build/fixtures/wasm/. A fixture's first line may be `// asc-flags: <flags>`;
 *   otherwise FIXTURE_FLAGS apply (stub runtime, `_initialize`, and common.ts's abort handler so
 *   the module does not import `env.abort`). Their own asconfig keeps the project's targets out.
 * - meshgateStubWasm(): the module entry with the STUB runtime (never frees: growth per request
 *   in this build is an allocation per request);
 * - benchWasm(name): a bench module (bench/modules.ts).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildWasm } from '../../../harness/emulator/wasm-build';
import { benchModule, type BenchModuleName } from '../../../bench/modules';

export const ROOT = path.resolve(__dirname, '../../..');
export const MESHGATE_WASM = path.join(ROOT, 'build/meshgate.wasm');
export const PASSTHROUGH_WASM = path.join(ROOT, 'build/meshgate-passthrough.wasm');
const FIXTURE_FLAGS = ['--runtime', 'stub', '--exportStart', '_initialize', '--use', 'abort=test/fixtures/wasm/common/fixture_abort'];

function built(file: string, how: string): string {
  if (!fs.existsSync(file)) throw new Error(`${file} is missing: run \`npm run build\` (or \`${how}\`) first`);
  return file;
}

/** build/meshgate.wasm, which `npm run build` writes. */
export function meshgateWasm(): string {
  return built(MESHGATE_WASM, 'npx asc assembly/index.ts --target release');
}

/** build/meshgate-passthrough.wasm (assembly/passthrough.ts), which `npm run build` writes. */
export function passthroughWasm(): string {
  return built(PASSTHROUGH_WASM, 'npx asc assembly/passthrough.ts --target passthrough');
}

/** build/fixtures/<name>.wasm from test/fixtures/<name>.ts (rebuilt when it or the binding changed). */
export function fixtureWasm(name: string): string {
  const entry = `test/fixtures/${name}.ts`;
  return buildWasm(ROOT, {
    entry,
    outFile: `build/fixtures/${name}.wasm`,
    options: ['--config', 'test/fixtures/asconfig.json', '--target', 'fixture'],
    inputs: ['test/fixtures/asconfig.json', 'assembly/proxywasm'],
  }).file;
}

/** The module entry assembly/<entry>.ts built with the stub runtime into build/fixtures/. */
export function meshgateStubWasm(entry = 'index'): string {
  return buildWasm(ROOT, {
    entry: `assembly/${entry}.ts`,
    outFile: `build/fixtures/meshgate-${entry}-stub.wasm`,
    options: ['--config', 'test/fixtures/asconfig.json', '--target', 'fixture', '--runtime', 'stub'],
    inputs: ['test/fixtures/asconfig.json', 'assembly'],
  }).file;
}

function flagsOf(entry: string): string[] {
  const first = fs.readFileSync(path.join(ROOT, entry), 'utf8').split('\n', 1)[0];
  const m = /^\/\/ asc-flags:(.*)$/.exec(first);
  return m ? m[1].trim().split(/\s+/) : FIXTURE_FLAGS;
}

/** Builds (or reuses) the named test/fixtures/wasm/ modules; returns name → module bytes. */
export async function fixtureModules<N extends string>(...names: N[]): Promise<Record<N, Uint8Array>> {
  const bytes = names.map((name) => {
    const entry = `test/fixtures/wasm/${name}.ts`;
    const { file } = buildWasm(ROOT, {
      entry,
      outFile: `build/fixtures/wasm/${name}.wasm`,
      options: ['--config', 'test/fixtures/wasm/asconfig.json', ...flagsOf(entry)],
      inputs: ['test/fixtures/wasm', 'assembly'],
    });
    return new Uint8Array(fs.readFileSync(file));
  });
  return Object.fromEntries(names.map((n, i) => [n, bytes[i]])) as Record<N, Uint8Array>;
}

/** build/<bench module>.wasm, built like the bench builds it. */
export function benchWasm(name: BenchModuleName): string {
  return benchModule(ROOT, name).file;
}

/** Section ids of a wasm binary, in order (8 = start). */
export function sectionIds(bytes: Uint8Array): number[] {
  const ids: number[] = [];
  let off = 8;
  while (off < bytes.length) {
    const id = bytes[off++];
    let size = 0;
    let shift = 0;
    for (;;) {
      const b = bytes[off++];
      size |= (b & 0x7f) << shift;
      if ((b & 0x80) === 0) break;
      shift += 7;
    }
    ids.push(id);
    off += size >>> 0;
  }
  return ids;
}
