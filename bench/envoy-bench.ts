/**
 * The Envoy part of the benchmark: every variant of a shape in its own Envoy (`--concurrency 1`),
 * all started before measuring, then rounds that visit the variants in a new shuffled order each
 * time. In each slot: fresh keep-alive connections (handshakes done before anything is measured),
 * a closed-loop phase (maximum requests/s), then a fixed-rate phase at a fraction of `none`'s
 * maximum from the warm-up round (Envoy CPU per request from /proc, latency p50/p99).
 * Comparisons are per round (variant vs `none` of the same round), then the median over rounds.
 */
import { EnvoyProcess } from '../harness/envoy/process';
import type { LocatedEnvoy } from '../harness/envoy/locate';
import { LoadGenerator, type ConnectionSpec, type PhaseResult } from './loadgen';
import { cpuDeltaNs, cpuSample, machineBusyNs, rssBytes, setProcessPriority, QuietGate, type CpuSample } from './proc';
import { median, quantile, round, seededRandom, shuffle } from './stats';
import { buildVariants, type BenchPki, type Shape, type VariantDef, type WasmFiles } from './variants';

export interface EnvoyBenchOptions {
  sizes: number[];
  shapes: Shape[];
  rounds: number;
  connections: number;
  /** Closed-loop time per variant in the warm-up round. */
  warmupMs: number;
  slot: { warmMs: number; maxMs: number; rateWarmMs: number; rateMs: number };
  /**
   * The fixed rate, as a fraction of `none`'s maximum in the warm-up round (0.5): Envoy CPU per
   * request and latency are measured there. At lower rates Envoy handles fewer requests per
   * wake-up, its CPU per request is higher and varies more from window to window (measured while
   * building this bench: ±15 % at 25 %, ±3 % at 50 %); the load generator still holds 50 %.
   */
  rateFraction: number;
  /** Identity-cache probe: connection counts compared (meshgate caches 256 peers per worker). */
  cacheProbe: { connections: [number, number]; reps: number; windowMs: number } | null;
  /** Envoy memory check: RSS after this many requests, then after that many. */
  memoryRequests: [number, number];
  seed: number;
  /** Waits for a quiet machine before each slot (see QuietGate). */
  gate: QuietGate;
  /** Nice value for the Envoy processes (null: leave it). */
  nice: number | null;
  envoy: LocatedEnvoy;
  log: (s: string) => void;
}

export interface SlotResult {
  round: number;
  variant: string;
  position: number;
  maxRps: number;
  maxWorkerUtil: number | null;
  /** Envoy CPU per request in the closed loop (at saturation), µs. */
  maxCpuUs: number | null;
  rate: number;
  achievedRate: number;
  /** The fixed-rate phase fell short of its rate (the variant's maximum is below it). */
  saturated: boolean;
  /**
   * Envoy CPU per request at the fixed rate, µs (schedstat; stat as a cross-check). When the
   * variant completed too few requests at the fixed rate (far past saturation), the closed-loop
   * phase's figure is used instead (`cpuFrom`).
   */
  cpuUs: number | null;
  cpuFrom: 'fixed-rate' | 'closed-loop';
  cpuUsStat: number | null;
  cpuSource: 'schedstat' | 'stat';
  p50Us: number | null;
  p99Us: number | null;
  /** CPU used by other processes on the machine during the fixed-rate window, in cores. */
  foreignCores: number | null;
  /** Statuses other than 200 and connection errors (should be empty). */
  problems: string[];
}

