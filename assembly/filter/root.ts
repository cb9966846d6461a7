// The policy filter of every role (registered by filter/policy-filter.ts with a role's spec): the
// root context that turns the plugin configuration into a compiled Policy (failing configure with
// one log line per invalid field), and the stream that runs the pipeline per request, all in
// on_request_headers: facts (the spec's reader: every host read) → decide (the spec's pure decide
// step) → act (`enforce`: filter state, counters flushed on the timer, the debug line, the 403).
// Nothing is buffered and no other callback does work.
import {
  RootContext, HttpContext, Bytes, HostKey, LogLevel, FilterHeadersStatus,
  getPluginConfiguration, log, logBytes, getLogLevel, setTickPeriod, setProperty, sendLocalResponse,
} from "../proxywasm";
import { compilePolicy } from "../policy/config";
import { Policy, roleName } from "../policy/policy";
import { Decision, DECISION_DENY } from "../policy/decide";
import { RequestFacts } from "../policy/facts";
import { Evaluation } from "../policy/evaluation";
import { Identity } from "../spiffe/identity";
import { StrBuf } from "../util/strbuf";
import { writeFilterState, writeDebugLine, writeRuleLabel } from "./report";
import { PolicyCounters } from "./counters";
import { PeerIdentity } from "./peer";
import { PolicyFilterSpec, FactsReader } from "./spec";

const FILTER_STATE_KEY = new HostKey("meshgate");
const DENY_BODY = String.UTF8.encode("meshgate: access denied\n");
/** The root context's timer: counters are flushed to Envoy (filter/counters.ts) and Envoy's log
 *  level is polled this often, instead of host calls per request. /stats trails by ≤ this. */
export const TICK_MS: u32 = 250;

export class PolicyRoot extends RootContext {
  policy: Policy | null = null;
  counters: PolicyCounters | null = null;
  logLevel: i32 = LogLevel.Info;
  readonly role: i32;
  // One set of per-request objects per root (per worker VM): callbacks never interleave.
  private readonly peer: PeerIdentity = new PeerIdentity();
  private readonly reader: FactsReader;
  private readonly ev: Evaluation = new Evaluation(new RequestFacts(new Identity()));
  private readonly decision: Decision = new Decision();
  /** The act step's text: filter state, debug line, 403 details. */
  private readonly line: StrBuf = new StrBuf(512);
  private readonly config: Bytes = new Bytes();

  constructor(id: u32, rootId: string, private readonly spec: PolicyFilterSpec) {
    super(id, rootId);
    this.role = spec.role;
    this.reader = spec.newReader();
  }

  onConfigure(size: i32): bool {
    const label = "meshgate_" + roleName(this.role);
    if (!getPluginConfiguration(size, this.config)) {
      log(LogLevel.Error, label + ": the plugin configuration is not readable; refusing it");
      return false;
    }
    const result = compilePolicy(this.config.ptr, this.config.len, this.role);
    const policy = result.policy;
    if (policy === null) {
      for (let i = 0; i < result.errors.length; i++) log(LogLevel.Error, label + ": invalid configuration: " + result.errors[i]);
      log(LogLevel.Error, label + ": configuration refused (" + result.errors.length.toString() + " error(s), sha256 " + result.digest.slice(0, 12) + ")");
      return false;
    }
    // A root context is configured once by Envoy; if a host configures it again, the new policy
    // replaces the old one, whose tables are freed (no growth across re-configures).
    const old = this.policy;
    this.policy = policy;
    if (old !== null) old.dispose();
    const oldCounters = this.counters;
    if (oldCounters !== null) oldCounters.flush();
    this.counters = new PolicyCounters(policy);
    this.logLevel = getLogLevel();
    setTickPeriod(TICK_MS);
    log(LogLevel.Info, label + " policy " + policy.digest12 + " rules=" + policy.ruleCount.toString() +
      " (deny=" + policy.denyCount.toString() + " allow=" + policy.allowCount.toString() +
      " audit=" + policy.auditCount.toString() + ") mode=" + (policy.auditMode ? "audit" : "enforce") +
      " default=" + (policy.defaultAllow ? "allow" : "deny") + " sha256=" + policy.digest);
    return true;
  }

  onTick(): void {
    const c = this.counters;
    if (c !== null) c.flush();
    this.logLevel = getLogLevel();
  }

  /** Streams exist only once a policy does; the binding recycles them (no allocation per request). */
  createHttpContext(id: u32): HttpContext | null {
    return this.policy === null ? null : new PolicyStream(id, this);
  }

  /** The pipeline for the current request's headers; returns the FilterHeadersStatus. */
  onRequest(): i32 {
    const policy = this.policy!;
    const ev = this.ev;
    this.reader.read(policy, this.peer, ev.facts);
    const decide = this.spec.decide;
    decide(policy, ev, this.decision);
    return this.enforce(this.decision, ev.facts.identity);
  }

  /**
   * The act step: filter state `wasm.meshgate` for the access log, counters, a debug line, and for a
   * deny a 403 with details `meshgate_denied[<rule|default|reason>]`. Returns the
   * FilterHeadersStatus for on_request_headers.
   */
  private enforce(d: Decision, id: Identity): i32 {
    const p = this.policy!;
    const line = this.line;
    line.clear();
    writeFilterState(p, d, id, line);
    setProperty(FILTER_STATE_KEY, line.ptr, line.len);
    this.counters!.count(d);
    if (this.logLevel <= LogLevel.Debug) {
      line.clear();
      writeDebugLine(p, d, id, line);
      logBytes(LogLevel.Debug, line.ptr, line.len);
    }
    if (d.decision != DECISION_DENY) return FilterHeadersStatus.Continue;
    line.clear().str("meshgate_denied[");
    writeRuleLabel(p, d, line);
    line.str("]");
    sendLocalResponse(403, line.ptr, line.len, changetype<usize>(DENY_BODY), DENY_BODY.byteLength);
    return FilterHeadersStatus.StopIteration;
  }

  onDelete(): void {
    const c = this.counters;
    if (c !== null) c.flush(); // the last counts of a plugin being removed
    const p = this.policy;
    this.policy = null;
    if (p !== null) p.dispose();
  }
}

const NO_POLICY_DETAILS = String.UTF8.encode("meshgate_denied[no_policy]");

/**
 * A stream Envoy runs through meshgate without a policy root behind it (a root_id this module
 * does not serve, or a root without a policy): refused with a 403, never continued. Registered
 * with the binding's onUnknownStream by the module entry.
 */
export function refuseUnknownStream(id: u32): FilterHeadersStatus {
  log(LogLevel.Error, "meshgate: stream " + id.toString() + " has no policy (unknown or unconfigured root context): refused");
  sendLocalResponse(403, changetype<usize>(NO_POLICY_DETAILS), NO_POLICY_DETAILS.byteLength, changetype<usize>(DENY_BODY), DENY_BODY.byteLength);
  return FilterHeadersStatus.StopIteration;
}

class PolicyStream extends HttpContext {
  onRequestHeaders(headerCount: i32, endOfStream: bool): i32 {
    return changetype<PolicyRoot>(this.root).onRequest();
  }
}
