// meshgate_inbound: SPIFFE-identity authorization of requests arriving at a service.
// Per request (filter/root.ts): facts (facts.ts: identity, :method, :path) → decideInbound
// (pure) → act (continue, or 403).
import { ROLE_INBOUND } from "../policy/policy";
import { decideInbound } from "../policy/decide";
import { FactsReader, PolicyFilterSpec } from "../filter/spec";
import { registerPolicyFilter } from "../filter/policy-filter";
import { InboundFactsReader } from "./facts";

export const INBOUND_ROOT_ID = "meshgate_inbound";

function newReader(): FactsReader { return new InboundFactsReader(); }

export function registerInbound(): void {
  registerPolicyFilter(new PolicyFilterSpec(ROLE_INBOUND, INBOUND_ROOT_ID, newReader, decideInbound));
}
