/**
 * What the benchmark reads about the Envoy process from Linux /proc.
 *
 * CPU: `/proc/<pid>/stat` utime+stime (clock ticks, USER_HZ) is the documented source; it is
 * reported in 10 ms steps, so each read is also paired with the sum of `/proc/<pid>/task/<tid>/schedstat`
 * field 1 over all threads — the same quantity (time on CPU, the kernel's sum_exec_runtime) in
 * nanoseconds. CPU per request uses schedstat when the kernel provides it, else stat.
 * Memory: VmRSS from `/proc/<pid>/status`.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';

const TICK_NS = 1e9 / 100; // USER_HZ is 100 on every Linux this runs on (getconf CLK_TCK)

export interface CpuSample {
  /** utime+stime of the whole process, ns (10 ms resolution). */
  statNs: number;
  /** Sum of per-thread schedstat run time, ns; NaN when schedstat is unavailable. */
  schedNs: number;
  /** Run time of Envoy's worker thread (`wrk:worker_0`), ns; NaN when not found. */
  workerNs: number;
  /** performance.now() at the read, ms. */
  atMs: number;
}

function read(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/** utime+stime of the process in ns from /proc/<pid>/stat. */
export function statCpuNs(pid: number): number {
  const s = read(`/proc/${pid}/stat`);
  if (!s) return NaN;
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  // after "pid (comm) ": [0] state ... [11] utime [12] stime
  return (Number(f[11]) + Number(f[12])) * TICK_NS;
}

export function cpuSample(pid: number): CpuSample {
  const atMs = performance.now();
  const statNs = statCpuNs(pid);
  let schedNs = 0;
  let workerNs = NaN;
  let ok = true;
  let tids: string[] = [];
  try {
    tids = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    ok = false;
  }
  for (const tid of tids) {
    const ss = read(`/proc/${pid}/task/${tid}/schedstat`);
    if (!ss) {
      ok = false;
      continue;
    }
    const ns = Number(ss.split(' ')[0]);
    schedNs += ns;
    if (read(`/proc/${pid}/task/${tid}/comm`).trim() === 'wrk:worker_0') workerNs = ns;
  }
  return { statNs, schedNs: ok && tids.length > 0 ? schedNs : NaN, workerNs, atMs };
}

/** CPU ns between two samples: schedstat when both have it, else stat. */
export function cpuDeltaNs(a: CpuSample, b: CpuSample): { ns: number; source: 'schedstat' | 'stat' } {
  if (Number.isFinite(a.schedNs) && Number.isFinite(b.schedNs)) return { ns: b.schedNs - a.schedNs, source: 'schedstat' };
  return { ns: b.statNs - a.statNs, source: 'stat' };
}

/** VmRSS of the process in bytes (NaN when unreadable). */
export function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+)\s+kB/.exec(read(`/proc/${pid}/status`));
  return m ? Number(m[1]) * 1024 : NaN;
}

/** Busy CPU of the whole machine, ns, from /proc/stat (everything but idle and iowait). */
export function machineBusyNs(): number {
  const line = read('/proc/stat').split('\n')[0] ?? '';
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  if (f.length < 5) return NaN;
  const total = f.slice(0, 8).reduce((a, b) => a + (Number.isFinite(b) ? b : 0), 0);
  return (total - f[3] - f[4]) * TICK_NS;
}

/** Cores used by other processes than this one over the next `ms` milliseconds. */
export async function foreignCores(ms: number): Promise<number> {
  const busy0 = machineBusyNs();
  const self0 = process.cpuUsage();
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, ms));
  const u = process.cpuUsage(self0);
  const busy = machineBusyNs() - busy0 - (u.user + u.system) * 1000;
  return Math.max(0, busy / 1e6 / (performance.now() - t0));
}

/**
 * Waits, before a measurement, until the rest of the machine is quiet: other processes below
 * `thresholdCores` over a 250 ms sample, for at most `maxWaitMs` per call and `budgetMs` per run.
 * The benchmark shares its 2 cores with whatever else runs; this keeps bursts of other work
 * (builds, test suites) out of most windows, and the report says how often it could not.
 */
export class QuietGate {
  waitedMs = 0;
  calls = 0;
  gaveUp = 0;

  constructor(
    private readonly budgetMs: number,
    private readonly maxWaitMs: number,
    private readonly thresholdCores = 0.3,
  ) {}

  async wait(): Promise<number> {
    this.calls++;
    const start = Date.now();
    for (;;) {
      const f = await foreignCores(250);
      const waited = Date.now() - start;
      if (f < this.thresholdCores) {
        this.waitedMs += waited;
        return f;
      }
      if (waited >= this.maxWaitMs || this.waitedMs + waited >= this.budgetMs) {
        this.waitedMs += waited;
        this.gaveUp++;
        return f;
      }
    }
  }
}

/** The nice value of the scheduler autogroup `pid` belongs to (null: no autogroups here). */
export function autogroupNice(pid: number | 'self'): number | null {
  const m = /nice\s+(-?\d+)/.exec(read(`/proc/${pid}/autogroup`));
  return m ? Number(m[1]) : null;
}

/**
 * Sets the nice value of the scheduler autogroup of `pid`. With autogroups (Linux's default for
 * desktop-style kernels, enabled here), CPU time is first shared between sessions, and a thread's
 * own nice value only counts inside its session: the autogroup's is what ranks it against other
 * sessions' work. Returns false when not permitted or not supported.
 */
export function setAutogroupNice(pid: number | 'self', nice: number): boolean {
  if (autogroupNice(pid) === null) return false;
  try {
    fs.writeFileSync(`/proc/${pid}/autogroup`, String(nice));
    return true;
  } catch {
    return false;
  }
}

/**
 * Sets the nice value of every thread of `pid` (Linux nice is per thread) and of its autogroup.
 * The benchmark runs Envoy and its own load generator at a higher priority than whatever else
 * shares the machine, so other work delays the measured processes less. Returns false when not
 * permitted.
 */
export function setProcessPriority(pid: number, nice: number): boolean {
  setAutogroupNice(pid, nice);
  let tids: string[];
  try {
    tids = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    tids = [String(pid)];
  }
  let ok = true;
  for (const tid of tids) {
    try {
      os.setPriority(Number(tid), nice);
    } catch {
      ok = false;
    }
  }
  return ok;
}
