/**
 * One Envoy process for a test: written bootstrap, ephemeral ports, readiness, stats, logs, stop.
 *
 * Lifecycle:
 * - `EnvoyProcess.start()` writes the bootstrap as JSON (valid YAML) into a fresh temp directory,
 *   starts Envoy (directly, or through `func-e run` with a seeded offline data home), and resolves
 *   once admin `GET /ready` answers `LIVE`. If Envoy exits first, or is not ready in time, it is
 *   killed and the promise rejects with an `EnvoyHarnessError` whose message ends with the last
 *   lines of Envoy's log.
 * - The admin server binds 127.0.0.1:0 (added when the bootstrap has no `admin`); the bound
 *   address is read from the file Envoy writes for `--admin-address-path`. Listeners may also use
 *   port 0: `listenerPort(name)` reads the bound port from admin `/listeners?format=json`.
 * - Hot restart is disabled (`--disable-hot-restart`), so parallel instances share no shared-memory
 *   region and need no distinct `--base-id`.
 * - Envoy runs in its own process group; `stop()` sends SIGTERM to the group (Envoy and, with
 *   func-e, its parent), then SIGKILL after a timeout, and waits for the exit.
 * - No orphans: Envoy is started through a small `sh` lifeline (LIFELINE below) that keeps a pipe
 *   from this Node process. When Node goes away for any reason (a test that forgot `stop()`, a
 *   crashed or killed jest worker), the pipe closes and the lifeline SIGKILLs the whole group.
 *   A process 'exit' hook cannot do this job: jest gives each test file a sandboxed `process`
 *   whose 'exit' listeners never run.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { EnvoyHarnessError } from './errors';
import { ensureFuncE } from './funce';
import { locateEnvoy, type LocatedEnvoy } from './locate';

export type EnvoyLogLevel = 'trace' | 'debug' | 'info' | 'warning' | 'warn' | 'error' | 'critical' | 'off';

export interface EnvoyStartOptions {
  /** The bootstrap (envoy.config.bootstrap.v3.Bootstrap as plain data). Not modified. */
  bootstrap: object;
  /** `--concurrency` (worker threads); default 1. */
  concurrency?: number;
  /** `--log-level`; default `info`. */
  logLevel?: EnvoyLogLevel;
  /** `--component-log-level`, e.g. `wasm:debug,dns:debug`. */
  componentLogLevel?: string;
  /** `direct` (default) runs the binary; `func-e` runs `func-e run` with an offline data home (func-e is installed if missing, see funce.ts). */
  launcher?: 'direct' | 'func-e';
  /**
   * With `launcher: 'func-e'`: `seeded-home` (default) pins `ENVOY_VERSION` and links the binary into
   * a private `$FUNC_E_DATA_HOME/envoy-versions/<version>/bin/envoy`; `envoy-path` uses func-e's
   * `ENVOY_PATH` override, which skips version resolution altogether.
   */
  funcEMode?: 'seeded-home' | 'envoy-path';
  /** Extra environment for the process (merged over process.env). */
  env?: Record<string, string>;
  /** Directory Envoy runs in; relative paths in the bootstrap resolve against it. Default: process.cwd(). */
  cwd?: string;
  /** How long to wait for `/ready` == LIVE; default 20 s. */
  readyTimeoutMs?: number;
  /** Use this Envoy instead of `locateEnvoy()`. */
  envoy?: LocatedEnvoy;
  /**
   * `--file-flush-interval-msec`: how often file access logs are flushed. Default 100 (Envoy's own
   * default is 10 s, too slow for a test that reads the access log after a request).
   */
  fileFlushIntervalMs?: number;
  /** More Envoy command-line arguments, appended last. */
  extraArgs?: string[];
  /** Keep the temp directory (bootstrap, logs) after stop(); also enabled by MESHGATE_KEEP_ENVOY_DIR=1. */
  keepDir?: boolean;
}

/** Admin endpoints answer quickly; anything slower than this is a failure. */
const ADMIN_TIMEOUT_MS = 5000;
const DEFAULT_TAIL_LINES = 60;

/**
 * `sh -c LIFELINE <name> <program> <args...>`: keep the stdin pipe from Node on fd 3 of a
 * background watcher, then exec the program (same pid, stdin /dev/null, no fd 3). The watcher's
 * read returns only at EOF, i.e. when Node has exited or closed the pipe; it then kills the
 * process group (the program, func-e's Envoy, and itself).
 */
export const LIFELINE = 'exec 3<&0 0</dev/null; (read line <&3; kill -s KILL 0) & exec 3<&- "$@"';

