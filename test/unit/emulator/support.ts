/**
 * Shared helpers of the emulator tests: where the real module is, building the AssemblyScript
 * fixtures under test/fixtures/, reading the probe fixture's log lines, and a tiny WebAssembly
 * binary writer for modules that must fail to load.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ProxyWasmVm } from '../../../harness/emulator/vm';

export const ROOT = path.resolve(__dirname, '../../..');
export const MESHGATE_WASM = path.join(ROOT, 'build/meshgate.wasm');

/** build/meshgate.wasm, which `npm run build` writes; a clear failure when it is missing. */
export function meshgateWasm(): string {
  if (!fs.existsSync(MESHGATE_WASM)) {
    throw new Error(`${MESHGATE_WASM} is missing: run \`npm run build\` (or \`npx asc assembly/index.ts --target release\`) first`);
  }
  return MESHGATE_WASM;
}

function newestMtime(p: string): number {
  const st = fs.statSync(p);
  if (!st.isDirectory()) return st.mtimeMs;
  return fs.readdirSync(p).reduce((t, e) => Math.max(t, newestMtime(path.join(p, e))), st.mtimeMs);
}

/**
 * build/fixtures/<name>.wasm from test/fixtures/<name>.ts, rebuilt when older than the fixture or
 * the binding (assembly/proxywasm). Written to a temporary file and renamed, so parallel jest
 * workers never read half a module.
 */
export function fixtureWasm(name: string): string {
  const source = path.join(ROOT, 'test/fixtures', `${name}.ts`);
  return buildWasm(name, source, [], [source, path.join(ROOT, 'assembly/proxywasm')]);
}

/**
 * The module entry (assembly/index.ts) built with the STUB runtime into
 * build/fixtures/meshgate-stub.wasm: the stub never frees, so memory that grows per request in
 * this build is an allocation per request.
 */
export function meshgateStubWasm(entry = 'index'): string {
  return buildWasm(`meshgate-${entry}-stub`, path.join(ROOT, `assembly/${entry}.ts`), ['--runtime', 'stub'], [path.join(ROOT, 'assembly')]);
}

export const PASSTHROUGH_WASM = path.join(ROOT, 'build/meshgate-passthrough.wasm');

/** build/meshgate-passthrough.wasm (assembly/passthrough.ts), which `npm run build` writes. */
export function passthroughWasm(): string {
  if (!fs.existsSync(PASSTHROUGH_WASM)) {
    throw new Error(`${PASSTHROUGH_WASM} is missing: run \`npm run build\` (or \`npx asc assembly/passthrough.ts --target passthrough\`) first`);
  }
  return PASSTHROUGH_WASM;
}

function buildWasm(name: string, source: string, flags: string[], inputs: string[]): string {
  const out = path.join(ROOT, 'build/fixtures', `${name}.wasm`);
  const newest = Math.max(...[...inputs, path.join(ROOT, 'test/fixtures/asconfig.json'), path.join(ROOT, 'asconfig.json')].map(newestMtime));
  if (fs.existsSync(out) && fs.statSync(out).mtimeMs >= newest) return out;
  fs.mkdirSync(path.dirname(out), { recursive: true });
  const tmp = `${out}.${process.pid}.${Date.now()}.tmp`;
  const args = [path.relative(ROOT, source), '--config', 'test/fixtures/asconfig.json', '--target', 'fixture', ...flags, '--outFile', path.relative(ROOT, tmp)];
  try {
    execFileSync(process.execPath, [path.join(ROOT, 'node_modules/assemblyscript/bin/asc.js'), ...args], { cwd: ROOT, stdio: 'pipe' });
  } catch (e) {
    const err = e as { stdout?: Buffer; stderr?: Buffer };
    throw new Error(`building ${path.relative(ROOT, out)} failed (asc ${args.join(' ')}):\n${err.stdout ?? ''}${err.stderr ?? ''}`);
  }
  fs.renameSync(tmp, out);
  return out;
}

/** The probe fixture's result lines: `probe <callback> <command> => <result>`. */
export function probeResults(vm: ProxyWasmVm): { callback: string; command: string; result: string }[] {
  const out: { callback: string; command: string; result: string }[] = [];
  for (const l of vm.logs) {
    const m = /^probe (\S+) (.*?) => (.*)$/s.exec(l.message);
    if (m) out.push({ callback: m[1], command: m[2], result: m[3] });
  }
  return out;
}

