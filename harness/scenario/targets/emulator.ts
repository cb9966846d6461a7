/**
 * The `emulator` target: the same build/meshgate.wasm in the Node host emulator, behind a model
 * of what the reference Envoy listener does first (front.ts): the TLS handshake (a certificate
 * from a foreign CA or out of date is refused), the HTTP/1 or HTTP/2 codec (raw bytes, header
 * lists), the request-header limit, path normalization, and the HCM's handling of
 * x-forwarded-client-cert. Where the model and Envoy could differ, the
 * scenario suites run on both targets and `--target both` fails on any disagreement.
 *
 * Egress adds egressFront (how envoy/egress.yaml and envoy/egress-sidecar.yaml turn Host lines,
 * absolute-form URIs and CONNECT targets into :authority and :scheme) and egressDelivery (the two
 * ways the dynamic forward proxy fails to deliver what the filter allowed that scenarios pin),
 * both checked request by request against Envoy in test/e2e/egress.test.ts; what they do not
 * model is listed in docs/egress-behaviour.md §8.
 */
import { connectionProperties, peerCertificate, presentRequest, type EnvoyRequest, type PeerCertificate } from '../../emulator/request';
import { NetworkConnection } from '../../emulator/network';
import { ProxyWasmVm, type HttpStream, type PluginHandle } from '../../emulator/vm';
import { TestPki, mintDescribed } from '../../pki/pki';
import { clientHandshake, peerValidatorFor, type PeerValidator } from '../../pki/handshake';
import { repoRoot } from '../../envoy/paths';
import { TUNNEL_EXIT_CLUSTER, TUNNEL_EXIT_ROOT_ID } from '../../envoy/reference';
import { grantsOf, guardRefusal } from '../../envoy/address-guard';
import { FAKE_INTERNET } from '../../stack/egress';
import { parseIpv4Strict } from '../../policy/ip';
import * as http from 'node:http';
import * as path from 'node:path';
import { h2Codec, hcmFront, normalizeRequestPath, requestHeadersTooLarge, stripTrailingHostDot, type CodecResult } from '../front';
import type { Observation, Scenario, ScenarioRequest } from '../types';
import type { TargetExecutor } from './executor';
import { ruleCountsOf } from './rule-counts';
import { observe, observeConnection, type Exchange } from './observe';
import { defaultTunnelFlight, wireBytes } from '../first-flight';
import { inspectTls } from '../tls-inspector';
import { composedAuthority, composedHeaders, isSidecar } from './envoy-egress';
import { inboundHeaderList, protocolOf, SERVICE_AUTHORITY } from './envoy-inbound';

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
  // Envoy's codec knows only the registered methods, all upper case: `post` is a 400 (pinned by
  // test/scenarios/inbound/shop.yaml on both targets). Unknown upper-case methods are not modelled.
  if (m[1] !== m[1].toUpperCase()) return null;
  const headers: [string, string][] = [];
  for (const l of lines) {
    // obs-fold (RFC 9112 5.2): Envoy's codec replaces the line break with a space (pinned by
    // test/scenarios/adversarial/xfcc.yaml on both targets).
    if (/^[ \t]/.test(l) && headers.length > 0) {
      const last = headers[headers.length - 1];
      last[1] = `${last[1]} ${l.trim()}`.trim();
      continue;
    }
    const c = l.indexOf(':');
    if (c <= 0 || /\s/.test(l.slice(0, c))) return null;
    headers.push([l.slice(0, c).toLowerCase(), l.slice(c + 1).trim()]);
  }
  return { method: m[1], target: m[2], headers };
}

let connectionIds = 1000n;

/** What the service behind the proxy answers to every request it receives: the fake upstream and
 *  external services of the Envoy targets (harness/services/upstream.ts) always answer 200. */
const UPSTREAM_STATUS = 200;

/** The module a target runs: build/meshgate.wasm by default; tests substitute others (a trap). */
export interface FilterModule {
  wasmFile?: string;
  /** Default: meshgate_inbound or meshgate_egress after the scenario's role, meshgate_egress_sni
   *  for a file of connections. */
  rootId?: string;
}


/** The root id that runs a scenario. */
export function rootIdOf(scenario: Scenario): string {
  if (scenario.role === 'inbound') return 'meshgate_inbound';
  return scenario.connections ? 'meshgate_egress_sni' : 'meshgate_egress';
}

