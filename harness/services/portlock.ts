/**
 * A cross-process lock on a fixed loopback port (e.g. 443 for a fake api.stripe.com), so test
 * files running in parallel jest workers take turns instead of failing with EADDRINUSE.
 * The lock is a directory created atomically; a lock whose owner process is gone is taken over.
 * A port on another loopback address (127.0.0.2:443, where the SNI stacks' Envoy listens) is a
 * lock of its own. Callers holding several take them in one global order — port ascending, then
 * address — so two processes never wait for each other's second lock.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export interface PortLock {
  port: number;
  address: string;
  release(): void;
}

const WAIT_MS = 120_000;

export async function acquirePort(port: number, address = '127.0.0.1'): Promise<PortLock> {
  // 127.0.0.1 keeps the lock name every checkout has always used.
  const dir = path.join(os.tmpdir(), address === '127.0.0.1' ? `meshgate-port-${port}.lock` : `meshgate-port-${address}-${port}.lock`);
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    try {
      fs.mkdirSync(dir);
      fs.writeFileSync(path.join(dir, 'pid'), String(process.pid));
      return { port, address, release: () => fs.rmSync(dir, { recursive: true, force: true }) };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      if (ownerGone(dir)) {
        fs.rmSync(dir, { recursive: true, force: true });
        continue;
      }
      if (Date.now() > deadline) {
        const owner = readOwner(dir);
        const who = owner === process.pid ? 'this very process (a stack was not stopped?)' : `process ${owner ?? '?'}`;
        throw new Error(`port ${address}:${port} stayed locked by ${who} for ${WAIT_MS / 1000} s (${dir})`);
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
