/**
 * The `envoy-native` target: the `envoy` target's stack (inbound, or egress in every form: the
 * HTTP gateway and sidecar with their CONNECT tunnel exit, the SNI passthrough listeners) with
 * meshgate loaded as a native dynamic module (build/libmeshgate.so from the same
 * build/meshgate.wasm, harness/native/config.ts) in place of every Wasm filter. Requests, TLS
 * callers and the reading of each exchange are the `envoy` target's own, so the two targets can
 * only disagree where the runtimes do. The SNI gateway's policy filter stays Wasm (it judges the
 * caller's certificate, which a network dynamic module cannot get: config.ts keepsWasm), so that
 * form runs the same filter on both targets. Counters are read under both runtimes' prefixes
 * (harness/envoy/decisions.ts METRIC_PREFIX).
 */
import type { Observation, Scenario, ScenarioRequest } from '../types';
import type { TargetExecutor } from './executor';
import { EnvoyInboundTarget } from './envoy-inbound';
import { EnvoyEgressTarget } from './envoy-egress';
import { nativeHttpFilters, requireNativeLibrary, toNative } from '../../native/config';

export class EnvoyNativeTarget implements TargetExecutor {
  readonly name = 'envoy-native' as const;

  private constructor(private readonly inner: EnvoyInboundTarget | EnvoyEgressTarget) {}

  static async start(scenario: Scenario): Promise<EnvoyNativeTarget> {
    const library = requireNativeLibrary();
    if (scenario.role === 'inbound') {
      return new EnvoyNativeTarget(await EnvoyInboundTarget.start(scenario, nativeHttpFilters({ rootId: 'meshgate_inbound', policyJson: scenario.policyJson, library })));
    }
    return new EnvoyNativeTarget(
      await EnvoyEgressTarget.start(scenario, (bootstrap) => {
        const n = toNative(bootstrap, library);
        if (n.replaced + n.keptWasm === 0) throw new Error('target envoy-native: the egress config has no meshgate Wasm filter');
      }),
    );
  }

  run(req: ScenarioRequest): Promise<Observation> {
    return this.inner.run(req);
  }

  ruleCounts(): Promise<Record<string, number>> {
    return this.inner.ruleCounts();
  }

  stop(): Promise<void> {
    return this.inner.stop();
  }
}
