/**
 * Who listens on a TCP port, from /proc: `/proc/net/tcp` gives the socket's owner uid and inode
 * for this network namespace; the pid is found by the `socket:[inode]` link among the processes
 * this user may inspect (all of them for root, one's own otherwise). For error messages only.
 */
import * as fs from 'node:fs';

export interface PortHolder {
  uid: number;
  user: string;
  /** Undefined when the process belongs to a user this one may not inspect. */
  pid?: number;
  command?: string;
}

export function findPortHolder(address: string, port: number): PortHolder | undefined {
  const want = `${ipv4Hex(address)}:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  let table: string;
  try {
    table = fs.readFileSync('/proc/net/tcp', 'utf8');
  } catch {
    return undefined;
  }
  for (const line of table.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    // sl local rem st tx:rx tr:when retrnsmt uid timeout inode
    const listening = f[3] === '0A' && (f[1] === want || f[1] === `00000000:${want.split(':')[1]}`);
    if (!listening) continue;
    const uid = Number(f[7]);
    const pid = pidOfSocket(f[9]);
    return { uid, user: userName(uid), pid, command: pid === undefined ? undefined : commandOf(pid) };
  }
  return undefined;
}

export function describeHolder(h: PortHolder): string {
  const who = h.pid === undefined ? 'a process' : `pid ${h.pid}${h.command ? ` (${h.command})` : ''}`;
  return `${who} of user ${h.user} (uid ${h.uid})`;
}

/** /proc/net/tcp writes IPv4 addresses as the 32-bit value in host (little-endian) byte order. */
function ipv4Hex(address: string): string {
  return address.split('.').reverse().map((b) => Number(b).toString(16).toUpperCase().padStart(2, '0')).join('');
}

function pidOfSocket(inode: string): number | undefined {
  const target = `socket:[${inode}]`;
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let fds: string[];
    try {
      fds = fs.readdirSync(`/proc/${entry}/fd`);
    } catch {
      continue; // another user's process, or gone
    }
    for (const fd of fds) {
      try {
        if (fs.readlinkSync(`/proc/${entry}/fd/${fd}`) === target) return Number(entry);
      } catch {
        // closed meanwhile
      }
    }
  }
  return undefined;
}

export function commandOf(pid: number): string | undefined {
  try {
    const argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    return argv.length ? argv.join(' ').slice(0, 120) : undefined;
  } catch {
    return undefined;
  }
}

export function userName(uid: number): string {
  try {
    for (const line of fs.readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const [name, , id] = line.split(':');
      if (Number(id) === uid && id !== '') return name;
    }
  } catch {
    // no passwd to read
  }
  return String(uid);
}