export class EnvoyProcess {
  /** `http://127.0.0.1:<port>` of the admin server. */
  adminUrl = '';
  /** Milliseconds from spawn to `/ready` == LIVE. */
  startupMs = 0;
  private exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private readonly exited: Promise<void>;
  private finalLog: string | undefined;
  private finalStdout: string | undefined;
  private stopping: Promise<void> | undefined;

  private constructor(
    private readonly child: ChildProcess,
    /** Temp directory holding `bootstrap.json`, `envoy.log` (stderr), `stdout.log`. */
    readonly dir: string,
    readonly bootstrapPath: string,
    readonly envoy: LocatedEnvoy,
    readonly launcher: 'direct' | 'func-e',
    private readonly keepDir: boolean,
  ) {
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        resolve();
      });
      child.once('error', () => {
        this.exitInfo ??= { code: null, signal: null };
        resolve();
      });
    });
  }

  /** Process id of what was spawned: Envoy itself, or func-e with `launcher: 'func-e'`. */
  get pid(): number {
    return this.child.pid ?? -1;
  }

  /** Process id of Envoy (with func-e: the child of func-e running our bootstrap). Linux: read from /proc. */
  envoyPid(): number | undefined {
    if (this.launcher === 'direct') return this.child.pid;
    return childPids(this.pid).find((pid) => readIfExists(`/proc/${pid}/cmdline`).split('\0').includes(this.bootstrapPath));
  }

  /** True once the spawned process has exited. */
  get hasExited(): boolean {
    return this.exitInfo !== undefined;
  }

  static async start(options: EnvoyStartOptions): Promise<EnvoyProcess> {
    const envoy = options.envoy ?? (await locateEnvoy());
    const launcher = options.launcher ?? 'direct';
    const env: NodeJS.ProcessEnv = { ...process.env, ...options.env };
    const funcE = launcher === 'func-e' ? await ensureFuncE({ env }) : undefined;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meshgate-envoy-'));
    const bootstrapPath = path.join(dir, 'bootstrap.json');
    const bootstrap = { ...(options.bootstrap as Record<string, unknown>) };
    if (bootstrap.admin === undefined) {
      bootstrap.admin = { address: { socket_address: { address: '127.0.0.1', port_value: 0 } } };
    }
    fs.writeFileSync(bootstrapPath, JSON.stringify(bootstrap, null, 2));
    const addressPath = path.join(dir, 'admin-address.txt');

    const envoyArgs = [
      '-c', bootstrapPath,
      '--admin-address-path', addressPath,
      '--concurrency', String(options.concurrency ?? 1),
      '--disable-hot-restart',
      '--file-flush-interval-msec', String(options.fileFlushIntervalMs ?? 100),
      '--log-level', options.logLevel ?? 'info',
      ...(options.componentLogLevel ? ['--component-log-level', options.componentLogLevel] : []),
      ...(options.extraArgs ?? []),
    ];
    let file = envoy.bin;
    let args = envoyArgs;
    if (funcE) {
      for (const [k, v] of Object.entries(funcEOfflineEnv(path.join(dir, 'func-e'), envoy, options.funcEMode ?? 'seeded-home'))) {
        if (v === undefined) delete env[k];
        else env[k] = v;
      }
      file = funcE;
      args = ['run', ...envoyArgs];
    }

    const out = fs.openSync(path.join(dir, 'stdout.log'), 'a');
    const err = fs.openSync(path.join(dir, 'envoy.log'), 'a');
    const started = Date.now();
    let child: ChildProcess;
    try {
      child = spawn('/bin/sh', ['-c', LIFELINE, 'meshgate-envoy-lifeline', file, ...args], {
        cwd: options.cwd ?? process.cwd(),
        env,
        stdio: ['pipe', out, err],
        detached: true,
      });
      child.stdin?.on('error', () => undefined); // EPIPE once the group is gone
    } finally {
      fs.closeSync(out);
      fs.closeSync(err);
    }
    const proc = new EnvoyProcess(child, dir, bootstrapPath, envoy, launcher, options.keepDir ?? process.env.MESHGATE_KEEP_ENVOY_DIR === '1');
    try {
      await proc.waitReady(addressPath, options.readyTimeoutMs ?? 20_000);
    } catch (e) {
      await proc.stop();
      throw e;
    }
    proc.startupMs = Date.now() - started;
    return proc;
  }

  private async waitReady(addressPath: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let lastProblem = 'admin address file not written yet';
    while (Date.now() < deadline) {
      if (this.exitInfo) {
        const how = this.exitInfo.signal ? `signal ${this.exitInfo.signal}` : `code ${this.exitInfo.code}`;
        throw new EnvoyHarnessError('ENVOY_EXITED', `Envoy exited (${how}) before it was ready; bootstrap ${this.bootstrapPath}`, this.failureTail());
      }
      if (!this.adminUrl) {
        const address = readIfExists(addressPath).trim();
        if (address) this.adminUrl = `http://${address}`;
      }
      if (this.adminUrl) {
        try {
          const r = await httpRequest('GET', `${this.adminUrl}/ready`, 1000);
          if (r.status === 200 && r.body.trim() === 'LIVE') return;
          lastProblem = `/ready answered ${r.status} ${r.body.trim()}`;
        } catch (e) {
          lastProblem = `/ready: ${(e as Error).message}`;
        }
      }
      await Promise.race([sleep(50), this.exited]);
    }
    throw new EnvoyHarnessError('ENVOY_NOT_READY', `Envoy not ready after ${timeoutMs} ms (${lastProblem}); bootstrap ${this.bootstrapPath}`, this.failureTail());
  }

  /** Envoy's log (its stderr; with func-e also func-e's own messages). */
  logs(): string {
    return this.finalLog ?? readIfExists(path.join(this.dir, 'envoy.log'));
  }

  /** The last `n` lines of Envoy's log. */
  logTail(n = DEFAULT_TAIL_LINES): string {
    return tailLines(this.logs(), n);
  }

  /** What Envoy wrote to stdout (stdout access loggers; func-e's progress lines). */
  stdout(): string {
    return this.finalStdout ?? readIfExists(path.join(this.dir, 'stdout.log'));
  }

  /** Log tail for error messages: Envoy's log, plus stdout when Envoy printed its error there. */
  private failureTail(): string {
    const out = this.stdout().trim();
    const log = this.logTail(DEFAULT_TAIL_LINES);
    return out ? `${log}\n--- stdout ---\n${tailLines(out, 20)}` : log;
  }

  /** Any admin endpoint, e.g. `admin('POST', '/logging?wasm=debug')`. Throws unless 2xx. */
  async admin(method: string, pathAndQuery: string): Promise<string> {
    if (!this.adminUrl) throw new EnvoyHarnessError('ENVOY_ADMIN', 'admin address unknown (Envoy not started)');
    let r: { status: number; body: string };
    try {
      r = await httpRequest(method, `${this.adminUrl}${pathAndQuery}`, ADMIN_TIMEOUT_MS);
    } catch (e) {
      throw new EnvoyHarnessError('ENVOY_ADMIN', `${method} ${pathAndQuery}: ${(e as Error).message}`, this.logTail(20));
    }
    if (r.status < 200 || r.status > 299) {
      throw new EnvoyHarnessError('ENVOY_ADMIN', `${method} ${pathAndQuery} answered ${r.status}: ${r.body.slice(0, 500)}`);
    }
    return r.body;
  }

  /** Counters and gauges from `/stats?format=json` (histograms and text readouts are left out). */
  async stats(): Promise<Record<string, number>> {
    const body = JSON.parse(await this.admin('GET', '/stats?format=json')) as { stats: Array<{ name?: string; value?: unknown }> };
    const result: Record<string, number> = {};
    for (const s of body.stats) {
      if (typeof s.name === 'string' && typeof s.value === 'number') result[s.name] = s.value;
    }
    return result;
  }

  /** One counter or gauge; undefined when Envoy has no stat of that name. */
  async stat(name: string): Promise<number | undefined> {
    return (await this.stats())[name];
  }

  /** `/stats` in Envoy's text format (`name: value` lines, histograms included). */
  statsText(): Promise<string> {
    return this.admin('GET', '/stats');
  }

  /** The port a listener actually bound (works for listeners configured with port 0). */
  async listenerPort(name: string): Promise<number> {
    const body = JSON.parse(await this.admin('GET', '/listeners?format=json')) as {
      listener_statuses?: Array<{ name: string; local_address?: { socket_address?: { port_value?: number } } }>;
    };
    const statuses = body.listener_statuses ?? [];
    const found = statuses.find((l) => l.name === name);
    const port = found?.local_address?.socket_address?.port_value;
    if (port === undefined) {
      throw new EnvoyHarnessError('ENVOY_NO_SUCH_LISTENER', `no listener "${name}" (listeners: ${statuses.map((l) => l.name).join(', ') || 'none'})`);
    }
    return port;
  }

  /**
   * SIGTERM to the process group, SIGKILL after `timeoutMs`; resolves once the spawned process has
   * exited and no member of its group is left. Idempotent.
   */
  stop(timeoutMs = 5000): Promise<void> {
    this.stopping ??= this.doStop(timeoutMs);
    return this.stopping;
  }

  private async doStop(timeoutMs: number): Promise<void> {
    const pgid = this.child.pid;
    if (pgid !== undefined && !this.exitInfo) {
      signalGroup(pgid, 'SIGTERM');
      const timer = setTimeout(() => signalGroup(pgid, 'SIGKILL'), timeoutMs);
      await this.exited;
      clearTimeout(timer);
    }
    // What is left of the group (the lifeline watcher; Envoy after a SIGKILL of func-e) is killed here.
    if (pgid !== undefined) {
      const deadline = Date.now() + timeoutMs;
      while (groupAlive(pgid) && Date.now() < deadline) {
        signalGroup(pgid, 'SIGKILL');
        await sleep(20);
      }
    }
    this.child.stdin?.destroy();
    this.finalLog = readIfExists(path.join(this.dir, 'envoy.log'));
    this.finalStdout = readIfExists(path.join(this.dir, 'stdout.log'));
    if (!this.keepDir) fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * The environment that lets func-e v1.6 run a given Envoy with no network access.
 *
 * func-e resolves the version from `$ENVOY_VERSION` first (a patch version such as 1.40.0 needs no
 * lookup), then installs only if `$FUNC_E_DATA_HOME/envoy-versions/<version>/bin/envoy` is missing.
 * Seeding that path and pinning the version is therefore enough; config/state/runtime homes go to
 * the instance directory so nothing touches the user's home, and `ENVOY_VERSIONS_URL` points at a
 * closed local port so an unexpected download attempt fails at once instead of hanging.
 * Values of `undefined` mean "remove from the environment".
 */
export function funcEOfflineEnv(
  home: string,
  envoy: LocatedEnvoy,
  mode: 'seeded-home' | 'envoy-path' = 'seeded-home',
): Record<string, string | undefined> {
  const dataHome = path.join(home, 'data');
  const env: Record<string, string | undefined> = {
    FUNC_E_CONFIG_HOME: path.join(home, 'config'),
    FUNC_E_DATA_HOME: dataHome,
    FUNC_E_STATE_HOME: path.join(home, 'state'),
    FUNC_E_RUNTIME_DIR: path.join(home, 'runtime'),
    FUNC_E_RUN_ID: `meshgate-${process.pid}-${Date.now()}`,
    ENVOY_VERSIONS_URL: 'http://127.0.0.1:9/envoy-versions.json',
    ENVOY_VERSION: envoy.version,
    FUNC_E_HOME: undefined, // unset: legacy single-home mode off
    ENVOY_PATH: undefined,
  };
  if (mode === 'envoy-path') {
    env.ENVOY_PATH = envoy.bin;
  } else {
    const binDir = path.join(dataHome, 'envoy-versions', envoy.version, 'bin');
    fs.mkdirSync(binDir, { recursive: true });
    const link = path.join(binDir, 'envoy');
    if (!fs.existsSync(link)) fs.symlinkSync(fs.realpathSync(envoy.bin), link);
  }
  return env;
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // group already gone
  }
}

