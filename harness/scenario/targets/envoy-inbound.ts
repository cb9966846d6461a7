/**
 * The `envoy` target for inbound scenarios: every request goes over a fresh TLS connection (its
 * own client certificate) to real Envoy running envoy/inbound.yaml + build/meshgate.wasm. The
 * outcome is read from the recording upstream: "allow" iff it received the request; the rule or
 * reason from the filter's record in the access log (envoy/inbound.yaml logs `wasm.meshgate`).
 * Over h2 (ALPN), a stream Envoy resets instead of answering is an exchange with status 0: Envoy
 * logs it too, with the codec's reason as the response details.
 */
import { request, rawRequest, parseRawResponse, type ClientResponse, type ClientTls } from '../../services/client';
import { h2Request, H2ResetError } from '../../services/h2client';
import { InboundStack } from '../../stack/inbound';
import type { Observation, Protocol, Scenario, ScenarioRequest } from '../types';
import type { TargetExecutor } from './executor';
import { envoyRuleCounts } from './rule-counts';
import type { Json } from '../../envoy/bootstrap';
import { observe, unlogged } from './observe';
import { ACCESS_LOG_WAIT_MS, waitForEntry } from './access-log';

/** The upstream's name: the Host (HTTP/1.1) or :authority (h2) of a composed request. */
export const SERVICE_AUTHORITY = 'billing';

/** The protocol a request goes over: the one its run set (run.ts forProtocol), else h2 for a
 *  header list and HTTP/1.1 for anything else. */
export function protocolOf(req: ScenarioRequest): Protocol {
  return req.protocol ?? (req.h2headers !== undefined ? 'h2' : 'http1');
}

/**
 * The h2 header list of a request: its `h2headers` as written, or the composed request as a
 * well-behaved client sends it — pseudo-headers first, a scenario's Host as :authority, names in
 * lower case.
 */
export function inboundHeaderList(req: ScenarioRequest): [string, string][] {
  if (req.h2headers !== undefined) return req.h2headers;
  const fields = Object.entries(req.headers).map(([k, v]): [string, string] => [k.toLowerCase(), v]);
  const authority = fields.find(([k]) => k === 'host')?.[1] ?? SERVICE_AUTHORITY;
  return [[':method', req.method], [':scheme', 'https'], [':authority', authority], [':path', req.path], ...fields.filter(([k]) => k !== 'host')];
}

/** One exchange over the request's protocol; rejects when no HTTP exchange took place at all. */
async function send(port: number, tls: ClientTls, req: ScenarioRequest): Promise<ClientResponse> {
  if (protocolOf(req) === 'h2') {
    try {
      return await h2Request({ port, tls, headers: inboundHeaderList(req) });
    } catch (e) {
      if (!(e instanceof H2ResetError)) throw e;
      return { status: 0, headers: {}, body: e.message };
    }
  }
  if (req.raw !== undefined) return parseRawResponse(await rawRequest({ port, tls, bytes: req.raw }));
  return request({ port, tls, method: req.method, path: req.path, headers: { host: SERVICE_AUTHORITY, ...req.headers } });
}

export class EnvoyInboundTarget implements TargetExecutor {
  readonly name = 'envoy' as const;
  private httpExchanges = 0;

  private constructor(
    private readonly scenario: Scenario,
    readonly stack: InboundStack,
  ) {}

  /** `replaceWasmWith`: run the scenario with other filters in meshgate's place (RBAC differential). */
  static async start(scenario: Scenario, replaceWasmWith?: Json[]): Promise<EnvoyInboundTarget> {
    const stack = await InboundStack.start({
      policyJson: scenario.policyJson,
      trustDomain: scenario.normalized.trustDomain,
      xfccFromTrustedProxy: scenario.normalized.identity.from === 'xfcc',
      federatesWith: scenario.federatesWith,
      authorities: scenario.authorities,
      replaceWasmWith,
    });
    const target = new EnvoyInboundTarget(scenario, stack);
    target.statsAtStart = await stack.envoy.stats();
    return target;
  }

  async run(req: ScenarioRequest): Promise<Observation> {
    const tls = await this.callerTls(req);
    this.stack.upstream.clear();
    let res: ClientResponse;
    try {
      res = await send(this.stack.port, tls, req);
    } catch (e) {
      // No HTTP exchange at all: the handshake (or the connection) was refused.
      const received = this.stack.upstream.received().length > 0;
      return { outcome: received ? 'allow' : 'deny', status: 0, layer: 'tls', detail: (e as Error).message };
    }
    this.httpExchanges++;
    const received = this.stack.upstream.received().length > 0;
    const entry = await waitForEntry(() => this.stack.accessLog(), this.httpExchanges - 1);
    if (entry === undefined) return unlogged({ received, status: res.status }, ACCESS_LOG_WAIT_MS);
    return observe({ received, status: res.status, details: entry.details, meshgate: entry.meshgate });
  }

  /** The caller's certificate: a described one, an SVID for `as` (maybe with a defect), or none. */
  private callerTls(req: ScenarioRequest): Promise<ClientTls> {
    if (req.certificate !== undefined) return this.stack.describedTls(req.certificate, this.scenario.certificates![req.certificate]);
    return this.stack.clientTls(req.as === 'none' ? null : this.scenario.identities[req.as], req.cert);
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
