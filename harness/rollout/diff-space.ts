/**
 * The request space of `meshgate diff`, cut by the rules' own boundaries: per dimension (caller
 * identity, method, path; egress: host, port, CONNECT), one representative value on each side of
 * every boundary an entry of either policy draws — a literal and its neighbours, inside and just
 * outside a prefix, a template's segments filled, a wildcard's children and apex, a CIDR's first
 * address and the one past its end — plus an "other" value that no rule names. The values only
 * propose requests: which class each falls in, and what it is decided, is the module's answer
 * (diff.ts), never computed here.
 */
import type { CompileResult } from '../policy/compile';
import type { NormalizedPolicy, NormalizedRule } from '../policy/model';
import type { Role } from './explain';

/** A placeholder segment or label that no policy is expected to name. */
export const OTHER = 'x-diff';

export interface Space {
  /** Direct peers' SPIFFE IDs; null = no client certificate. */
  identities: Array<string | null>;
  methods: string[];
  paths: string[];
  hosts: string[];
  ports: number[];
  connect: boolean[];
}

function rulesOf(p: NormalizedPolicy, role: Role): NormalizedRule[] {
  return p[role]?.rules ?? [];
}

function entries(policies: NormalizedPolicy[], role: Role, field: string, negation: string): string[] {
  const out: string[] = [];
  for (const p of policies) {
    for (const r of rulesOf(p, role)) {
      const rec = r as unknown as Record<string, unknown[] | undefined>;
      for (const e of [...(rec[field] ?? []), ...(rec[negation] ?? [])]) out.push(String(e));
    }
  }
  return out;
}

function identities(policies: NormalizedPolicy[], role: Role): Array<string | null> {
  const out = new Set<string | null>([null]);
  for (const p of policies) {
    out.add(`spiffe://${p.trustDomain}/${OTHER}`);
    for (const td of p.federatesWith) out.add(`spiffe://${td}/${OTHER}`);
    for (const id of p.identity.trustedProxies) out.add(id);
    if (p.identity.id !== undefined) out.add(p.identity.id);
  }
  out.add(`spiffe://foreign-${OTHER}.example/${OTHER}`);
  for (const e of entries(policies, role, 'from', 'notFrom')) {
    if (e === '*') continue;
    if (e.endsWith('/*')) {
      const base = e.slice(0, -2);
      out.add(base); // the prefix's own ID: not under it
      out.add(`${base}/${OTHER}`);
      out.add(`${base}/${OTHER}/${OTHER}`);
      out.add(`${base}${OTHER}`); // a sibling sharing the bytes, not the segment
    } else out.add(e);
  }
  return [...out];
}

function methods(policies: NormalizedPolicy[]): string[] {
  const named = new Set(entries(policies, 'inbound', 'methods', 'notMethods'));
  let other = 'OTHER';
  while (named.has(other)) other += 'X';
  return [...new Set(['GET', ...named, other])];
}

/** Paths on both sides of each `paths` entry's boundaries. */
function paths(policies: NormalizedPolicy[]): string[] {
  const out = new Set<string>(['/', `/${OTHER}`, `/${OTHER}/..`]);
  for (const e of entries(policies, 'inbound', 'paths', 'notPaths')) {
    if (e === '*' || e === '/*') continue;
    if (e.startsWith('*')) {
      // suffix `*.json`
      const suffix = e.slice(1);
      out.add(`/${OTHER}${suffix}`).add(`/${OTHER}${suffix.toUpperCase()}`).add(`/${OTHER}${suffix}x`).add(`/${OTHER}${suffix}/${OTHER}`);
      continue;
    }
    const filled = (many: string) => e.replace(/\/\{\*\*\}$/, many).replace(/\{\*\}/g, OTHER).replace(/\/\*$/, `/${OTHER}`);
    for (const p of [filled(''), filled('/'), filled(`/${OTHER}`), filled(`/${OTHER}/${OTHER}`)]) {
      if (p === '') continue;
      out.add(p).add(p.toUpperCase()).add(`${p}/${OTHER}`).add(`${p}x`);
      const parent = p.slice(0, p.lastIndexOf('/'));
      if (parent !== '') out.add(parent).add(`${parent}/`);
    }
  }
  return [...out];
}

