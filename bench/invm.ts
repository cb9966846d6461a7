/**
 * Inside the VM (V8 in Node, the engine Envoy embeds): what a decision costs, what building the
 * rule tables costs, and whether memory stays flat.
 *
 * 1. Decision (build/bench-decide.wasm, the filters' decision code at meshgate's release
 *    optimization): per request, the identity copied from the per-connection cache, the request
 *    facts parsed, decideInbound/decideEgress. Policies of N identities (the Envoy bench policy),
 *    N path entries and N egress host entries; `hit` requests are allowed by the N-entry rule
 *    (64 callers / paths / hosts spread over the list, shuffled), `miss` requests are not (the
 *    default deny, which also computes the nearest rule for the log). Timed in batches of 16
 *    decisions (a clock call per decision would cost more than the decision); ns per decision =
 *    (batch time − the time of an empty call) / 16; median and p99 over the batches.
 * 2. Callbacks in the emulator (harness/emulator ProxyWasmVm): on_context_create +
 *    on_request_headers of meshgate_inbound and of bench-fetch, per call, through the emulator's
 *    host functions (which are JavaScript, far slower than Envoy's C++: only the difference
 *    meshgate − fetch carries over), with the peer's identity cached (8 connections) and with a new
 *    connection per request (the certificate parsed every time).
 * 3. Memory (emulator, build/meshgate.wasm): module memory after 10^4 and after 10^6 requests; and
 *    across re-configures with a 10,000-rule policy (a new root context per configuration, the old
 *    one released, as Envoy does on a config change).
 */
import * as fs from 'node:fs';
import { peerCertificate, presentRequest, type EnvoyRequest, type PeerCertificate } from '../harness/emulator/request';
import { ProxyWasmVm } from '../harness/emulator/vm';
import { TestCa } from '../harness/pki/ca';
import {
  EGRESS_CALLER_NS, TRUST_DOMAIN, egressPolicy, hostAt, identityAt, inboundPolicy, spreadPositions,
} from './policies';
import { median, quantile, round, seededRandom, shuffle } from './stats';
import type { PolicyDocument } from '../harness/policy/model';
import type { QuietGate } from './proc';

// lib is ES2022 without DOM typings: reach the WebAssembly API untyped.
const WA: any = (globalThis as any).WebAssembly;

export interface InVmOptions {
  sizes: number[];
  /** Timed batches per case. */
  batches: number;
  /** Emulator: timed callbacks per case. */
  callbacks: number;
  /** Emulator memory check: requests before the first and the second reading. */
  memoryRequests: [number, number];
  /** Re-configures and rules per policy. */
  reconfigures: number;
  reconfigureRules: number;
  /** Waits for a quiet machine before each timed case. */
  gate?: QuietGate;
  log: (s: string) => void;
}

export interface DecisionRow {
  dimension: 'identities' | 'paths' | 'hosts';
  size: number;
  case: 'hit' | 'miss';
  p50Ns: number | null;
  p99Ns: number | null;
  meanNs: number | null;
  /**
   * Mean ns per decision when every request is the first on its connection: the identity's
   * remembered `from` results are dropped before each decision, so the identity tables are
   * consulted again (what a new connection pays once; later requests reuse the results).
   */
  firstOnConnectionMeanNs: number | null;
  /** Every decision gave the expected answer (hit = allowed, miss = denied). */
  correct: boolean;
  /**
   * Mean ns per request of each step, timed separately over 200,000 requests: the identity taken
   * from the connection cache (by reference), the request facts (method class, canonical-path
   * scan / authority parsing), and the decision on ready facts (path hashes on demand included).
   */
  steps: { identityNs: number | null; factsNs: number | null; decideNs: number | null };
}

export interface BuildRow {
  dimension: 'identities' | 'paths' | 'hosts';
  size: number;
  configBytes: number;
  /** compilePolicy: JSON parse + validation + rule tables, ms (median of the timed builds). */
  buildMs: number | null;
  /** Unmanaged rule-table bytes (the policy arena). */
  tableBytes: number;
  /** Growth of the module's linear memory on the first build, bytes. */
  memoryGrowthBytes: number;
}

