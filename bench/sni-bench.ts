/**
 * What meshgate costs Envoy per CONNECTION on the two new egress paths, each against the same
 * chain without it, one Envoy per variant (`--concurrency 1`), reference configs as shipped minus
 * their access logs (as in the HTTP shapes):
 *
 *   sni/none              envoy/egress-sni-sidecar.yaml without the Wasm filter (the SNI forward
 *                         proxy takes the TLS inspector's name; port_value = the listener's port)
 *   sni/meshgate/<n>      meshgate_egress_sni first, a policy of n allowed host entries (identity local)
 *   tunnel/none           envoy/egress-sidecar.yaml without the Wasm filter and without the
 *                         internal listener (CONNECT routed to the forward proxy): CONNECT
 *                         host:port, then a ClientHello through the tunnel
 *   tunnel/meshgate/<n>   meshgate_egress judging the CONNECT and then the tunnel's inner SNI,
 *                         the tunnel through the internal listener and meshgate_tunnel_exit
 *
 * Each connection is what a workload's SDK does to a new host: connect, send a ClientHello
 * (harness/tls/client-hello.ts, SNI cycling over hosts spread across the policy), wait for the
 * first byte the "external service" sends back through Envoy, close. Envoy listens on
 * 127.0.0.2:P and the service on 127.0.0.1:P (the judged port is the port connected to); the
 * harness DNS server answers every name with 127.0.0.1 (cached by Envoy after the first use),
 * which the post-resolution guard treats as public, as the test stacks do (its cost is measured).
 *
 * Method, as in bench/envoy-bench.ts: all variants started first; a warm-up round; then rounds
 * that visit the variants in a new shuffled order; per slot a closed loop of `concurrency`
 * connection loops for `windowMs`; Envoy CPU (utime+stime, schedstat resolution) per completed
 * connection; per-round delta against the same round's `none`, median and range over rounds.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { EnvoyProcess } from '../harness/envoy/process';
import { locateEnvoy, type LocatedEnvoy } from '../harness/envoy/locate';
import { hcmOf, isInternalListener, networkFilters, removeHttpFilter, renderReference, TUNNEL_EXIT_CLUSTER, type ReferencePatch } from '../harness/envoy/reference';
import { FAKE_INTERNET } from '../harness/stack/egress';
import type { Json } from '../harness/envoy/bootstrap';
import { repoRoot } from '../harness/envoy/paths';
import { DnsServer } from '../harness/services/dns';
import { clientHello } from '../harness/tls/client-hello';
import { cpuDeltaNs, cpuSample, setProcessPriority, QuietGate } from './proc';
import { EGRESS_CALLER_NS, egressPolicy, hostAt, spreadPositions } from './policies';
import { median, round, seededRandom, shuffle } from './stats';

export interface SniBenchOptions {
  sizes: number[];
  rounds: number;
  /** Connection loops running at once. */
  concurrency: number;
  warmupMs: number;
  windowMs: number;
  seed: number;
  gate: QuietGate;
  nice: number | null;
  envoy: LocatedEnvoy;
  wasmFile: string;
  log: (s: string) => void;
  /** Which shapes to run (default both). */
  shapes?: BenchShape[];
}

export interface SniSlot {
  round: number;
  variant: string;
  connections: number;
  perSec: number;
  /** Envoy CPU per connection, µs. */
  cpuUs: number | null;
  errors: number;
}

export interface SniVariantSummary {
  id: string;
  size: number | null;
  cpuUs: number | null;
  deltaVsNoneUs: number | null;
  deltaVsNoneRange: [number | null, number | null];
  perSec: number | null;
  errors: number;
}

export interface SniBenchResult {
  concurrency: number;
  windowMs: number;
  rounds: number;
  slots: SniSlot[];
  variants: SniVariantSummary[];
}

const HOSTS_PER_VARIANT = 64;

export type BenchShape = 'sni' | 'tunnel';

/** What one connection of a variant sends: (the CONNECT request head, then) a ClientHello. */
interface Opening {
  connect?: Buffer;
  hello: Buffer;
}

interface Variant {
  id: string;
  shape: BenchShape;
  size: number | null;
  openings: Opening[];
  bootstrap: Json;
  service: net.Server;
  /** sni: Envoy's listener port (= the service's); tunnel: known once Envoy runs. */
  port: number;
}

interface Running extends Variant {
  envoy: EnvoyProcess;
  pid: number;
}

