// meshgate_egress: which identity may reach which external name and port. Runs before the
// dynamic forward proxy: a denied request causes no DNS query and no connection.
// Per request (filter/root.ts): facts (facts.ts: identity, the target) → decideEgress (pure) →
// act (continue, or 403). An allowed CONNECT's first tunnel bytes are judged too (tunnel.ts).
import { CONTEXT_HTTP } from "../proxywasm";
import { ROLE_EGRESS } from "../policy/policy";
import { decideEgress } from "../policy/decide";
import { FactsReader, PolicyFilterSpec } from "../filter/spec";
import { registerPolicyFilter } from "../filter/policy-filter";
import { EgressFactsReader } from "./facts";

export const EGRESS_ROOT_ID = "meshgate_egress";

function newReader(): FactsReader { return new EgressFactsReader(); }

export function registerEgress(): void {
  registerPolicyFilter(new PolicyFilterSpec(ROLE_EGRESS, EGRESS_ROOT_ID, newReader, decideEgress, CONTEXT_HTTP, "egress", true));
}