export interface CallbackRow {
  size: number;
  cache: 'hit' | 'miss';
  meshgateP50Us: number | null;
  meshgateP99Us: number | null;
  fetchP50Us: number | null;
  fetchP99Us: number | null;
  /** meshgate − fetch, medians. */
  gapP50Us: number | null;
}

export interface MemoryResult {
  requests: [number, number];
  moduleBytes: [number, number];
  growthBytes: number;
  reconfigure: {
    rules: number;
    count: number;
    /** Module memory after configure #1, #10%, #50%, #100% of the run. */
    checkpoints: Array<{ after: number; moduleBytes: number }>;
    /** Growth over the second half of the re-configures (0 = bounded). */
    growthSecondHalfBytes: number;
    configureMsMedian: number | null;
    allOk: boolean;
  };
}

export interface InVmResult {
  decisions: DecisionRow[];
  builds: BuildRow[];
  callbacks: CallbackRow[];
  memory: MemoryResult;
}

// ---- the decide module ----------------------------------------------------------------------

interface DecideExports {
  memory: { buffer: ArrayBuffer };
  bd_alloc(n: number): number;
  bd_free(p: number): void;
  bd_compile(role: number, ptr: number, len: number): number;
  bd_arena_bytes(): number;
  bd_memory_bytes(): number;
  bd_clear_requests(): void;
  bd_add_request(idPtr: number, idLen: number, aPtr: number, aLen: number, bPtr: number, bLen: number): number;
  bd_run(egress: number, start: number, n: number, firstOnConnection: number): number;
  bd_run_parts(egress: number, start: number, n: number, mode: number): number;
}

async function loadDecide(file: string): Promise<DecideExports> {
  const env = { proxy_log: () => 0 };
  const { instance } = await WA.instantiate(fs.readFileSync(file), { env });
  const ex = instance.exports;
  ex._initialize?.();
  return ex as DecideExports;
}

function put(ex: DecideExports, s: string | null): [number, number] {
  if (s === null) return [0, -1];
  const b = Buffer.from(s, 'utf8');
  const p = ex.bd_alloc(b.length);
  new Uint8Array(ex.memory.buffer, p, b.length).set(b);
  return [p, b.length];
}

interface Req {
  id: string | null;
  a: string;
  b: string;
}

function pathsPolicy(n: number): PolicyDocument {
  return {
    trustDomain: TRUST_DOMAIN,
    identity: { from: 'peer-certificate' },
    inbound: {
      default: 'deny',
      rules: [
        { name: 'no-admin', action: 'deny', paths: ['/admin', '/admin/*'] },
        { name: 'routes', from: ['*'], methods: ['GET', 'POST'], paths: Array.from({ length: n }, (_, i) => pathEntry(i)) },
      ],
    },
  };
}

/** Even entries are segment prefixes, odd ones exact paths. */
function pathEntry(i: number): string {
  return i % 2 === 0 ? `/svc-${i}/*` : `/svc-${i}/items`;
}

function pathHit(i: number): string {
  return i % 2 === 0 ? `/svc-${i}/items/42` : `/svc-${i}/items`;
}

