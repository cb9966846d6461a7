/**
 * `meshgate learn`'s work: what each identity did, from decision records, folded into a
 * least-privilege proposal — one allow rule per identity and set of methods (inbound) or ports
 * (egress), listing only what was seen, generalized where requests vary (learn-paths.ts for
 * paths; a `*.parent` host only when at least `wildcardThreshold` sibling names were seen).
 *
 * Learned: requests that went through (allow, or audit_deny under an audit policy) from an
 * authenticated caller. Not learned, and counted: denied requests, unauthenticated callers
 * (an allow rule without `from` would admit anyone), and invalid requests (no rule can allow
 * them). Streaming: one entry per (identity, method, path pattern) or (identity, host, port).
 */
import { parseAuthority } from '../policy/patterns';
import { REFUSAL_LABELS } from '../scenario/labels';
import type { DecisionRecord } from '../records/record';
import { collapseSubtrees, generalizePath } from './learn-paths';

export interface LearnOptions {
  /** Distinct children of one parent path that make it `parent/*` (default 8). */
  subtreeThreshold?: number;
  /** Distinct sibling names under one parent domain that make it `*.parent` (default 3). */
  wildcardThreshold?: number;
}

/** How often something was seen, and when. `example` is the first record that showed it. */
export interface Seen {
  count: number;
  first?: string;
  last?: string;
  example: DecisionRecord;
}

export interface ProposedRule {
  role: 'inbound' | 'egress';
  name: string;
  identity: string;
  methods?: string[];
  paths?: string[];
  hosts?: string[];
  cidrs?: string[];
  ports?: number[];
  /** CONNECT tunnels this rule allowed carried non-TLS bytes. */
  tunnelAny?: boolean;
  seen: Seen;
  /** Per entry (paths, hosts or cidrs), the first request seen with each method (or port): the
   *  scenario file's candidates. */
  examples: DecisionRecord[][];
}

export interface LearnSkipped {
  denied: number;
  unauthenticated: number;
  invalid: number;
}

const INVALID = new Set(REFUSAL_LABELS.filter((l) => l !== 'default'));

function see(m: Map<string, Seen>, key: string, r: DecisionRecord): void {
  const s = m.get(key);
  if (!s) {
    m.set(key, { count: 1, first: r.time, last: r.time, example: r });
    return;
  }
  s.count++;
  if (r.time !== undefined) {
    if (s.first === undefined || r.time < s.first) s.first = r.time;
    if (s.last === undefined || r.time > s.last) s.last = r.time;
  }
}

function merge(into: Seen | undefined, s: Seen): Seen {
  if (!into) return { ...s };
  return {
    count: into.count + s.count,
    first: [into.first, s.first].filter((t) => t !== undefined).sort()[0],
    last: [into.last, s.last].filter((t) => t !== undefined).sort().pop(),
    example: into.example,
  };
}

/** An egress target: a host name or an IP (as a CIDR) and the port. */
interface Target {
  host?: string;
  cidr?: string;
  port: number;
}

function egressTarget(r: DecisionRecord): Target | undefined {
  if (r.role === 'egress-sni') return r.sni && r.sni !== '-' && r.port ? { host: r.sni.toLowerCase(), port: r.port } : undefined;
  const a = parseAuthority(r.authority ?? '', { scheme: r.scheme ?? '', connect: r.connect });
  if ('error' in a) return undefined;
  if ('name' in a) return { host: a.name, port: a.port };
  return { cidr: a.ip.includes(':') ? `${a.ip}/128` : `${a.ip}/32`, port: a.port };
}

export class Learner {
  readonly skipped: LearnSkipped = { denied: 0, unauthenticated: 0, invalid: 0 };
  records = 0;
  learned = 0;
  first?: string;
  last?: string;
  /** identity → `METHOD pattern` → seen */
  private readonly inbound = new Map<string, Map<string, Seen>>();
  /** identity → `host|cidr port tunnelAny` → seen */
  private readonly egress = new Map<string, Map<string, Seen>>();
  /** Trust domains of the identities learned, with counts. */
  readonly trustDomains = new Map<string, number>();

