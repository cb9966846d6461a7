/**
 * `npm run build:native`: build/meshgate.wasm → wasm2c → build/native/meshgate.{c,h} → with the
 * shim (native/*.c) and wasm2c's runtime → build/libmeshgate.so, an Envoy dynamic module; and
 * native/null.c → build/libmeshgate_null.so (the bench's `native-null` floor).
 *
 * The shim declares the dynamic-module ABI of exactly one Envoy release (native/abi.h), so the
 * build checks the Envoy the harness would run (harness/envoy/locate.ts, never installing it): a
 * different minor version is an error. Not part of `npm run build`: the Wasm build needs no C
 * compiler, and only the native target and bench variants need the library.
 *
 * The runtime is compiled with explicit bounds checks (no guard pages, no signal handlers inside
 * Envoy's process) and a call-depth limit: an out-of-bounds access or runaway recursion traps,
 * and the shim fails the stream.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { locateEnvoy } from '../envoy/locate';
import { repoRoot, whichSync } from '../envoy/paths';
import { NativeBuildError } from './errors';
import { nativeLibraryPath } from './config';
import { locateWabt, type Wabt } from './wabt';

const execFileP = promisify(execFile);

/** The Envoy minor version native/abi.h declares. */
export const NATIVE_ENVOY_MINOR = '1.40';

export function nullLibraryPath(): string {
  return path.join(repoRoot(), 'build', 'libmeshgate_null.so');
}

const RUNTIME_SOURCES = ['wasm-rt-impl.c', 'wasm-rt-mem-impl.c', 'wasm-rt-exceptions-impl.c'];
const SHIM_SOURCES = ['hooks.c', 'network.c', 'config.c', 'body.c', 'imports.c', 'instance.c'];
// initial-exec: the runtime's thread-locals (call depth on every call, the trap target) are read
// without a __tls_get_addr call each time; the library is small enough for glibc's static TLS surplus.
const CFLAGS = ['-O2', '-fPIC', '-ftls-model=initial-exec', '-shared', '-fvisibility=hidden', '-DWASM_RT_USE_MMAP=0', '-DWASM_RT_MEMCHECK_BOUNDS_CHECK=1', '-DWASM_RT_STACK_DEPTH_COUNT=1'];

async function run(file: string, args: string[]): Promise<void> {
  try {
    await execFileP(file, args, { maxBuffer: 64 << 20, timeout: 10 * 60_000 });
  } catch (e) {
    const err = e as Error & { stderr?: string };
    throw new NativeBuildError('NATIVE_BUILD_FAILED', `\`${path.basename(file)} ${args.join(' ')}\` failed: ${(err.stderr ?? err.message).trim().split('\n').slice(-20).join('\n')}`);
  }
}

function compiler(env: NodeJS.ProcessEnv): string {
  const cc = env.CC ?? whichSync('cc', env.PATH) ?? whichSync('gcc', env.PATH);
  if (!cc) throw new NativeBuildError('CC_NOT_FOUND', 'no C compiler: set CC, or install gcc (Debian: apt-get install gcc)');
  return cc;
}

/** Fails when the Envoy the harness finds is not the release the shim's ABI declarations are for. */
async function checkEnvoyVersion(): Promise<string> {
  let version: string;
  try {
    version = (await locateEnvoy({ install: false })).version;
  } catch {
    return `no Envoy found to check; the library targets Envoy ${NATIVE_ENVOY_MINOR}.x`;
  }
  if (!version.startsWith(`${NATIVE_ENVOY_MINOR}.`)) {
    throw new NativeBuildError('NATIVE_BUILD_FAILED', `Envoy ${version} found, but native/abi.h declares the dynamic-module ABI of Envoy ${NATIVE_ENVOY_MINOR}.x`);
  }
  return `for Envoy ${version}`;
}

/**
 * A shared library may leave symbols undefined (Envoy's callbacks are bound at dlopen), so a
 * module import the shim does not serve would only fail when Envoy loads the library. The
 * module's imports are `w2c_env_*` functions: none may be undefined.
 */
async function checkImportsServed(library: string): Promise<void> {
  let undefinedSymbols: string;
  try {
    undefinedSymbols = (await execFileP('nm', ['-u', '-D', library])).stdout;
  } catch (e) {
    throw new NativeBuildError('NATIVE_BUILD_FAILED', `\`nm -u -D ${library}\` failed (binutils): ${(e as Error).message}`);
  }
  const missing = undefinedSymbols.split('\n').map((l) => l.trim().split(/\s+/).pop() ?? '').filter((s) => s.startsWith('w2c_env_'));
  if (missing.length > 0) {
    fs.rmSync(library, { force: true });
    throw new NativeBuildError('NATIVE_BUILD_FAILED', `the module imports what native/imports.c does not serve: ${missing.join(', ')}`);
  }
}

export interface NativeBuild {
  library: string;
  nullLibrary: string;
  note: string;
}

/** Translates `wasm` with wasm2c and links it with the shim into `library` (the module must export
 *  every callback the shim calls and import only what native/imports.c serves). */
async function linkLibrary(wasm: string, library: string, dir: string, tools: Wabt, cc: string): Promise<void> {
  fs.mkdirSync(dir, { recursive: true });
  await run(tools.wasm2c, [wasm, '-o', path.join(dir, 'meshgate.c'), '-n', 'meshgate']);
  const include = ['-I', path.join(repoRoot(), 'native'), '-I', dir, '-I', tools.runtime];
  await run(cc, [
    ...CFLAGS, ...include,
    ...SHIM_SOURCES.map((f) => path.join(repoRoot(), 'native', f)),
    path.join(dir, 'meshgate.c'),
    ...RUNTIME_SOURCES.map((f) => path.join(tools.runtime, f)),
    '-o', library, '-lpthread', '-lm',
  ]);
  await checkImportsServed(library);
}

/** Builds both libraries from the current build/meshgate.wasm. */
export async function buildNative(env: NodeJS.ProcessEnv = process.env, wabt?: Wabt): Promise<NativeBuild> {
  const root = repoRoot();
  const wasm = path.join(root, 'build', 'meshgate.wasm');
  if (!fs.existsSync(wasm)) throw new NativeBuildError('NATIVE_BUILD_FAILED', `${wasm} is missing: run npm run build:wasm first`);
  const note = await checkEnvoyVersion();
  const tools = wabt ?? (await locateWabt({ env }));
  const cc = compiler(env);
  const library = nativeLibraryPath();
  await linkLibrary(wasm, library, path.join(root, 'build', 'native'), tools, cc);
  const nullLibrary = nullLibraryPath();
  await run(cc, [...CFLAGS, '-I', path.join(root, 'native'), path.join(root, 'native', 'null.c'), '-o', nullLibrary]);
  return { library, nullLibrary, note };
}

/** Another module through the same shim (test fixtures: build/fixture-trap.wasm); the translated C
 *  goes beside `library`, so the checkout is not written to. */
export async function buildNativeFixture(wasm: string, library: string, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  if (!fs.existsSync(wasm)) throw new NativeBuildError('NATIVE_BUILD_FAILED', `${wasm} is missing`);
  await linkLibrary(wasm, library, path.join(path.dirname(library), 'c'), await locateWabt({ env }), compiler(env));
}

if (require.main === module) {
  buildNative().then(
    (b) => console.log(`native: ${path.relative(repoRoot(), b.library)} and ${path.relative(repoRoot(), b.nullLibrary)} (${b.note})`),
    (e: Error) => {
      console.error(e.message);
      process.exit(1);
    },
  );
}
