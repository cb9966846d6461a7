/**
 * The Wasm modules the benchmark loads, and their builds.
 *
 * build/meshgate.wasm comes from `npm run build` (asc target `release`); it must exist. The bench
 * modules are built here when missing or older than any AssemblyScript source (so the bench also
 * works when `npm run build` does not list them): build/bench-null.wasm (target `null`),
 * build/bench-fetch.wasm (target `fetch`), build/bench-calls.wasm (target `calls`) and
 * build/bench-decide.wasm (assembly/bench/decide.ts
 * with the `release` target's options, written to its own file).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readModuleShape } from '../harness/emulator/module';
import { buildWasm, type WasmBuild } from '../harness/emulator/wasm-build';

export interface BenchModules {
  meshgate: string;
  null: string;
  fetch: string;
  decide: string;
  calls: string;
  /** Modules built by this run (for the report). */
  built: string[];
}

export type BenchModuleName = 'null' | 'fetch' | 'decide' | 'calls';

/** How each bench module is built (decide.ts with the `release` target's options, into its own file). */
const BENCH_BUILDS: Record<BenchModuleName, WasmBuild> = {
  null: { entry: 'assembly/bench/null.ts', outFile: 'build/bench-null.wasm', options: ['--target', 'null'] },
  fetch: { entry: 'assembly/bench/fetch.ts', outFile: 'build/bench-fetch.wasm', options: ['--target', 'fetch'] },
  decide: { entry: 'assembly/bench/decide.ts', outFile: 'build/bench-decide.wasm', options: ['--target', 'release'] },
  calls: { entry: 'assembly/bench/calls.ts', outFile: 'build/bench-calls.wasm', options: ['--target', 'calls'] },
};

/** One bench module, built when missing or older than anything under assembly/ (the binding, the filters). */
export function benchModule(root: string, name: BenchModuleName): { file: string; built: boolean } {
  return buildWasm(root, { ...BENCH_BUILDS[name], inputs: ['assembly'] });
}

export function ensureBenchModules(root: string, log: (s: string) => void = () => undefined): BenchModules {
  const meshgate = path.join(root, 'build', 'meshgate.wasm');
  if (!fs.existsSync(meshgate)) throw new Error(`${meshgate} is missing: run \`npm run build\` first (npm run bench does)`);
  const mods: BenchModules = { meshgate, null: '', fetch: '', decide: '', calls: '', built: [] };
  for (const name of Object.keys(BENCH_BUILDS) as BenchModuleName[]) {
    const { file, built } = benchModule(root, name);
    mods[name] = file;
    if (!built) continue;
    log(`built ${BENCH_BUILDS[name].outFile}`);
    mods.built.push(BENCH_BUILDS[name].outFile);
  }
  return mods;
}

/** Exported per-request callbacks (proxy_on_* but the configure-time ones and on_tick). */
export function perRequestCallbacks(file: string): string[] {
  const shape = readModuleShape(fs.readFileSync(file));
  const notPerRequest = new Set(['proxy_on_vm_start', 'proxy_on_configure', 'proxy_on_tick', 'proxy_on_memory_allocate', 'proxy_on_foreign_function', 'proxy_on_queue_ready']);
  return shape.exports.filter((e) => e.kind === 'function' && e.name.startsWith('proxy_on_') && !notPerRequest.has(e.name)).map((e) => e.name).sort();
}