export interface VariantSummary {
  id: string;
  shape: Shape;
  kind: string;
  size: number | null;
  configBytes: number;
  startupMs: number;
  rssStartMb: number | null;
  rssEndMb: number | null;
  rounds: number;
  cpuUs: number | null;
  /** Median over rounds of (this − none) CPU µs per request, and the range of the per-round values. */
  deltaVsNoneUs: number | null;
  deltaVsNoneRange: [number | null, number | null];
  maxRps: number | null;
  maxRatioVsNone: number | null;
  /** Closed loop: Envoy CPU µs per request at saturation, and its per-round delta vs none (median). */
  maxCpuUs: number | null;
  maxCpuDeltaVsNoneUs: number | null;
  p50Us: number | null;
  p99Us: number | null;
  saturatedRounds: number;
  /** Rounds whose CPU figure came from the closed-loop phase (too few requests at the fixed rate). */
  closedLoopCpuRounds: number;
  foreignCores: number | null;
  problems: string[];
}

/** A per-round comparison: the median over rounds and the range of the per-round values. */
export interface Spread {
  median: number | null;
  range: [number | null, number | null];
}

export interface PairSummary {
  shape: Shape;
  size: number;
  /** meshgate − wasm-fetch, CPU µs per request (median of per-round differences). */
  gapVsFetchUs: number | null;
  gapVsFetchRange: [number | null, number | null];
  /** meshgate max rps / rbac-classic max rps (median of per-round ratios). */
  ratioVsClassic: number | null;
  ratioVsMatcher: number | null;
  /** meshgate − wasm-null, CPU µs per request: how far meshgate's Δ is above the Wasm floor's. */
  gapVsNull: Spread;
  /** meshgate-native against Envoy's RBAC (issue 16); null without the native variants. */
  native: NativePairSummary | null;
}

export interface NativePairSummary {
  /** meshgate-native − rbac-matcher, CPU µs per request (= the difference of their Δs vs none). */
  cpuVsMatcherUs: Spread;
  /** meshgate-native max rps / rbac-matcher's, and / rbac-classic's (null without that variant). */
  ratioVsMatcher: Spread;
  ratioVsClassic: Spread;
}

export interface CacheProbeRow {
  variant: string;
  connections: number;
  /** Envoy CPU per request in a closed loop (median over the repetitions), µs. */
  cpuUs: number | null;
  maxRps: number | null;
}

export interface ShapeResult {
  shape: Shape;
  rate: number;
  noneWarmupRps: number;
  order: string[][];
  slots: SlotResult[];
  variants: VariantSummary[];
  pairs: PairSummary[];
  /** mtls only: meshgate, wasm-fetch and none at two connection counts (null when not run). */
  cacheProbe: CacheProbeRow[] | null;
}

export interface EnvoyMemoryResult {
  variant: string;
  requests: [number, number];
  rssMb: [number, number];
  growthMb: number;
}

export interface EnvoyBenchResult {
  shapes: ShapeResult[];
  /** Envoy RSS over requests through meshgate (Wasm), and through meshgate-native (null without it). */
  memory: EnvoyMemoryResult | null;
  memoryNative: EnvoyMemoryResult | null;
}

interface Running {
  def: VariantDef;
  envoy: EnvoyProcess;
  pid: number;
  port: number;
  startupMs: number;
  rssStart: number;
}

function connectionsFor(def: VariantDef, n: number): ConnectionSpec[] {
  return Array.from({ length: n }, (_, i) => def.connections[i % def.connections.length]);
}

function problemsOf(r: PhaseResult, expect = '200'): string[] {
  const out: string[] = [];
  for (const [s, c] of Object.entries(r.statuses)) if (s !== expect) out.push(`${c}× status ${s}`);
  for (const e of new Set(r.errors)) out.push(e);
  return out;
}

async function startVariant(def: VariantDef, envoy: LocatedEnvoy, nice: number | null): Promise<Running> {
  const t0 = Date.now();
  const proc = await EnvoyProcess.start({ bootstrap: def.bootstrap, concurrency: 1, logLevel: 'warning', envoy, readyTimeoutMs: 180_000 });
  const startupMs = Date.now() - t0;
  const pid = proc.envoyPid();
  if (pid === undefined) throw new Error(`${def.id}: Envoy pid unknown`);
  if (nice !== null) setProcessPriority(pid, nice);
  const port = await proc.listenerPort('bench');
  return { def, envoy: proc, pid, port, startupMs, rssStart: rssBytes(pid) };
}

