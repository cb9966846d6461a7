// meshgate_egress_sni: TLS passthrough egress judged by SNI — a proxy-wasm NETWORK filter
// (envoy.filters.network.wasm) in front of sni_dynamic_forward_proxy and tcp_proxy. Same policy
// document and the same `egress` rules and host matching as meshgate_egress; the request is
// (caller identity, the ClientHello's server_name, the connection's destination port).
// Per connection (filter/root.ts PolicyConnection): on_new_connection holds everything after the
// filter; the first bytes are read until one complete ClientHello (sni-facts.ts) → decideSni
// (pure) → act: allow names the judged (name, port) to the next filters, deny closes.
// Identity: `local` (sidecar) or `peer-certificate` (a gateway that terminated the workload's
// mTLS hop); `xfcc` has no meaning without HTTP headers and is refused at configure time.
import { CONTEXT_TCP } from "../proxywasm";
import { ROLE_EGRESS } from "../policy/policy";
import { decideSni } from "../policy/decide";
import { FactsReader, PolicyFilterSpec } from "../filter/spec";
import { registerPolicyFilter } from "../filter/policy-filter";
import { SniFactsReader } from "./sni-facts";

export const EGRESS_SNI_ROOT_ID = "meshgate_egress_sni";

function newReader(): FactsReader { return new SniFactsReader(); }

export function registerEgressSni(): void {
  registerPolicyFilter(new PolicyFilterSpec(ROLE_EGRESS, EGRESS_SNI_ROOT_ID, newReader, decideSni, CONTEXT_TCP, "egress_sni"));
}