export class EmulatorTarget implements TargetExecutor {
  readonly name = 'emulator' as const;
  private readonly certs = new Map<string, Promise<PeerCertificate | 'refused'>>();

  private constructor(
    private readonly scenario: Scenario,
    private readonly vm: ProxyWasmVm,
    private readonly plugin: PluginHandle,
    private readonly pki: TestPki,
    /** How the reference listener validates client certificates for this scenario's bundles. */
    private readonly validator: PeerValidator,
    /** Egress over HTTP: meshgate_tunnel_exit, the CONNECT tunnels' exit on the internal listener. */
    private readonly exit?: PluginHandle,
  ) {}

  static async start(scenario: Scenario, module: FilterModule = {}): Promise<EmulatorTarget> {
    const vm = await ProxyWasmVm.load(module.wasmFile ?? path.join(repoRoot(), 'build', 'meshgate.wasm'));
    vm.logLevel = 1; // debug: the decision lines are what a failing scenario needs
    const rootId = module.rootId ?? rootIdOf(scenario);
    const plugin = vm.startPlugin({ rootId, configuration: scenario.policyJson });
    if (!plugin.ok) {
      throw new Error(`the filter refused the policy of ${scenario.file}:\n${vm.logs.map((l) => `  ${l.level}: ${l.message}`).join('\n')}`);
    }
    const pki = await TestPki.create({ trustDomains: [scenario.normalized.trustDomain, ...(scenario.federatesWith ?? [])], extra: scenario.authorities });
    // The same VM serves the exit, as Envoy's shared vm_id does (envoy/egress*.yaml `tunnel_exit`).
    const exit = rootId === 'meshgate_egress' ? vm.startPlugin({ rootId: TUNNEL_EXIT_ROOT_ID, configuration: '' }) : undefined;
    if (exit && !exit.ok) throw new Error(`${TUNNEL_EXIT_ROOT_ID} did not start:\n${vm.logs.map((l) => `  ${l.level}: ${l.message}`).join('\n')}`);
    return new EmulatorTarget(scenario, vm, plugin, pki, peerValidatorFor(pki.bundles()), exit);
  }

  /** The certificate the caller presents, as the handshake would treat it. */
  private async peerCertificate(req: ScenarioRequest): Promise<PeerCertificate | 'refused' | undefined> {
    if (req.as === 'none') return clientHandshake(undefined, this.validator).accepted ? undefined : 'refused';
    const id = this.scenario.identities[req.as];
    const key = req.certificate !== undefined ? `described|${req.certificate}` : `${id}|${req.cert ?? ''}`;
    let cert = this.certs.get(key);
    if (!cert) {
      cert = (async () => {
        const issuer = this.pki.issuerOf(id ?? '');
        const minted =
          req.certificate !== undefined
            ? await mintDescribed(this.pki, this.scenario.certificates![req.certificate])
            : req.cert
              ? await issuer.mintBad(req.cert, id)
              : await issuer.mintSvid(id);
        // Envoy validates a presented certificate before any request exists (harness/pki/handshake.ts).
        return clientHandshake(minted.chainPem, this.validator).accepted ? peerCertificate(minted.certPem) : ('refused' as const);
      })();
      this.certs.set(key, cert);
    }
    return cert;
  }

  async run(req: ScenarioRequest): Promise<Observation> {
    if (req.tls !== undefined) return this.runConnection(req);
    return this.scenario.role === 'inbound' ? this.runInbound(req) : this.runEgress(req);
  }