/** One request per connection kind, checked: allowed → 200; the deny probe → 403. */
async function sanityCheck(r: Running): Promise<void> {
  const g = await LoadGenerator.connect(r.port, [r.def.connections[0]]);
  try {
    const ok = await g.run({ mode: 'closed', warmMs: 0, windowMs: 30, latency: false });
    const bad = problemsOf(ok);
    if (bad.length) throw new Error(`${r.def.id}: an allowed request was not answered 200: ${bad.join(', ')}\n${r.envoy.logTail(30)}`);
  } finally {
    g.close();
  }
  if (r.def.denyProbe) {
    const d = await LoadGenerator.connect(r.port, [{ ...r.def.connections[0], requests: [r.def.denyProbe] }]);
    try {
      const res = await d.run({ mode: 'closed', warmMs: 0, windowMs: 30, latency: false });
      const bad = problemsOf(res, '403');
      if (bad.length) throw new Error(`${r.def.id}: the deny probe was not answered 403: ${bad.join(', ')}`);
    } finally {
      d.close();
    }
  }
}

async function closedLoop(r: Running, conns: number, warmMs: number, windowMs: number): Promise<{ rps: number; util: number | null; problems: string[] }> {
  const g = await LoadGenerator.connect(r.port, connectionsFor(r.def, conns));
  try {
    let a: CpuSample | undefined;
    let b: CpuSample | undefined;
    const res = await g.run({
      mode: 'closed',
      warmMs,
      windowMs,
      latency: false,
      onWindowStart: () => (a = cpuSample(r.pid)),
      onWindowEnd: () => (b = cpuSample(r.pid)),
    });
    const util = a && b && Number.isFinite(a.workerNs) ? (b.workerNs - a.workerNs) / 1e6 / (b.atMs - a.atMs) : null;
    return { rps: res.achievedPerSec, util, problems: problemsOf(res) };
  } finally {
    g.close();
  }
}

/** One fixed-rate phase: Envoy CPU per request, latency, what else ran on the machine. */
async function ratePhase(g: LoadGenerator, pid: number, rate: number, warmMs: number, windowMs: number) {
  let c: CpuSample | undefined;
  let d: CpuSample | undefined;
  let busy0 = 0;
  let busy1 = 0;
  let self0 = process.cpuUsage();
  let selfUs = 0;
  const res = await g.run({
    mode: 'rate',
    ratePerSec: rate,
    warmMs,
    windowMs,
    onWindowStart: () => {
      c = cpuSample(pid);
      busy0 = machineBusyNs();
      self0 = process.cpuUsage();
    },
    onWindowEnd: () => {
      d = cpuSample(pid);
      busy1 = machineBusyNs();
      const u = process.cpuUsage(self0);
      selfUs = u.user + u.system;
    },
  });
  const cpu = c && d ? cpuDeltaNs(c, d) : { ns: NaN, source: 'stat' as const };
  const statNs = c && d ? d.statNs - c.statNs : NaN;
  const span = c && d ? d.atMs - c.atMs : NaN;
  const foreign = (busy1 - busy0 - cpu.ns - selfUs * 1000) / 1e6 / span;
  return {
    res,
    cpuNs: cpu.ns,
    statNs,
    source: cpu.source,
    foreign: Number.isFinite(foreign) ? Math.max(0, foreign) : null,
  };
}