/** The "external service": answers the first bytes of each connection with one byte, then closes. */
async function startService(): Promise<{ server: net.Server; port: number }> {
  const server = net.createServer((s) => {
    s.once('data', () => s.end('k'));
    s.on('error', () => undefined);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return { server, port: (server.address() as net.AddressInfo).port };
}

function benchPolicy(n: number): string {
  return JSON.stringify({ ...egressPolicy(n), identity: { from: 'local', id: `${EGRESS_CALLER_NS}/sa/caller-0` } });
}

/** The shipped SNI sidecar chain on 127.0.0.2:<service port>; `none` without the Wasm filter. */
async function sniVariant(id: string, size: number | null, o: SniBenchOptions, dnsPort: number, certs: ReferencePatch['certs']): Promise<Variant> {
  const { server, port } = await startService();
  const n = size ?? Math.min(...o.sizes);
  const cfg = renderReference('egress-sni-sidecar', { wasmFile: o.wasmFile, policyJson: benchPolicy(n), certs, dnsPort, treatAsPublic: [FAKE_INTERNET], sniListeners: { address: '127.0.0.2', ports: [port] } });
  const chain = (((cfg.static_resources as Json).listeners as Json[])[0].filter_chains as Json[])[0];
  let filters = chain.filters as Json[];
  if (size === null) {
    filters = filters.filter((f) => f.name !== 'envoy.filters.network.wasm');
    (filters.find((f) => f.name === 'envoy.filters.network.sni_dynamic_forward_proxy')!.typed_config as Json).port_value = port;
  }
  for (const f of filters) delete (f.typed_config as Json).access_log;
  chain.filters = filters;
  const openings = spreadPositions(n, HOSTS_PER_VARIANT).map((i) => ({ hello: clientHello({ sni: hostAt(i) }) }));
  return { id, shape: 'sni', size, openings, bootstrap: cfg, service: server, port };
}

/** envoy/egress-sidecar.yaml (plain listener): CONNECT host:<service port>, then a ClientHello. */
async function tunnelVariant(id: string, size: number | null, o: SniBenchOptions, dnsPort: number, certs: ReferencePatch['certs']): Promise<Variant> {
  const { server, port } = await startService();
  const n = size ?? Math.min(...o.sizes);
  const cfg = renderReference('egress-sidecar', { wasmFile: o.wasmFile, policyJson: benchPolicy(n), certs, dnsPort, treatAsPublic: [FAKE_INTERNET] });
  if (size === null) withoutMeshgate(cfg);
  delete hcmOf(((cfg.static_resources as Json).listeners as Json[])[0]).access_log;
  for (const f of networkFilters(cfg)) delete (f.typed_config as Json).access_log; // the tunnel exit's
  const openings = spreadPositions(n, HOSTS_PER_VARIANT).map((i) => ({
    connect: Buffer.from(`CONNECT ${hostAt(i)}:${port} HTTP/1.1\r\nHost: ${hostAt(i)}:${port}\r\n\r\n`),
    hello: clientHello({ sni: hostAt(i) }),
  }));
  return { id, shape: 'tunnel', size, openings, bootstrap: cfg, service: server, port: 0 };
}

/**
 * The sidecar as Envoy alone would tunnel: no meshgate_egress, and CONNECT routed straight to the
 * dynamic forward proxy (dialed before the 200) instead of the internal listener, whose exit
 * needs meshgate_egress's line — the cost meshgate's way adds is all in the delta.
 */
function withoutMeshgate(cfg: Json): void {
  removeHttpFilter(cfg, 'envoy.filters.http.wasm');
  const sr = cfg.static_resources as Json;
  sr.listeners = (sr.listeners as Json[]).filter((l) => !isInternalListener(l));
  sr.clusters = (sr.clusters as Json[]).filter((c) => c.name !== TUNNEL_EXIT_CLUSTER);
  delete cfg.bootstrap_extensions;
  const routes = ((hcmOf((sr.listeners as Json[])[0]).route_config as Json).virtual_hosts as Json[]).flatMap((v) => v.routes as Json[]);
  const connect = routes.find((r) => r.name === 'connect');
  if (!connect) throw new Error('envoy/egress-sidecar.yaml: no route `connect`');
  (connect.route as Json).cluster = 'dfp_tcp';
}

/**
 * One connection: connect, (CONNECT and its 200,) ClientHello, the service's first byte back,
 * close. Resolves false on any failure.
 */
function oneConnection(host: string, port: number, opening: Opening): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    let done = false;
    let head = opening.connect ? Buffer.alloc(0) : undefined;
    const finish = (ok: boolean) => {
      if (done) return;
      done = true;
      s.destroy();
      resolve(ok);
    };
    s.once('connect', () => s.write(opening.connect ?? opening.hello));
    s.on('data', (c: Buffer) => {
      if (!head) return finish(true);
      head = Buffer.concat([head, c]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      if (!/^HTTP\/1\.1 200 /.test(head.toString('latin1'))) return finish(false);
      const rest = head.subarray(end + 4);
      head = undefined;
      if (rest.length) return finish(true);
      s.write(opening.hello);
    });
    s.once('error', () => finish(false));
    s.once('close', () => finish(false));
  });
}

