// meshgate_egress: which identity may reach which external name and port. Runs before the
// dynamic forward proxy: a denied request causes no DNS query and no connection.
// Pipeline: facts (facts.ts) → decideEgress (pure) → enforce (filter/root.ts).
import { HttpContext, RootContext, registerRootContext } from "../proxywasm";
import { ROLE_EGRESS } from "../policy/policy";
import { Decision, decideEgress } from "../policy/decide";
import { RequestFacts } from "../policy/facts";
import { Evaluation } from "../policy/evaluation";
import { Identity } from "../spiffe/identity";
import { PolicyRoot, enforce } from "../filter/root";
import { EgressFactsReader } from "./facts";

export const EGRESS_ROOT_ID = "meshgate_egress";

class EgressRoot extends PolicyRoot {
  readonly ev: Evaluation = new Evaluation(new RequestFacts(new Identity()));
  readonly reader: EgressFactsReader = new EgressFactsReader();
  readonly decision: Decision = new Decision();

  protected createStream(id: u32): HttpContext { return new EgressStream(id, this); }
}

class EgressStream extends HttpContext {
  onRequestHeaders(headerCount: i32, endOfStream: bool): i32 {
    const root = changetype<EgressRoot>(this.root);
    const policy = root.policy!;
    root.reader.read(policy, root.peer, root.ev.facts);
    decideEgress(policy, root.ev, root.decision);
    return enforce(root, root.decision, root.ev.facts.identity);
  }

  onDelete(): void {
    changetype<EgressRoot>(this.root).release(this);
  }
}

export function registerEgress(): void {
  registerRootContext(EGRESS_ROOT_ID, (id: u32, rootId: string): RootContext => new EgressRoot(id, rootId, ROLE_EGRESS));
}
