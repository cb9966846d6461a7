import type { Scenario, Target } from '../types';
import type { TargetExecutor } from './executor';
import { EnvoyInboundTarget } from './envoy-inbound';
import { EnvoyEgressTarget } from './envoy-egress';
import { EmulatorTarget } from './emulator';
import { EnvoyNativeTarget } from './envoy-native';

/** Starts the executor for a scenario on a target (real Envoy, or the emulator). */
export async function startTarget(scenario: Scenario, target: Target): Promise<TargetExecutor> {
  if (target === 'emulator') return EmulatorTarget.start(scenario);
  if (target === 'envoy-native') return EnvoyNativeTarget.start(scenario);
  return scenario.role === 'inbound' ? EnvoyInboundTarget.start(scenario) : EnvoyEgressTarget.start(scenario);
}
