/**
 * The `envoy` target for egress scenarios: requests go through a real egress gateway
 * (envoy/egress.yaml + build/meshgate.wasm; envoy/egress-sidecar.yaml when the policy says
 * `identity.from: local`) to fake external services reached by real DNS resolution (the harness
 * DNS server answers every name in the scenario with 127.0.0.1). "allow" means an external
 * service received the request; for every request the DNS query log and the services' connection
 * counts are recorded, so a meshgate denial that still resolved or dialed anything fails the
 * scenario (harness/scenario/run.ts).
 *
 * How a composed request is sent (the emulator target builds the same request, see emulator.ts):
 * - `connect: true`  → `CONNECT host:port` (port default 443; Host = the target unless `headers`
 *                      set one), then TLS to `host` inside the tunnel and `GET path`;
 * - `scheme: http|https` → absolute-form `GET scheme://authority/path`, Host = authority unless
 *                      `headers` set one;
 * - neither          → origin-form `GET path` with Host = authority; :scheme is the listener's
 *                      (https on the gateway's TLS listener, http on the sidecar's plain one).
 * `authority` = host (IPv6 bracketed) plus `:port` when `port` is given.
 *
 * A CONNECT's tunnel carries a real TLS client for `inner:`'s name (default: the host; none when
 * `sni: null`), or `inner:`'s bytes as they are when a real client cannot send them (ECH, raw).
 * A file of `tls:` connections runs against envoy/egress-sni-sidecar.yaml (`identity.from:
 * local`) or envoy/egress-sni-gateway.yaml (the caller's mTLS hop first): the probe
 * (harness/services/tls-probe.ts) connects where a workload's connection to `host:port` lands and
 * runs a real TLS client, or writes the first-flight bytes; "allow" means an external service
 * received bytes, and the connection access log's `meshgate` field is the filter's record.
 */
import { request, rawRequest, parseRawResponse, type ClientResponse } from '../../services/client';
import { connectThrough, type ConnectResult } from '../../services/tunnel';
import { probe, type ProbeResult } from '../../services/tls-probe';
import type { ClientTls } from '../../services/client';
import { flightBytes, flightSni, handshakeName } from '../first-flight';
import { EgressStack } from '../../stack/egress';
import type { Json } from '../../envoy/bootstrap';
import type { Observation, Scenario, ScenarioRequest } from '../types';
import type { TargetExecutor } from './executor';
import { envoyRuleCounts } from './rule-counts';
import { guardPolicyOf, observe, observeConnection, unlogged } from './observe';
import { ACCESS_LOG_WAIT_MS, waitForEntry } from './access-log';

/** Does the scenario run against the sidecar form (plain-text listener, `identity.from: local`)? */
export function isSidecar(scenario: Scenario): boolean {
  return scenario.normalized.identity.from === 'local';
}

/** The bracketed-if-IPv6 host plus `:port` when the request names a port. */
export function composedAuthority(req: ScenarioRequest): string {
  const h = req.host ?? '';
  const host = h.includes(':') && !h.startsWith('[') ? `[${h}]` : h;
  if (req.connect) return `${host}:${req.port ?? 443}`;
  return req.port !== undefined ? `${host}:${req.port}` : host;
}

/** Lower-cased header names; a scenario's `Host`/`host` replaces the default one. */
export function composedHeaders(req: ScenarioRequest, defaultHost: string): Record<string, string> {
  const out: Record<string, string> = { host: defaultHost };
  for (const [k, v] of Object.entries(req.headers)) out[k.toLowerCase()] = v;
  return out;
}

interface Destination {
  host: string;
  port: number;
  tls: boolean;
}

const DEFAULT_PORT = { http: 80, https: 443 } as const;

/** Splits `host[:port]` (userinfo dropped, IPv6 brackets kept off); undefined port if none. */
function splitAuthority(authority: string): { host: string; port?: number } {
  const a = authority.slice(authority.lastIndexOf('@') + 1);
  const m = /^(\[[^\]]*\]|[^:]*)(?::(\d+))?$/.exec(a);
  if (!m) return { host: a };
  return { host: m[1].replace(/^\[|\]$/g, ''), port: m[2] !== undefined ? Number(m[2]) : undefined };
}

/**
 * Every (name, port) a request could make the gateway dial if meshgate let it through, composed
 * or raw (Host headers, absolute-form and CONNECT targets): the DNS server answers those names and
 * a fake service listens on those ports, so a request that should have been denied shows up as
 * delivered rather than as a DNS or connection failure.
 */