/** The result of the last `command` the probe ran (in `callback`, if given). */
export function probeResult(vm: ProxyWasmVm, command: string, callback?: string): string | undefined {
  return probeResults(vm)
    .filter((r) => r.command === command && (callback === undefined || r.callback === callback))
    .at(-1)?.result;
}

/** The callbacks the probe saw, in order, as `<callback> id=<id>` (its debug trace). */
export function probeTrace(vm: ProxyWasmVm): string[] {
  return vm.logs.map((l) => /^probe cb (\S+) id=(\d+)/.exec(l.message)).filter((m): m is RegExpExecArray => m !== null).map((m) => `${m[1]} id=${m[2]}`);
}

// -----------------------------------------------------------------------------------------------
// A minimal WebAssembly binary writer: enough to produce modules that are valid Wasm but break
// one rule of the proxy-wasm host (a missing import, a wrong export signature, no ABI marker...).

export type WasmType = 'i32' | 'i64';

export interface FuncSpec {
  /** Export name (unexported when absent). */
  export?: string;
  params?: WasmType[];
  results?: WasmType[];
  /** Raw instruction bytes (without locals and the final `end`); default: return zeros. */
  body?: number[];
}

export interface ImportSpec {
  module: string;
  name: string;
  params?: WasmType[];
  results?: WasmType[];
}

export interface ModuleSpec {
  imports?: ImportSpec[];
  funcs: FuncSpec[];
  /** Export a one-page memory as "memory" (default true). */
  memory?: boolean;
  /** Import the memory as env.memory instead. */
  importMemory?: boolean;
}

const TYPE_CODE: Record<WasmType, number> = { i32: 0x7f, i64: 0x7e };

function leb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

const str = (s: string): number[] => [...leb(Buffer.byteLength(s)), ...Buffer.from(s)];
const vec = (items: number[][]): number[] => [...leb(items.length), ...items.flat()];
const section = (id: number, content: number[]): number[] => [id, ...leb(content.length), ...content];
const functype = (params: WasmType[] = [], results: WasmType[] = []): number[] => [0x60, ...vec(params.map((t) => [TYPE_CODE[t]])), ...vec(results.map((t) => [TYPE_CODE[t]]))];

/** `call <index>` of the function index space (imports first). */
export const call = (index: number): number[] => [0x10, ...leb(index)];
/** Signed LEB128 (the immediate of i32.const). */
function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

export const i32Const = (v: number): number[] => [0x41, ...sleb(v)];
export const DROP = [0x1a];
export const UNREACHABLE = [0x00];

export function buildModule(spec: ModuleSpec): Uint8Array {
  const imports = spec.imports ?? [];
  const types = [...imports.map((i) => functype(i.params, i.results)), ...spec.funcs.map((f) => functype(f.params, f.results))];
  const importEntries = imports.map((imp, i) => [...str(imp.module), ...str(imp.name), 0x00, ...leb(i)]);
  if (spec.importMemory) importEntries.push([...str('env'), ...str('memory'), 0x02, 0x00, 0x01]);
  const funcIndexBase = imports.length;
  const exports: number[][] = [];
  spec.funcs.forEach((f, i) => {
    if (f.export) exports.push([...str(f.export), 0x00, ...leb(funcIndexBase + i)]);
  });
  const withMemory = spec.memory !== false && !spec.importMemory;
  if (withMemory) exports.push([...str('memory'), 0x02, 0x00]);
  const bodies = spec.funcs.map((f) => {
    const code = f.body ?? (f.results ?? []).flatMap((t) => (t === 'i32' ? [0x41, 0x00] : [0x42, 0x00]));
    const body = [0x00 /* no locals */, ...code, 0x0b];
    return [...leb(body.length), ...body];
  });
  const bytes = [
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec(types)),
    ...(importEntries.length ? section(2, vec(importEntries)) : []),
    ...section(3, vec(spec.funcs.map((_, i) => leb(imports.length + i)))),
    ...(withMemory ? section(5, vec([[0x00, 0x01]])) : []),
    ...section(7, vec(exports)),
    ...section(10, vec(bodies)),
  ];
  return Uint8Array.from(bytes);
}

/** The smallest module the host accepts: ABI marker, allocator, memory, plus `extra` functions. */
export function minimalModule(extra: FuncSpec[] = [], imports: ImportSpec[] = []): Uint8Array {
  return buildModule({
    imports,
    funcs: [{ export: 'proxy_abi_version_0_2_1' }, { export: 'malloc', params: ['i32'], results: ['i32'], body: i32Const(1024) }, ...extra],
  });
}
