/**
 * The `envoy` target for egress scenarios: requests go through a real egress gateway
 * (envoy/egress.yaml + build/meshgate.wasm) to fake external services reached by real DNS
 * resolution (the harness DNS server answers the scenario's names with 127.0.0.1). "allow" means
 * an external service received the request; for every request the DNS query log and the
 * services' connection counts are recorded, so a denial that still resolved or dialed anything
 * fails the scenario.
 */
import { request, rawRequest, parseRawResponse, type ClientResponse } from '../../services/client';
import { connectThrough } from '../../services/tunnel';
import { EgressStack } from '../../stack/egress';
import type { Observation, Scenario, ScenarioRequest } from '../types';
import type { TargetExecutor } from './executor';
import { deniedRule } from './details';

export function egressNames(scenario: Scenario): string[] {
  const names = new Set<string>();
  for (const r of scenario.requests) if (r.host && !/^[\d.]+$|:/.test(r.host)) names.add(r.host.toLowerCase().replace(/\.$/, ''));
  return [...names];
}

export function egressPorts(scenario: Scenario): { ports: number[]; plain: number[] } {
  const ports = new Set<number>();
  const plain = new Set<number>();
  for (const r of scenario.requests) {
    if (r.raw !== undefined && r.port === undefined) continue;
    const port = r.port ?? (r.scheme === 'http' ? 80 : 443);
    ports.add(port);
    if (r.scheme === 'http') plain.add(port);
  }
  return { ports: [...ports], plain: [...plain] };
}

export class EnvoyEgressTarget implements TargetExecutor {
  readonly name = 'envoy' as const;
  private exchanges = 0;

  private constructor(
    private readonly scenario: Scenario,
    readonly stack: EgressStack,
  ) {}

  static async start(scenario: Scenario): Promise<EnvoyEgressTarget> {
    const { ports, plain } = egressPorts(scenario);
    const identity = (scenario.policy.identity ?? {}) as { from?: string };
    const stack = await EgressStack.start({
      policyJson: scenario.policyJson,
      trustDomain: String(scenario.policy.trustDomain),
      names: egressNames(scenario),
      ports,
      plainPorts: plain,
      role: identity.from === 'local' ? 'egress-sidecar' : 'egress',
    });
    return new EnvoyEgressTarget(scenario, stack);
  }

  private authority(req: ScenarioRequest): string {
    const h = req.host ?? '';
    const host = h.includes(':') && !h.startsWith('[') ? `[${h}]` : h;
    const defaultPort = req.scheme === 'http' ? 80 : 443;
    if (req.connect) return `${host}:${req.port ?? 443}`;
    return req.port !== undefined && req.port !== defaultPort ? `${host}:${req.port}` : host;
  }

  async run(req: ScenarioRequest): Promise<Observation> {
    const spiffeId = req.as === 'none' ? null : this.scenario.identities[req.as];
    const sidecar = this.stack.envoy && (this.scenario.policy.identity as { from?: string } | undefined)?.from === 'local';
    const tls = sidecar ? undefined : await this.stack.clientTls(spiffeId, req.cert);
    this.stack.clear();
    let res: ClientResponse;
    try {
      if (req.raw !== undefined) {
        res = parseRawResponse(await rawRequest({ port: this.stack.port, tls, bytes: req.raw }));
      } else if (req.connect) {
        const r = await connectThrough({
          proxyPort: this.stack.port,
          proxyTls: tls,
          target: this.authority(req),
          headers: req.headers,
          innerServername: req.host ?? '',
          innerCa: this.stack.ca.certPem,
        });
        res = r.inner && r.connect.status === 200 ? r.inner : r.connect;
      } else {
        const authority = this.authority(req);
        const target = req.scheme === 'http' ? `http://${authority}${req.path}` : req.path;
        res = await request({ port: this.stack.port, tls, method: req.method, path: target, headers: { host: authority, ...req.headers } });
      }
    } catch (e) {
      return { outcome: this.stack.received().length > 0 ? 'allow' : 'deny', status: 0, layer: 'tls', detail: (e as Error).message };
    }
    this.exchanges++;
    const received = this.stack.received().length > 0;
    const details = await this.accessLogDetails(this.exchanges);
    const rule = deniedRule(details);
    return {
      outcome: received ? 'allow' : 'deny',
      status: res.status,
      layer: received ? 'upstream' : rule !== undefined ? 'meshgate' : 'envoy',
      rule,
      detail: details,
      dnsQueries: this.stack.dns.queries().length,
      externalConnections: this.stack.connections(),
    };
  }

  private async accessLogDetails(n: number): Promise<string | undefined> {
    const deadline = Date.now() + 3000;
    for (;;) {
      const log = this.stack.accessLog();
      if (log.length >= n) return log[n - 1].details;
      if (Date.now() > deadline) return undefined;
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  stop(): Promise<void> {
    return this.stack.stop();
  }
}
