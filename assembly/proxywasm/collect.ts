// When the module's garbage is collected.
//
// The modules build with AssemblyScript's `minimal` runtime (asconfig.json, docs/runtime.md):
// TLSF plus a two-colour mark & sweep that runs only when called. It keeps no shadow stack and no
// write barriers — half of the in-VM decision time under the `incremental` runtime — and in
// exchange it does NOT scan the Wasm stack: it may only run where no managed object is held by a
// local alone, i.e. at the end of an export, after the filter's code has returned. dispatch.ts
// calls these there and nowhere else.
//
//   collectNow()       after configure-time work: a root context created, configured or deleted
//                      (parsing a policy and dropping an old one leave garbage for certain);
//   collectOnTick()    at the end of a root's tick, when something may have left garbage since
//                      the last collection: a log line built from strings (log() notes it),
//                      linear memory that grew, or, at the latest, every COLLECT_TICKS ticks (a
//                      bound for garbage nobody noted). Request callbacks allocate nothing
//                      (test/unit/emulator/memory.test.ts: 100,000 requests without a tick leave
//                      memory unchanged), so in steady state a tick collects nothing.

/** The bound on how long unnoted garbage can live: ≈ 4 minutes of 250 ms ticks. */
const COLLECT_TICKS: i32 = 1024;

let garbageNoted = false;
let pagesAtCollection: i32 = 0;
let ticksSinceCollection: i32 = 0;

/** Something allocated a temporary (a string built for a log line): collect at the next tick. */
export function noteGarbage(): void {
  garbageNoted = true;
}

/** Collects now. Only at the end of an export (see the top of this file). */
export function collectNow(): void {
  __collect();
  garbageNoted = false;
  ticksSinceCollection = 0;
  pagesAtCollection = memory.size();
}

/** Collects if garbage may have accumulated since the last collection. End of proxy_on_tick only. */
export function collectOnTick(): void {
  if (garbageNoted || memory.size() != pagesAtCollection || ++ticksSinceCollection >= COLLECT_TICKS) collectNow();
}