  /**
   * A TLS passthrough connection (envoy/egress-sni-sidecar.yaml or egress-sni-gateway.yaml): the
   * gateway's mTLS handshake (the caller's certificate), the sidecar's TLS inspector
   * (tls-inspector.ts), then the network filter with the workload's first flight in one read
   * (tcp_proxy's max_early_data_bytes lets the connection be read before anything is dialed).
   * After Continue, sni_dynamic_forward_proxy dials the host and port the filter set in Envoy
   * filter state (`envoy.upstream.dynamic_host` / `_port`), else the requested server name and
   * the listener's port; an empty name dials nothing.
   */
  private async runConnection(req: ScenarioRequest): Promise<Observation> {
    const sidecar = isSidecar(this.scenario);
    const cert = sidecar ? undefined : await this.peerCertificate(req);
    if (cert === 'refused') return { outcome: 'deny', status: 0, layer: 'tls', detail: `handshake refused (${req.certificate ?? req.cert ?? 'no client certificate'})`, dnsQueries: 0, externalConnections: 0 };
    const port = req.port ?? 443;
    const bytes = wireBytes(req.tls!, req.host);
    // The gateway has no TLS inspector (envoy/egress-sni-gateway.yaml): no requested server name,
    // so nothing but the filter's own reading of the inner hello can name a destination.
    let requestedServerName = '';
    if (sidecar) {
      const seen = inspectTls(bytes);
      if (seen.verdict === 'too-large' || seen.verdict === 'waiting') {
        return observeConnection({ delivered: false, meshgate: undefined, details: `tls_inspector: ${seen.verdict === 'too-large' ? 'client_hello_too_large, socket closed' : 'still waiting for the ClientHello'}`, dnsQueries: 0, externalConnections: 0 });
      }
      requestedServerName = seen.verdict === 'tls' ? seen.sni : '';
    }
    const conn = new NetworkConnection(this.plugin, {
      properties: { ...connectionProperties({ connectionId: ++connectionIds, peer: cert }), 'destination.port': port, 'connection.requested_server_name': requestedServerName },
    });
    let step = conn.newConnection();
    if (step.action !== 'closed' && step.action !== 'failed') step = conn.downstreamData(bytes);
    const held = step.action === 'stop';
    conn.close('remote');
    const meshgate = conn.filterState['wasm.meshgate'];
    if (step.action === 'failed') return observeConnection({ delivered: false, meshgate, details: 'wasm VM failed, connection closed', crashed: true });
    if (step.action === 'closed') return observeConnection({ delivered: false, meshgate, details: 'closed by the filter', dnsQueries: 0, externalConnections: 0 });
    if (held) {
      return { ...observeConnection({ delivered: false, meshgate, details: 'held by the filter' }), problem: 'the filter neither let the first flight through nor closed the connection' };
    }
    const dial = dialTarget(conn.envoyFilterState, requestedServerName, port);
    if (dial === undefined) return observeConnection({ delivered: false, meshgate, details: 'sni_dynamic_forward_proxy: no host to dial' });
    const guard = addressGuardRefusal(this.scenario, dial.host, meshgate);
    if (guard !== null) return observeConnection({ delivered: false, meshgate, details: `rbac_access_denied_matched_policy[${guard}]`, dnsQueries: 1, externalConnections: 0 });
    return observeConnection({ delivered: true, meshgate, details: `dialed ${dial.host}:${dial.port}`, dialed: dial.host });
  }

  private async runInbound(req: ScenarioRequest): Promise<Observation> {
    const cert = await this.peerCertificate(req);
    if (cert === 'refused') return { outcome: 'deny', status: 0, layer: 'tls', detail: `handshake refused (${req.certificate ?? req.cert ?? 'no client certificate'})` };

    // The request as Envoy's codec and HCM would hand it to the filter chain.
    const protocol = protocolOf(req);
    const front = hcmFront(protocol === 'h2' ? h2Codec(inboundHeaderList(req)) : inboundHttp1Codec(req), protocol);
    if (!front.ok) return { outcome: 'deny', status: front.status, layer: 'envoy', detail: front.reason };
    const { method, authority, target: pathHeader } = front.request;
    let headers = front.request.headers;

    const identitySource = this.scenario.normalized.identity.from;
    headers = headers.filter(([k]) => k !== 'x-forwarded-client-cert' || (identitySource === 'xfcc' && cert !== undefined));
    if (identitySource !== 'xfcc' && cert !== undefined) {
      // SANITIZE_SET with uri: Envoy writes its own element for the peer it saw.
      headers.push(['x-forwarded-client-cert', `By=spiffe://${this.scenario.normalized.trustDomain}/ns/shop/sa/billing;${cert.uriSans.map((u) => `URI=${u}`).join(';') || 'URI='}`]);
    }
    const seen = this.decide(cert, { method, path: pathHeader, authority, scheme: 'https', headers });
    return 'outcome' in seen ? seen : observe(seen);
  }

