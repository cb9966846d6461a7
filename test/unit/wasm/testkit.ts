/**
 * Loads build/testkit.wasm (assembly/testkit.ts: the pure AssemblyScript components) for the
 * tests in this directory.
 *
 * The module's only import is `env.proxy_log` (used by the abort handler); the stub records every
 * message in `tk.logs`. Inputs are copied in with `tk_alloc`; text results are read from the
 * module's output buffer (`tk_out_ptr`, length = the return value). `call()` marshals arguments:
 * a string or Buffer becomes (ptr, len) (strings as UTF-8), `null` becomes (0, -1) ("absent"),
 * numbers and booleans pass through.
 *
 * The wasm is (re)built when missing or older than any file under assembly/, into a temporary
 * file renamed into place, so parallel jest workers never read a half-written module.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

// lib is ES2022 without DOM: reach the WebAssembly API untyped.
const WA: any = (globalThis as any).WebAssembly;

/** The parts of WebAssembly.Memory used here. */
export interface WasmMemory {
  buffer: ArrayBuffer;
}

const ROOT = path.resolve(__dirname, '../../..');
const WASM = path.join(ROOT, 'build/testkit.wasm');

function newestMtime(dir: string): number {
  let t = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newestMtime(p) : fs.statSync(p).mtimeMs);
  }
  return t;
}

function ensureBuilt(): void {
  const stale = !fs.existsSync(WASM) || fs.statSync(WASM).mtimeMs < newestMtime(path.join(ROOT, 'assembly'));
  if (!stale) return;
  const tmp = path.join(ROOT, `build/testkit.${process.pid}.${Date.now()}.wasm`);
  fs.mkdirSync(path.dirname(WASM), { recursive: true });
  try {
    execFileSync(
      process.execPath,
      [path.join(ROOT, 'node_modules/assemblyscript/bin/asc.js'), 'assembly/testkit.ts', '--target', 'testkit', '--outFile', tmp],
      { cwd: ROOT, stdio: 'pipe' },
    );
  } catch (e) {
    const err = e as { stdout?: Buffer; stderr?: Buffer };
    throw new Error(`building build/testkit.wasm failed (npx asc assembly/testkit.ts --target testkit):\n${err.stdout ?? ''}${err.stderr ?? ''}`);
  }
  fs.renameSync(tmp, WASM);
  for (const f of fs.readdirSync(path.dirname(WASM))) {
    if (/^testkit\.\d+\.\d+\.(d\.ts|js)$/.test(f)) fs.rmSync(path.join(path.dirname(WASM), f), { force: true });
  }
}

export type Arg = string | Buffer | Uint8Array | number | boolean | null;

export interface Testkit {
  /** Raw exports. */
  exports: Record<string, any>;
  memory: WasmMemory;
  /** Messages passed to env.proxy_log: [level, text]. */
  logs: Array<[number, string]>;
  /** Calls a text-producing export and returns its output. */
  call(name: string, ...args: Arg[]): string;
  /** Calls an export and returns its numeric (or bigint) result. */
  num(name: string, ...args: Arg[]): number;
  big(name: string, ...args: Arg[]): bigint;
  /** Calls a JSON-producing export and parses the output. */
  json<T = any>(name: string, ...args: Arg[]): T;

  // conveniences over the exports
  /** `egress-sni`: the egress section for the network filter meshgate_egress_sni. */
  compile(role: 'inbound' | 'egress' | 'egress-sni', policy: object | string): CompileOut;
  setIdentity(id: string | null): void;
  decideInbound(identity: string | null, method: string, path: string): string;
  decideEgress(identity: string | null, authority: string, scheme?: string, connect?: boolean): string;
}

export interface CompileOut {
  ok: boolean;
  digest: string;
  errors: string[];
  rules?: number;
  deny?: number;
  allow?: number;
  audit?: number;
  arenaBytes?: number;
}