/**
 * True while a live (non-zombie) process is in the group. Zombies count for kill(-pgid, 0) until
 * init reaps them, which can take seconds, so Linux reads /proc instead.
 */
function groupAlive(pgid: number): boolean {
  if (!hasProcfs()) return signalZeroSucceeds(-pgid);
  // fields after "(comm)": [0] state, [1] ppid, [2] pgrp
  return procPids().some((pid) => {
    const f = procStatFields(pid);
    return f !== undefined && Number(f[2]) === pgid && f[0] !== 'Z';
  });
}

function hasProcfs(): boolean {
  return fs.existsSync('/proc/self/stat');
}

function procPids(): number[] {
  return fs.readdirSync('/proc').filter((e) => /^\d+$/.test(e)).map(Number);
}

function signalZeroSucceeds(target: number): boolean {
  try {
    process.kill(target, 0);
    return true;
  } catch {
    return false;
  }
}

/** The fields of /proc/<pid>/stat after "pid (comm) " (comm may hold spaces and parentheses). */
function procStatFields(pid: number): string[] | undefined {
  const stat = readIfExists(`/proc/${pid}/stat`);
  if (!stat) return undefined;
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** Children of `pid` from /proc (Linux); empty elsewhere. */
export function childPids(pid: number): number[] {
  if (!hasProcfs()) return [];
  return procPids().filter((p) => {
    const f = procStatFields(p);
    return f !== undefined && Number(f[1]) === pid;
  });
}

/** True when a process with this pid exists and is not a zombie. */
export function pidAlive(pid: number): boolean {
  if (!hasProcfs()) return signalZeroSucceeds(pid);
  const f = procStatFields(pid);
  return f !== undefined && f[0] !== 'Z';
}

function readIfExists(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

function tailLines(text: string, n: number): string {
  const lines = text.replace(/\n$/, '').split('\n');
  return lines.slice(-n).join('\n');
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function httpRequest(method: string, url: string, timeoutMs: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, agent: false, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`timed out after ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}
