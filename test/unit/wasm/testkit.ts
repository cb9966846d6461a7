/**
 * The testkit (harness/engine/testkit.ts) for the tests in this directory, (re)built when missing
 * or older than any file under assembly/, into a temporary file renamed into place, so parallel
 * jest workers never read a half-written module.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadTestkit as loadBuilt, TESTKIT_WASM as WASM, type Testkit } from '../../../harness/engine/testkit';

export type { Arg, Testkit, CompileOut, WasmMemory } from '../../../harness/engine/testkit';
export { parseDecision } from '../../../harness/engine/testkit';

const ROOT = path.resolve(__dirname, '../../..');

function newestMtime(dir: string): number {
  let t = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newestMtime(p) : fs.statSync(p).mtimeMs);
  }
  return t;
}

function ensureBuilt(): void {
  const stale = !fs.existsSync(WASM) || fs.statSync(WASM).mtimeMs < newestMtime(path.join(ROOT, 'assembly'));
  if (!stale) return;
  const tmp = path.join(ROOT, `build/testkit.${process.pid}.${Date.now()}.wasm`);
  fs.mkdirSync(path.dirname(WASM), { recursive: true });
  try {
    execFileSync(
      process.execPath,
      [path.join(ROOT, 'node_modules/assemblyscript/bin/asc.js'), 'assembly/testkit.ts', '--target', 'testkit', '--outFile', tmp],
      { cwd: ROOT, stdio: 'pipe' },
    );
  } catch (e) {
    const err = e as { stdout?: Buffer; stderr?: Buffer };
    throw new Error(`building build/testkit.wasm failed (npx asc assembly/testkit.ts --target testkit):\n${err.stdout ?? ''}${err.stderr ?? ''}`);
  }
  fs.renameSync(tmp, WASM);
  for (const f of fs.readdirSync(path.dirname(WASM))) {
    if (/^testkit\.\d+\.\d+\.(d\.ts|js)$/.test(f)) fs.rmSync(path.join(path.dirname(WASM), f), { force: true });
  }
}

export function loadTestkit(): Testkit {
  ensureBuilt();
  return loadBuilt(WASM);
}

/** A match field of the AssemblyScript field table (assembly/policy/fields.ts). */
export interface PolicyField {
  name: string;
  negation: string;
  roles: string[];
}

let shared: Testkit | undefined;

/** The positive match fields of the AssemblyScript field table, in table (evaluation) order. */
export function policyFields(): PolicyField[] {
  shared ??= loadTestkit();
  return shared.json<PolicyField[]>('tk_policy_fields');
}

/** Reads a JSON vector file from test/vectors/. */
export function vectors<T = any>(name: string): T {
  return JSON.parse(fs.readFileSync(path.join(ROOT, 'test/vectors', name), 'utf8')) as T;
}