export function loadTestkit(): Testkit {
  ensureBuilt();
  const logs: Array<[number, string]> = [];
  let memory: WasmMemory | undefined;
  const dec = new TextDecoder('utf-8', { fatal: false });
  const imports = {
    env: {
      proxy_log(level: number, ptr: number, len: number): number {
        logs.push([level, dec.decode(new Uint8Array(memory!.buffer, ptr, len))]);
        return 0;
      },
    },
  };
  const mod = new WA.Module(fs.readFileSync(WASM));
  const inst = new WA.Instance(mod, imports);
  const ex = inst.exports as Record<string, any>;
  memory = ex.memory as WasmMemory;
  ex._initialize?.();

  const enc = new TextEncoder();
  function marshal(args: Arg[]): { params: Array<number | boolean>; frees: number[] } {
    const params: Array<number | boolean> = [];
    const frees: number[] = [];
    for (const a of args) {
      if (a === null) { params.push(0, -1); continue; }
      if (typeof a === 'number' || typeof a === 'boolean') { params.push(a); continue; }
      const bytes = typeof a === 'string' ? enc.encode(a) : a;
      const p = ex.tk_alloc(bytes.length) >>> 0;
      new Uint8Array(memory!.buffer, p, bytes.length).set(bytes);
      params.push(p, bytes.length);
      frees.push(p);
    }
    return { params, frees };
  }
  function invoke(name: string, args: Arg[]): any {
    const f = ex[name];
    if (typeof f !== 'function') throw new Error(`testkit has no export ${name}`);
    const { params, frees } = marshal(args);
    try {
      return f(...params);
    } finally {
      for (const p of frees) ex.tk_free(p);
    }
  }
  function readOut(len: number): string {
    const p = ex.tk_out_ptr() >>> 0;
    return dec.decode(new Uint8Array(memory!.buffer, p, len));
  }

  const tk: Testkit = {
    exports: ex,
    memory: memory!,
    logs,
    call: (name, ...args) => readOut(invoke(name, args)),
    num: (name, ...args) => Number(invoke(name, args)),
    big: (name, ...args) => BigInt.asUintN(64, BigInt(invoke(name, args))),
    json: (name, ...args) => {
      const s = readOut(invoke(name, args));
      try {
        return JSON.parse(s);
      } catch (e) {
        throw new Error(`${name} returned invalid JSON: ${s}`);
      }
    },
    compile(role, policy) {
      const text = typeof policy === 'string' ? policy : JSON.stringify(policy);
      return tk.json<CompileOut>('tk_compile', role === 'egress-sni' ? 2 : role === 'egress' ? 1 : 0, text);
    },
    setIdentity(id) {
      tk.call('tk_identity_set', id);
    },
    decideInbound(identity, method, p) {
      tk.setIdentity(identity);
      return tk.call('tk_decide_inbound', method, p);
    },
    decideEgress(identity, authority, scheme = 'https', connect = false) {
      tk.setIdentity(identity);
      return tk.call('tk_decide_egress', authority, scheme, connect);
    },
  };
  return tk;
}

/** A match field of the AssemblyScript field table (assembly/policy/fields.ts). */
export interface PolicyField {
  name: string;
  negation: string;
  roles: string[];
}

let shared: Testkit | undefined;

/** The positive match fields of the AssemblyScript field table, in table (evaluation) order. */
export function policyFields(): PolicyField[] {
  shared ??= loadTestkit();
  return shared.json<PolicyField[]>('tk_policy_fields');
}

/** Reads a JSON vector file from test/vectors/. */
export function vectors<T = any>(name: string): T {
  return JSON.parse(fs.readFileSync(path.join(ROOT, 'test/vectors', name), 'utf8')) as T;
}

/** The decision line's fields as an object: { decision, rule, nearest, field, audit }. */
export function parseDecision(line: string): { decision: string; rule: string; nearest: string; field: string; audit: string } {
  const [decision, ...rest] = line.split(' ');
  const kv: Record<string, string> = {};
  for (const r of rest) {
    const i = r.indexOf('=');
    kv[r.slice(0, i)] = r.slice(i + 1);
  }
  return { decision, rule: kv.rule, nearest: kv.nearest, field: kv.field, audit: kv.audit };
}
