/**
 * The `envoy` target for inbound scenarios: every request goes over a fresh TLS connection (its
 * own client certificate) to real Envoy running envoy/inbound.yaml + build/meshgate.wasm. The
 * outcome is read from the recording upstream: "allow" iff it received the request; the rule or
 * reason from the filter's record in the access log (envoy/inbound.yaml logs `wasm.meshgate`).
 */
import { request, rawRequest, parseRawResponse, type ClientResponse, type ClientTls } from '../../services/client';
import { InboundStack } from '../../stack/inbound';
import type { Observation, Scenario, ScenarioRequest } from '../types';
import type { TargetExecutor } from './executor';
import type { Json } from '../../envoy/bootstrap';
import { observe, unlogged } from './observe';
import { ACCESS_LOG_WAIT_MS, waitForEntry } from './access-log';

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
    return new EnvoyInboundTarget(scenario, stack);
  }

  async run(req: ScenarioRequest): Promise<Observation> {
    const tls = await this.callerTls(req);
    this.stack.upstream.clear();
    let res: ClientResponse;
    try {
      if (req.raw !== undefined) {
        res = parseRawResponse(await rawRequest({ port: this.stack.port, tls, bytes: req.raw }));
      } else {
        res = await request({
          port: this.stack.port,
          tls,
          method: req.method,
          path: req.path,
          headers: { host: 'billing', ...req.headers },
        });
      }
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

  stop(): Promise<void> {
    return this.stack.stop();
  }
}