/** `concurrency` loops of connections for warmMs, then a measured window. */
async function closedLoop(r: Running, concurrency: number, warmMs: number, windowMs: number): Promise<Omit<SniSlot, 'round' | 'variant'>> {
  let measuring = false;
  let stop = false;
  let completed = 0;
  let errors = 0;
  let next = 0;
  const loop = async () => {
    while (!stop) {
      const ok = await oneConnection(hostOf(r), r.port, r.openings[next++ % r.openings.length]);
      if (!measuring) continue;
      if (ok) completed++;
      else errors++;
    }
  };
  const loops = Array.from({ length: concurrency }, loop);
  await new Promise((res) => setTimeout(res, warmMs));
  const a = cpuSample(r.pid);
  measuring = true;
  await new Promise((res) => setTimeout(res, windowMs));
  measuring = false;
  const b = cpuSample(r.pid);
  stop = true;
  await Promise.all(loops);
  return {
    connections: completed,
    perSec: (completed * 1000) / (b.atMs - a.atMs),
    cpuUs: completed > 0 ? cpuDeltaNs(a, b).ns / completed / 1000 : null,
    errors,
  };
}

/** The SNI listener is on 127.0.0.2 (the service has 127.0.0.1:<same port>); the sidecar's on 127.0.0.1. */
const hostOf = (v: Variant) => (v.shape === 'sni' ? '127.0.0.2' : '127.0.0.1');

export async function runSniBench(o: SniBenchOptions): Promise<SniBenchResult> {
  const rand = seededRandom(o.seed);
  const dns = await DnsServer.start({ answers: () => '127.0.0.1', ttl: 3600 });
  const variants: Variant[] = [];
  const running: Running[] = [];
  try {
    // Neither config has a TLS listener; the tunnel one's TLS-origination cluster loads a CA file.
    const ca = path.join(repoRoot(), 'build', 'certs', 'ca.pem');
    const certs = { caFile: ca, certFile: ca, keyFile: ca };
    for (const [shape, build] of [['sni', sniVariant], ['tunnel', tunnelVariant]] as const) {
      if (o.shapes && !o.shapes.includes(shape)) continue;
      variants.push(await build(`${shape}/none`, null, o, dns.port, certs));
      for (const n of o.sizes) variants.push(await build(`${shape}/meshgate/${n}`, n, o, dns.port, certs));
    }
    for (const v of variants) {
      const envoy = await EnvoyProcess.start({ bootstrap: v.bootstrap, concurrency: 1, logLevel: 'warning', envoy: o.envoy, readyTimeoutMs: 180_000 });
      const pid = envoy.envoyPid();
      if (pid === undefined) throw new Error(`${v.id}: Envoy pid unknown`);
      if (o.nice !== null) setProcessPriority(pid, o.nice);
      const r = { ...v, envoy, pid, port: v.shape === 'sni' ? v.port : await envoy.listenerPort('outbound') };
      running.push(r);
      if (!(await oneConnection(hostOf(r), r.port, r.openings[0]))) throw new Error(`${v.id}: an allowed connection got no answer\n${envoy.logTail(30)}`);
      const outsider = v.shape === 'sni' ? { hello: clientHello({ sni: 'not-listed.example.net' }) } : { ...r.openings[0], hello: clientHello({ sni: 'not-listed.example.net' }) };
      if (v.size !== null && (await oneConnection(hostOf(r), r.port, outsider))) throw new Error(`${v.id}: a connection meshgate must refuse was let through`);
      o.log(`  started ${v.id}`);
    }
    for (const r of running) {
      const w = await closedLoop(r, o.concurrency, 100, o.warmupMs);
      o.log(`  warm-up ${r.id}: ${w.perSec.toFixed(0)} connections/s`);
    }
    const slots: SniSlot[] = [];
    for (let roundNo = 1; roundNo <= o.rounds; roundNo++) {
      for (const r of shuffle(running, rand)) {
        await o.gate.wait();
        const s = { round: roundNo, variant: r.id, ...(await closedLoop(r, o.concurrency, 100, o.windowMs)) };
        slots.push(s);
        o.log(`  round ${roundNo} ${r.id}: ${s.perSec.toFixed(0)} connections/s, ${s.cpuUs?.toFixed(1) ?? '-'} µs Envoy CPU/connection${s.errors ? `, ${s.errors} failed` : ''}`);
      }
    }
    return { concurrency: o.concurrency, windowMs: o.windowMs, rounds: o.rounds, slots, variants: summarize(running, slots) };
  } finally {
    for (const r of running) await r.envoy.stop();
    for (const v of variants) await new Promise((res) => v.service.close(res));
    await dns.stop();
  }
}