async function slot(r: Running, o: EnvoyBenchOptions, rate: number, roundNo: number, position: number): Promise<SlotResult> {
  await o.gate.wait();
  const g = await LoadGenerator.connect(r.port, connectionsFor(r.def, o.connections));
  try {
    // 1. closed loop: the maximum rate
    let a: CpuSample | undefined;
    let b: CpuSample | undefined;
    const max = await g.run({
      mode: 'closed',
      warmMs: o.slot.warmMs,
      windowMs: o.slot.maxMs,
      latency: false,
      onWindowStart: () => (a = cpuSample(r.pid)),
      onWindowEnd: () => (b = cpuSample(r.pid)),
    });
    const maxUtil = a && b && Number.isFinite(a.workerNs) ? (b.workerNs - a.workerNs) / 1e6 / (b.atMs - a.atMs) : null;
    const maxCpuUs = a && b && max.completed > 0 ? cpuDeltaNs(a, b).ns / max.completed / 1000 : null;
    // 2. the fixed rate (50 % of none's maximum): Envoy CPU per request and latency
    const fixed = await ratePhase(g, r.pid, rate, o.slot.rateWarmMs, o.slot.rateMs);
    const done = fixed.res.completed;
    const enough = done >= 50;
    const l = fixed.res.latenciesMs;
    return {
      round: roundNo,
      variant: r.def.id,
      position,
      maxRps: max.achievedPerSec,
      maxWorkerUtil: round2(maxUtil),
      maxCpuUs: maxCpuUs,
      rate,
      achievedRate: fixed.res.achievedPerSec,
      saturated: fixed.res.achievedPerSec < 0.95 * rate,
      cpuUs: enough ? fixed.cpuNs / done / 1000 : (maxCpuUs ?? (done > 0 ? fixed.cpuNs / done / 1000 : null)),
      cpuFrom: enough || maxCpuUs === null ? 'fixed-rate' : 'closed-loop',
      cpuUsStat: done > 0 ? fixed.statNs / done / 1000 : null,
      cpuSource: fixed.source,
      p50Us: l.length ? quantile(l, 0.5) * 1000 : null,
      p99Us: l.length ? quantile(l, 0.99) * 1000 : null,
      foreignCores: fixed.foreign,
      problems: [...problemsOf(max), ...problemsOf(fixed.res)],
    };
  } finally {
    g.close();
  }
}

function round2(x: number | null): number | null {
  return x === null ? null : round(x, 3);
}

