/**
 * A cross-process lock on a fixed loopback port (e.g. 443 for a fake api.stripe.com), so test
 * files running in parallel jest workers take turns instead of failing with EADDRINUSE.
 * The lock is a directory created atomically; a lock whose owner process is gone is taken over.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export interface PortLock {
  port: number;
  release(): void;
}

const WAIT_MS = 120_000;

export async function acquirePort(port: number): Promise<PortLock> {
  const dir = path.join(os.tmpdir(), `meshgate-port-${port}.lock`);
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    try {
      fs.mkdirSync(dir);
      fs.writeFileSync(path.join(dir, 'pid'), String(process.pid));
      return { port, release: () => fs.rmSync(dir, { recursive: true, force: true }) };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      if (ownerGone(dir)) {
        fs.rmSync(dir, { recursive: true, force: true });
        continue;
      }
      if (Date.now() > deadline) {
        const owner = readOwner(dir);
        const who = owner === process.pid ? 'this very process (a stack was not stopped?)' : `process ${owner ?? '?'}`;
        throw new Error(`port ${port} stayed locked by ${who} for ${WAIT_MS / 1000} s (${dir})`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

function readOwner(dir: string): number | undefined {
  try {
    return Number(fs.readFileSync(path.join(dir, 'pid'), 'utf8')) || undefined;
  } catch {
    return undefined;
  }
}

function ownerGone(dir: string): boolean {
  let pid: number;
  try {
    pid = Number(fs.readFileSync(path.join(dir, 'pid'), 'utf8'));
  } catch {
    // Being created right now, or abandoned before the pid was written: judge by age.
    try {
      return Date.now() - fs.statSync(dir).mtimeMs > 10_000;
    } catch {
      return true;
    }
  }
  try {
    process.kill(pid, 0);
    return false;
  } catch {
    return true;
  }
}