function summarize(running: Running[], slots: SniSlot[]): SniVariantSummary[] {
  const at = (id: string, roundNo: number) => slots.find((s) => s.variant === id && s.round === roundNo);
  return running.map((r) => {
    const mine = slots.filter((s) => s.variant === r.id);
    const deltas = mine.flatMap((s) => {
      const none = at(`${r.shape}/none`, s.round);
      return s.cpuUs !== null && none?.cpuUs != null ? [s.cpuUs - none.cpuUs] : [];
    });
    return {
      id: r.id,
      size: r.size,
      cpuUs: round(median(mine.map((s) => s.cpuUs ?? NaN)), 2),
      deltaVsNoneUs: round(median(deltas), 2),
      deltaVsNoneRange: [round(Math.min(...deltas), 2), round(Math.max(...deltas), 2)],
      perSec: round(median(mine.map((s) => s.perSec)), 0),
      errors: mine.reduce((n, s) => n + s.errors, 0),
    };
  });
}

/** The report section (Markdown lines). */
export function sniMarkdown(r: SniBenchResult): string[] {
  const fmt = (x: number | null, d = 2) => (x === null || !Number.isFinite(x) ? '–' : x.toFixed(d));
  const L = [
    '## Egress by SNI and CONNECT tunnels — per connection',
    '',
    `sni: envoy/egress-sni-sidecar.yaml; tunnel: envoy/egress-sidecar.yaml (CONNECT, then the inner ClientHello); both without access logs. ` +
      `Each connection: connect, (CONNECT,) ClientHello, first byte from the service through Envoy, close. ` +
      `${r.concurrency} connection loops, ${r.windowMs} ms windows, ${r.rounds} rounds; Envoy CPU per connection, delta against the same round's none of the same shape.`,
    '',
    '| variant | host entries | connections/s | Envoy CPU µs/connection | Δ vs none µs (range) | failed |',
    '|---|---:|---:|---:|---:|---:|',
  ];
  for (const v of r.variants) {
    L.push(
      `| ${v.id} | ${v.size?.toLocaleString('en-US') ?? ''} | ${fmt(v.perSec, 0)} | ${fmt(v.cpuUs)} | ${v.size === null ? '–' : `${fmt(v.deltaVsNoneUs)} (${fmt(v.deltaVsNoneRange[0])}…${fmt(v.deltaVsNoneRange[1])})`} | ${v.errors} |`,
    );
  }
  L.push('');
  return L;
}

/** `node dist/bench/sni-bench.js [--quick]`: only this section, written to bench/results/<stamp>-sni.{json,md}. */
async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const log = (s: string) => process.stderr.write(s + '\n');
  const result = await runSniBench({
    sizes: quick ? [10] : [10, 1000, 100_000],
    rounds: quick ? 2 : 5,
    concurrency: 16,
    warmupMs: quick ? 300 : 1000,
    windowMs: quick ? 600 : 2000,
    seed: Date.now() & 0xffff,
    gate: new QuietGate(quick ? 8000 : 60_000, quick ? 1000 : 3000),
    nice: null,
    envoy: await locateEnvoy(),
    wasmFile: process.env.MESHGATE_WASM ?? path.join(repoRoot(), 'build', 'meshgate.wasm'),
    log,
  });
  const out = path.join(repoRoot(), 'bench', 'results');
  fs.mkdirSync(out, { recursive: true });
  const stamp = new Date().toISOString().replace(/\.\d+Z$/, 'Z').replace(/:/g, '-');
  fs.writeFileSync(path.join(out, `${stamp}-sni.json`), JSON.stringify(result, null, 2) + '\n');
  const md = sniMarkdown(result).join('\n');
  fs.writeFileSync(path.join(out, `${stamp}-sni.md`), md + '\n');
  process.stdout.write(md + '\n');
}

if (require.main === module) {
  main().catch((e: Error) => {
    process.stderr.write(`${e.stack ?? e.message}\n`);
    process.exit(1);
  });
}
