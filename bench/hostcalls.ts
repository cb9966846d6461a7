/**
 * What one proxy-wasm host call costs inside Envoy — the profile behind meshgate's per-request
 * cost. build/bench-calls.wasm performs, per request, the host calls its configuration names
 * (assembly/bench/calls.ts); each call kind runs REPEAT times per request in its own Envoy, next to
 * the same module making no call and to no filter at all. Plain HTTP listener, direct_response,
 * `--concurrency 1`, keep-alive connections, a closed loop; Envoy CPU per request from /proc.
 * Rounds visit the variants in a shuffled order; per round, (kind×10 − empty) / 10 is the cost of
 * one call; the report gives the median over rounds and the range.
 */
import { bootstrap, directResponseRoute, httpListener, wasmFilter, type Json } from '../harness/envoy/bootstrap';
import { EnvoyProcess } from '../harness/envoy/process';
import type { LocatedEnvoy } from '../harness/envoy/locate';
import { LoadGenerator } from './loadgen';
import { requestBytes } from './policies';
import { cpuDeltaNs, cpuSample, setProcessPriority, type CpuSample, type QuietGate } from './proc';
import { maxOf, median, minOf, round, seededRandom, shuffle } from './stats';

/** The call kinds, by configuration letter. */
export const CALL_KINDS: ReadonlyArray<{ letter: string; call: string }> = [
  { letter: 'c', call: 'proxy_get_property(connection.id)' },
  { letter: 'm', call: 'proxy_get_header_map_value(:method)' },
  { letter: 'h', call: 'proxy_get_header_map_pairs (the whole request map, 3 headers + pseudo-headers)' },
  { letter: 's', call: 'proxy_set_property (filter state, 98 bytes)' },
  { letter: 'i', call: 'proxy_increment_metric' },
];
/** Calls of one kind per request: enough that their cost stands well above Envoy's per-request
 *  noise (± several µs on a shared 2-core machine), and the generator keeps Envoy saturated. */
const REPEAT = 50;

export interface HostCallOptions {
  rounds: number;
  connections: number;
  warmMs: number;
  windowMs: number;
  gate: QuietGate;
  nice: number | null;
  envoy: LocatedEnvoy;
  seed: number;
  log: (s: string) => void;
}

export interface HostCallRow {
  call: string;
  /** µs of Envoy CPU per call: median over rounds of (variant − empty module) / REPEAT. */
  usPerCall: number | null;
  range: [number | null, number | null];
}

export interface HostCallResult {
  repeat: number;
  rows: HostCallRow[];
  /** Envoy CPU µs per request: no filter, and the module making no call (medians). */
  noneUs: number | null;
  emptyModuleUs: number | null;
  /** The module making no call − no filter: the floor of any filter built on this binding. */
  moduleFloorUs: number | null;
}

function bootstrapFor(wasm: string, ops: string | null): Json {
  const filters = ops === null ? [] : [wasmFilter({ pluginName: 'bench_calls', rootId: 'bench_calls', wasmFile: wasm, configuration: ops })];
  return bootstrap({
    listeners: [
      httpListener({ name: 'bench', statPrefix: 'bench', routes: [directResponseRoute(200)], httpFilters: filters, hcm: { generate_request_id: false } }),
    ],
  });
}

export async function runHostCalls(wasm: string, o: HostCallOptions): Promise<HostCallResult> {
  const variants: Array<{ id: string; ops: string | null }> = [
    { id: 'none', ops: null },
    { id: 'empty', ops: '' },
    ...CALL_KINDS.map((k) => ({ id: k.letter, ops: k.letter.repeat(REPEAT) })),
  ];
  const request = requestBytes('GET', '/api/items/1', 'bench', { 'user-agent': 'meshgate-bench', accept: '*/*', 'x-request-kind': 'bench' });
  const running: Array<{ id: string; envoy: EnvoyProcess; pid: number; port: number }> = [];
  const cpu = new Map<string, number[]>();
  try {
    for (const v of variants) {
      const envoy = await EnvoyProcess.start({ bootstrap: bootstrapFor(wasm, v.ops), concurrency: 1, logLevel: 'warning', envoy: o.envoy });
      const pid = envoy.envoyPid();
      if (pid === undefined) throw new Error(`host calls: Envoy pid unknown (${v.id})`);
      if (o.nice !== null) setProcessPriority(pid, o.nice);
      running.push({ id: v.id, envoy, pid, port: await envoy.listenerPort('bench') });
      cpu.set(v.id, []);
    }
    const rand = seededRandom(o.seed);
    for (let r = 0; r < o.rounds; r++) {
      for (const v of shuffle(running, rand)) {
        await o.gate.wait();
        const g = await LoadGenerator.connect(v.port, Array.from({ length: o.connections }, () => ({ requests: [request] })));
        try {
          let a: CpuSample | undefined;
          let b: CpuSample | undefined;
          const res = await g.run({
            mode: 'closed', warmMs: o.warmMs, windowMs: o.windowMs, latency: false,
            onWindowStart: () => (a = cpuSample(v.pid)), onWindowEnd: () => (b = cpuSample(v.pid)),
          });
          const bad = Object.keys(res.statuses).filter((s) => s !== '200');
          if (bad.length || res.errors.length) throw new Error(`host calls: ${v.id} answered ${JSON.stringify(res.statuses)} ${res.errors.join('; ')}\n${v.envoy.logTail(20)}`);
          if (a && b && res.completed > 0) cpu.get(v.id)!.push(cpuDeltaNs(a, b).ns / res.completed / 1000);
        } finally {
          g.close();
        }
      }
    }
  } finally {
    for (const v of running) await v.envoy.stop();
  }
  const perRound = (id: string) => cpu.get(id) ?? [];
  const empty = perRound('empty');
  const rows = CALL_KINDS.map((k) => {
    const mine = perRound(k.letter);
    const per = mine.map((x, i) => (i < empty.length ? (x - empty[i]) / REPEAT : NaN)).filter(Number.isFinite);
    return { call: k.call, usPerCall: round(median(per), 3), range: [round(minOf(per), 3), round(maxOf(per), 3)] as [number | null, number | null] };
  });
  const none = perRound('none');
  const floor = empty.map((x, i) => (i < none.length ? x - none[i] : NaN)).filter(Number.isFinite);
  const result: HostCallResult = {
    repeat: REPEAT,
    rows,
    noneUs: round(median(none), 2),
    emptyModuleUs: round(median(empty), 2),
    moduleFloorUs: round(median(floor), 2),
  };
  o.log(`  host calls (µs each): ${rows.map((x) => `${x.call} ${x.usPerCall}`).join('; ')}; module floor ${result.moduleFloorUs} µs`);
  return result;
}
