// What makes a policy filter one role's filter: a PolicyFilterSpec, handed to registerPolicyFilter
// (filter/policy-filter.ts). Everything else (configure, counters, the request pipeline, the act
// step) is the same for every role (filter/root.ts). The spec files: inbound/filter.ts,
// egress/filter.ts.
import { Policy } from "../policy/policy";
import { RequestFacts } from "../policy/facts";
import { Evaluation } from "../policy/evaluation";
import { Decision } from "../policy/decide";
import { PeerIdentity } from "./peer";
import { CONTEXT_HTTP } from "../proxywasm";

/**
 * The facts step of one role: every host read of a request, in one place. Fills `facts`,
 * including the caller's identity (asked of `peer`, by reference). Host views live until the
 * callback returns. One reader per root context: it may keep buffers.
 */
export abstract class FactsReader {
  /** HTTP filters: the current request (in on_request_headers). */
  read(policy: Policy, peer: PeerIdentity, facts: RequestFacts): void {}

  /**
   * Network filters: the connection's first bytes (`dataSize` in the downstream buffer,
   * `endOfStream`: the peer closed its side). false = not enough bytes yet (the filter waits);
   * true = `facts` are filled.
   */
  readConnection(policy: Policy, peer: PeerIdentity, facts: RequestFacts, dataSize: i32, endOfStream: bool): bool { return true; }

  /** Network filters: the raw server name the facts were read from (for the record), or len 0. */
  serverNamePtr(): usize { return 0; }
  serverNameLen(): i32 { return 0; }
}

/** The decide step of one role (policy/decide.ts): pure, allocation-free. */
export type DecideFn = (policy: Policy, ev: Evaluation, out: Decision) => void;

/** Creates a root context's facts reader. */
export type ReaderFactory = () => FactsReader;

export class PolicyFilterSpec {
  /**
   * role: ROLE_* (which policy section is compiled); rootId: the PluginConfig root_id that runs
   * this filter; newReader: its facts step; decide: its decide step; the rest: below.
   */
  constructor(
    public readonly role: i32,
    public readonly rootId: string,
    public readonly newReader: ReaderFactory,
    public readonly decide: DecideFn,
    /** CONTEXT_HTTP (an HTTP filter) or CONTEXT_TCP (a network filter: decides on the
     *  connection's first bytes, filter/root.ts PolicyConnection). */
    public readonly streamKind: u8 = CONTEXT_HTTP,
    /** The counters' and logs' name: meshgate.<counterName>.* (filter/counters.ts). */
    public readonly counterName: string = "",
    /** Egress HTTP filter: check the first bytes of CONNECT tunnels (egress/tunnel.ts). */
    public readonly checksTunnels: bool = false,
  ) {}
}
