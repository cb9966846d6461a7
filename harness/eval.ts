/**
 * `meshgate eval`: one request through the compiled filter (build/meshgate.wasm) in the emulator,
 * the policy playground. The caller's identity is presented the way Envoy would: a certificate
 * with that URI SAN (minted by a throwaway CA), so the filter's own certificate parsing runs too.
 */
import * as path from 'node:path';
import { presentRequest, peerCertificate, type EnvoyRequest } from './emulator/request';
import { ProxyWasmVm } from './emulator/vm';
import { repoRoot } from './envoy/paths';
import { TestCa } from './pki/ca';
import type { CompileResult } from './policy/compile';
import { stripTrailingHostDot } from './scenario/front';

export interface EvalOptions {
  compiled: CompileResult;
  role: 'inbound' | 'egress';
  identity?: string;
  method?: string;
  path?: string;
  host?: string;
  port?: number;
  connect?: boolean;
  scheme?: string;
  xfcc?: string;
  wasmFile?: string;
}

export interface EvalResult {
  decision: string;
  rule: string;
  identity: string;
  status?: number;
  details?: string;
  explanation: string;
}

export async function evalRequest(o: EvalOptions): Promise<EvalResult> {
  const vm = await ProxyWasmVm.load(o.wasmFile ?? path.join(repoRoot(), 'build', 'meshgate.wasm'));
  vm.logLevel = 1;
  const plugin = vm.startPlugin({ rootId: `meshgate_${o.role}`, configuration: o.compiled.json });
  if (!plugin.ok) throw new Error(`the filter refused the policy:\n${vm.logs.map((l) => `  ${l.message}`).join('\n')}`);
  const request: EnvoyRequest = { ...requestLine(o), connectionId: 1n };
  if (o.identity) {
    const trustDomain = String((o.compiled.policy as { trustDomain: string }).trustDomain);
    const ca = await TestCa.create({ trustDomain });
    request.peer = peerCertificate((await ca.mintSvid(o.identity)).certPem);
  }
  if (o.xfcc !== undefined) request.headers = [['x-forwarded-client-cert', o.xfcc]];
  const stream = plugin.newHttpStream(presentRequest(request));
  const r = stream.sendRequestHeaders();
  stream.complete();
  const state = stream.filterState['wasm.meshgate'] ?? '';
  const field = (k: string) => new RegExp(`(?:^| )${k}=(\\S+)`).exec(state)?.[1] ?? '';
  const debug = vm.logsAt('debug').at(-1) ?? state;
  return {
    decision: field('decision') || (r.action === 'continue' ? 'allow' : 'deny'),
    rule: field('rule'),
    identity: field('identity'),
    status: r.localReply?.status,
    details: r.localReply?.details,
    explanation: debug,
  };
}

/** Method, path, authority and scheme as the listener of `o.role` hands them to the filter. */
function requestLine(o: EvalOptions): EnvoyRequest {
  if (o.role === 'inbound') return { method: o.method ?? 'GET', path: o.path ?? '/', authority: 'service', scheme: 'https' };
  // The egress listeners strip one trailing dot before the filter (strip_trailing_host_dot).
  const host = stripTrailingHostDot(o.host ?? '');
  const h = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  if (o.connect) return { method: 'CONNECT', authority: `${h}:${o.port ?? 443}`, scheme: o.scheme ?? 'https' };
  return { method: o.method ?? 'GET', path: o.path ?? '/', authority: o.port !== undefined ? `${h}:${o.port}` : h, scheme: o.scheme ?? 'https' };
}
