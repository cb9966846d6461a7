/**
 * func-e, the launcher users run the reference configs with (`func-e run -c envoy/<role>.yaml`).
 * The e2e tests launch Envoy through it, so the harness finds it, and when it is nowhere, builds
 * the pinned version into `<repo>/.cache/bin` with `go install` from the Go module proxy — the
 * way locate.ts installs the Envoy wheel from PyPI: once, under a lock shared by jest workers.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { EnvoyHarnessError } from './errors';
import { INSTALL_DEADLINE_MS, withInstallLock } from './install-lock';
import { cacheDir, isExecutable, whichSync } from './paths';

const execFileP = promisify(execFile);

/** The func-e release the harness installs (func-e's offline environment in process.ts is written for v1.6). */
export const FUNC_E_VERSION = 'v1.6.0';
export const FUNC_E_PACKAGE = 'github.com/tetratelabs/func-e/cmd/func-e';

/** Where the harness installs func-e: `<repo>/.cache/bin/func-e`. */
export function cachedFuncEPath(): string {
  return path.join(cacheDir(), 'bin', 'func-e');
}

/** The command that installs func-e by hand, from the repository root. */
export const HOW_TO_GET_FUNC_E = `GOBIN="$PWD/.cache/bin" go install ${FUNC_E_PACKAGE}@${FUNC_E_VERSION}`;

/** The func-e executable: `FUNC_E`, else `<repo>/.cache/bin/func-e`, else `func-e` on PATH. */
export function locateFuncE(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.FUNC_E && isExecutable(env.FUNC_E)) return path.resolve(env.FUNC_E);
  const cached = cachedFuncEPath();
  if (isExecutable(cached)) return cached;
  return whichSync('func-e', env.PATH ?? '');
}

export interface EnsureFuncEOptions {
  env?: NodeJS.ProcessEnv;
  /** Where to install (default `<repo>/.cache/bin`). */
  binDir?: string;
}

/**
 * The func-e to launch Envoy with: `locateFuncE()`'s, else the pinned version installed now with
 * `go install` (GOBIN = `binDir`). Throws FUNC_E_NOT_FOUND when `go` is missing and
 * FUNC_E_INSTALL_FAILED when the install fails; both messages name the command to run by hand.
 */
export async function ensureFuncE(options: EnsureFuncEOptions = {}): Promise<string> {
  const env = options.env ?? process.env;
  if (options.binDir === undefined) {
    const found = locateFuncE(env);
    if (found) return found;
  }
  const binDir = options.binDir ?? path.dirname(cachedFuncEPath());
  const target = path.join(binDir, 'func-e');
  return withInstallLock(target, 'FUNC_E_INSTALL_FAILED', async () => {
    if (isExecutable(target)) return target; // another worker installed it while we waited
    const go = whichSync('go', env.PATH ?? '');
    if (!go) {
      throw new EnvoyHarnessError('FUNC_E_NOT_FOUND', `func-e not found (FUNC_E, .cache/bin/func-e, PATH) and no \`go\` on PATH to install it. Install Go, or run: ${HOW_TO_GET_FUNC_E}`);
    }
    fs.mkdirSync(binDir, { recursive: true });
    const args = ['install', `${FUNC_E_PACKAGE}@${FUNC_E_VERSION}`];
    try {
      await execFileP(go, args, { env: { ...env, GOBIN: path.resolve(binDir) }, timeout: INSTALL_DEADLINE_MS, maxBuffer: 16 << 20 });
    } catch (e) {
      const err = e as Error & { stderr?: string };
      const why = (err.stderr || err.message).trim().split('\n').slice(-5).join('\n');
      throw new EnvoyHarnessError('FUNC_E_INSTALL_FAILED', `\`GOBIN=${binDir} go ${args.join(' ')}\` failed: ${why}\nRun by hand: ${HOW_TO_GET_FUNC_E}`);
    }
    if (!isExecutable(target)) throw new EnvoyHarnessError('FUNC_E_INSTALL_FAILED', `\`go ${args.join(' ')}\` succeeded but wrote no ${target}`);
    return target;
  });
}
