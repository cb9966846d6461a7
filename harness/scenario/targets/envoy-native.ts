/**
 * The `envoy-native` target: the `envoy` target's inbound stack with meshgate loaded as a native
 * dynamic module (build/libmeshgate.so from the same build/meshgate.wasm, harness/native/config.ts)
 * instead of the Wasm filter. Requests, TLS callers and the reading of each exchange are the
 * `envoy` target's own, so the two targets can only disagree where the runtimes do.
 * Egress scenarios are not served natively yet: they fail with a message saying so.
 */
import type { Observation, Scenario, ScenarioRequest } from '../types';
import type { TargetExecutor } from './executor';
import { EnvoyInboundTarget } from './envoy-inbound';
import { envoyRuleCounts } from './rule-counts';
import { asWasmStatNames, nativeHttpFilters, requireNativeLibrary } from '../../native/config';
import type { EnvoyProcess } from '../../envoy/process';

export class EnvoyNativeTarget implements TargetExecutor {
  readonly name = 'envoy-native' as const;

  private constructor(
    private readonly inner: EnvoyInboundTarget,
    private readonly statsAtStart: Record<string, number>,
  ) {}

  static async start(scenario: Scenario): Promise<EnvoyNativeTarget> {
    if (scenario.role !== 'inbound') throw new Error(`target envoy-native: ${scenario.role} scenarios are not served natively yet (inbound only)`);
    const library = requireNativeLibrary();
    const inner = await EnvoyInboundTarget.start(scenario, nativeHttpFilters({ rootId: 'meshgate_inbound', policyJson: scenario.policyJson, library }));
    return new EnvoyNativeTarget(inner, await nativeStats(inner.stack.envoy).stats());
  }

  run(req: ScenarioRequest): Promise<Observation> {
    return this.inner.run(req);
  }

  /** The rule counters, read under their Wasm names (the shim flushes them with every request). */
  ruleCounts(): Promise<Record<string, number>> {
    return envoyRuleCounts(nativeStats(this.inner.stack.envoy) as EnvoyProcess, this.inner.stack.accessLog(), this.statsAtStart);
  }

  stop(): Promise<void> {
    return this.inner.stop();
  }
}

/** The Envoy process as the counter readers see it: native counter names renamed to Wasm ones. */
function nativeStats(envoy: EnvoyProcess): Pick<EnvoyProcess, 'stats'> {
  return { stats: async () => asWasmStatNames(await envoy.stats()) };
}
