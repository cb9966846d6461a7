// The policy filter of every role (registered by filter/policy-filter.ts with a role's spec): the
// root context that turns the plugin configuration into a compiled Policy (failing configure with
// one log line per invalid field), and the pipeline: facts (the spec's reader: every host read) →
// decide (the spec's pure decide step) → act (filter state, counters flushed on the timer, the
// debug line; then the deny of the filter's kind).
//   HTTP filters (PolicyStream): all in on_request_headers; a deny is a 403. The egress filter
//     also judges the first bytes of a CONNECT tunnel it allowed (egress/tunnel.ts) in
//     on_request_body — the only body callback that does work, and only for such streams.
//   Network filters (PolicyConnection): on_new_connection holds the connection (StopIteration:
//     no later filter runs, so nothing is resolved or dialed); on_downstream_data reads the first
//     bytes until the reader has its facts, decides once, and then either names the judged
//     destination to the next filters (Envoy filter state envoy.upstream.dynamic_host /
//     dynamic_port) and continues, or closes the connection.
import {
  RootContext, HttpContext, TcpContext, Bytes, HostKey, LogLevel, FilterHeadersStatus, FilterDataStatus, FilterStatus,
  StreamType, BufferType, CONTEXT_TCP,
  getPluginConfiguration, log, logBytes, getLogLevel, setTickPeriod, setProperty, sendLocalResponse,
  closeStream, getBufferBytes, setEnvoyFilterState,
} from "../proxywasm";
import { compilePolicy } from "../policy/config";
import { Policy, roleName } from "../policy/policy";
import { Decision, DECISION_DENY, DECISION_ALLOW, BY_RULE, invalidReasonName } from "../policy/decide";
import { EgressTarget } from "../policy/host";
import { ClientHelloReader, MAX_CLIENT_HELLO } from "../tls/client-hello";
import { TunnelCheck, judgeTunnel, TUNNEL_PASS, TUNNEL_NEED_MORE } from "../egress/tunnel";
import { releaseTunnel } from "../egress/tunnel-release";
import { RequestFacts } from "../policy/facts";
import { Evaluation } from "../policy/evaluation";
import { Identity } from "../spiffe/identity";
import { StrBuf } from "../util/strbuf";
import { FilterStateWriter, DenyDetails, writeDebugLine, writeServerName } from "./report";
import { PolicyCounters } from "./counters";
import { PeerIdentity } from "./peer";
import { PolicyFilterSpec, FactsReader } from "./spec";

