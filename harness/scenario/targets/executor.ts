import type { Observation, ScenarioRequest, Target } from '../types';

/** One place a scenario's requests can be sent: real Envoy or the emulator. */
export interface TargetExecutor {
  readonly name: Target;
  run(req: ScenarioRequest): Promise<Observation>;
  /**
   * How often each rule decided or (audit rules) matched since the executor started, from the
   * filter's counters (rule-counts.ts); called once, after the last request. Without it, the
   * runner credits the rule each record names (the deciding rule only).
   */
  ruleCounts?(): Promise<Record<string, number>>;
  stop(): Promise<void>;
}
