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
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readModuleShape } from '../harness/emulator/module';

export interface BenchModules {
  meshgate: string;
  null: string;
  fetch: string;
  decide: string;
  calls: string;
  /** Modules built by this run (for the report). */
  built: string[];
}

function newestSourceMtime(dir: string): number {
  let newest = 0;
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ts')) newest = Math.max(newest, fs.statSync(p).mtimeMs);
    }
  };
  walk(dir);
  return newest;
}

function mtime(file: string): number {
  try {
    return fs.statSync(file).mtimeMs;
  } catch {
    return 0;
  }
}

export function ensureBenchModules(root: string, log: (s: string) => void = () => undefined): BenchModules {
  const build = (p: string) => path.join(root, 'build', p);
  const mods: BenchModules = {
    meshgate: build('meshgate.wasm'),
    null: build('bench-null.wasm'),
    fetch: build('bench-fetch.wasm'),
    decide: build('bench-decide.wasm'),
    calls: build('bench-calls.wasm'),
    built: [],
  };
  if (!fs.existsSync(mods.meshgate)) throw new Error(`${mods.meshgate} is missing: run \`npm run build\` first (npm run bench does)`);
  const sources = newestSourceMtime(path.join(root, 'assembly'));
  const asc = path.join(root, 'node_modules', 'assemblyscript', 'bin', 'asc.js');
  const jobs: Array<{ out: string; args: string[] }> = [
    { out: mods.null, args: ['assembly/bench/null.ts', '--target', 'null'] },
    { out: mods.fetch, args: ['assembly/bench/fetch.ts', '--target', 'fetch'] },
    { out: mods.decide, args: ['assembly/bench/decide.ts', '--target', 'release', '--outFile', 'build/bench-decide.wasm'] },
    { out: mods.calls, args: ['assembly/bench/calls.ts', '--target', 'calls'] },
  ];
  for (const j of jobs) {
    if (mtime(j.out) >= sources) continue;
    log(`building ${path.relative(root, j.out)}`);
    try {
      execFileSync(process.execPath, [asc, ...j.args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], timeout: 180_000 });
    } catch (e) {
      const err = e as { stderr?: Buffer; stdout?: Buffer; message: string };
      throw new Error(`asc ${j.args.join(' ')} failed:\n${err.stderr?.toString() ?? ''}${err.stdout?.toString() ?? err.message}`);
    }
    mods.built.push(path.relative(root, j.out));
  }
  return mods;
}

/** Exported per-request callbacks (proxy_on_* but the configure-time ones and on_tick). */
export function perRequestCallbacks(file: string): string[] {
  const shape = readModuleShape(fs.readFileSync(file));
  const notPerRequest = new Set(['proxy_on_vm_start', 'proxy_on_configure', 'proxy_on_tick', 'proxy_on_memory_allocate', 'proxy_on_foreign_function', 'proxy_on_queue_ready']);
  return shape.exports.filter((e) => e.kind === 'function' && e.name.startsWith('proxy_on_') && !notPerRequest.has(e.name)).map((e) => e.name).sort();
}
