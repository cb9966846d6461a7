/**
 * harness/services/portlock.ts across processes: a holder killed without releasing is taken
 * over; a live holder that keeps its ports until stopped (the interactive demo) is reported at
 * once with its pid and user; a port taken outside the locks is named, not left to EADDRINUSE.
 * The ports are on 127.0.0.3, which no stack uses, so these tests never contend with the others.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { HOLDS_UNTIL_STOPPED_ENV, acquirePort } from '../../harness/services/portlock';

const PORTLOCK = path.resolve(__dirname, '..', '..', 'dist/harness/services/portlock.js');
const ADDRESS = '127.0.0.3';
const ME = os.userInfo().username;

/** A node process that takes the lock on ADDRESS:port and keeps it until killed. */
async function holdInChild(port: number, env: NodeJS.ProcessEnv = {}): Promise<ChildProcess> {
  const script = `require(${JSON.stringify(PORTLOCK)}).acquirePort(${port}, '${ADDRESS}').then(() => { console.log('held'); setInterval(() => {}, 1000); })`;
  const child = spawn(process.execPath, ['-e', script], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => d.toString().includes('held') && resolve());
    child.once('exit', (code) => reject(new Error(`holder exited ${code}`)));
  });
  return child;
}

async function killed(child: ChildProcess): Promise<void> {
  const gone = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await gone;
}

/** A free port number on ADDRESS (the OS picks it). */
async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, ADDRESS, r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

it('a lock whose holder was killed without releasing it is taken over', async () => {
  const port = await freePort();
  await killed(await holdInChild(port));
  const lock = await acquirePort(port, ADDRESS);
  lock.release();
});

it('a live holder that keeps its ports until stopped is reported at once, with pid, user and what it is', async () => {
  const port = await freePort();
  const holder = await holdInChild(port, { [HOLDS_UNTIL_STOPPED_ENV]: 'the demo (npm start)' });
  try {
    await expect(acquirePort(port, ADDRESS)).rejects.toThrow(new RegExp(`held by the demo \\(npm start\\), pid ${holder.pid} of user ${ME} \\(uid \\d+\\).*until it is stopped`));
  } finally {
    await killed(holder);
    (await acquirePort(port, ADDRESS)).release(); // takes over the killed holder's lock, and removes it
  }
});

it('a port taken by a process holding no lock is named (pid, user) instead of failing later with EADDRINUSE', async () => {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, ADDRESS, r));
  const port = (server.address() as net.AddressInfo).port;
  try {
    await expect(acquirePort(port, ADDRESS)).rejects.toThrow(new RegExp(`${ADDRESS}:${port} is in use by pid ${process.pid} \\(.*\\) of user ${ME} \\(uid \\d+\\), which holds no meshgate lock`));
    // The failed attempt left no lock behind: once the port is free, it is taken at once.
    await new Promise((r) => server.close(r));
    (await acquirePort(port, ADDRESS)).release();
  } finally {
    if (server.listening) server.close();
  }
});
