/**
 * The `emulator` target: the same build/meshgate.wasm in the Node host emulator, behind a model
 * of what the reference Envoy listener does first (front.ts): the TLS handshake (a certificate
 * from a foreign CA or out of date is refused), HTTP/1 parsing of raw bytes, path normalization,
 * and the HCM's handling of x-forwarded-client-cert. Where the model and Envoy could differ, the
 * scenario suites run on both targets and `--target both` fails on any disagreement.
 */
import { X509Certificate } from 'node:crypto';
import { ProxyWasmVm, type PluginHandle } from '../../emulator/vm';
import { TestCa } from '../../pki/ca';
import { repoRoot } from '../../envoy/paths';
import * as path from 'node:path';
import { normalizeRequestPath } from '../front';
import type { Observation, Scenario, ScenarioRequest } from '../types';
import type { TargetExecutor } from './executor';
import { deniedRule } from './details';

interface ParsedRequest {
  method: string;
  target: string;
  headers: [string, string][];
}

/** Parses an HTTP/1.1 request head the way a strict codec would; null = Envoy answers 400. */
export function parseRawRequest(raw: string): ParsedRequest | null {
  const end = raw.indexOf('\r\n\r\n');
  if (end < 0) return null;
  const [line, ...lines] = raw.slice(0, end).split('\r\n');
  const m = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+) (\S+) HTTP\/1\.[01]$/.exec(line);
  if (!m) return null;
  const headers: [string, string][] = [];
  for (const l of lines) {
    const c = l.indexOf(':');
    if (c <= 0 || /\s/.test(l.slice(0, c))) return null;
    headers.push([l.slice(0, c).toLowerCase(), l.slice(c + 1).trim()]);
  }
  return { method: m[1], target: m[2], headers };
}

let connectionIds = 1000n;

export class EmulatorTarget implements TargetExecutor {
  readonly name = 'emulator' as const;
  private readonly certs = new Map<string, Promise<{ pem: string; uris: string[] } | 'refused'>>();

  private constructor(
    private readonly scenario: Scenario,
    private readonly vm: ProxyWasmVm,
    private readonly plugin: PluginHandle,
    private readonly ca: TestCa,
  ) {}

  static async start(scenario: Scenario, wasmFile = path.join(repoRoot(), 'build', 'meshgate.wasm')): Promise<EmulatorTarget> {
    const vm = await ProxyWasmVm.load(wasmFile);
    vm.logLevel = 1; // debug: the decision lines are what a failing scenario needs
    const rootId = scenario.role === 'inbound' ? 'meshgate_inbound' : 'meshgate_egress';
    const plugin = vm.startPlugin({ rootId, configuration: scenario.policyJson });
    if (!plugin.ok) {
      throw new Error(`the filter refused the policy of ${scenario.file}:\n${vm.logs.map((l) => `  ${l.level}: ${l.message}`).join('\n')}`);
    }
    const ca = await TestCa.create({ trustDomain: String(scenario.policy.trustDomain) });
    return new EmulatorTarget(scenario, vm, plugin, ca);
  }

  /** The certificate the caller presents, as the handshake would treat it. */
  private peerCertificate(req: ScenarioRequest): Promise<{ pem: string; uris: string[] } | 'refused'> | undefined {
    if (req.as === 'none') return undefined;
    const id = this.scenario.identities[req.as];
    const key = `${id}|${req.cert ?? ''}`;
    let cert = this.certs.get(key);
    if (!cert) {
      cert = (async () => {
        // Envoy validates a presented certificate against the trust bundle (chain and dates).
        if (req.cert === 'expired' || req.cert === 'foreign-ca') return 'refused' as const;
        const minted = req.cert ? await this.ca.mintBad(req.cert, id) : await this.ca.mintSvid(id);
        const x = new X509Certificate(minted.certPem);
        const uris = (x.subjectAltName ?? '').split(', ').filter((s) => s.startsWith('URI:')).map((s) => s.slice(4));
        return { pem: minted.certPem, uris };
      })();
      this.certs.set(key, cert);
    }
    return cert;
  }