function casesFor(dimension: DecisionRow['dimension'], n: number): { doc: PolicyDocument; egress: boolean; hit: Req[]; miss: Req[] } {
  const pos = spreadPositions(n, 64);
  const some = identityAt(0);
  if (dimension === 'identities') {
    return {
      doc: inboundPolicy(n, 'peer-certificate'),
      egress: false,
      hit: pos.map((i, k) => ({ id: identityAt(i), a: 'GET', b: `/api/items/${k}` })),
      miss: pos.map((_, k) => ({ id: `spiffe://${TRUST_DOMAIN}/ns/team-${k}/sa/outsider-${k}`, a: 'GET', b: `/api/items/${k}` })),
    };
  }
  if (dimension === 'paths') {
    return {
      doc: pathsPolicy(n),
      egress: false,
      hit: pos.map((i) => ({ id: some, a: 'GET', b: pathHit(i) })),
      miss: pos.map((_, k) => ({ id: some, a: 'GET', b: `/other-${k}/items` })),
    };
  }
  const caller = `${EGRESS_CALLER_NS}/sa/caller-0`;
  return {
    doc: egressPolicy(n),
    egress: true,
    hit: pos.map((i) => ({ id: caller, a: hostAt(i), b: 'https' })),
    miss: pos.map((_, k) => ({ id: caller, a: `svc-${k}.not-listed.example.net`, b: 'https' })),
  };
}

/** Mean ns per request of each decision step (see DecisionRow.steps). */
function timeSteps(ex: DecideExports, egress: boolean): DecisionRow['steps'] {
  const e = egress ? 1 : 0;
  const n = 200_000;
  const mean = (mode: number) => {
    ex.bd_run_parts(e, 0, 20_000, mode);
    const t0 = process.hrtime.bigint();
    ex.bd_run_parts(e, 0, n, mode);
    return Number(process.hrtime.bigint() - t0) / n;
  };
  const copy = mean(1);
  const facts = mean(2);
  const both = mean(3);
  // decide alone re-decides the facts of the last request set (mode 3 ran last)
  const decide = mean(4);
  void both;
  return { identityNs: round(copy, 1), factsNs: round(facts, 1), decideNs: round(decide, 1) };
}

function timeDecisions(ex: DecideExports, egress: boolean, count: number, batches: number): { perNs: number[]; meanNs: number; firstMeanNs: number; allowed: number } {
  const B = 16;
  const e = egress ? 1 : 0;
  // warm-up: tables come into cache, and V8 tiers the module up. The optimized code is compiled in
  // the background and used from the next call on (a running Wasm call never switches), so warm up
  // in many calls over at least 200 ms, not one long call: the first timed case of a fresh process
  // otherwise ran on the baseline code (70–105 ns instead of ≈ 51).
  const warmUntil = Date.now() + 200;
  for (let k = 0; k < 2000 && (k < 10 || Date.now() < warmUntil); k++) ex.bd_run(e, 0, 2_000, 0);
  // the cost of an empty call + clock reads
  const empty: number[] = [];
  for (let i = 0; i < 2000; i++) {
    const t0 = process.hrtime.bigint();
    ex.bd_run(e, 0, 0, 0);
    empty.push(Number(process.hrtime.bigint() - t0));
  }
  const overhead = median(empty);
  const perNs: number[] = [];
  let allowed = 0;
  let start = 0;
  for (let i = 0; i < batches; i++) {
    const t0 = process.hrtime.bigint();
    allowed += ex.bd_run(e, start, B, 0);
    const dt = Number(process.hrtime.bigint() - t0);
    perNs.push(Math.max(0, dt - overhead) / B);
    start = (start + B) % count;
  }
  const bulkN = 200_000;
  const t0 = process.hrtime.bigint();
  ex.bd_run(e, 0, bulkN, 0);
  const meanNs = Number(process.hrtime.bigint() - t0) / bulkN;
  // every decision as the first of its connection: the identity's rule results are looked up again
  const t1 = process.hrtime.bigint();
  ex.bd_run(e, 0, bulkN, 1);
  const firstMeanNs = Number(process.hrtime.bigint() - t1) / bulkN;
  return { perNs, meanNs, firstMeanNs, allowed };
}