function summarize(shape: Shape, running: Running[], slots: SlotResult[], rssEnd: Map<string, number>): { variants: VariantSummary[]; pairs: PairSummary[] } {
  const byRound = new Map<number, Map<string, SlotResult>>();
  for (const s of slots) {
    if (!byRound.has(s.round)) byRound.set(s.round, new Map());
    byRound.get(s.round)!.set(s.variant, s);
  }
  const perRound = (id: string, other: string, f: (a: SlotResult, b: SlotResult) => number | null): number[] => {
    const out: number[] = [];
    for (const m of byRound.values()) {
      const a = m.get(id);
      const b = m.get(other);
      if (!a || !b) continue;
      const v = f(a, b);
      if (v !== null && Number.isFinite(v)) out.push(v);
    }
    return out;
  };
  const noneId = `${shape}/none`;
  const cpuDelta = (a: SlotResult, b: SlotResult) => (a.cpuUs !== null && b.cpuUs !== null ? a.cpuUs - b.cpuUs : null);
  const rpsRatio = (a: SlotResult, b: SlotResult) => (b.maxRps > 0 ? a.maxRps / b.maxRps : null);
  const variants: VariantSummary[] = running.map((r) => {
    const mine = slots.filter((s) => s.variant === r.def.id);
    const deltas = perRound(r.def.id, noneId, cpuDelta);
    const rss = rssEnd.get(r.def.id);
    return {
      id: r.def.id,
      shape,
      kind: r.def.kind,
      size: r.def.size,
      configBytes: r.def.configBytes,
      startupMs: r.startupMs,
      rssStartMb: round(r.rssStart / 2 ** 20, 1),
      rssEndMb: rss === undefined ? null : round(rss / 2 ** 20, 1),
      rounds: mine.length,
      cpuUs: round(median(mine.map((s) => s.cpuUs ?? NaN)), 2),
      deltaVsNoneUs: round(median(deltas), 2),
      deltaVsNoneRange: [round(Math.min(...deltas), 2), round(Math.max(...deltas), 2)],
      maxRps: round(median(mine.map((s) => s.maxRps)), 0),
      maxRatioVsNone: round(median(perRound(r.def.id, noneId, rpsRatio)), 3),
      maxCpuUs: round(median(mine.map((s) => s.maxCpuUs ?? NaN)), 2),
      maxCpuDeltaVsNoneUs: round(median(perRound(r.def.id, noneId, (a, b) => (a.maxCpuUs !== null && b.maxCpuUs !== null ? a.maxCpuUs - b.maxCpuUs : null))), 2),
      p50Us: round(median(mine.map((s) => s.p50Us ?? NaN)), 0),
      p99Us: round(median(mine.map((s) => s.p99Us ?? NaN)), 0),
      saturatedRounds: mine.filter((s) => s.saturated).length,
      closedLoopCpuRounds: mine.filter((s) => s.cpuFrom === 'closed-loop').length,
      foreignCores: round(median(mine.map((s) => s.foreignCores ?? NaN)), 2),
      problems: [...new Set(mine.flatMap((s) => s.problems))],
    };
  });
  const sizes = [...new Set(running.map((r) => r.def.size).filter((n): n is number => n !== null))].sort((a, b) => a - b);
  const pairs: PairSummary[] = [];
  for (const n of sizes) {
    const mg = `${shape}/meshgate/${n}`;
    if (!running.some((r) => r.def.id === mg)) continue;
    const gaps = perRound(mg, `${shape}/wasm-fetch`, cpuDelta);
    const has = (id: string) => running.some((r) => r.def.id === id);
    const spread = (id: string, other: string, f: (a: SlotResult, b: SlotResult) => number | null, digits: number): Spread => {
      const xs = has(id) && has(other) ? perRound(id, other, f) : [];
      return xs.length ? { median: round(median(xs), digits), range: [round(Math.min(...xs), digits), round(Math.max(...xs), digits)] } : { median: null, range: [null, null] };
    };
    const mgNative = `${shape}/meshgate-native/${n}`;
    pairs.push({
      shape,
      size: n,
      gapVsFetchUs: round(median(gaps), 2),
      gapVsFetchRange: [round(Math.min(...gaps), 2), round(Math.max(...gaps), 2)],
      ratioVsClassic: has(`${shape}/rbac-classic/${n}`) ? round(median(perRound(mg, `${shape}/rbac-classic/${n}`, rpsRatio)), 3) : null,
      ratioVsMatcher: has(`${shape}/rbac-matcher/${n}`) ? round(median(perRound(mg, `${shape}/rbac-matcher/${n}`, rpsRatio)), 3) : null,
      gapVsNull: spread(mg, `${shape}/wasm-null`, cpuDelta, 2),
      native: has(mgNative)
        ? {
            cpuVsMatcherUs: spread(mgNative, `${shape}/rbac-matcher/${n}`, cpuDelta, 2),
            ratioVsMatcher: spread(mgNative, `${shape}/rbac-matcher/${n}`, rpsRatio, 3),
            ratioVsClassic: spread(mgNative, `${shape}/rbac-classic/${n}`, rpsRatio, 3),
          }
        : null,
    });
  }
  return { variants, pairs };
}