  add(r: DecisionRecord): void {
    this.records++;
    if (r.time !== undefined) {
      if (this.first === undefined || r.time < this.first) this.first = r.time;
      if (this.last === undefined || r.time > this.last) this.last = r.time;
    }
    if (r.decision === 'deny') { this.skipped.denied++; return; }
    if (INVALID.has(r.rule)) { this.skipped.invalid++; return; }
    if (r.identity === null) { this.skipped.unauthenticated++; return; }
    const td = r.identity.slice('spiffe://'.length).split('/')[0];
    this.trustDomains.set(td, (this.trustDomains.get(td) ?? 0) + 1);
    if (r.role === 'inbound') {
      see(perIdentity(this.inbound, r.identity), `${r.method} ${generalizePath(r.path!)}`, r);
    } else {
      const t = egressTarget(r);
      if (!t) { this.skipped.invalid++; return; }
      // an allowed tunnel without an inner name to a name (not an address) carried non-TLS bytes
      const tunnelAny = r.connect && r.sni === '-' && t.host !== undefined;
      see(perIdentity(this.egress, r.identity), `${t.host ?? t.cidr} ${t.port} ${tunnelAny ? 'any' : 'tls'}`, r);
    }
    this.learned++;
  }

  /** The proposed allow rules, inbound then egress, identities in order of first appearance. */
  rules(o: LearnOptions = {}): ProposedRule[] {
    const names = new RuleNames();
    const out: ProposedRule[] = [];
    for (const [identity, seen] of this.inbound) out.push(...inboundRules(identity, seen, o.subtreeThreshold ?? 8, names));
    names.reset();
    for (const [identity, seen] of this.egress) out.push(...egressRules(identity, seen, o.wildcardThreshold ?? 3, names));
    return out;
  }
}

function perIdentity(m: Map<string, Map<string, Seen>>, id: string): Map<string, Seen> {
  let s = m.get(id);
  if (!s) m.set(id, (s = new Map()));
  return s;
}

/** Groups `entry → (key → seen)` by the set of keys each entry was seen with. */
function groupByKeySet<K>(byEntry: Map<string, Map<K, Seen>>): Array<{ keys: K[]; entries: string[] }> {
  const groups = new Map<string, { keys: K[]; entries: string[] }>();
  for (const [entry, keys] of byEntry) {
    const ks = [...keys.keys()].sort();
    const id = JSON.stringify(ks);
    let g = groups.get(id);
    if (!g) groups.set(id, (g = { keys: ks, entries: [] }));
    g.entries.push(entry);
  }
  return [...groups.values()];
}

function inboundRules(identity: string, seen: Map<string, Seen>, threshold: number, names: RuleNames): ProposedRule[] {
  // per method: collapse subtrees; then entry → method → seen
  const byMethod = new Map<string, Map<string, Seen>>();
  for (const [key, s] of seen) {
    const sp = key.indexOf(' ');
    const m = key.slice(0, sp);
    let paths = byMethod.get(m);
    if (!paths) byMethod.set(m, (paths = new Map()));
    paths.set(key.slice(sp + 1), s);
  }
  const byEntry = new Map<string, Map<string, Seen>>();
  for (const [method, paths] of byMethod) {
    const cover = collapseSubtrees(paths.keys(), threshold);
    for (const [p, s] of paths) {
      const entry = cover.get(p)!;
      let ms = byEntry.get(entry);
      if (!ms) byEntry.set(entry, (ms = new Map()));
      ms.set(method, merge(ms.get(method), s));
    }
  }
  return groupByKeySet(byEntry).map((g) => {
    const all = g.entries.flatMap((e) => g.keys.map((k) => byEntry.get(e)!.get(k)!));
    return {
      role: 'inbound',
      name: names.take(`${shortName(identity)}-${g.keys.join('-').toLowerCase()}`),
      identity,
      methods: g.keys,
      paths: g.entries.sort(),
      seen: all.reduce<Seen | undefined>((a, s) => merge(a, s), undefined)!,
      examples: g.entries.map((e) => g.keys.map((k) => byEntry.get(e)!.get(k)!.example)),
    };
  });
}