/** Decisions and rule-table builds of bench-decide.wasm (`decideFile`) per dimension and size. */
export async function decisionBench(decideFile: string, o: InVmOptions, dimensions: readonly DecisionRow['dimension'][] = ['identities', 'paths', 'hosts']): Promise<{ decisions: DecisionRow[]; builds: BuildRow[] }> {
  const decisions: DecisionRow[] = [];
  const builds: BuildRow[] = [];
  const rand = seededRandom(7);
  for (const dimension of dimensions) {
    for (const n of o.sizes) {
      // a fresh instance per policy: memory growth and build time are those of one configure
      const ex = await loadDecide(decideFile);
      const { doc, egress, hit, miss } = casesFor(dimension, n);
      const json = JSON.stringify(doc);
      const [cp, cl] = put(ex, json);
      const mem0 = ex.bd_memory_bytes();
      const buildTimes: number[] = [];
      let ok = true;
      const reps = n >= 100_000 ? 2 : n >= 1000 ? 5 : 20;
      let growth = 0;
      let tableBytes = 0;
      for (let r = 0; r < reps; r++) {
        const t0 = process.hrtime.bigint();
        ok = ex.bd_compile(egress ? 1 : 0, cp, cl) === 1 && ok;
        buildTimes.push(Number(process.hrtime.bigint() - t0) / 1e6);
        if (r === 0) {
          growth = ex.bd_memory_bytes() - mem0;
          tableBytes = ex.bd_arena_bytes();
        }
      }
      if (!ok) throw new Error(`bench-decide: the ${dimension} policy of size ${n} did not compile`);
      builds.push({ dimension, size: n, configBytes: cl, buildMs: round(median(buildTimes), 3), tableBytes, memoryGrowthBytes: growth });
      for (const [kind, reqs] of [['hit', hit], ['miss', miss]] as const) {
        ex.bd_clear_requests();
        for (const r of shuffle(reqs, rand)) {
          const [ip, il] = put(ex, r.id);
          const [ap, al] = put(ex, r.a);
          const [bp, bl] = put(ex, r.b);
          ex.bd_add_request(ip, il, ap, al, bp, bl);
        }
        await o.gate?.wait();
        const t = timeDecisions(ex, egress, reqs.length, o.batches);
        const expectAllowed = kind === 'hit' ? o.batches * 16 : 0;
        decisions.push({
          dimension,
          size: n,
          case: kind,
          p50Ns: round(median(t.perNs), 1),
          p99Ns: round(quantile(t.perNs, 0.99), 1),
          meanNs: round(t.meanNs, 1),
          firstOnConnectionMeanNs: round(t.firstMeanNs, 1),
          correct: t.allowed === expectAllowed,
          steps: timeSteps(ex, egress),
        });
        o.log(`  in-VM decision ${dimension}=${n} ${kind}: p50 ${median(t.perNs).toFixed(1)} ns, p99 ${quantile(t.perNs, 0.99).toFixed(1)} ns, mean ${t.meanNs.toFixed(1)} ns, first on a connection ${t.firstMeanNs.toFixed(1)} ns`);
      }
    }
  }
  return { decisions, builds };
}

// ---- emulator: callbacks and memory ----------------------------------------------------------

async function mintPeers(ids: string[]): Promise<PeerCertificate[]> {
  const ca = await TestCa.create({ trustDomain: TRUST_DOMAIN });
  const out: PeerCertificate[] = [];
  for (const id of ids) out.push(peerCertificate((await ca.mintSvid(id)).certPem));
  return out;
}

/** The request every emulator measurement sends (allowed by the inbound bench policy). */
const REQUEST: EnvoyRequest = { method: 'GET', path: '/api/items/1', authority: 'bench', scheme: 'https' };

let nextConnectionId = 1000n;

/** One request through the emulator; returns the ns of on_context_create + on_request_headers. */
function oneRequest(plugin: ReturnType<ProxyWasmVm['startPlugin']>, connectionId: bigint, peer: PeerCertificate): { ns: number; status: string } {
  const stream = plugin.newHttpStream(presentRequest({ ...REQUEST, connectionId, peer }));
  const t0 = process.hrtime.bigint();
  const r = stream.sendRequestHeaders();
  const ns = Number(process.hrtime.bigint() - t0);
  if (r.action === 'continue') stream.sendResponseHeaders();
  stream.complete();
  return { ns, status: r.localReply ? String(r.localReply.status) : r.action };
}

