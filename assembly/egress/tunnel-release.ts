// Releasing an allowed CONNECT tunnel's bytes (meshgate_egress, on the request body, once the
// first bytes passed the inner-SNI check). The reference egress configs route CONNECT to Envoy's
// internal listener `tunnel_exit`: its filter (tunnel-exit.ts) needs one line naming the judged
// host and port in front of the workload's bytes (tunnel-exit-prefix.ts). A route to any other
// cluster — Istio's egress gateway, a hand-written config whose CONNECT route dials the host
// itself — gets the bytes untouched: the line would reach the external service.
import { Bytes, HostKey, BufferType, getProperty, setBufferBytes } from "../proxywasm";
import { StrBuf } from "../util/strbuf";
import { bytesEqualAscii } from "../util/bytes";
import { TunnelCheck } from "./tunnel";
import { writeTunnelPrefix } from "./tunnel-exit-prefix";

/** The cluster of the reference configs' CONNECT route (envoy/egress.yaml, egress-sidecar.yaml). */
export const TUNNEL_EXIT_CLUSTER = "tunnel_exit";
const CLUSTER_NAME = HostKey.path("xds", "cluster_name");
const cluster = new Bytes();
const line = new StrBuf(640);

/**
 * Puts the exit's line in front of the request body if the stream's route goes to the exit.
 * `record` is the stream's `wasm.meshgate` value. false: Envoy refused the edit (reset the stream).
 */
export function releaseTunnel(check: TunnelCheck, record: StrBuf): bool {
  if (!getProperty(CLUSTER_NAME, cluster) || !bytesEqualAscii(cluster.ptr, cluster.len, TUNNEL_EXIT_CLUSTER)) return true;
  writeTunnelPrefix(check.exitHost.ptr, check.exitHost.len, check.port, record.ptr, record.len, line);
  return setBufferBytes(BufferType.HttpRequestBody, 0, 0, line.ptr, line.len);
}