  async run(req: ScenarioRequest): Promise<Observation> {
    const cert = await this.peerCertificate(req);
    if (cert === 'refused') return { outcome: 'deny', status: 0, layer: 'tls', detail: `handshake refused (${req.cert})` };

    // The request as Envoy's codec and HCM would hand it to the filter chain.
    let method = req.method;
    let target = req.path;
    let headers: [string, string][] = Object.entries(req.headers).map(([k, v]) => [k.toLowerCase(), v]);
    let host = this.scenario.role === 'inbound' ? 'billing' : this.egressHost(req);
    if (req.raw !== undefined) {
      const parsed = parseRawRequest(req.raw);
      if (!parsed) return { outcome: 'deny', status: 400, layer: 'envoy', detail: 'malformed request' };
      method = parsed.method;
      target = parsed.target;
      headers = parsed.headers.filter(([k]) => k !== 'host');
      const hosts = parsed.headers.filter(([k]) => k === 'host');
      if (hosts.length > 1) return { outcome: 'deny', status: 400, layer: 'envoy', detail: 'duplicate Host' };
      host = hosts[0]?.[1] ?? '';
    } else if (headers.some(([k]) => k === 'host')) {
      host = headers.filter(([k]) => k === 'host')[0][1];
      headers = headers.filter(([k]) => k !== 'host');
    }
    if (req.raw === undefined && this.scenario.role === 'egress' && req.connect) {
      method = 'CONNECT';
      target = host;
    } else if (req.raw === undefined && this.scenario.role === 'egress' && req.scheme === 'http') {
      target = `http://${host}${req.path}`;
    }

    let scheme = 'https';
    let authority = host;
    let pathHeader: string | undefined = target;
    if (method === 'CONNECT') {
      authority = target;
      pathHeader = undefined;
    } else {
      const abs = /^(https?):\/\/([^/?#]*)(.*)$/i.exec(target);
      if (abs) {
        if (this.scenario.role === 'inbound') return { outcome: 'deny', status: 400, layer: 'envoy', detail: 'absolute-form not allowed' };
        scheme = abs[1].toLowerCase();
        authority = abs[2];
        target = abs[3] || '/';
      }
      const front = normalizeRequestPath(target);
      if (!front.ok) return { outcome: 'deny', status: 400, layer: 'envoy', detail: front.reason };
      pathHeader = front.path;
    }

    const identitySource = (this.scenario.policy.identity as { from?: string } | undefined)?.from ?? 'peer-certificate';
    headers = headers.filter(([k]) => k !== 'x-forwarded-client-cert' || (this.scenario.role === 'inbound' && identitySource === 'xfcc' && cert !== undefined));
    if (this.scenario.role === 'inbound' && identitySource !== 'xfcc' && cert !== undefined) {
      // SANITIZE_SET with uri: Envoy writes its own element for the peer it saw.
      headers.push(['x-forwarded-client-cert', `By=spiffe://${this.scenario.policy.trustDomain}/ns/shop/sa/billing;${cert.uris.map((u) => `URI=${u}`).join(';') || 'URI='}`]);
    }
    const pseudo: [string, string][] = [[':authority', authority], [':method', method], [':scheme', scheme]];
    if (pathHeader !== undefined) pseudo.push([':path', pathHeader]);

    const properties: Record<string, string | bigint | boolean> = { 'connection.id': ++connectionIds };
    if (cert !== undefined) {
      properties['connection.peer_certificate'] = encodeURIComponent(cert.pem);
      properties['connection.mtls'] = true;
      if (cert.uris.length) properties['connection.uri_san_peer_certificate'] = cert.uris[0];
    }
    const stream = this.plugin.newHttpStream({ properties, requestHeaders: [...pseudo, ...headers] });
    const r = stream.sendRequestHeaders({ endOfStream: true });
    stream.complete();
    if (r.action === 'continue') {
      const state = stream.filterState['wasm.meshgate'] ?? '';
      const rule = /rule=(\S+)/.exec(state)?.[1];
      return { outcome: 'allow', status: 200, layer: 'upstream', rule, detail: state };
    }
    const reply = r.localReply;
    return {
      outcome: 'deny',
      status: reply?.status ?? 500,
      layer: r.action === 'failed' ? 'wasm-failed' : 'meshgate',
      rule: deniedRule(reply?.details),
      detail: reply?.details,
    };
  }

  private egressHost(req: ScenarioRequest): string {
    const h = req.host ?? '';
    const bracketed = h.includes(':') && !h.startsWith('[') ? `[${h}]` : h;
    const defaultPort = req.connect ? undefined : req.scheme === 'http' ? 80 : 443;
    return req.port !== undefined && req.port !== defaultPort ? `${bracketed}:${req.port}` : req.connect ? `${bracketed}:${req.port ?? 443}` : bracketed;
  }

  async stop(): Promise<void> {
    this.plugin.done();
  }
}
