// build/meshgate.wasm: one module, two root ids (PluginConfig.root_id picks one per filter
// instance): `meshgate_inbound` and `meshgate_egress`. Registration runs in `_initialize`. (The
// binding's reference pass-through filter is a module of its own: assembly/passthrough.ts.)
//
// Exports: only the callbacks these filters use. Envoy skips callbacks a module does not export,
// and each exported per-request callback costs a VM crossing on every request of every filter in
// this module. Not exported, on purpose: proxy_on_vm_start (no filter reads VM configuration;
// the host then assumes success), proxy_on_done (no filter defers deletion; the host assumes
// done), proxy_on_response_headers, proxy_on_log and the body/trailer callbacks (everything is
// decided in on_request_headers).
import { onUnknownStream } from "./proxywasm";
import { refuseUnknownStream } from "./filter/root";
import { registerInbound } from "./inbound/filter";
import { registerEgress } from "./egress/filter";

registerInbound();
registerEgress();
// A stream without a policy behind it is refused, never continued (filter/root.ts).
onUnknownStream(refuseUnknownStream);

export {
  proxy_abi_version_0_2_1,
  malloc,
  proxy_on_context_create,
  proxy_on_configure,
  proxy_on_tick,
  proxy_on_request_headers,
  proxy_on_delete,
} from "./proxywasm";
