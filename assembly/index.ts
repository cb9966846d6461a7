// build/meshgate.wasm: one module, four root ids (PluginConfig.root_id picks one per filter
// instance): `meshgate_inbound` and `meshgate_egress` (HTTP filters), `meshgate_egress_sni` and
// `meshgate_tunnel_exit` (network filters: envoy.filters.network.wasm; the second is the far end
// of an allowed CONNECT tunnel on Envoy's internal listener, egress/tunnel-exit.ts). Registration
// runs in `_initialize`. (The binding's reference pass-through filter is a module of its own:
// assembly/passthrough.ts.)
//
// Exports: only the callbacks these filters use. Envoy skips callbacks a module does not export,
// and each exported per-request callback costs a VM crossing on every request of every filter in
// this module. Not exported, on purpose: proxy_on_vm_start (no filter reads VM configuration;
// the host then assumes success), proxy_on_done (no filter defers deletion; the host assumes
// done), proxy_on_response_headers, proxy_on_log, the response body and trailer callbacks
// (an HTTP request is decided in on_request_headers), proxy_on_upstream_data and
// proxy_on_upstream_connection_close (the SNI filter decides on downstream bytes).
// Exported on purpose: proxy_on_request_body — the first bytes of an allowed CONNECT tunnel
// (egress/tunnel.ts). Envoy calls it only for requests that carry a body (never for a GET
// without one); for those it costs one VM crossing per body chunk and returns Continue at once
// unless the stream is a CONNECT awaiting its check — no host call. Envoy skips callbacks per
// module, not per root id, so the inbound filter pays that crossing too; build/meshgate-inbound.wasm
// (assembly/inbound.ts) is the inbound filter alone without it. The network callbacks run only
// for connections through the SNI filter.
import { onUnknownStream, onUnknownConnection } from "./proxywasm";
import { refuseUnknownStream, refuseUnknownConnection } from "./filter/root";
import { registerInbound } from "./inbound/filter";
import { registerEgress } from "./egress/filter";
import { registerEgressSni } from "./egress/sni";
import { registerTunnelExit } from "./egress/tunnel-exit";

registerInbound();
registerEgress();
registerEgressSni();
registerTunnelExit();
// A stream or connection without a policy behind it is refused, never continued (filter/root.ts).
onUnknownStream(refuseUnknownStream);
onUnknownConnection(refuseUnknownConnection);

export {
  proxy_abi_version_0_2_1,
  malloc,
  proxy_on_context_create,
  proxy_on_configure,
  proxy_on_tick,
  proxy_on_request_headers,
  proxy_on_request_body,
  proxy_on_new_connection,
  proxy_on_downstream_data,
  proxy_on_downstream_connection_close,
  proxy_on_delete,
} from "./proxywasm";
