/**
 * Envoy writes an access-log entry when a stream ends, and flushes stdout lazily: the Envoy
 * targets wait for the entry of each exchange. One that never comes is reported (observe.ts
 * `unlogged`), never replaced by a guess.
 */
export const ACCESS_LOG_WAIT_MS = 3000;

/** Entry number `index` (0-based) once the log has it; undefined after `waitMs`. */
export async function waitForEntry(
  read: () => Record<string, string>[],
  index: number,
  waitMs = ACCESS_LOG_WAIT_MS,
): Promise<Record<string, string> | undefined> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const log = read();
    if (log.length > index) return log[index];
    if (Date.now() > deadline) return undefined;
    await new Promise((r) => setTimeout(r, 25));
  }
}