  /**
   * Egress: the front of envoy/egress.yaml (TLS listener, :scheme https) or of
   * envoy/egress-sidecar.yaml (plain listener, :scheme http, no peer certificate) as modelled by
   * egressFront, then the filter, then the ways the dynamic forward proxy fails to deliver what
   * the filter let through (egressDelivery). Pinned by test/e2e/egress.test.ts.
   */
  private async runEgress(req: ScenarioRequest): Promise<Observation> {
    const sidecar = isSidecar(this.scenario);
    const cert = sidecar ? undefined : await this.peerCertificate(req);
    if (cert === 'refused') return { outcome: 'deny', status: 0, layer: 'tls', detail: `handshake refused (${req.certificate ?? req.cert ?? 'no client certificate'})` };
    const front = egressFront(req, sidecar ? 'http' : 'https');
    if (!front.ok) return { outcome: 'deny', status: front.status, layer: 'envoy', detail: front.detail };
    const seen = this.decide(cert, { method: front.method, path: front.path, authority: front.authority, scheme: front.scheme, headers: front.headers }, tunnelBytesOf(req));
    if ('outcome' in seen) return seen;
    const failure = seen.received ? egressDelivery(front) : undefined;
    return observe(failure ? { ...seen, received: false, status: 503, details: failure } : seen);
  }

  /**
   * Runs the request headers through the filter: the service receives the request iff the filter
   * let the stream continue. A filter that stops the stream without answering would leave the
   * client waiting in Envoy: that is a failure of its own.
   */
  private decide(peer: PeerCertificate | undefined, request: Omit<EnvoyRequest, 'connectionId' | 'peer'>, tunnelFirst?: Buffer): Exchange | Observation {
    const connect = request.method === 'CONNECT';
    const presented = presentRequest({ ...request, connectionId: ++connectionIds, peer });
    // The route's cluster (envoy/egress*.yaml): CONNECT goes to the internal listener.
    if (connect && this.exit) presented.properties['xds.cluster_name'] = TUNNEL_EXIT_CLUSTER;
    const stream = this.plugin.newHttpStream(presented);
    const r = stream.sendRequestHeaders({ endOfStream: !connect });
    // The forward proxy resolves what the filter let through; the guard after it may refuse the
    // address before anything is dialed (RBAC 403). Not for CONNECT: its route's cluster is the
    // internal listener, which the forward proxy filter leaves alone; the exit resolves (tunnel()).
    const guard = r.action === 'continue' && !connect ? addressGuardRefusal(this.scenario, hostOf(request.authority), stream.filterState['wasm.meshgate']) : null;
    if (guard !== null) {
      stream.complete();
      return { received: false, status: 403, details: `rbac_access_denied_matched_policy[${guard}]`, meshgate: stream.filterState['wasm.meshgate'] };
    }
    const tunnel = r.action === 'continue' && tunnelFirst !== undefined ? this.tunnel(stream, tunnelFirst) : undefined;
    stream.complete();
    const meshgate = stream.filterState['wasm.meshgate'];
    if (tunnel !== undefined) return { ...tunnel, meshgate };
    if (r.action === 'continue') {
      // The services are Node HTTP servers: a method Node's parser does not know (`get` over h2,
      // which Envoy passes) is answered 400 and never recorded.
      if (!http.METHODS.includes(request.method)) return { received: false, status: 400, details: 'via_upstream', meshgate };
      return { received: true, status: UPSTREAM_STATUS, details: 'via_upstream', meshgate };
    }
    if (r.localReply === undefined) {
      return { outcome: 'deny', status: 0, layer: 'envoy', detail: meshgate, problem: 'the filter stopped the request without answering it' };
    }
    return { received: false, status: r.localReply.status, details: r.localReply.details, meshgate };
  }

  /**
   * An allowed CONNECT: Envoy connected to its internal listener and answered 200 (through the
   * filter's response callbacks), and the tunnel's first bytes reach the filter as request body. A
   * reset stream (proxy_close_stream request) delivered none of them, and nothing was resolved or
   * dialed; bytes the filter let through go to the exit (exitTunnel).
   */
  private tunnel(stream: HttpStream, first: Buffer): Omit<Exchange, 'meshgate'> {
    stream.sendResponseHeaders([[':status', '200']], { endOfStream: false });
    const body = stream.sendRequestBody(first, { endOfStream: false });
    if (body.reset) return { received: false, status: 200, details: 'wasm_close_stream', tunnelBytes: 0, dnsQueries: 0, externalConnections: 0 };
    if (body.action === 'continue') return this.exitTunnel(Buffer.concat(stream.forwarded[0]));
    // Held: the client would wait for an answer that never comes.
    return { received: false, status: 200, details: 'tunnel held by the filter', tunnelBytes: 0 };
  }