async function runShape(shape: Shape, pki: BenchPki, wasm: WasmFiles, o: EnvoyBenchOptions, rand: () => number): Promise<ShapeResult> {
  const defs = await buildVariants(shape, o.sizes, pki, wasm);
  const running: Running[] = [];
  const rssEnd = new Map<string, number>();
  try {
    for (const def of defs) {
      const r = await startVariant(def, o.envoy, o.nice);
      running.push(r);
      o.log(`  started ${def.id} in ${r.startupMs} ms (config ${def.configBytes} B, RSS ${(r.rssStart / 2 ** 20).toFixed(0)} MB)`);
      await sanityCheck(r);
    }
    // warm-up round: JIT, caches, connection pools; none's maximum sets the fixed rate
    let noneWarm = 0;
    for (const r of running) {
      const w = await closedLoop(r, o.connections, 200, o.warmupMs);
      if (r.def.kind === 'none') noneWarm = w.rps;
      o.log(`  warm-up ${r.def.id}: ${w.rps.toFixed(0)} req/s${w.util !== null ? `, worker ${(w.util * 100).toFixed(0)}%` : ''}`);
    }
    const rate = Math.max(100, Math.round(noneWarm * o.rateFraction));
    o.log(`  fixed rate for ${shape}: ${rate} req/s (${o.rateFraction} × none's ${noneWarm.toFixed(0)} req/s)`);
    const slots: SlotResult[] = [];
    const order: string[][] = [];
    for (let roundNo = 1; roundNo <= o.rounds; roundNo++) {
      const seq = shuffle(running, rand);
      order.push(seq.map((r) => r.def.id));
      for (let i = 0; i < seq.length; i++) {
        const s = await slot(seq[i], o, rate, roundNo, i);
        slots.push(s);
        o.log(
          `  round ${roundNo} ${s.variant}: max ${s.maxRps.toFixed(0)} req/s (${s.maxCpuUs?.toFixed(2) ?? '-'} µs CPU/req); at ${rate}/s: ${s.cpuUs?.toFixed(2) ?? '-'} µs CPU/req, ` +
            `p50 ${s.p50Us?.toFixed(0) ?? '-'} µs, p99 ${s.p99Us?.toFixed(0) ?? '-'} µs${s.saturated ? ' (saturated)' : ''}` +
            `${s.foreignCores !== null && s.foreignCores > 0.25 ? `, other processes ${s.foreignCores.toFixed(2)} cores` : ''}` +
            `${s.problems.length ? ` PROBLEMS: ${s.problems.join('; ')}` : ''}`,
        );
      }
    }
    for (const r of running) rssEnd.set(r.def.id, rssBytes(r.pid));
    const cacheProbe = shape === 'mtls' && o.cacheProbe ? await probeCache(running, o) : null;
    const { variants, pairs } = summarize(shape, running, slots, rssEnd);
    return { shape, rate, noneWarmupRps: Math.round(noneWarm), order, slots, variants, pairs, cacheProbe };
  } finally {
    for (const r of running) await r.envoy.stop();
  }
}

/**
 * meshgate caches the peer identity per connection in 256 entries per worker, 4-way
 * set-associative by connection.id (assembly/filter/peer.ts). With more live connections than
 * that (or more than 4 whose ids share their low 6 bits), a request may evict another
 * connection's entry, whose certificate is then fetched and parsed again. This probe measures
 * none, wasm-fetch (which fetches the certificate on a miss, unparsed) and meshgate in a closed
 * loop at two connection counts, interleaved.
 */