export function destinations(req: ScenarioRequest, sidecar: boolean): Destination[] {
  if (req.tls !== undefined) {
    // The name the SNI filter would let the proxy dial; nothing resolves the name the workload dialed.
    const sni = req.tls.raw === undefined ? flightSni(req.tls, req.host) : null;
    return sni ? [{ host: sni, port: req.port ?? 443, tls: true }] : [{ host: '', port: req.port ?? 443, tls: true }];
  }
  const listenerScheme = sidecar ? 'http' : 'https';
  if (req.raw === undefined) {
    const scheme = req.scheme ?? listenerScheme;
    const port = req.port ?? (req.connect ? 443 : DEFAULT_PORT[scheme]);
    const out: Destination[] = [{ host: req.host ?? '', port, tls: req.connect || scheme === 'https' }];
    const forged = Object.entries(req.headers).find(([k]) => k.toLowerCase() === 'host')?.[1];
    if (forged !== undefined) {
      const f = splitAuthority(forged);
      out.push({ host: f.host, port: f.port ?? port, tls: out[0].tls });
    }
    return out;
  }
  const head = req.raw.split('\r\n\r\n')[0].split('\r\n');
  const [method = '', target = ''] = head[0].split(' ');
  const out: Destination[] = [];
  let scheme: 'http' | 'https' = listenerScheme;
  const abs = /^(https?):\/\/([^/?#]*)/i.exec(target);
  if (method === 'CONNECT') {
    const { host, port } = splitAuthority(target);
    out.push({ host, port: port ?? 443, tls: true });
  } else if (abs) {
    scheme = abs[1].toLowerCase() as 'http' | 'https';
    const { host, port } = splitAuthority(abs[2]);
    out.push({ host, port: port ?? DEFAULT_PORT[scheme], tls: scheme === 'https' });
  }
  for (const line of head.slice(1)) {
    const m = /^host:(.*)$/i.exec(line);
    if (!m) continue;
    for (const value of m[1].split(',')) {
      const { host, port } = splitAuthority(value.trim());
      out.push({ host, port: port ?? (method === 'CONNECT' ? 443 : DEFAULT_PORT[scheme]), tls: method === 'CONNECT' || scheme === 'https' });
    }
  }
  return out;
}

/** Names the DNS server must answer: every destination host that is not an IP literal form. */
export function egressNames(scenario: Scenario): string[] {
  const names = new Set<string>();
  for (const r of scenario.requests) {
    for (const d of destinations(r, isSidecar(scenario))) {
      const name = d.host.toLowerCase().replace(/\.+$/, '');
      const lastLabel = name.slice(name.lastIndexOf('.') + 1);
      // IP literals in any inet_aton form are not names; neither is anything outside LDH.
      if (/^(0x[0-9a-f]*|[0-9]+)$/.test(lastLabel) || !/^[a-z0-9._-]+$/.test(name)) continue;
      names.add(name);
    }
  }
  return [...names];
}

/** Ports the fake external services listen on; TLS unless only plain HTTP would reach them. */
export function egressPorts(scenario: Scenario): { ports: number[]; plain: number[] } {
  const tls = new Set<number>();
  const plain = new Set<number>();
  for (const r of scenario.requests) {
    for (const d of destinations(r, isSidecar(scenario))) {
      if (!(d.port > 0 && d.port < 65536)) continue;
      (d.tls ? tls : plain).add(d.port);
    }
  }
  for (const p of tls) plain.delete(p);
  return { ports: [...new Set([...tls, ...plain])], plain: [...plain] };
}

export class EnvoyEgressTarget implements TargetExecutor {
  readonly name = 'envoy' as const;

  private constructor(
    private readonly scenario: Scenario,
    readonly stack: EgressStack,
  ) {}

  /** `transform`: edits the bootstrap before Envoy starts (envoy-native: the native module). */
  static async start(scenario: Scenario, transform?: (bootstrap: Json) => void): Promise<EnvoyEgressTarget> {
    const { ports, plain } = egressPorts(scenario);
    const stack = await EgressStack.start({
      policyJson: scenario.policyJson,
      trustDomain: scenario.normalized.trustDomain,
      names: egressNames(scenario),
      ...(scenario.dns ? { answers: scenario.dns } : {}),
      ports,
      plainPorts: plain,
      role: scenario.connections ? (isSidecar(scenario) ? 'egress-sni-sidecar' : 'egress-sni-gateway') : isSidecar(scenario) ? 'egress-sidecar' : 'egress',
      transform,
    });
    const target = new EnvoyEgressTarget(scenario, stack);
    target.statsAtStart = await stack.envoy.stats();
    return target;
  }

  /**
   * One TLS passthrough connection. Allowed = an external service received bytes. Its access-log
   * entry holds the filter's record; a connection the TLS inspector closed never reached the
   * filter chain and has none (then only a close with nothing delivered, resolved or dialed
   * counts as that refusal).
   */
  private async runConnection(req: ScenarioRequest, tls: ClientTls | undefined): Promise<Observation> {
    const endpoint = this.stack.sniEndpoint(req.port ?? 443);
    const name = handshakeName(req.tls!, req.host);
    const logged = this.stack.accessLog().length;
    let r: ProbeResult;
    try {
      r = await probe({
        ...endpoint,
        outerTls: tls,
        ...(name !== undefined ? { handshake: { servername: name, ca: this.stack.ca.certPem } } : { first: flightBytes(req.tls!, req.host) }),
        timeoutMs: name !== undefined ? 5000 : 2000,
      });
    } catch (e) {
      return { outcome: 'deny', status: 0, layer: 'tls', detail: (e as Error).message, problem: `the probe failed: ${(e as Error).message}` };
    }
    const delivered = this.stack.bytesReceived() > 0;
    const entry = await waitForEntry(() => this.stack.accessLog(), logged, delivered ? undefined : 1500);
    const queries = this.stack.dns.queries();
    const counts = { dnsQueries: queries.length, externalConnections: this.stack.accepted() };
    const dialed = queries.length > 0 ? queries[queries.length - 1].name : undefined;
    const outer = tls !== undefined && /certificate|alert|handshake/i.test(r.error ?? '') && !delivered;
    if (entry === undefined) {
      if (delivered || counts.dnsQueries > 0 || counts.externalConnections > 0) return unlogged({ received: delivered, status: 0, ...counts }, 1500);
      return { outcome: 'deny', status: 0, layer: outer ? 'tls' : 'envoy', detail: `closed before the filter chain (no access-log entry; ${r.error ?? 'closed'})`, ...counts };
    }
    const details = `${entry.termination || entry.details || '-'}; probe: ${r.handshook ? 'handshook' : r.error ?? (r.closedByProxy ? 'closed by the proxy' : 'open')}`;
    const seen = observeConnection({ delivered, meshgate: entry.meshgate, details, dialed, ...counts });
    return outer && seen.rule === undefined ? { ...seen, layer: 'tls' } : seen;
  }

  async run(req: ScenarioRequest): Promise<Observation> {
    const spiffeId = req.as === 'none' ? null : this.scenario.identities[req.as];
    // The sidecar listens in plain text on loopback: there is no client certificate to present.
    const tls = isSidecar(this.scenario) ? undefined : await this.stack.clientTls(spiffeId, req.cert);
    this.stack.clear();
    if (req.tls !== undefined) return this.runConnection(req, tls);
    const logged = this.stack.accessLog().length;
    const exits = this.stack.tunnelLog().length;
    let res: ClientResponse;
    let tunnel: ConnectResult['tunnel'];
    try {
      if (req.raw !== undefined) {
        res = parseRawResponse(await rawRequest({ port: this.stack.port, tls, bytes: req.raw }));
      } else if (req.connect) {
        const target = composedAuthority(req);
        // Without `inner:`, the caller's own TLS client for the host (tunnel.ts: no SNI for an IP).
        const inner = req.inner ?? {};
        const name = req.inner === undefined ? (req.host ?? '') : handshakeName(inner, req.host);
        const r = await connectThrough({
          proxyPort: this.stack.port,
          proxyTls: tls,
          target,
          headers: composedHeaders(req, target),
          innerServername: name ?? '',
          innerCa: this.stack.ca.certPem,
          innerPath: req.path,
          ...(name === undefined ? { innerFirst: flightBytes(inner, req.host), timeoutMs: 2000 } : {}),
        });
        // A tunnel reset before any inner response: the client saw the CONNECT's 200, then the reset.
        res = r.inner && r.inner.status !== 0 && r.connect.status === 200 ? r.inner : r.connect;
        tunnel = r.tunnel;
      } else {
        const authority = composedAuthority(req);
        const target = req.scheme !== undefined ? `${req.scheme}://${authority}${req.path}` : req.path;
        res = await request({ port: this.stack.port, tls, method: req.method, path: target, headers: composedHeaders(req, authority) });
      }
    } catch (e) {
      return {
        outcome: this.stack.received().length > 0 ? 'allow' : 'deny',
        status: 0,
        layer: 'tls',
        detail: (e as Error).message,
        dnsQueries: this.stack.dns.queries().length,
        externalConnections: this.stack.connections(),
      };
    }
    // Raw tunnel bytes are not an HTTP request: delivered when they reached the service.
    const received = tunnel !== undefined ? this.stack.bytesReceived() > 0 : this.stack.received().length > 0;
    const entry = await waitForEntry(() => this.stack.accessLog(), logged);
    // Counted after the entry: anything the request made the gateway do has happened by then.
    const exchange = {
      received,
      status: res.status,
      dnsQueries: this.stack.dns.queries().length,
      externalConnections: this.stack.connections(),
      ...(req.connect ? { tunnelBytes: this.stack.bytesReceived() } : {}),
    };
    if (entry === undefined) return unlogged(exchange, ACCESS_LOG_WAIT_MS);
    // A CONNECT's 200 comes from the internal listener; the post-resolution guard refuses the
    // address later, on the tunnel's exit, and says so in that connection's log.
    const exit = req.connect && res.status === 200 ? await waitForEntry(() => this.stack.tunnelLog(), exits, 1000) : undefined;
    const details = guardPolicyOf(exit?.termination) !== undefined ? exit!.termination : entry.details;
    return observe({ ...exchange, details, meshgate: entry.meshgate });
  }

  /** Envoy's stats when the target started: rule counts are what moved since. */
  private statsAtStart: Record<string, number> = {};

  ruleCounts(): Promise<Record<string, number>> {
    return envoyRuleCounts(this.stack.envoy, this.stack.accessLog(), this.statsAtStart);
  }

  stop(): Promise<void> {
    return this.stack.stop();
  }
}