const FILTER_STATE_KEY = new HostKey("meshgate");
/** Envoy filter state objects sni_dynamic_forward_proxy and the DFP cluster read (string, uint32). */
const DYNAMIC_HOST = new HostKey("envoy.upstream.dynamic_host");
const DYNAMIC_PORT = new HostKey("envoy.upstream.dynamic_port");
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
  /** The act step's text: the filter state (report.ts, rewritten only where it changed), the 403's
   *  details, and in `line` a network filter's or a tunnel's record (with ` sni=`). */
  private readonly filterState: FilterStateWriter = new FilterStateWriter();
  private readonly denyDetails: DenyDetails = new DenyDetails();
  private readonly line: StrBuf = new StrBuf(512);
  private readonly config: Bytes = new Bytes();

  // CONNECT tunnels (egress): the first tunnel bytes' hello and the inner name.
  private hello: ClientHelloReader | null = null; // 64 KiB: made on the first CONNECT tunnel
  private readonly inner: EgressTarget = new EgressTarget();
  private readonly body: Bytes = new Bytes();

  constructor(id: u32, rootId: string, private readonly spec: PolicyFilterSpec) {
    super(id, rootId, spec.streamKind);
    this.role = spec.role;
    this.reader = spec.newReader();
  }

  /** meshgate.<name>.* counters; `inbound` / `egress` unless the spec names them. */
  private get counterName(): string {
    return this.spec.counterName.length > 0 ? this.spec.counterName : roleName(this.role);
  }

  onConfigure(size: i32): bool {
    const label = this.spec.rootId;
    if (!getPluginConfiguration(size, this.config)) {
      log(LogLevel.Error, label + ": the plugin configuration is not readable; refusing it");
      return false;
    }
    const result = compilePolicy(this.config.ptr, this.config.len, this.role, this.spec.streamKind == CONTEXT_TCP);
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
    this.filterState.setPolicy(policy);
    this.denyDetails.setPolicy(policy);
    if (old !== null) old.dispose();
    const oldCounters = this.counters;
    if (oldCounters !== null) oldCounters.flush();
    this.counters = new PolicyCounters(policy, this.counterName, this.spec.checksTunnels);
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

  /** Connections (network filters) likewise. */
  createTcpContext(id: u32): TcpContext | null {
    return this.policy === null ? null : new PolicyConnection(id, this);
  }

  /** The pipeline for the current request's headers; returns the FilterHeadersStatus. */
  onRequest(stream: PolicyStream): i32 {
    const policy = this.policy!;
    const ev = this.ev;
    this.reader.read(policy, this.peer, ev.facts);
    const decide = this.spec.decide;
    const d = this.decision;
    decide(policy, ev, d);
    const value = this.record(d, ev.facts.identity, false);
    if (d.decision != DECISION_DENY) {
      if (this.spec.checksTunnels && ev.facts.connect) {
        // the tunnel's first bytes come in on_request_body (egress/tunnel.ts)
        const tunnelAny = d.by == BY_RULE && d.decision == DECISION_ALLOW && policy.rule(d.rule).tunnelAny;
        stream.tunnel.arm(ev.facts.target, tunnelAny);
        stream.keepRecord(value);
      }
      return FilterHeadersStatus.Continue;
    }
    return this.deny(d);
  }

  /**
   * The act step's record: filter state `wasm.meshgate` for the access log (with ` sni=` for
   * network filters), counters, a debug line. Returns the filter state's bytes (valid until the
   * next request).
   */
  private record(d: Decision, id: Identity, withServerName: bool): StrBuf {
    const p = this.policy!;
    let value = this.filterState.write(d, id);
    if (withServerName) {
      const line = this.line;
      line.clear().bytes(value.ptr, value.len);
      writeServerName(this.ev.facts.target, this.reader.serverNamePtr(), this.reader.serverNameLen(), line);
      value = line;
    }
    setProperty(FILTER_STATE_KEY, value.ptr, value.len);
    this.counters!.count(d);
    if (this.logLevel <= LogLevel.Debug) {
      const debug = this.debugLine;
      debug.clear();
      writeDebugLine(p, d, id, debug);
      if (withServerName) writeServerName(this.ev.facts.target, this.reader.serverNamePtr(), this.reader.serverNameLen(), debug);
      logBytes(LogLevel.Debug, debug.ptr, debug.len);
    }
    return value;
  }
  private readonly debugLine: StrBuf = new StrBuf(512);

  /** An HTTP deny: a 403 with details `meshgate_denied[<rule|default|reason>]`. */
  private deny(d: Decision): i32 {
    const line = this.denyDetails.write(d);
    sendLocalResponse(403, line.ptr, line.len, changetype<usize>(DENY_BODY), DENY_BODY.byteLength);
    return FilterHeadersStatus.StopIteration;
  }

  /**
   * The first bytes of a CONNECT tunnel this filter allowed (on_request_body): judged once; a
   * refusal rewrites the record (`decision=deny rule=tunnel_<...> ... sni=<inner|->`) and resets
   * the stream. `bodySize` bytes are readable (Envoy hands the whole buffered body after a
   * StopIterationAndBuffer).
   */
  onTunnelData(stream: PolicyStream, bodySize: i32, endOfStream: bool): i32 {
    const check = stream.tunnel;
    if (!check.pending || this.policy === null) return FilterDataStatus.Continue;
    let hello = this.hello;
    if (hello === null) { hello = new ClientHelloReader(); this.hello = hello; }
    const n = bodySize < MAX_CLIENT_HELLO + 5 * 8 ? bodySize : MAX_CLIENT_HELLO + 5 * 8;
    const b = this.body;
    if (!getBufferBytes(BufferType.HttpRequestBody, 0, <u32>n, b)) b.clear();
    const verdict = judgeTunnel(check, hello, this.inner, b.ptr, b.len, endOfStream);
    if (verdict == TUNNEL_NEED_MORE) return FilterDataStatus.StopIterationAndBuffer;
    check.disarm();
    const p = this.policy!;
    const line = this.line;
    line.clear();
    if (verdict == TUNNEL_PASS) {
      stream.recordInto(line, 0, "");
    } else {
      stream.recordInto(line, p.auditMode ? 2 : 1, invalidReasonName(verdict));
      this.counters!.countTunnelDenied();
    }
    writeServerName(this.inner, hello.sniPtr, hello.sniLen, line);
    setProperty(FILTER_STATE_KEY, line.ptr, line.len);
    if (this.logLevel <= LogLevel.Debug) logBytes(LogLevel.Debug, line.ptr, line.len);
    // A passing tunnel's bytes go to the exit (egress/tunnel-exit.ts) behind the judged host:port.
    if (verdict == TUNNEL_PASS || p.auditMode) {
      if (releaseTunnel(check, line)) return FilterDataStatus.Continue;
      log(LogLevel.Error, this.spec.rootId + ": the tunnel line could not be written: stream reset");
    }
    closeStream(StreamType.HttpRequest);
    return FilterDataStatus.StopIterationNoBuffer;
  }

  /**
   * A network filter's pipeline on the connection's first bytes: NEED_MORE_DATA (-1) while the
   * reader waits, else the FilterStatus after the decision.
   */
  onConnectionData(dataSize: i32, endOfStream: bool): i32 {
    const policy = this.policy!;
    const ev = this.ev;
    if (!this.reader.readConnection(policy, this.peer, ev.facts, dataSize, endOfStream)) return NEED_MORE_DATA;
    const d = this.decision;
    const decide = this.spec.decide;
    decide(policy, ev, d);
    this.record(d, ev.facts.identity, true);
    if (d.decision == DECISION_DENY) {
      closeStream(StreamType.Downstream);
      return FilterStatus.StopIteration;
    }
    // The next filters dial what was judged, never the original destination address. A
    // refused filter state (no object factory: an Envoy build without the DFP extensions)
    // closes the connection rather than let sni_dynamic_forward_proxy fall back to the TLS
    // inspector's name.
    const t = ev.facts.target;
    if (t.reason == 0 && !t.isIp) {
      const port = this.portText;
      port.clear().int(t.port);
      if (!setEnvoyFilterState(DYNAMIC_HOST, t.name, t.nameLen) || !setEnvoyFilterState(DYNAMIC_PORT, port.ptr, port.len)) {
        log(LogLevel.Error, this.spec.rootId + ": Envoy refused filter state envoy.upstream.dynamic_host/dynamic_port: connection closed");
        closeStream(StreamType.Downstream);
        return FilterStatus.StopIteration;
      }
    }
    return FilterStatus.Continue;
  }
  private readonly portText: StrBuf = new StrBuf(8);

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

/** PolicyRoot.onConnectionData: the reader needs more bytes. */
const NEED_MORE_DATA: i32 = -1;

class PolicyStream extends HttpContext {
  /** An allowed CONNECT whose first tunnel bytes are still to be judged (egress). */
  readonly tunnel: TunnelCheck = new TunnelCheck();
  /** The allowed CONNECT's record after `rule=<label>`: ` identity=... policy=...`. */
  private record: StrBuf | null = null;
  private ruleEnd: i32 = 0;

  onCreate(): void {
    this.tunnel.disarm();
  }

  onRequestHeaders(headerCount: i32, endOfStream: bool): i32 {
    return changetype<PolicyRoot>(this.root).onRequest(this);
  }

  onRequestBody(bodySize: i32, endOfStream: bool): i32 {
    if (!this.tunnel.pending) return FilterDataStatus.Continue;
    return changetype<PolicyRoot>(this.root).onTunnelData(this, bodySize, endOfStream);
  }

  /** Keeps the allowed CONNECT's record (`decision=... rule=<label> identity=...`): only its
   *  tail from ` identity=` is reused. Allocated on the context's first CONNECT, then reused. */
  keepRecord(line: StrBuf): void {
    let r = this.record;
    if (r === null) { r = new StrBuf(line.len + 64); this.record = r; }
    r.clear().bytes(line.ptr, line.len);
    // the tail starts at " identity=": the first space after "rule="
    let at = 0;
    const n = r.len;
    let spaces = 0;
    for (; at < n; at++) if (load<u8>(r.ptr + <usize>at) == 0x20 && ++spaces == 2) break;
    this.ruleEnd = at;
  }

  /** decision 0: the CONNECT's own record; 1 deny / 2 audit_deny with rule `label`. */
  recordInto(line: StrBuf, decision: i32, label: string): void {
    const r = this.record;
    if (r === null) return;
    if (decision == 0) { line.bytes(r.ptr, r.len); return; }
    line.str(decision == 1 ? "decision=deny rule=" : "decision=audit_deny rule=").str(label);
    line.bytes(r.ptr + <usize>this.ruleEnd, r.len - this.ruleEnd);
  }
}

/** One downstream connection of a network policy filter: held until its first bytes are judged. */
class PolicyConnection extends TcpContext {
  private decided: bool = false;
  private allowed: bool = false;

  onCreate(): void {
    this.decided = false;
    this.allowed = false;
  }

  /** Nothing after this filter may run before the decision: no DNS query, no upstream dial. */
  onNewConnection(): i32 {
    return FilterStatus.StopIteration;
  }

  onDownstreamData(dataSize: i32, endOfStream: bool): i32 {
    if (this.decided) return this.allowed ? FilterStatus.Continue : FilterStatus.StopIteration;
    const r = changetype<PolicyRoot>(this.root).onConnectionData(dataSize, endOfStream);
    if (r == NEED_MORE_DATA) return FilterStatus.StopIteration;
    this.decided = true;
    this.allowed = r == FilterStatus.Continue;
    return r;
  }
}

/**
 * A connection through meshgate without a policy root behind it: closed, never continued.
 * Registered with the binding's onUnknownConnection by the module entry.
 */
export function refuseUnknownConnection(id: u32): FilterStatus {
  log(LogLevel.Error, "meshgate: connection " + id.toString() + " has no policy (unknown or unconfigured root context): closed");
  closeStream(StreamType.Downstream);
  return FilterStatus.StopIteration;
}