async function probeCache(running: Running[], o: EnvoyBenchOptions): Promise<CacheProbeRow[]> {
  const p = o.cacheProbe!;
  const size = o.sizes.includes(1000) ? 1000 : o.sizes[0];
  const picks = running.filter((r) => r.def.kind === 'none' || r.def.kind === 'wasm-fetch' || (r.def.kind === 'meshgate' && r.def.size === size));
  const samples = new Map<string, { cpu: number[]; rps: number[] }>();
  for (let rep = 0; rep < p.reps; rep++) {
    for (const conns of p.connections) {
      for (const r of picks) {
        await o.gate.wait();
        const g = await LoadGenerator.connect(r.port, connectionsFor(r.def, conns));
        try {
          let a: CpuSample | undefined;
          let b: CpuSample | undefined;
          const res = await g.run({ mode: 'closed', warmMs: 200, windowMs: p.windowMs, latency: false, onWindowStart: () => (a = cpuSample(r.pid)), onWindowEnd: () => (b = cpuSample(r.pid)) });
          const key = `${r.def.id}@${conns}`;
          if (!samples.has(key)) samples.set(key, { cpu: [], rps: [] });
          if (a && b && res.completed > 0) samples.get(key)!.cpu.push(cpuDeltaNs(a, b).ns / res.completed / 1000);
          samples.get(key)!.rps.push(res.achievedPerSec);
        } finally {
          g.close();
        }
      }
    }
  }
  const rows: CacheProbeRow[] = [];
  for (const r of picks) {
    for (const conns of p.connections) {
      const s = samples.get(`${r.def.id}@${conns}`);
      rows.push({ variant: r.def.id, connections: conns, cpuUs: s ? round(median(s.cpu), 2) : null, maxRps: s ? round(median(s.rps), 0) : null });
    }
  }
  o.log(`  identity-cache probe: ${rows.map((x) => `${x.variant}@${x.connections}: ${x.cpuUs} µs`).join(', ')}`);
  return rows;
}

/**
 * Envoy RSS after n1 and after n2 requests through meshgate or meshgate-native (mTLS, 1,000
 * identities); null when that variant is not built (meshgate-native without its library).
 */
async function envoyMemory(kind: 'meshgate' | 'meshgate-native', pki: BenchPki, wasm: WasmFiles, o: EnvoyBenchOptions): Promise<EnvoyMemoryResult | null> {
  const size = o.sizes.includes(1000) ? 1000 : o.sizes[0];
  const def = (await buildVariants('mtls', [size], pki, wasm)).find((d) => d.kind === kind);
  if (!def) return null;
  const r = await startVariant(def, o.envoy, o.nice);
  try {
    const g = await LoadGenerator.connect(r.port, connectionsFor(def, o.connections));
    const total = async () => (await r.envoy.stats())['http.bench.downstream_rq_total'] ?? 0;
    const driveTo = async (target: number) => {
      for (;;) {
        const done = await total();
        if (done >= target) return done;
        const res = await g.run({ mode: 'closed', warmMs: 0, windowMs: Math.min(1000, Math.max(50, ((target - done) / 30_000) * 1000)), latency: false });
        const bad = problemsOf(res);
        if (bad.length) throw new Error(`memory check: ${bad.join(', ')}`);
      }
    };
    try {
      const n1 = await driveTo(o.memoryRequests[0]);
      const rss1 = rssBytes(r.pid);
      o.log(`  Envoy RSS after ${n1} requests: ${(rss1 / 2 ** 20).toFixed(1)} MB`);
      const n2 = await driveTo(o.memoryRequests[1]);
      const rss2 = rssBytes(r.pid);
      o.log(`  Envoy RSS after ${n2} requests: ${(rss2 / 2 ** 20).toFixed(1)} MB`);
      return { variant: def.id, requests: [n1, n2], rssMb: [round(rss1 / 2 ** 20, 2)!, round(rss2 / 2 ** 20, 2)!], growthMb: round((rss2 - rss1) / 2 ** 20, 2)! };
    } finally {
      g.close();
    }
  } finally {
    await r.envoy.stop();
  }
}

export async function runEnvoyBench(pki: BenchPki, wasm: WasmFiles, o: EnvoyBenchOptions): Promise<EnvoyBenchResult> {
  const rand = seededRandom(o.seed);
  const shapes: ShapeResult[] = [];
  for (const shape of o.shapes) {
    o.log(`Envoy: shape ${shape}`);
    shapes.push(await runShape(shape, pki, wasm, o, rand));
  }
  o.log('Envoy: memory over requests (meshgate)');
  const memory = await envoyMemory('meshgate', pki, wasm, o);
  o.log('Envoy: memory over requests (meshgate-native)');
  const memoryNative = await envoyMemory('meshgate-native', pki, wasm, o);
  return { shapes, memory, memoryNative };
}