  /**
   * The internal listener `tunnel_exit`: meshgate_tunnel_exit reads the line the filter put in
   * front of the tunnel's bytes, then sni_dynamic_forward_proxy resolves the host it named and the
   * guard may close the tunnel (the CONNECT's 200 is long sent) before tcp_proxy dials.
   */
  private exitTunnel(bytes: Buffer): Omit<Exchange, 'meshgate'> {
    const conn = new NetworkConnection(this.exit!, { properties: { 'destination.port': 0 } });
    let step = conn.newConnection();
    if (step.action !== 'closed' && step.action !== 'failed') step = conn.downstreamData(bytes);
    conn.close('remote');
    if (step.action === 'failed') return { received: false, status: 200, details: 'wasm_fail_stream (meshgate_tunnel_exit)', tunnelBytes: 0 };
    const dial = step.action === 'continue' ? dialTarget(conn.envoyFilterState, '', 443) : undefined;
    if (dial === undefined) return { received: false, status: 200, details: 'closed by meshgate_tunnel_exit', tunnelBytes: 0, dnsQueries: 0, externalConnections: 0 };
    const guard = addressGuardRefusal(this.scenario, dial.host, conn.filterState['wasm.meshgate']);
    if (guard !== null) return { received: false, status: 200, details: `rbac_access_denied_matched_policy[${guard}]`, tunnelBytes: 0, dnsQueries: 1, externalConnections: 0 };
    return { received: true, status: UPSTREAM_STATUS, details: 'via_upstream', tunnelBytes: Buffer.concat(conn.forwarded).length };
  }

  /** The filter's rule counters, once its timer has handed them to the host (as Envoy's does). */
  async ruleCounts(): Promise<Record<string, number>> {
    this.plugin.tick();
    return ruleCountsOf(this.vm.metrics());
  }

  async stop(): Promise<void> {
    this.plugin.done();
  }
}

/** The host part of an authority (`host`, `host:port`, `[v6]:port`). */
function hostOf(authority: string): string {
  return /^(\[[^\]]*\]|[^:]*)/.exec(authority)?.[1] ?? '';
}

/**
 * The post-resolution guard of the egress reference configs (harness/envoy/address-guard.ts),
 * after the forward proxy resolved `host`: the harness DNS server answers a name of the file's
 * `dns:` with its address and every other name with the fake internet (127.0.0.1, which the
 * stack treats as public); a dotted-quad literal is its own address. The guard policy that
 * refuses the address, or null.
 */
export function addressGuardRefusal(scenario: Scenario, host: string, meshgate: string | undefined): string | null {
  const name = host.toLowerCase().replace(/\.$/, '');
  const address = scenario.dns?.[name] ?? (parseIpv4Strict(name) ? name : '127.0.0.1');
  return guardRefusal(address, meshgate, { grants: grantsOf(scenario.policyJson), treatAsPublic: [FAKE_INTERNET] });
}

/** Where sni_dynamic_forward_proxy dials after the filter let a connection through: the Envoy
 *  filter state's host and port when set, else the requested server name and the listener's port. */
export function dialTarget(state: Record<string, string>, requestedServerName: string, listenerPort: number): { host: string; port: number } | undefined {
  const host = state['envoy.upstream.dynamic_host'] ?? requestedServerName;
  if (host === '') return undefined;
  const port = state['envoy.upstream.dynamic_port'] !== undefined ? Number(state['envoy.upstream.dynamic_port']) : listenerPort;
  return { host, port };
}

/**
 * The first bytes inside a composed CONNECT tunnel: `inner:` as given, else what the Envoy
 * target's TLS client sends (a hello naming the host, none for an IP literal). A raw CONNECT
 * sends no tunnel bytes.
 */
export function tunnelBytesOf(req: ScenarioRequest): Buffer | undefined {
  if (!req.connect || req.raw !== undefined) return undefined;
  return wireBytes(req.inner ?? defaultTunnelFlight(req.host), req.host);
}

// ---- the egress front model ------------------------------------------------------------------

/** What the reference egress listener hands to the filter chain, or the status it answers. */
export type EgressFront =
  | { ok: true; method: string; scheme: string; authority: string; path?: string; headers: [string, string][]; connect: boolean }
  | { ok: false; status: number; detail: string };

/** The authority bytes Envoy accepts (nghttp2/quiche `check_authority`): RFC 3986 authority
 *  characters plus '%'; anything else (a space, a non-ASCII byte) is a 400. Empty is accepted. */
