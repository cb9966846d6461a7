import type { Observation, ScenarioRequest, Target } from '../types';

/** One place a scenario's requests can be sent: real Envoy or the emulator. */
export interface TargetExecutor {
  readonly name: Target;
  run(req: ScenarioRequest): Promise<Observation>;
  stop(): Promise<void>;
}
