// meshgate_tunnel_exit: the far end of an allowed CONNECT tunnel, a proxy-wasm NETWORK filter on
// Envoy's internal listener (envoy/egress.yaml, envoy/egress-sidecar.yaml; docs/egress-behaviour.md
// §9). The CONNECT route's cluster is that internal listener, so Envoy's 200 costs no DNS query and
// no connection. meshgate_egress judges the tunnel's first bytes on the HTTP stream; only if they
// pass does it release them, behind one line naming the judged host and port
// (tunnel-exit-prefix.ts). This filter:
//   on_new_connection  holds every later filter (sni_dynamic_forward_proxy, the address guard,
//                      tcp_proxy): nothing is resolved or dialed yet;
//   on_downstream_data reads that line, strips it, names host and port to the next filters (filter
//                      state envoy.upstream.dynamic_host / dynamic_port), copies the stream's record
//                      into `wasm.meshgate` (the access log, the guard's per-rule grants), continues.
// A missing or malformed line closes the connection: nothing is dialed. No policy: the decision was
// made on the HTTP stream; this filter takes no configuration.
import {
  RootContext, TcpContext, Bytes, HostKey, LogLevel, FilterStatus, StreamType, BufferType, CONTEXT_TCP,
  getBufferBytes, setBufferBytes, setProperty, setEnvoyFilterState, closeStream, log, registerRootContext,
} from "../proxywasm";
import { TunnelPrefix, parseTunnelPrefix, MAX_PREFIX, PREFIX_NEED_MORE, PREFIX_MALFORMED } from "./tunnel-exit-prefix";

export const TUNNEL_EXIT_ROOT_ID = "meshgate_tunnel_exit";

const FILTER_STATE_KEY = new HostKey("meshgate");
const DYNAMIC_HOST = new HostKey("envoy.upstream.dynamic_host");
const DYNAMIC_PORT = new HostKey("envoy.upstream.dynamic_port");

class TunnelExitRoot extends RootContext {
  // One set per root (per worker VM): callbacks never interleave.
  readonly data: Bytes = new Bytes();
  readonly prefix: TunnelPrefix = new TunnelPrefix();

  createTcpContext(id: u32): TcpContext | null { return new TunnelExitConnection(id, this); }

  /**
   * The connection's first bytes: Continue once the line is read and stripped; StopIteration while
   * it is incomplete, or after closing the connection (a malformed line, refused filter state).
   */
  onData(dataSize: i32, endOfStream: bool): i32 {
    const want = dataSize < MAX_PREFIX ? dataSize : MAX_PREFIX;
    const d = this.data;
    if (want <= 0 || !getBufferBytes(BufferType.DownstreamData, 0, <u32>want, d)) d.clear();
    const p = this.prefix;
    const n = parseTunnelPrefix(d.ptr, d.len, !endOfStream, p);
    if (n == PREFIX_NEED_MORE) return FilterStatus.StopIteration;
    if (n == PREFIX_MALFORMED) return this.close("no valid tunnel line");
    const base = d.ptr;
    const portAt = base + <usize>(p.hostAt + p.hostLen + 1);
    const portLen = p.recordAt - 1 - (p.hostAt + p.hostLen + 1);
    setProperty(FILTER_STATE_KEY, base + <usize>p.recordAt, p.recordLen);
    if (!setEnvoyFilterState(DYNAMIC_HOST, base + <usize>p.hostAt, p.hostLen) || !setEnvoyFilterState(DYNAMIC_PORT, portAt, portLen)) {
      return this.close("Envoy refused filter state envoy.upstream.dynamic_host/dynamic_port");
    }
    // The external service gets the workload's bytes only.
    if (!setBufferBytes(BufferType.DownstreamData, 0, <u32>n, d.ptr, 0)) return this.close("the tunnel line could not be removed");
    return FilterStatus.Continue;
  }

  private close(why: string): i32 {
    log(LogLevel.Error, TUNNEL_EXIT_ROOT_ID + ": " + why + ": connection closed");
    closeStream(StreamType.Downstream);
    return FilterStatus.StopIteration;
  }
}

/** One internal connection (one tunnel): held until its line is read, then passed through. A
 *  malformed line closed it, and Envoy delivers nothing after a close. */
class TunnelExitConnection extends TcpContext {
  private passed: bool = false;

  onCreate(): void { this.passed = false; }

  onNewConnection(): i32 { return FilterStatus.StopIteration; }

  onDownstreamData(dataSize: i32, endOfStream: bool): i32 {
    if (this.passed) return FilterStatus.Continue;
    const r = changetype<TunnelExitRoot>(this.root).onData(dataSize, endOfStream);
    this.passed = r == FilterStatus.Continue;
    return this.passed ? r : FilterStatus.StopIteration;
  }
}

function newTunnelExitRoot(id: u32, rootId: string): RootContext {
  return new TunnelExitRoot(id, rootId, CONTEXT_TCP);
}

export function registerTunnelExit(): void {
  registerRootContext(TUNNEL_EXIT_ROOT_ID, newTunnelExitRoot);
}
