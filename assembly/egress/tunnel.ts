// The first bytes of an allowed CONNECT tunnel (meshgate_egress, docs/design.md §3.4): they must
// be a TLS ClientHello whose server_name equals the CONNECT host — ASCII case-insensitive, one
// trailing dot ignored on the inner name (the CONNECT host reaching the filter has none: host.ts
// check 5) — otherwise the tunnel is reset. A rule with `tunnel: any` lets non-TLS first bytes
// through, but a ClientHello in such a tunnel must still name the CONNECT host.
//
// Without this, `CONNECT files.stripe.com:443` followed by a hello for `evil.example` reaches
// whatever the shared edge behind files.stripe.com routes that name to (domain fronting).
//
// Pure: judgeTunnel reads bytes the caller took from the host (the request body buffer) and
// allocates nothing.
import { ClientHelloReader, HELLO_OK, HELLO_NEED_MORE, HELLO_NOT_TLS, SNI_NONE, SNI_ONE } from "../tls/client-hello";
import { EgressTarget, TARGET_OK } from "../policy/host";
import { StrBuf } from "../util/strbuf";
import { writeAddress } from "./tunnel-exit-prefix";
import {
  REASON_TUNNEL_NOT_TLS, REASON_TUNNEL_NO_SNI, REASON_TUNNEL_ECH, REASON_TUNNEL_SNI_MISMATCH,
  REASON_TUNNEL_MALFORMED_CLIENT_HELLO,
} from "../policy/decide";

/** judgeTunnel: the tunnel may go on. */
export const TUNNEL_PASS: i32 = 0;
/** judgeTunnel: the hello is not complete yet (buffer and wait). */
export const TUNNEL_NEED_MORE: i32 = -1;

/** What the stream remembers about its allowed CONNECT until the first tunnel bytes come. */
export class TunnelCheck {
  /** A CONNECT was allowed and its first bytes are not judged yet. */
  pending: bool = false;
  /** The deciding rule says `tunnel: any`. */
  tunnelAny: bool = false;
  /** The CONNECT target is an IP literal: a hello WITHOUT server_name passes (clients send none
   *  for an address); one with a name does not (it could front another site on that address). */
  ipTarget: bool = false;
  /** The CONNECT host as judged (lower case, no trailing dot). */
  private readonly hostBuf: StaticArray<u8> = new StaticArray<u8>(256);
  readonly host: usize = changetype<usize>(this.hostBuf);
  hostLen: i32 = 0;

  /** The judged port, and the host as the tunnel's exit names it (tunnel-exit-prefix.ts). */
  port: i32 = 0;
  readonly exitHost: StrBuf = new StrBuf(260);

  /** Arms the check for an allowed CONNECT to the judged `target`, the rule saying `tunnelAny`. */
  arm(target: EgressTarget, tunnelAny: bool): void {
    const ipTarget = target.isIp;
    this.ipTarget = ipTarget;
    const nameLen = ipTarget ? 0 : target.nameLen;
    const n = nameLen < 256 ? nameLen : 256;
    memory.copy(this.host, target.name, <usize>n);
    this.hostLen = n;
    this.port = target.port;
    const exit = this.exitHost.clear();
    if (ipTarget) writeAddress(target.ip, exit);
    else exit.bytes(this.host, n);
    this.tunnelAny = tunnelAny;
    this.pending = true;
  }

  disarm(): void { this.pending = false; }
}

/**
 * Judges the first `len` tunnel bytes at `ptr` (`endOfStream`: no more will come) against the
 * armed check. Returns TUNNEL_PASS, TUNNEL_NEED_MORE, or a REASON_TUNNEL_* code. `inner` gets the
 * inner server name (for the record); `hello` keeps the raw name (hello.sniPtr/sniLen).
 */
export function judgeTunnel(check: TunnelCheck, hello: ClientHelloReader, inner: EgressTarget,
  ptr: usize, len: i32, endOfStream: bool): i32 {
  inner.parseServerName(0, 0, 1);
  const s = hello.read(ptr, len);
  if (s == HELLO_NEED_MORE) {
    if (!endOfStream) return TUNNEL_NEED_MORE;
    if (len == 0) return check.tunnelAny ? TUNNEL_PASS : REASON_TUNNEL_NOT_TLS;
    return REASON_TUNNEL_MALFORMED_CLIENT_HELLO;
  }
  if (s == HELLO_NOT_TLS) return check.tunnelAny ? TUNNEL_PASS : REASON_TUNNEL_NOT_TLS;
  if (s != HELLO_OK) return REASON_TUNNEL_MALFORMED_CLIENT_HELLO;
  if (hello.ech) return REASON_TUNNEL_ECH;
  if (hello.sni == SNI_NONE) return check.ipTarget ? TUNNEL_PASS : REASON_TUNNEL_NO_SNI;
  if (hello.sni != SNI_ONE) return REASON_TUNNEL_SNI_MISMATCH;
  if (!inner.parseServerName(hello.sniPtr, hello.sniLen, 1) || inner.reason != TARGET_OK || inner.isIp) return REASON_TUNNEL_SNI_MISMATCH;
  if (inner.nameLen != check.hostLen || memory.compare(inner.name, check.host, <usize>check.hostLen) != 0) return REASON_TUNNEL_SNI_MISMATCH;
  return TUNNEL_PASS;
}