async function callbackBench(files: { meshgate: string; fetch: string }, o: InVmOptions, peersBySize: Map<number, PeerCertificate[]>): Promise<CallbackRow[]> {
  const rows: CallbackRow[] = [];
  for (const n of o.sizes) {
    const peers = peersBySize.get(n)!;
    const json = JSON.stringify(inboundPolicy(n, 'peer-certificate'));
    const timings: Record<string, Record<'hit' | 'miss', number[]>> = {};
    for (const which of ['meshgate', 'fetch'] as const) {
      await o.gate?.wait();
      const vm = await ProxyWasmVm.load(files[which]);
      const plugin = vm.startPlugin({ rootId: which === 'meshgate' ? 'meshgate_inbound' : 'bench_fetch', configuration: json });
      if (!plugin.ok) throw new Error(`emulator: ${which} refused the configuration: ${plugin.failure}`);
      const conns = peers.map((peer) => ({ id: nextConnectionId++, peer }));
      const run = (count: number, cache: 'hit' | 'miss', record: number[] | null) => {
        for (let i = 0; i < count; i++) {
          const c = conns[i % conns.length];
          const r = oneRequest(plugin, cache === 'hit' ? c.id : nextConnectionId++, c.peer);
          if (r.status !== 'continue') throw new Error(`emulator: ${which} answered ${r.status} to an allowed request (size ${n})`);
          record?.push(r.ns);
        }
      };
      timings[which] = { hit: [], miss: [] };
      run(Math.min(2000, o.callbacks), 'hit', null); // warm-up
      run(o.callbacks, 'hit', timings[which].hit);
      run(Math.min(500, o.callbacks), 'miss', null);
      run(Math.max(100, Math.floor(o.callbacks / 4)), 'miss', timings[which].miss);
      if (vm.failed) throw new Error(`emulator: ${which} trapped: ${vm.failed}`);
    }
    for (const cache of ['hit', 'miss'] as const) {
      const m = timings.meshgate[cache];
      const f = timings.fetch[cache];
      rows.push({
        size: n,
        cache,
        meshgateP50Us: round(median(m) / 1000, 3),
        meshgateP99Us: round(quantile(m, 0.99) / 1000, 3),
        fetchP50Us: round(median(f) / 1000, 3),
        fetchP99Us: round(quantile(f, 0.99) / 1000, 3),
        gapP50Us: round((median(m) - median(f)) / 1000, 3),
      });
      o.log(`  emulator callbacks ${n} ids, identity cache ${cache}: meshgate p50 ${(median(m) / 1000).toFixed(2)} µs, fetch p50 ${(median(f) / 1000).toFixed(2)} µs`);
    }
  }
  return rows;
}

function reconfigurePolicy(rules: number, generation: number): string {
  const doc: PolicyDocument = {
    trustDomain: TRUST_DOMAIN,
    identity: { from: 'peer-certificate' },
    inbound: {
      default: 'deny',
      rules: [
        { name: 'no-admin', action: 'deny', paths: ['/admin', '/admin/*'] },
        ...Array.from({ length: rules - 1 }, (_, i) => ({
          name: `g${generation % 2}-r${i}`,
          from: [identityAt(i)],
          methods: ['GET'],
          paths: [`/svc-${i}/*`],
        })),
      ],
    },
  };
  return JSON.stringify(doc);
}

