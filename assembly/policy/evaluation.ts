// The working state of one decision: the request facts and what the rule loop of decide.ts has
// learned so far. Owned by the caller (one per filter root, test or bench), pre-allocated once, so
// deciding allocates nothing and keeps no module state.

import { RequestFacts } from "./facts";

export class Evaluation {
  /** Whether the identity is in the policy's trust domain (set once per decision). */
  inTrustDomain: bool = false;
  /** The index of the rule being matched (identity fields remember answers per rule). */
  rule: i32 = -1;
  /** After scoring a rule: its first field code that did not match, or -1. */
  firstMiss: i32 = -1;

  constructor(public readonly facts: RequestFacts) {}
}
