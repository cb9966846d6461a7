/**
 * build/testkit.wasm (assembly/testkit.ts) as a library: the pure AssemblyScript components —
 * the policy compiler and the decision — callable from TypeScript. The tests, `meshgate explain`,
 * `replay`, `diff` and `learn` all decide through these bytes, never through a TypeScript model.
 *
 * The module's only import is `env.proxy_log` (used by the abort handler); every message lands in
 * `tk.logs`. Inputs are copied in with `tk_alloc`; text results are read from the module's output
 * buffer (`tk_out_ptr`, length = the return value). `call()` marshals arguments: a string or
 * Buffer becomes (ptr, len) (strings as UTF-8), `null` becomes (0, -1) ("absent"), numbers and
 * booleans pass through.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { repoRoot } from '../envoy/paths';

// lib is ES2022 without DOM: reach the WebAssembly API untyped.
const WA: any = (globalThis as any).WebAssembly;

/** The parts of WebAssembly.Memory used here. */
export interface WasmMemory {
  buffer: ArrayBuffer;
}

/** Where `npm run build` puts the testkit module. */
export const TESTKIT_WASM = path.join(repoRoot(), 'build', 'testkit.wasm');

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
  /** TLS passthrough (compiled as `egress-sni`): a hello refusal label (not_tls, no_sni, ech,
   *  malformed_client_hello, client_hello_too_large), else the judged server name, and the port. */
  decideSni(identity: string | null, refusal: string | null, serverName: string | null, port: number): string;
  /** After decideEgress on a CONNECT: the filter's check of the first tunnel bytes —
   *  "pass", "wait", "no tunnel" (the CONNECT was denied), or the refusal label. */
  decideTunnel(firstBytes: Uint8Array, endOfStream: boolean): string;
  /** Whether the compiled policy is in global audit mode. */
  auditMode(): boolean;

  // explain, diff (harness/rollout/)
  /** The policy digest of a configuration (assembly/policy/digest.ts): what the filter logs. */
  policyDigest(configuration: string): string;
  /** The caller as the compiled policy's identity source resolves it: the direct peer's SPIFFE ID
   *  (null: no client certificate) and the request's x-forwarded-client-cert (null: absent). */
  resolveCaller(peer: string | null, xfcc: string | null): IdentityOut;
  /** An unauthenticated caller for a named reason (an access-log record's identity_reason). */
  setUnauthenticated(reason: string): void;
  /** Decides with the identity already set (resolveCaller, setIdentity, setUnauthenticated) and
   *  traces the decision (assembly/policy/trace.ts). `sni`: a TLS passthrough connection. */
  explain(request: ExplainInput): ExplainOut;
  /** The decision line for the request, with the identity already set (no trace). */
  decide(request: ExplainInput): string;
}

export interface IdentityOut {
  authenticated: boolean;
  id?: string;
  reason: string;
}

export type ExplainInput =
  | { role: 'inbound'; method: string; path: string }
  | { role: 'egress'; authority: string; scheme: string; connect: boolean }
  | { role: 'sni'; serverName: string; port: number };

/** What tk_explain_* write: the decision line, the identity, the trace (harness/rollout/explain.ts
 *  types it), and an error when the trace does not describe the decision. */
export interface ExplainOut {
  line: string;
  identity: IdentityOut;
  trace: any;
  error?: string;
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

export function loadTestkit(wasmFile: string = TESTKIT_WASM): Testkit {
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
  const mod = new WA.Module(fs.readFileSync(wasmFile));
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
    decideSni(identity, refusal, serverName, port) {
      tk.setIdentity(identity);
      return tk.call('tk_decide_sni', refusal, serverName, port);
    },
    decideTunnel(firstBytes, endOfStream) {
      return tk.call('tk_decide_tunnel', firstBytes, endOfStream);
    },
    auditMode() {
      return tk.num('tk_policy_audit_mode') === 1;
    },
    policyDigest: (configuration) => tk.call('tk_policy_digest', configuration),
    resolveCaller: (peer, xfcc) => tk.json<IdentityOut>('tk_explain_caller', peer, xfcc),
    setUnauthenticated(reason) {
      tk.num('tk_explain_unauthenticated', reason);
    },
    explain(r) {
      if (r.role === 'inbound') return tk.json<ExplainOut>('tk_explain_inbound', r.method, r.path);
      if (r.role === 'egress') return tk.json<ExplainOut>('tk_explain_egress', r.authority, r.scheme, r.connect);
      return tk.json<ExplainOut>('tk_explain_sni', r.serverName, r.port);
    },
    decide(r) {
      if (r.role === 'inbound') return tk.call('tk_decide_inbound', r.method, r.path);
      if (r.role === 'egress') return tk.call('tk_decide_egress', r.authority, r.scheme, r.connect);
      return tk.call('tk_decide_server_name', r.serverName, r.port);
    },
  };
  return tk;
}

let shared: Testkit | undefined;

/** One testkit per process for the tools that only compile and decide (validate's digest,
 *  explain, diff): loading compiles the module, so it is done once. */
export function sharedTestkit(): Testkit {
  shared ??= loadTestkit();
  return shared;
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
