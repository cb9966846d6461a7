/**
 * What the reference Envoy listeners (envoy/inbound.yaml: normalize_path, merge_slashes,
 * path_with_escaped_slashes_action REJECT_REQUEST) make of a request target before any filter
 * sees it. The model is harness/scenario/front.ts (the emulator target uses it too), pinned
 * against real Envoy 1.40 by test/e2e/front-model.test.ts; this file names it for the fuzzers.
 */
import { normalizeRequestPath, type FrontResult } from '../../harness/scenario/front';
export { ENVOY_ESCAPED_BYTES } from '../../harness/policy/patterns';

/** The request target as the filter chain sees it, or Envoy's 400. */
export function envoyNormalizedTarget(target: string): FrontResult {
  return normalizeRequestPath(target);
}
