// Every host read of the SNI filter: the connection's first bytes (BufferType.DownstreamData —
// the whole undrained read buffer on every call, so nothing is copied between calls), the
// destination port (`destination.port`: the listener's port, or the original destination under
// `original_dst`), and the caller's identity (filter/peer.ts; no headers, so never XFCC).
//
// The ClientHello is read by the filter itself (tls/client-hello.ts), never taken from the TLS
// inspector (`connection.requested_server_name`): at a gateway that terminated the workload's mTLS
// hop, the inspector saw the OUTER hello; the filter reads the decrypted stream, whose first bytes
// are the workload's own hello.
import { Bytes, HostKey, BufferType, getBufferBytes, getPropertyU64 } from "../proxywasm";
import { RequestFacts } from "../policy/facts";
import { Policy } from "../policy/policy";
import {
  REASON_NOT_TLS, REASON_NO_SNI, REASON_ECH, REASON_MALFORMED_CLIENT_HELLO, REASON_CLIENT_HELLO_TOO_LARGE, REASON_BAD_SNI,
} from "../policy/decide";
import { PeerIdentity } from "../filter/peer";
import { FactsReader } from "../filter/spec";
import {
  ClientHelloReader, MAX_CLIENT_HELLO, HELLO_OK, HELLO_NEED_MORE, HELLO_NOT_TLS, HELLO_TOO_LARGE, SNI_NONE, SNI_ONE,
} from "../tls/client-hello";

const DESTINATION_PORT = HostKey.path("destination", "port");
/**
 * The most first bytes read while waiting for a complete hello: the hello's largest message plus
 * room for its record headers when it is split into many small records (≥ 32 bytes each). More
 * bytes without a complete hello: client_hello_too_large.
 */
export const MAX_FIRST_BYTES: i32 = MAX_CLIENT_HELLO + MAX_CLIENT_HELLO / 32 * 5;

/**
 * The refusal reason (decide.ts REASON_*, 0 = none) for a hello read from `len` first bytes,
 * `more`: more bytes may still come (not end of stream, under MAX_FIRST_BYTES). -1: wait.
 */
export function helloRefusal(hello: ClientHelloReader, status: i32, len: i32, more: bool): i32 {
  if (status == HELLO_NEED_MORE) {
    if (more) return -1;
    if (len == 0) return REASON_NOT_TLS;
    return len >= MAX_FIRST_BYTES ? REASON_CLIENT_HELLO_TOO_LARGE : REASON_MALFORMED_CLIENT_HELLO;
  }
  if (status == HELLO_NOT_TLS) return REASON_NOT_TLS;
  if (status == HELLO_TOO_LARGE) return REASON_CLIENT_HELLO_TOO_LARGE;
  if (status != HELLO_OK) return REASON_MALFORMED_CLIENT_HELLO;
  if (hello.ech) return REASON_ECH;
  if (hello.sni == SNI_NONE) return REASON_NO_SNI;
  if (hello.sni != SNI_ONE) return REASON_BAD_SNI;
  return 0;
}

export class SniFactsReader extends FactsReader {
  private readonly hello: ClientHelloReader = new ClientHelloReader();
  private readonly data: Bytes = new Bytes();
  private readonly scratch: Bytes = new Bytes();
  private readonly noXfcc: Bytes = new Bytes();

  readConnection(policy: Policy, peer: PeerIdentity, facts: RequestFacts, dataSize: i32, endOfStream: bool): bool {
    const want = dataSize < MAX_FIRST_BYTES ? dataSize : MAX_FIRST_BYTES;
    const d = this.data;
    if (want <= 0 || !getBufferBytes(BufferType.DownstreamData, 0, <u32>want, d)) d.clear();
    const hello = this.hello;
    const status = hello.read(d.ptr, d.len);
    const refusal = helloRefusal(hello, status, d.len, !endOfStream && d.len < MAX_FIRST_BYTES);
    if (refusal < 0) return false;
    facts.identity = peer.resolve(policy, this.noXfcc, false);
    const port = <i32>getPropertyU64(DESTINATION_PORT, this.scratch, 0);
    facts.setServerName(refusal, hello.sniPtr, hello.sniLen, port);
    return true;
  }

  serverNamePtr(): usize { return this.hello.sniPtr; }
  serverNameLen(): i32 { return this.hello.sniLen; }
}