const AUTHORITY_CHARS = /^[A-Za-z0-9!$&'()*+,\-.:;=@[\]_~%]*$/;

function reject(status: number, detail: string): EgressFront {
  return { ok: false, status, detail };
}

/** `host:port` as Envoy's HTTP/1 codec accepts it in a CONNECT request line (port 1..65535) or
 *  an absolute URI (port 0..65535: `http://billing:0/` passes, pinned by front-model.test.ts). */
function validHostPort(host: string, port: string | undefined, lowestPort = 1): boolean {
  if (host === '') return false;
  if (port === undefined) return true;
  return /^\d{1,5}$/.test(port) && Number(port) >= lowestPort && Number(port) <= 65535;
}

/**
 * An absolute-form request target as Envoy's HTTP/1 codec takes it apart (both listeners; pinned
 * by test/e2e/egress.test.ts and test/e2e/front-model.test.ts): scheme http or https in any case
 * (else 400), lower-cased; userinfo dropped; empty host or bad port → 400; the rest is the path
 * (`/` when empty), and a rest starting with '?' is a 404. Undefined for any other form.
 */
export function absoluteForm(
  target: string,
): { ok: true; scheme: 'http' | 'https'; authority: string; target: string } | { ok: false; status: number; detail: string } | undefined {
  const abs = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)(.*)$/.exec(target);
  if (!abs) return undefined;
  const scheme = abs[1].toLowerCase();
  if (scheme !== 'http' && scheme !== 'https') return { ok: false, status: 400, detail: 'http1.invalid_scheme' };
  const authority = abs[2].slice(abs[2].lastIndexOf('@') + 1);
  const m = /^(\[[^\]]*\]|[^:[\]]*)(?::(.*))?$/.exec(authority);
  if (!m || !validHostPort(m[1], m[2], 0)) return { ok: false, status: 400, detail: 'http1.invalid_url' };
  const rest = abs[3] === '' ? '/' : abs[3];
  if (rest.startsWith('?')) return { ok: false, status: 404, detail: 'absolute_path_rejected' };
  return { ok: true, scheme, authority, target: rest };
}

/**
 * The inbound listener's HTTP/1 codec, pinned by test/e2e/front-model.test.ts and the scenario
 * suites: the raw bytes, or the composed request as Node's client writes it (method upper-cased,
 * the default Host first, `Connection: close` last); a head over the header limit → 431; a head
 * parseRawRequest refuses, or several Host lines → 400; CONNECT's target is the authority; an
 * absolute-form target (absoluteForm) replaces Host with its authority.
 */
export function inboundHttp1Codec(req: ScenarioRequest): CodecResult {
  let head: string;
  let parsed: ParsedRequest | null;
  if (req.raw !== undefined) {
    const end = req.raw.indexOf('\r\n\r\n');
    head = end < 0 ? req.raw : req.raw.slice(0, end + 4);
    parsed = parseRawRequest(req.raw);
  } else {
    const method = req.method.toUpperCase();
    const fields: [string, string][] = Object.entries({ host: SERVICE_AUTHORITY, ...req.headers });
    head = `${method} ${req.path} HTTP/1.1\r\n${fields.map(([k, v]) => `${k}: ${v}\r\n`).join('')}Connection: close\r\n\r\n`;
    parsed = { method, target: req.path, headers: fields.map(([k, v]) => [k.toLowerCase(), v]) };
  }
  if (requestHeadersTooLarge({ head })) return { ok: false, status: 431, reason: 'http1.headers_too_large' };
  if (!parsed) return { ok: false, status: 400, reason: 'http1.codec_error' };
  const hosts = parsed.headers.filter(([k]) => k === 'host').map(([, v]) => v);
  if (hosts.length > 1) return { ok: false, status: 400, reason: 'duplicate Host' };
  const request = { method: parsed.method, target: parsed.target as string | undefined, authority: hosts[0] ?? '', scheme: 'https', headers: parsed.headers.filter(([k]) => k !== 'host') };
  if (request.method === 'CONNECT') return { ok: true, request: { ...request, authority: parsed.target, target: undefined } };
  const abs = absoluteForm(parsed.target);
  if (abs === undefined) return { ok: true, request };
  if (!abs.ok) return { ok: false, status: abs.status, reason: abs.detail };
  return { ok: true, request: { ...request, scheme: abs.scheme, authority: abs.authority, target: abs.target } };
}

