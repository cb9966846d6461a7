// build/meshgate.wasm: one module, two root ids — `meshgate_inbound` and `meshgate_egress`
// (PluginConfig.root_id picks one per filter instance). Exports only the callbacks the filters
// use: Envoy skips callbacks a module does not export, which saves a VM crossing each.
import "./proxywasm/abort";
import { registerInbound } from "./inbound/filter";
import { registerEgress } from "./egress/filter";

registerInbound();
registerEgress();

export {
  malloc,
  proxy_on_context_create,
  proxy_on_vm_start,
  proxy_on_configure,
  proxy_on_tick,
  proxy_on_request_headers,
  proxy_on_done,
  proxy_on_delete,
} from "./proxywasm/runtime";

/** The ABI version marker Envoy looks for. Never called. */
export function proxy_abi_version_0_2_1(): void {}
