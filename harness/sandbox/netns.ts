/**
 * A private user + network namespace for an unprivileged run (`unshare --user --map-root-user
 * --net`): inside, the process is root of its own network stack, so it may bind 443 and every
 * 127.x address, and no other process on the machine (a running demo, another user's tests)
 * shares those ports. Loopback starts down in a new namespace; `ip link set lo up` raises it
 * before the command runs. Files keep the real user's ownership; the pid space is shared.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';

/** Set in the environment of everything that runs inside the sandbox; the value is the network
 *  namespace it was entered from (the host's, as networkNamespace() read it outside). */
export const SANDBOX_ENV = 'MESHGATE_SANDBOX_FROM';

const RAISE_LOOPBACK = 'ip link set lo up && exec "$@"';

/** The argv that runs `command` inside a fresh sandbox. */
export function sandboxArgv(command: string[]): string[] {
  return ['unshare', '--user', '--map-root-user', '--net', '--', 'sh', '-c', RAISE_LOOPBACK, 'meshgate-netns', ...command];
}

export function insideSandbox(env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(env[SANDBOX_ENV]);
}

/** Why a sandbox cannot be made here, or undefined when it can (tried once with `true`). */
export function sandboxUnavailable(): string | undefined {
  const r = spawnSync(sandboxArgv(['true'])[0], sandboxArgv(['true']).slice(1), { encoding: 'utf8' });
  if (r.error) return `${r.error.message} (unshare from util-linux and ip from iproute2 are needed)`;
  if (r.status !== 0) return (r.stderr.trim().split('\n').at(-1) ?? '') || `unshare exited ${r.status}`;
  return undefined;
}

/** This process's network namespace, e.g. `net:[4026531840]` ('' where there is none to read). */
export function networkNamespace(): string {
  try {
    return fs.readlinkSync('/proc/self/ns/net');
  } catch {
    return '';
  }
}

/**
 * The uid this process has on the host: inside a sandbox `getuid()` is 0, and per-uid paths
 * derived from it (jest's cache, /tmp/jest_0) would be real root's, which this user may not write.
 */
export function hostUid(): number {
  try {
    const [inside, outside] = fs.readFileSync('/proc/self/uid_map', 'utf8').trim().split(/\s+/).map(Number);
    return outside + ((process.getuid?.() ?? 0) - inside);
  } catch {
    return process.getuid?.() ?? 0;
  }
}
