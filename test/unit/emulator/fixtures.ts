/**
 * Builds the AssemblyScript modules under test/fixtures/wasm/ for the emulator tests, with
 * node_modules/assemblyscript/bin/asc.js, into a directory under the OS temp dir. A module is
 * rebuilt when it is missing or older than any file under test/fixtures/wasm/ or assembly/ (the
 * probe imports the real binding). Builds run in parallel; each writes a temporary file renamed
 * into place, so parallel jest workers never read a half-written module.
 *
 * Flags: a fixture's first line may be `// asc-flags: <flags>`; otherwise FIXTURE_FLAGS apply
 * (stub runtime, `_initialize`, and test/fixtures/wasm/common.ts's abort handler so the module
 * does not import `env.abort`). `--config test/fixtures/wasm/asconfig.json` keeps the project's
 * asconfig.json (targets, converge, O3) out of fixture builds.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const ROOT = path.resolve(__dirname, '../../..');
export const FIXTURES = path.join(ROOT, 'test/fixtures/wasm');
export const MESHGATE_WASM = path.join(ROOT, 'build/meshgate.wasm');
const OUT = path.join(os.tmpdir(), `meshgate-wasm-fixtures-${process.getuid?.() ?? 0}`);
const FIXTURE_FLAGS = ['--runtime', 'stub', '--exportStart', '_initialize', '--use', 'abort=test/fixtures/wasm/common/fixture_abort'];

function newestMtime(dir: string): number {
  let t = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newestMtime(p) : fs.statSync(p).mtimeMs);
  }
  return t;
}

function flagsOf(source: string): string[] {
  const first = fs.readFileSync(source, 'utf8').split('\n', 1)[0];
  const m = /^\/\/ asc-flags:(.*)$/.exec(first);
  return m ? m[1].trim().split(/\s+/) : FIXTURE_FLAGS;
}

function build(name: string, newestInput: number): Promise<string> {
  const source = path.join(FIXTURES, `${name}.ts`);
  const out = path.join(OUT, `${name}.wasm`);
  if (fs.existsSync(out) && fs.statSync(out).mtimeMs >= newestInput) return Promise.resolve(out);
  const tmp = path.join(OUT, `${name}.${process.pid}.${Date.now()}.wasm`);
  const args = [
    path.join(ROOT, 'node_modules/assemblyscript/bin/asc.js'),
    path.relative(ROOT, source),
    '--config', path.relative(ROOT, path.join(FIXTURES, 'asconfig.json')),
    ...flagsOf(source),
    '--outFile', tmp,
  ];
  return new Promise((resolve, reject) => {
    execFile(process.execPath, args, { cwd: ROOT }, (err, stdout, stderr) => {
      if (err) {
        reject(new Error(`building fixture ${name} failed (node ${args.join(' ')}):\n${stdout}${stderr}`));
        return;
      }
      fs.renameSync(tmp, out);
      resolve(out);
    });
  });
}

/** Builds (or reuses) the named fixtures; returns name → module bytes. */
export async function fixtureModules<N extends string>(...names: N[]): Promise<Record<N, Uint8Array>> {
  fs.mkdirSync(OUT, { recursive: true });
  const newestInput = Math.max(newestMtime(FIXTURES), newestMtime(path.join(ROOT, 'assembly')));
  const files = await Promise.all(names.map((n) => build(n, newestInput)));
  return Object.fromEntries(names.map((n, i) => [n, new Uint8Array(fs.readFileSync(files[i]))])) as Record<N, Uint8Array>;
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
