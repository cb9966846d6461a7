/**
 * A small HTTP/1.1 load generator for the benchmark, in Node: keep-alive connections (plain TCP or
 * TLS with a client certificate, so no client-side proxy is needed for mTLS) opened before anything
 * is measured, each cycling through pre-formatted request bytes.
 *
 * Two ways to drive them:
 * - `closed`: every connection keeps `depth` requests in flight (depth > 1 = HTTP/1.1 pipelining),
 *   sending the next as soon as a response completes — the maximum rate the target sustains.
 * - `rate`: a fixed request rate; a 1 ms pump (and every completed response) sends the requests
 *   that are due on idle connections. If the target cannot keep up, requests are sent late, never
 *   dropped; `achievedPerSec` then falls short of the target rate and the phase is "saturated".
 *   Latency is measured from the moment a request was written to its last response byte.
 *
 * A phase is `warmMs` of traffic, then a measured window of `windowMs` bracketed by the
 * `onWindowStart` / `onWindowEnd` hooks (where the caller samples Envoy's CPU), then a drain of the
 * requests still in flight so the next phase starts clean.
 */
import * as net from 'node:net';
import * as tls from 'node:tls';

export interface ConnectionSpec {
  /** TLS options (trust bundle, client certificate); plain TCP when absent. */
  tls?: tls.ConnectionOptions;
  /** Requests this connection cycles through (complete HTTP/1.1 request bytes). */
  requests: Buffer[];
}

export interface PhaseOptions {
  mode: 'closed' | 'rate';
  /** `rate`: requests per second over all connections. */
  ratePerSec?: number;
  /** `closed`: requests in flight per connection (default 1). */
  depth?: number;
  warmMs: number;
  windowMs: number;
  onWindowStart?: () => void;
  onWindowEnd?: () => void;
  /** Record per-request latency in the window (default true for `rate`). */
  latency?: boolean;
  /** `rate`: also send due requests as responses free connections (default true); false = only on the 1 ms tick. */
  pumpOnResponse?: boolean;
}

export interface PhaseResult {
  /** Responses completed inside the window. */
  completed: number;
  windowMs: number;
  achievedPerSec: number;
  /** Response status → count, over the whole phase. */
  statuses: Record<string, number>;
  /** Latencies (ms) of requests sent and answered inside the window, unsorted. */
  latenciesMs: number[];
  /** Connections that failed during the phase. */
  errors: string[];
}

const CRLFCRLF = Buffer.from('\r\n\r\n');
const CONTENT_LENGTH = Buffer.from('content-length:');

class Conn {
  inflight = 0;
  private next = 0;
  private pending: Buffer | null = null;
  /** Send times of in-flight requests, FIFO. */
  private readonly sentAt: number[] = [];
  private sentHead = 0;
  dead: string | null = null;

  constructor(
    readonly socket: net.Socket,
    private readonly requests: Buffer[],
    private readonly owner: LoadGenerator,
  ) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (e) => this.fail(e.message));
    socket.on('close', () => this.fail('connection closed by the server'));
  }

  private fail(why: string): void {
    if (this.dead !== null) return;
    this.dead = why;
    this.owner.connectionFailed(this, why);
  }

  send(now: number): void {
    this.socket.write(this.requests[this.next]);
    this.next = this.next + 1 === this.requests.length ? 0 : this.next + 1;
    this.inflight++;
    this.sentAt.push(now);
  }

  private onData(chunk: Buffer): void {
    let data = chunk;
    if (this.pending !== null) {
      data = Buffer.concat([this.pending, chunk]);
      this.pending = null;
    }
    let off = 0;
    for (;;) {
      const headerEnd = data.indexOf(CRLFCRLF, off);
      if (headerEnd < 0) break;
      let bodyLen = 0;
      const cl = data.indexOf(CONTENT_LENGTH, off);
      if (cl >= 0 && cl < headerEnd) {
        let i = cl + CONTENT_LENGTH.length;
        while (data[i] === 0x20) i++;
        while (data[i] >= 0x30 && data[i] <= 0x39) bodyLen = bodyLen * 10 + (data[i++] - 0x30);
      }
      const end = headerEnd + 4 + bodyLen;
      if (end > data.length) break;
      const status = (data[off + 9] - 0x30) * 100 + (data[off + 10] - 0x30) * 10 + (data[off + 11] - 0x30);
      off = end;
      this.inflight--;
      const sent = this.sentAt[this.sentHead++];
      if (this.sentHead > 1024) {
        this.sentAt.splice(0, this.sentHead);
        this.sentHead = 0;
      }
      this.owner.responded(this, status, sent);
    }
    if (off < data.length) this.pending = data.subarray(off);
  }
}

interface PhaseState {
  opts: PhaseOptions;
  running: boolean;
  inWindow: boolean;
  windowStartMs: number;
  completed: number;
  statuses: Record<string, number>;
  latencies: number[];
  errors: string[];
  free: Conn[];
  sent: number;
  t0: number;
  drained?: () => void;
}

export class LoadGenerator {
  private readonly conns: Conn[] = [];
  private phase: PhaseState | null = null;

