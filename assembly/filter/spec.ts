// What makes a policy filter one role's filter: a PolicyFilterSpec, handed to registerPolicyFilter
// (filter/policy-filter.ts). Everything else (configure, counters, the request pipeline, the act
// step) is the same for every role (filter/root.ts). The spec files: inbound/filter.ts,
// egress/filter.ts.
import { Policy } from "../policy/policy";
import { RequestFacts } from "../policy/facts";
import { Evaluation } from "../policy/evaluation";
import { Decision } from "../policy/decide";
import { PeerIdentity } from "./peer";

/**
 * The facts step of one role: every host read of a request, in one place. Fills `facts`,
 * including the caller's identity (asked of `peer`, by reference). Host views live until the
 * callback returns. One reader per root context: it may keep buffers.
 */
export abstract class FactsReader {
  abstract read(policy: Policy, peer: PeerIdentity, facts: RequestFacts): void;
}

/** The decide step of one role (policy/decide.ts): pure, allocation-free. */
export type DecideFn = (policy: Policy, ev: Evaluation, out: Decision) => void;

/** Creates a root context's facts reader. */
export type ReaderFactory = () => FactsReader;

export class PolicyFilterSpec {
  /**
   * role: ROLE_* (which policy section is compiled); rootId: the PluginConfig root_id that runs
   * this filter; newReader: its facts step; decide: its decide step.
   */
  constructor(
    public readonly role: i32,
    public readonly rootId: string,
    public readonly newReader: ReaderFactory,
    public readonly decide: DecideFn,
  ) {}
}
