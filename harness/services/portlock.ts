/**
 * A cross-process lock on a fixed loopback port (e.g. 443 for a fake api.stripe.com), so test
 * files running in parallel jest workers take turns instead of failing with EADDRINUSE.
 * The lock is a directory in the temp dir, created atomically. A port on another loopback address
 * (127.0.0.2:443, where the SNI stacks' Envoy listens) is a lock of its own. Callers holding
 * several take them in one global order — port ascending, then address — so two processes never
 * wait for each other's second lock.
 *
 * Scope. A port belongs to a network namespace, so its lock does too, and to the user: the name
 * carries both (`meshgate-port-u1000-net4026532301-127.0.0.1-443.lock`). Another user's lock, or
 * one root left behind, never blocks this user; an unprivileged run, which has a namespace of its
 * own (harness/sandbox), never waits for anything outside it. Real root (not in a user namespace) keeps
 * the names every checkout has always used (`meshgate-port-443.lock`): root runs take turns as before.
 *
 * Holder. The directory holds `pid` (as it always did) and `holder.json`: pid, uid, user, the
 * process start time and command. A lock whose process is gone, or whose pid now names another
 * process (other start time), is taken over. A holder that keeps its ports until stopped (the
 * interactive demo sets MESHGATE_HOLDS_PORTS_UNTIL_STOPPED) is reported at once instead of
 * waited for. Once locked, the port is bound once to check it is free: if something else listens
 * there, the error names it (pid, user, command) rather than failing later with EADDRINUSE.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { isRealRoot } from '../sandbox/privilege';
import { commandOf, describeHolder, findPortHolder, userName } from '../sandbox/port-holder';

export interface PortLock {
  port: number;
  address: string;
  release(): void;
}

/** Set (to a description such as "the demo (npm start)") by processes that hold ports until stopped. */
export const HOLDS_UNTIL_STOPPED_ENV = 'MESHGATE_HOLDS_PORTS_UNTIL_STOPPED';

interface Holder {
  pid: number;
  uid: number;
  user: string;
  /** Start time in clock ticks since boot (/proc/<pid>/stat field 22): tells pid reuse apart. */
  start?: string;
  command?: string;
  untilStopped?: string;
}

const WAIT_MS = 120_000;

export async function acquirePort(port: number, address = '127.0.0.1'): Promise<PortLock> {
  const dir = lockDir(port, address);
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    try {
      fs.mkdirSync(dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const holder = readHolder(dir);
      if (holderGone(dir, holder)) {
        reclaim(dir, holder);
        continue;
      }
      if (holder?.untilStopped) throw new Error(`port ${address}:${port} is held by ${holder.untilStopped}, ${who(holder)}, until it is stopped (${dir}); stop it, or run as a user without the right to bind port ${port}: such runs get a network namespace of their own`);
      if (Date.now() > deadline) {
        const by = holder?.pid === process.pid ? 'this very process (a stack was not stopped?)' : holder ? who(holder) : 'a process that wrote no holder record';
        throw new Error(`port ${address}:${port} stayed locked by ${by} for ${WAIT_MS / 1000} s (${dir})`);
      }
      await new Promise((r) => setTimeout(r, 100));
      continue;
    }
    const release = () => fs.rmSync(dir, { recursive: true, force: true });
    try {
      writeHolder(dir);
      await checkFree(port, address);
    } catch (e) {
      release();
      throw e;
    }
    return { port, address, release };
  }
}

function lockDir(port: number, address: string): string {
  const netns = /\[(\d+)\]/.exec(readlink('/proc/self/ns/net') ?? '')?.[1];
  const uid = process.getuid?.() ?? 0;
  // Real root (the initial user namespace maps every uid to itself) keeps the old names; a
  // sandbox's root is a user namespace's, and its network namespace is its own.
  const realRoot = isRealRoot();
  const scope = realRoot ? '' : `u${uid}-net${netns ?? '0'}-`;
  // 127.0.0.1 keeps the lock name every checkout has always used.
  const where = realRoot && address === '127.0.0.1' ? '' : `${address}-`;
  return path.join(os.tmpdir(), `meshgate-port-${scope}${where}${port}.lock`);
}

function writeHolder(dir: string): void {
  const uid = process.getuid?.() ?? 0;
  const holder: Holder = { pid: process.pid, uid, user: os.userInfo().username, start: startTime(process.pid), command: commandOf(process.pid), untilStopped: process.env[HOLDS_UNTIL_STOPPED_ENV] || undefined };
  fs.writeFileSync(path.join(dir, 'pid'), String(process.pid));
  fs.writeFileSync(path.join(dir, 'holder.json'), JSON.stringify(holder));
}

/** The holder record; a lock from an older checkout has only `pid`. */
function readHolder(dir: string): Holder | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, 'holder.json'), 'utf8')) as Holder;
  } catch {
    // older checkout, or being written right now
  }
  try {
    const pid = Number(fs.readFileSync(path.join(dir, 'pid'), 'utf8'));
    if (!pid) return undefined;
    const uid = fs.statSync(dir).uid;
    return { pid, uid, user: userName(uid) };
  } catch {
    return undefined;
  }
}

function holderGone(dir: string, holder: Holder | undefined): boolean {
  if (!holder) {
    // Being created right now, or abandoned before the pid was written: judge by age.
    try {
      return Date.now() - fs.statSync(dir).mtimeMs > 10_000;
    } catch {
      return true;
    }
  }
  try {
    process.kill(holder.pid, 0);
  } catch (e) {
    // EPERM: alive, only another user's.
    if ((e as NodeJS.ErrnoException).code === 'ESRCH') return true;
  }
  return holder.start !== undefined && startTime(holder.pid) !== holder.start;
}

function reclaim(dir: string, holder: Holder | undefined): void {
  try {
    fs.rmSync(dir, { recursive: true, force: true });
  } catch (e) {
    throw new Error(`port lock ${dir} was left by ${holder ? who(holder) : 'a process'}, which is gone, and this user may not remove it (${(e as Error).message}); remove it as that user`);
  }
}

/** Binds the port once: a clear error now instead of EADDRINUSE or EACCES in the middle of a stack. */
async function checkFree(port: number, address: string): Promise<void> {
  const server = net.createServer();
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ port, host: address, exclusive: true }, resolve);
    });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') {
      const h = findPortHolder(address, port);
      throw new Error(`port ${address}:${port} is in use by ${h ? describeHolder(h) : 'a process this user cannot see'}, which holds no meshgate lock; stop it, or run as a user without the right to bind port ${port}: such runs get a network namespace of their own`);
    }
    if (code === 'EACCES') throw new Error(`this user may not bind ${address}:${port} (EACCES); outside a private network namespace (harness/sandbox: the demo and the e2e tests enter one themselves when they can) only root may bind ports below 1024`);
    throw e;
  } finally {
    await new Promise<void>((r) => (server.listening ? server.close(() => r()) : r()));
  }
}

function who(h: Holder): string {
  return `pid ${h.pid} of user ${h.user} (uid ${h.uid})${h.command ? `: ${h.command}` : ''}`;
}

function startTime(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces): state is field 3, start time field 22.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

function readlink(p: string): string | undefined {
  try {
    return fs.readlinkSync(p);
  } catch {
    return undefined;
  }
}

