/**
 * meshgate's counters in Envoy's /stats, as tests and tools read them.
 *
 * The filter counts decisions in its own memory and hands them to Envoy on its root context's
 * timer (assembly/filter/counters.ts, every COUNTER_FLUSH_MS), so /stats trails the traffic by up
 * to one period. `waitForDecisions` polls until the decisions a caller made have arrived.
 */
import type { EnvoyProcess } from './process';

/** assembly/filter/root.ts TICK_MS. */
export const COUNTER_FLUSH_MS = 250;

/**
 * What Envoy puts in front of a custom metric's name: `wasmcustom.` for a Wasm filter,
 * `dynamicmodulescustom.` for the native module (Envoy 1.40's fixed prefix for dynamic-module
 * metrics); the emulator puts nothing. A regular-expression fragment, optional.
 */
export const METRIC_PREFIX = '(?:wasmcustom\\.|dynamicmodulescustom\\.)?';

const TOTALS = new RegExp(`^${METRIC_PREFIX}meshgate\\.[a-z_]+\\.(allowed|denied|audit_would_deny)$`);

/** Decisions counted so far (every role): allowed + denied + audit_would_deny. */
export function decisionCount(stats: Record<string, number>): number {
  let n = 0;
  for (const [k, v] of Object.entries(stats)) if (TOTALS.test(k)) n += v;
  return n;
}

/**
 * Stats once at least `atLeast` decisions are counted, polled every 50 ms; after `timeoutMs` the
 * last reading (the caller's assertions then say what is missing).
 */
export async function waitForDecisions(envoy: EnvoyProcess, atLeast: number, timeoutMs = 4 * COUNTER_FLUSH_MS + 2000): Promise<Record<string, number>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const stats = await envoy.stats();
    if (decisionCount(stats) >= atLeast || Date.now() >= deadline) return stats;
    await new Promise((r) => setTimeout(r, 50));
  }
}