/**
 * A model of envoy/egress.yaml's front (or the sidecar's: `listenerScheme` http), pinned against
 * Envoy 1.40 by test/e2e/egress.test.ts ("front model" cases) and described, with the test for
 * each point, in docs/egress-behaviour.md:
 * - HTTP/1.0 → 426 (no accept_http_10); a header line the codec cannot parse → 400;
 * - CONNECT: the request target must be `host:port` (no userinfo, port 1..65535) else 400; it
 *   becomes :authority and every Host header is ignored;
 * - absolute-form `scheme://[userinfo@]host[:port]/path`: scheme http/https in any case (else 400),
 *   lower-cased into :scheme; userinfo dropped; empty host or bad port → 400; the URI's
 *   authority becomes :authority and replaces Host; a path starting with '?' → 404;
 * - origin-form: no Host at all → 400; several Host lines are joined with ',' (empty ones
 *   skipped) into one :authority; :scheme is the listener's;
 * - the resulting :authority must consist of authority characters (else 400), then
 *   strip_trailing_host_dot removes one trailing dot;
 * - paths are normalized like the inbound listener's (front.ts);
 * - x-forwarded-client-cert from the client is removed (SANITIZE).
 */
export function egressFront(req: ScenarioRequest, listenerScheme: 'http' | 'https'): EgressFront {
  let method: string;
  let target: string;
  let headers: [string, string][];
  if (req.raw !== undefined) {
    if (/^[^\r\n]* HTTP\/1\.0\r\n/.test(req.raw)) return reject(426, 'low_version');
    const parsed = parseRawRequest(req.raw);
    if (!parsed) return reject(400, 'http1.codec_error');
    ({ method, target, headers } = parsed);
  } else if (req.connect) {
    method = 'CONNECT';
    target = composedAuthority(req);
    headers = Object.entries(composedHeaders(req, target));
  } else {
    method = req.method;
    const authority = composedAuthority(req);
    target = req.scheme !== undefined ? `${req.scheme}://${authority}${req.path}` : req.path;
    headers = Object.entries(composedHeaders(req, authority));
  }
  const hostValues = headers.filter(([k]) => k === 'host').map(([, v]) => v);
  headers = headers.filter(([k]) => k !== 'host' && k !== 'x-forwarded-client-cert');

  let scheme = listenerScheme;
  let authority: string;
  let path: string | undefined;
  if (method === 'CONNECT') {
    const m = /^(\[[^\]]*\]|[^:@/[\]]*)(?::([^:]*))?$/.exec(target);
    if (!m || m[2] === undefined || !validHostPort(m[1], m[2])) return reject(400, 'http1.invalid_url');
    authority = target;
  } else {
    const abs = absoluteForm(target);
    if (abs !== undefined) {
      if (!abs.ok) return abs;
      ({ scheme, authority, target } = abs);
    } else {
      if (hostValues.length === 0) return reject(400, 'missing_host_header');
      authority = hostValues.filter((v) => v !== '').join(',');
    }
    const normalized = normalizeRequestPath(target);
    if (!normalized.ok) return reject(400, normalized.reason);
    path = normalized.path;
  }
  if (!AUTHORITY_CHARS.test(authority)) return reject(400, 'http.invalid_authority');
  authority = stripTrailingHostDot(authority);
  return { ok: true, method, scheme, authority, path, headers, connect: method === 'CONNECT' };
}

/**
 * Why Envoy would not deliver a request the filter let through, or undefined. Only the failures a
 * scenario may pin (each shown by test/e2e/egress.test.ts): the dynamic forward proxy hands a
 * bracketed IPv6 authority to c-ares, which refuses it ("Misformatted domain name", 503); and TLS
 * origination to a name that still ends in '.' (a second trailing dot; strip_trailing_host_dot
 * removes only one) verifies the certificate against that name, which no certificate carries.
 * Anything else the harness DNS server answers and the fake services' certificate covers.
 */
export function egressDelivery(front: Extract<EgressFront, { ok: true }>): string | undefined {
  const host = /^(\[[^\]]*\]|[^:]*)/.exec(front.authority)?.[1] ?? '';
  if (host.startsWith('[')) return 'dns_resolution_failure{cares_failure:Misformatted_domain_name}';
  if (!front.connect && front.scheme === 'https' && host.endsWith('.')) return 'upstream_reset_before_response_started{...CERTIFICATE_VERIFY_FAILED...}';
  return undefined;
}
