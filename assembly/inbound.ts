// build/meshgate-inbound.wasm: `meshgate_inbound` alone, for listeners that only authorize
// arriving requests (a service's sidecar or gateway). Same source and behaviour as the root id of
// build/meshgate.wasm; the difference is the export list. Envoy's Wasm host skips a callback only
// when the MODULE does not export it, never per root id, and build/meshgate.wasm exports
// proxy_on_request_body for the egress filter's CONNECT tunnel check: under it every inbound
// request with a body pays one call into the VM per body chunk, which returns at once. This module
// exports no body callback, so an inbound POST costs what a GET costs
// (test/unit/emulator/hot-path-ledger.test.ts). The price: a second artifact, and where one
// Envoy runs both directions, a second VM per worker instead of one shared by the root ids.
import { onUnknownStream } from "./proxywasm";
import { refuseUnknownStream } from "./filter/root";
import { registerInbound } from "./inbound/filter";

registerInbound();
// A stream without a policy behind it (another root id) is refused, never continued.
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