/** `*.parent` for names with at least `threshold` distinct siblings under a parent of 2+ labels. */
function wildcards(hosts: Iterable<string>, threshold: number): Map<string, string> {
  const byParent = new Map<string, string[]>();
  const cover = new Map<string, string>();
  for (const h of hosts) {
    cover.set(h, h);
    const dot = h.indexOf('.');
    const parent = h.slice(dot + 1);
    if (dot < 0 || !parent.includes('.')) continue;
    let l = byParent.get(parent);
    if (!l) byParent.set(parent, (l = []));
    l.push(h);
  }
  for (const [parent, names] of byParent) if (names.length >= threshold) for (const n of names) cover.set(n, `*.${parent}`);
  return cover;
}

function egressRules(identity: string, seen: Map<string, Seen>, threshold: number, names: RuleNames): ProposedRule[] {
  const out: ProposedRule[] = [];
  // hosts and addresses apart (a rule listing both matches nothing); tunnel: any apart
  for (const tunnel of ['tls', 'any']) {
    for (const kind of ['host', 'cidr'] as const) {
      const byTarget = new Map<string, Map<number, Seen>>();
      for (const [key, s] of seen) {
        const [target, port, t] = key.split(' ');
        if (t !== tunnel || (kind === 'cidr') !== target.includes('/')) continue;
        let ports = byTarget.get(target);
        if (!ports) byTarget.set(target, (ports = new Map()));
        ports.set(Number(port), s);
      }
      const cover = kind === 'host' ? wildcards(byTarget.keys(), threshold) : new Map([...byTarget.keys()].map((k) => [k, k]));
      const byEntry = new Map<string, Map<number, Seen>>();
      for (const [target, ports] of byTarget) {
        const entry = cover.get(target)!;
        let ps = byEntry.get(entry);
        if (!ps) byEntry.set(entry, (ps = new Map()));
        for (const [p, s] of ports) ps.set(p, merge(ps.get(p), s));
      }
      for (const g of groupByKeySet(byEntry)) {
        const all = g.entries.flatMap((e) => g.keys.map((k) => byEntry.get(e)!.get(k)!));
        const ports = [...g.keys].sort((a, b) => a - b);
        out.push({
          role: 'egress',
          name: names.take(`${shortName(identity)}-${kind === 'cidr' ? 'ip-' : ''}${ports.join('-')}${tunnel === 'any' ? '-tunnel' : ''}`),
          identity,
          [kind === 'host' ? 'hosts' : 'cidrs']: g.entries.sort(),
          ports,
          ...(tunnel === 'any' ? { tunnelAny: true } : {}),
          seen: all.reduce<Seen | undefined>((a, s) => merge(a, s), undefined)!,
          examples: g.entries.map((e) => g.keys.map((k) => byEntry.get(e)!.get(k)!.example)),
        });
      }
    }
  }
  return out;
}

/** A rule-name stem for an identity: `ns/<ns>/sa/<sa>` → `<ns>-<sa>`, else its last segments. */
export function shortName(identity: string): string {
  const path = identity.replace(/^spiffe:\/\/[^/]*/, '');
  const k8s = /^\/ns\/([^/]+)\/sa\/([^/]+)$/.exec(path);
  const raw = k8s ? `${k8s[1]}-${k8s[2]}` : path.split('/').filter(Boolean).slice(-2).join('-');
  return (raw.replace(/[^A-Za-z0-9_-]/g, '_') || 'caller').slice(0, 48);
}

/** Unique rule names within a section (`name`, `name-2`, ...), at most 64 bytes. */
class RuleNames {
  private used = new Set<string>();
  take(stem: string): string {
    const base = stem.slice(0, 60);
    let name = base;
    for (let i = 2; this.used.has(name); i++) name = `${base}-${i}`;
    this.used.add(name);
    return name;
  }
  reset(): void {
    this.used = new Set();
  }
}
