/**
 * What meshgate_egress_sni costs Envoy per CONNECTION (TLS passthrough by SNI), against the same
 * chain without it. Both variants run envoy/egress-sni-sidecar.yaml as shipped (original_dst +
 * tls_inspector, sni_dynamic_forward_proxy, tcp_proxy to the dynamic forward proxy cluster), one
 * Envoy each (`--concurrency 1`), minus the access log (as in the HTTP shapes):
 *
 *   sni/none           the chain without the Wasm filter (the SNI forward proxy takes the TLS
 *                      inspector's name; its port_value is the listener's port)
 *   sni/meshgate/<n>   meshgate_egress_sni first, a policy of n allowed host entries (identity local)
 *
 * Each connection is what a workload's SDK does to a new host: connect, send a ClientHello
 * (harness/tls/client-hello.ts, SNI cycling over hosts spread across the policy), wait for the
 * first byte the "external service" sends back through Envoy, close. Envoy listens on
 * 127.0.0.2:P and the service on 127.0.0.1:P (the judged port is the port connected to); the
 * harness DNS server answers every name with 127.0.0.1 (cached by Envoy after the first use).
 *
 * Method, as in bench/envoy-bench.ts: all variants started first; a warm-up round; then rounds
 * that visit the variants in a new shuffled order; per slot a closed loop of `concurrency`
 * connection loops for `windowMs`; Envoy CPU (utime+stime, schedstat resolution) per completed
 * connection; per-round delta against the same round's `none`, median and range over rounds.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { EnvoyProcess } from '../harness/envoy/process';
import { locateEnvoy, type LocatedEnvoy } from '../harness/envoy/locate';
import { networkFilters, renderReference, type ReferencePatch } from '../harness/envoy/reference';
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

interface Variant {
  id: string;
  size: number | null;
  hellos: Buffer[];
  bootstrap: Json;
  service: net.Server;
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

async function buildVariant(id: string, size: number | null, o: SniBenchOptions, dnsPort: number, dir: string): Promise<Variant> {
  const { server, port } = await startService();
  const n = size ?? Math.min(...o.sizes);
  const policy = { ...egressPolicy(n), identity: { from: 'local', id: `${EGRESS_CALLER_NS}/sa/caller-0` } };
  const patch: ReferencePatch = {
    wasmFile: o.wasmFile,
    policyJson: JSON.stringify(policy),
    certs: { caFile: path.join(dir, 'unused.pem'), certFile: path.join(dir, 'unused.pem'), keyFile: path.join(dir, 'unused.pem') },
    dnsPort,
    sniListeners: { address: '127.0.0.2', ports: [port] },
  };
  const cfg = renderReference('egress-sni-sidecar', patch);
  const chain = (((cfg.static_resources as Json).listeners as Json[])[0].filter_chains as Json[])[0];
  let filters = chain.filters as Json[];
  if (size === null) {
    filters = filters.filter((f) => f.name !== 'envoy.filters.network.wasm');
    (filters.find((f) => f.name === 'envoy.filters.network.sni_dynamic_forward_proxy')!.typed_config as Json).port_value = port;
  }
  for (const f of filters) delete (f.typed_config as Json).access_log;
  chain.filters = filters;
  if (networkFilters(cfg).some((f) => (f.typed_config as Json).access_log)) throw new Error(`${id}: access log left in`);
  const hellos = spreadPositions(n, HOSTS_PER_VARIANT).map((i) => clientHello({ sni: hostAt(i) }));
  return { id, size, hellos, bootstrap: cfg, service: server, port };
}

/** One connection: connect, ClientHello, first byte back, close. Resolves false on any failure. */
function oneConnection(port: number, hello: Buffer): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.2', port });
    let done = false;
    const finish = (ok: boolean) => {
      if (done) return;
      done = true;
      s.destroy();
      resolve(ok);
    };
    s.once('connect', () => s.write(hello));
    s.once('data', () => finish(true));
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
      const ok = await oneConnection(r.port, r.hellos[next++ % r.hellos.length]);
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

export async function runSniBench(o: SniBenchOptions): Promise<SniBenchResult> {
  const rand = seededRandom(o.seed);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meshgate-sni-bench-'));
  const dns = await DnsServer.start({ answers: () => '127.0.0.1', ttl: 3600 });
  const variants: Variant[] = [];
  const running: Running[] = [];
  try {
    variants.push(await buildVariant('sni/none', null, o, dns.port, dir));
    for (const n of o.sizes) variants.push(await buildVariant(`sni/meshgate/${n}`, n, o, dns.port, dir));
    for (const v of variants) {
      const envoy = await EnvoyProcess.start({ bootstrap: v.bootstrap, concurrency: 1, logLevel: 'warning', envoy: o.envoy, readyTimeoutMs: 180_000 });
      const pid = envoy.envoyPid();
      if (pid === undefined) throw new Error(`${v.id}: Envoy pid unknown`);
      if (o.nice !== null) setProcessPriority(pid, o.nice);
      const r = { ...v, envoy, pid };
      running.push(r);
      if (!(await oneConnection(r.port, r.hellos[0]))) throw new Error(`${v.id}: an allowed connection got no answer\n${envoy.logTail(30)}`);
      if (v.size !== null && (await oneConnection(r.port, clientHello({ sni: 'not-listed.example.net' })))) throw new Error(`${v.id}: a host outside the policy was let through`);
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
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function summarize(running: Running[], slots: SniSlot[]): SniVariantSummary[] {
  const at = (id: string, roundNo: number) => slots.find((s) => s.variant === id && s.round === roundNo);
  return running.map((r) => {
    const mine = slots.filter((s) => s.variant === r.id);
    const deltas = mine.flatMap((s) => {
      const none = at('sni/none', s.round);
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
    '## Egress by SNI — meshgate_egress_sni, per connection',
    '',
    `envoy/egress-sni-sidecar.yaml without its access log; each connection: connect, ClientHello, first byte from the service through Envoy, close. ` +
      `${r.concurrency} connection loops, ${r.windowMs} ms windows, ${r.rounds} rounds; Envoy CPU per connection, delta against the same round's sni/none.`,
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