/** One target per reason the filter finds an egress request invalid (assembly/policy/host.ts):
 *  they are classes of their own, which only a change of global `mode` moves. */
const INVALID_HOSTS = ['', `user@${OTHER}.example`, 'a..b', 'x_y.example', '\u00e9.example', `${'a.'.repeat(127)}com`, '127.1'];

/** Hosts on both sides of each `hosts` and `cidrs` entry. */
function hosts(policies: NormalizedPolicy[]): string[] {
  const out = new Set<string>([`${OTHER}.example`, '192.0.2.1', '2001:db8::1', ...INVALID_HOSTS]);
  for (const e of entries(policies, 'egress', 'hosts', 'notHosts')) {
    const name = e.startsWith('*.') ? e.slice(2) : e;
    out.add(name).add(name.toUpperCase()).add(`${OTHER}.${name}`).add(`${OTHER}.${OTHER}.${name}`).add(`${OTHER}${name}`);
    const parent = name.slice(name.indexOf('.') + 1);
    if (parent !== name) out.add(parent);
  }
  for (const e of entries(policies, 'egress', 'cidrs', 'notCidrs')) for (const a of cidrEdges(e)) out.add(a);
  return [...out];
}

/** A CIDR's first address, its last, and the addresses just outside it on either side. */
export function cidrEdges(cidr: string): string[] {
  const [addr, bitsText] = cidr.split('/');
  const v6 = addr.includes(':');
  const width = v6 ? 128 : 32;
  const bits = Number(bitsText);
  const first = v6 ? parseV6(addr) : parseV4(addr);
  if (first === undefined) return [];
  const size = 1n << BigInt(width - bits);
  const max = (1n << BigInt(width)) - 1n;
  const out = [first, first + size - 1n, first - 1n, first + size].filter((x) => x >= 0n && x <= max);
  return out.map((x) => (v6 ? formatV6(x) : formatV4(x)));
}

function parseV4(a: string): bigint | undefined {
  const parts = a.split('.').map(Number);
  if (parts.length !== 4 || parts.some((x) => !(x >= 0 && x <= 255))) return undefined;
  return parts.reduce((n, x) => (n << 8n) | BigInt(x), 0n);
}

function formatV4(x: bigint): string {
  return [24n, 16n, 8n, 0n].map((s) => String((x >> s) & 255n)).join('.');
}

function parseV6(a: string): bigint | undefined {
  const [head, tail] = a.includes('::') ? a.split('::') : [a, undefined];
  const h = head === '' ? [] : head.split(':');
  const t = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  if (groups.length !== 8 || groups.some((g) => !/^[0-9a-fA-F]{1,4}$/.test(g))) return undefined;
  return groups.reduce((n, g) => (n << 16n) | BigInt(parseInt(g, 16)), 0n);
}

function formatV6(x: bigint): string {
  const groups: string[] = [];
  for (let s = 112n; s >= 0n; s -= 16n) groups.push(((x >> s) & 0xffffn).toString(16));
  return groups.join(':');
}

function ports(policies: NormalizedPolicy[]): number[] {
  const named = entries(policies, 'egress', 'ports', 'notPorts').map(Number);
  let other = 8999;
  while (named.includes(other)) other++;
  // 0: the invalid port (bad_port)
  return [...new Set([443, 80, ...named, other, 0])];
}

/** The representatives of the request space of `role` for the two policies. */
export function requestSpace(role: Role, policies: CompileResult[]): Space {
  const ps = policies.map((c) => c.normalized!);
  if (role === 'inbound') return { identities: identities(ps, role), methods: methods(ps), paths: paths(ps), hosts: [], ports: [], connect: [] };
  return { identities: identities(ps, role), methods: [], paths: [], hosts: hosts(ps), ports: ports(ps), connect: [false, true] };
}
