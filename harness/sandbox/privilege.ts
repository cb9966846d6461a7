/**
 * Can this process bind the fixed low ports the egress stacks and the demo use (80, 443)?
 * Linux allows it with CAP_NET_BIND_SERVICE in the user namespace that owns the network
 * namespace (root on the host; the mapped root inside a sandbox), or to everyone when
 * `net.ipv4.ip_unprivileged_port_start` is at or below the lowest such port.
 */
import * as fs from 'node:fs';

/** The lowest fixed port a stack binds (plain-HTTP fake services on :80). */
export const LOWEST_FIXED_PORT = 80;

const CAP_NET_BIND_SERVICE = 10n;

export function canBindLowPorts(): boolean {
  if (process.platform !== 'linux') return true; // no namespaces to offer: keep the old behaviour
  const status = readOr('/proc/self/status', '');
  const capEff = /^CapEff:\s*([0-9a-f]+)$/m.exec(status)?.[1];
  if (capEff !== undefined && (BigInt(`0x${capEff}`) >> CAP_NET_BIND_SERVICE) & 1n) return true;
  const start = Number(readOr('/proc/sys/net/ipv4/ip_unprivileged_port_start', '1024'));
  return start <= LOWEST_FIXED_PORT;
}

function readOr(file: string, fallback: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return fallback;
  }
}

/** Root of the initial user namespace (which maps every uid to itself), not a sandbox's root. */
export function isRealRoot(): boolean {
  return process.getuid?.() === 0 && /^\s*0\s+0\s+4294967295\s*$/.test(readOr('/proc/self/uid_map', '0 0 4294967295'));
}
