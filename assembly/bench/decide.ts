// build/bench-decide.wasm (built by `npm run bench` itself: `asc assembly/bench/decide.ts
// --target release -o build/bench-decide.wasm`, i.e. meshgate's release optimization): the
// decision step of the filters, alone, for the in-VM decision timings of `npm run bench`.
//
// Runs exactly what meshgate does per request between its host reads and its act step — the
// identity taken by reference from the per-connection cache (as assembly/filter/peer.ts does for
// peer-certificate policies; each table entry is one connection's cached Identity, which keeps
// the rule results it learned), the facts parsed from the request bytes (RequestFacts.setInbound:
// method class, canonical-path scan; setEgress: authority parsing), then decideInbound /
// decideEgress (path hashes computed there, only when a table holds keys of that length) — over
// a table of pre-resolved requests, `n` at a time, so the host can time batches without a clock
// inside the VM. Not a proxy-wasm filter.
//
// Protocol: copy bytes in with bd_alloc; bd_compile(role, ptr, len) keeps one policy (disposing
// the previous one); bd_add_request(idPtr, idLen, aPtr, aLen, bPtr, bLen) appends a request
// (inbound: a = method, b = path; egress: a = authority, b = scheme; idLen < 0 = unauthenticated;
// the byte views must stay allocated); bd_run(egress, start, n) decides requests start..start+n-1
// (cycling) and returns how many were allowed.
import "../proxywasm/abort";
import { compilePolicy } from "../policy/config";
import { Policy, ROLE_EGRESS, ROLE_INBOUND } from "../policy/policy";
import { Decision, DECISION_ALLOW, decideEgress, decideInbound } from "../policy/decide";
import { RequestFacts } from "../policy/facts";
import { Evaluation } from "../policy/evaluation";
import { Identity, ID_NO_PEER_CERTIFICATE } from "../spiffe/identity";

let policy: Policy | null = null;
const decision = new Decision();
const ev = new Evaluation(new RequestFacts(new Identity()));

const reqIds = new Array<Identity>();
const reqA = new Array<usize>();
const reqALen = new Array<i32>();
const reqB = new Array<usize>();
const reqBLen = new Array<i32>();

export function bd_alloc(len: i32): usize { return heap.alloc(len > 0 ? <usize>len : 1); }
export function bd_free(ptr: usize): void { heap.free(ptr); }

/** 1 when the policy compiled (and is kept), 0 when it had errors. */
export function bd_compile(role: i32, ptr: usize, len: i32): i32 {
  const r = compilePolicy(ptr, len, role == 1 ? ROLE_EGRESS : ROLE_INBOUND);
  const old = policy;
  policy = r.policy;
  if (old !== null) old.dispose();
  return r.policy !== null ? 1 : 0;
}

/** Bytes of unmanaged rule tables (the policy's arena). */
export function bd_arena_bytes(): f64 {
  const p = policy;
  return p === null ? 0 : <f64>p.arena.bytes;
}

export function bd_memory_bytes(): f64 {
  return <f64>memory.size() * 65536;
}

export function bd_clear_requests(): void {
  reqIds.length = 0;
  reqA.length = 0;
  reqALen.length = 0;
  reqB.length = 0;
  reqBLen.length = 0;
}

/** Appends a request; the identity is resolved now (as the per-connection cache holds it). */
export function bd_add_request(idPtr: usize, idLen: i32, aPtr: usize, aLen: i32, bPtr: usize, bLen: i32): i32 {
  const id = new Identity();
  if (idLen < 0) id.fail(ID_NO_PEER_CERTIFICATE);
  else id.setId(idPtr, idLen);
  reqIds.push(id);
  reqA.push(aPtr);
  reqALen.push(aLen);
  reqB.push(bPtr);
  reqBLen.push(bLen);
  return reqIds.length;
}

const ALL_STEPS: i32 = 7;

/** Decides n requests of the table, cycling from `start`; returns how many were allowed.
 *  firstOnConnection != 0: each identity forgets what the policy answered for it before the
 *  decision, as on the first request of a new connection. */
export function bd_run(egress: i32, start: i32, n: i32, firstOnConnection: i32): i32 {
  return run(egress, start, n, ALL_STEPS, firstOnConnection != 0);
}

/**
 * Profiling aid: like bd_run, but only the steps in `mode` (1 = identity from the cache, 2 =
 * facts, 4 = decide; decide without facts re-decides the previous facts). Returns the allowed count.
 */
export function bd_run_parts(egress: i32, start: i32, n: i32, mode: i32): i32 {
  return run(egress, start, n, mode, false);
}

function run(egress: i32, start: i32, n: i32, mode: i32, firstOnConnection: bool): i32 {
  const p = policy;
  const k = reqIds.length;
  if (p === null || k == 0) return -1;
  let allowed = 0;
  let r = start % k;
  for (let i = 0; i < n; i++) {
    if ((mode & 1) != 0) {
      const id = unchecked(reqIds[r]);
      if (firstOnConnection) id.verdictGen = 0;
      ev.facts.identity = id;
    }
    if ((mode & 2) != 0) {
      if (egress != 0) ev.facts.setEgress(unchecked(reqA[r]), unchecked(reqALen[r]), unchecked(reqB[r]), unchecked(reqBLen[r]), false);
      else ev.facts.setInbound(unchecked(reqA[r]), unchecked(reqALen[r]), unchecked(reqB[r]), unchecked(reqBLen[r]));
    }
    if ((mode & 4) != 0) {
      if (egress != 0) decideEgress(p, ev, decision);
      else decideInbound(p, ev, decision);
    }
    if (decision.decision == DECISION_ALLOW) allowed++;
    r++;
    if (r == k) r = 0;
  }
  return allowed;
}

/** The ABI marker, allocator and memory make the module loadable by the emulator too. */
export function proxy_abi_version_0_2_1(): void {}
export function malloc(size: usize): usize { return heap.alloc(size); }