  private constructor() {}

  /** Opens every connection (TLS handshakes included) before returning. */
  static async connect(port: number, specs: ConnectionSpec[], host = '127.0.0.1'): Promise<LoadGenerator> {
    const g = new LoadGenerator();
    try {
      await Promise.all(
        specs.map(
          (spec) =>
            new Promise<void>((resolve, reject) => {
              const timer = setTimeout(() => reject(new Error(`connect to ${host}:${port} timed out`)), 10_000);
              const done = (s: net.Socket) => {
                clearTimeout(timer);
                s.removeAllListeners('error');
                g.conns.push(new Conn(s, spec.requests, g));
                resolve();
              };
              const s: net.Socket = spec.tls
                ? tls.connect({ host, port, checkServerIdentity: () => undefined, ...spec.tls }, () => done(s))
                : net.connect({ host, port }, () => done(s));
              s.once('error', (e) => {
                clearTimeout(timer);
                reject(e);
              });
            }),
        ),
      );
    } catch (e) {
      g.close();
      throw e;
    }
    return g;
  }

  get connections(): number {
    return this.conns.length;
  }

  /** @internal */
  connectionFailed(c: Conn, why: string): void {
    const p = this.phase;
    if (p) {
      p.errors.push(why);
      const i = p.free.indexOf(c);
      if (i >= 0) p.free.splice(i, 1);
      this.maybeDrained();
    }
  }

  /** @internal */
  responded(c: Conn, status: number, sentMs: number): void {
    const p = this.phase;
    if (!p) return;
    const now = performance.now();
    p.statuses[status] = (p.statuses[status] ?? 0) + 1;
    if (p.inWindow) {
      p.completed++;
      if (p.opts.latency !== false && sentMs >= p.windowStartMs) p.latencies.push(now - sentMs);
    }
    if (!p.running) {
      this.maybeDrained();
      return;
    }
    if (p.opts.mode === 'closed') {
      c.send(now);
    } else {
      p.free.push(c);
      if (p.opts.pumpOnResponse !== false) this.pump();
    }
  }

  private pump(): void {
    const p = this.phase;
    if (!p || !p.running) return;
    const now = performance.now();
    const due = Math.floor(((now - p.t0) * (p.opts.ratePerSec ?? 0)) / 1000);
    while (p.sent < due && p.free.length > 0) {
      const c = p.free.pop()!;
      if (c.dead !== null) continue;
      c.send(now);
      p.sent++;
    }
  }

  private maybeDrained(): void {
    const p = this.phase;
    if (!p || p.running || !p.drained) return;
    if (this.conns.every((c) => c.inflight === 0 || c.dead !== null)) p.drained();
  }

  /** Runs one phase (warm-up, measured window, drain). */
  run(opts: PhaseOptions): Promise<PhaseResult> {
    if (this.phase) throw new Error('a phase is already running');
    const live = this.conns.filter((c) => c.dead === null);
    if (live.length === 0) return Promise.reject(new Error('no live connection'));
    const p: PhaseState = {
      opts: { latency: opts.mode === 'rate', ...opts },
      running: true,
      inWindow: false,
      windowStartMs: 0,
      completed: 0,
      statuses: {},
      latencies: [],
      errors: [],
      free: [],
      sent: 0,
      t0: performance.now(),
    };
    this.phase = p;
    return new Promise<PhaseResult>((resolve) => {
      let pumpTimer: NodeJS.Timeout | undefined;
      if (opts.mode === 'closed') {
        const depth = Math.max(1, opts.depth ?? 1);
        const now = performance.now();
        for (const c of live) for (let k = 0; k < depth; k++) c.send(now);
      } else {
        p.free.push(...live);
        pumpTimer = setInterval(() => this.pump(), 1);
        this.pump();
      }
      let windowEndMs = 0;
      setTimeout(() => {
        opts.onWindowStart?.();
        p.windowStartMs = performance.now();
        p.inWindow = true;
        setTimeout(() => {
          p.inWindow = false;
          windowEndMs = performance.now();
          opts.onWindowEnd?.();
          p.running = false;
          if (pumpTimer) clearInterval(pumpTimer);
          const finish = () => {
            clearTimeout(guard);
            this.phase = null;
            const windowMs = windowEndMs - p.windowStartMs;
            resolve({
              completed: p.completed,
              windowMs,
              achievedPerSec: (p.completed * 1000) / windowMs,
              statuses: p.statuses,
              latenciesMs: p.latencies,
              errors: p.errors,
            });
          };
          // In-flight requests are answered (or the connection is given up) before the next phase.
          const guard = setTimeout(() => {
            for (const c of this.conns) if (c.inflight > 0 && c.dead === null) c.socket.destroy();
            p.errors.push('drain timed out: connections with unanswered requests were closed');
            finish();
          }, 10_000);
          p.drained = finish;
          this.maybeDrained();
        }, opts.windowMs);
      }, opts.warmMs);
    });
  }

  close(): void {
    for (const c of this.conns) {
      c.dead ??= 'closed';
      c.socket.destroy();
    }
  }
}
