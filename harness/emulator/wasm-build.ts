/**
 * The one builder of the AssemblyScript modules the emulator's callers load besides
 * build/meshgate.wasm: test fixtures (test/fixtures/) and bench modules (assembly/bench/). It runs
 * node_modules/assemblyscript/bin/asc.js, only when the module is missing or older than one of its
 * inputs, into a temporary file renamed into place, so parallel jest workers never read half a
 * module.
 *
 *     const { file } = buildWasm(root, { entry: 'assembly/bench/null.ts', outFile: 'build/bench-null.wasm', options: ['--target', 'null'] });
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface WasmBuild {
  /** The AssemblyScript entry file, relative to the repository root. */
  entry: string;
  /** Where the module goes, relative to the repository root. */
  outFile: string;
  /** asc options after the entry (target, config, runtime, ...); `--outFile` is added. */
  options: string[];
  /** Files and directories (relative to the root) whose changes make the module stale. The
   *  entry and asconfig.json always count. */
  inputs?: string[];
}

/** The newest modification time under `p` (a file, or a directory and everything in it). */
function newestMtime(p: string): number {
  const st = fs.statSync(p);
  if (!st.isDirectory()) return st.mtimeMs;
  return fs.readdirSync(p).reduce((t, e) => Math.max(t, newestMtime(path.join(p, e))), st.mtimeMs);
}

/** Builds `b` unless it is up to date. `file` is absolute; `built` says whether asc ran. */
export function buildWasm(root: string, b: WasmBuild): { file: string; built: boolean } {
  const file = path.join(root, b.outFile);
  const inputs = [b.entry, 'asconfig.json', ...(b.inputs ?? [])].map((p) => path.join(root, p));
  if (fs.existsSync(file) && fs.statSync(file).mtimeMs >= Math.max(...inputs.map(newestMtime))) return { file, built: false };
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${b.outFile}.${process.pid}.${Date.now()}.tmp`;
  const args = [b.entry, ...b.options, '--outFile', tmp];
  try {
    execFileSync(process.execPath, [path.join(root, 'node_modules/assemblyscript/bin/asc.js'), ...args], { cwd: root, stdio: 'pipe', timeout: 180_000 });
  } catch (e) {
    fs.rmSync(path.join(root, tmp), { force: true });
    const err = e as { stdout?: Buffer; stderr?: Buffer; message: string };
    throw new Error(`building ${b.outFile} failed (asc ${args.join(' ')}):\n${err.stdout ?? ''}${err.stderr ?? err.message}`);
  }
  fs.renameSync(path.join(root, tmp), file);
  return { file, built: true };
}