async function memoryBench(meshgateFile: string, o: InVmOptions, peers: PeerCertificate[]): Promise<MemoryResult> {
  // 1. flat over requests
  const vm = await ProxyWasmVm.load(meshgateFile);
  const plugin = vm.startPlugin({ rootId: 'meshgate_inbound', configuration: JSON.stringify(inboundPolicy(1000, 'peer-certificate')) });
  if (!plugin.ok) throw new Error(`emulator: meshgate refused the memory-check policy: ${plugin.failure}`);
  const conns = peers.map((peer) => ({ id: nextConnectionId++, peer }));
  const [n1, n2] = o.memoryRequests;
  const drive = (from: number, to: number) => {
    for (let i = from; i < to; i++) {
      const c = conns[i % conns.length];
      // every 100th request arrives on a new connection (a certificate parse, a cache slot reused)
      const r = oneRequest(plugin, i % 100 === 99 ? nextConnectionId++ : c.id, c.peer);
      if (r.status !== 'continue') throw new Error(`emulator: meshgate answered ${r.status} during the memory check`);
    }
  };
  drive(0, n1);
  const m1 = vm.memoryBytes();
  drive(n1, n2);
  const m2 = vm.memoryBytes();
  o.log(`  module memory after ${n1} requests: ${m1} B, after ${n2}: ${m2} B`);

  // 2. bounded across re-configures: a new root per configuration, the old one released
  const rvm = await ProxyWasmVm.load(meshgateFile);
  let current = rvm.startPlugin({ rootId: 'meshgate_inbound', configuration: reconfigurePolicy(o.reconfigureRules, 0) });
  let allOk = current.ok;
  const checkpoints: Array<{ after: number; moduleBytes: number }> = [{ after: 1, moduleBytes: rvm.memoryBytes() }];
  const marks = new Set([Math.max(1, Math.round(o.reconfigures / 10)), Math.round(o.reconfigures / 2), o.reconfigures]);
  const configureMs: number[] = [];
  for (let g = 2; g <= o.reconfigures; g++) {
    const t0 = process.hrtime.bigint();
    const next = rvm.startPlugin({ rootId: 'meshgate_inbound', configuration: reconfigurePolicy(o.reconfigureRules, g) });
    configureMs.push(Number(process.hrtime.bigint() - t0) / 1e6);
    allOk = allOk && next.ok;
    const c = conns[g % conns.length];
    oneRequest(next, c.id, c.peer);
    current.done();
    current = next;
    if (marks.has(g)) checkpoints.push({ after: g, moduleBytes: rvm.memoryBytes() });
  }
  if (rvm.failed) allOk = false;
  const half = checkpoints.find((c) => c.after === Math.round(o.reconfigures / 2)) ?? checkpoints[0];
  const last = checkpoints[checkpoints.length - 1];
  o.log(`  re-configures (${o.reconfigureRules} rules): ${checkpoints.map((c) => `#${c.after}: ${c.moduleBytes} B`).join(', ')}`);
  return {
    requests: [n1, n2],
    moduleBytes: [m1, m2],
    growthBytes: m2 - m1,
    reconfigure: {
      rules: o.reconfigureRules,
      count: o.reconfigures,
      checkpoints,
      growthSecondHalfBytes: last.moduleBytes - half.moduleBytes,
      configureMsMedian: round(median(configureMs), 1),
      allOk,
    },
  };
}

export async function runInVm(files: { meshgate: string; fetch: string; decide: string }, o: InVmOptions): Promise<InVmResult> {
  o.log('in-VM: decisions and rule tables (bench-decide.wasm)');
  const { decisions, builds } = await decisionBench(files.decide, o);
  o.log('in-VM: callbacks in the emulator (meshgate.wasm, bench-fetch.wasm)');
  const peersBySize = new Map<number, PeerCertificate[]>();
  for (const n of o.sizes) peersBySize.set(n, await mintPeers(spreadPositions(n, 8).map(identityAt)));
  const callbacks = await callbackBench(files, o, peersBySize);
  o.log('in-VM: memory (emulator, meshgate.wasm)');
  const memPeers = await mintPeers(spreadPositions(1000, 8).map(identityAt));
  const memory = await memoryBench(files.meshgate, o, memPeers);
  return { decisions, builds, callbacks, memory };
}
