// meshgate_inbound: SPIFFE-identity authorization of requests arriving at a service.
// Pipeline per request: facts (facts.ts: identity, :method, :path) → decideInbound (pure) →
// enforce (filter/root.ts: continue, or 403). Everything is decided in on_request_headers;
// nothing is buffered and no other callback does work.
import { HttpContext, RootContext, registerRootContext } from "../proxywasm";
import { ROLE_INBOUND } from "../policy/policy";
import { Decision, decideInbound } from "../policy/decide";
import { RequestFacts } from "../policy/facts";
import { Evaluation } from "../policy/evaluation";
import { Identity } from "../spiffe/identity";
import { PolicyRoot, enforce } from "../filter/root";
import { InboundFactsReader } from "./facts";

export const INBOUND_ROOT_ID = "meshgate_inbound";

class InboundRoot extends PolicyRoot {
  // One set of fact/decision objects per root (per worker VM): callbacks never interleave.
  readonly ev: Evaluation = new Evaluation(new RequestFacts(new Identity()));
  readonly reader: InboundFactsReader = new InboundFactsReader();
  readonly decision: Decision = new Decision();

  protected createStream(id: u32): HttpContext { return new InboundStream(id, this); }
}

class InboundStream extends HttpContext {
  onRequestHeaders(headerCount: i32, endOfStream: bool): i32 {
    const root = changetype<InboundRoot>(this.root);
    const policy = root.policy!;
    root.reader.read(policy, root.peer, root.ev.facts);
    decideInbound(policy, root.ev, root.decision);
    return enforce(root, root.decision, root.ev.facts.identity);
  }

  onDelete(): void {
    changetype<InboundRoot>(this.root).release(this);
  }
}

export function registerInbound(): void {
  registerRootContext(INBOUND_ROOT_ID, (id: u32, rootId: string): RootContext => new InboundRoot(id, rootId, ROLE_INBOUND));
}
