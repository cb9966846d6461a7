// build/meshgate-passthrough.wasm: the binding's reference filter on its own (root id
// `meshgate_passthrough`): lets everything through, counts requests, adds x-meshgate-peer. It is
// a separate module because it needs proxy_on_response_headers, and every exported per-request
// callback would cost the policy filters in build/meshgate.wasm a VM crossing per request.
import { registerPassthrough } from "./inbound/passthrough";

registerPassthrough();

export {
  proxy_abi_version_0_2_1,
  malloc,
  proxy_on_context_create,
  proxy_on_configure,
  proxy_on_request_headers,
  proxy_on_response_headers,
  proxy_on_delete,
} from "./proxywasm";
