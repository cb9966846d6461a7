// The line meshgate_egress puts in front of an allowed CONNECT tunnel's bytes, and the parse
// meshgate_tunnel_exit applies to it on Envoy's internal listener (docs/egress-behaviour.md §9):
//
//   meshgate-tunnel <host> <port> <record>\n
//
// host: the judged CONNECT host (lower case, no trailing dot) or its IP address (IPv4 dotted,
// IPv6 in brackets); port: 1..65535 in decimal; record: the stream's `wasm.meshgate` filter state,
// printable ASCII. The exit filter strips exactly this line, so the external service receives the
// workload's bytes unchanged. Only Envoy reaches the internal listener (it has no socket address),
// and the HTTP filter writes the line before the first workload byte, so a workload cannot forge it.
//
// Pure: no host calls.
import { StrBuf } from "../util/strbuf";
import { isDigit } from "../util/bytes";
import { formatIp, isV4Mapped } from "../policy/host";

const MAGIC = "meshgate-tunnel ";
const MAGIC_LEN: i32 = 16;
/** The longest line accepted; a longer one (or no "\n" within it) closes the connection. Room
 *  for the longest record: a SPIFFE ID may have 2048 bytes, a server name 253. */
export const MAX_PREFIX: i32 = 4096;
/** parseTunnelPrefix: no complete line yet (wait for more bytes). */
export const PREFIX_NEED_MORE: i32 = 0;
/** parseTunnelPrefix: not a valid line (close the connection). */
export const PREFIX_MALFORMED: i32 = -1;

/** Writes the line for `host:port` with the stream's record into `out` (cleared first). */
export function writeTunnelPrefix(host: usize, hostLen: i32, port: i32, record: usize, recordLen: i32, out: StrBuf): void {
  out.clear().str(MAGIC).bytes(host, hostLen).byte(0x20).int(port).byte(0x20).bytes(record, recordLen).byte(0x0A);
}

/** Writes a 16-byte address the way the exit names it: IPv4 dotted, IPv6 in brackets. */
export function writeAddress(ip: usize, out: StrBuf): void {
  if (isV4Mapped(ip)) { formatIp(ip, out); return; }
  out.byte(0x5B);
  formatIp(ip, out);
  out.byte(0x5D);
}

/** What parseTunnelPrefix found: offsets into the parsed bytes. */
export class TunnelPrefix {
  hostAt: i32 = 0;
  hostLen: i32 = 0;
  port: i32 = 0;
  recordAt: i32 = 0;
  recordLen: i32 = 0;
}

function isHostByte(c: u32): bool {
  return isDigit(c) || c - 0x61 < 26 || c == 0x2E || c == 0x2D || c == 0x3A || c == 0x5B || c == 0x5D;
}

/**
 * Parses the line at the start of `len` bytes at `ptr`. Returns its length including "\n" (> 0),
 * PREFIX_NEED_MORE while no "\n" came within MAX_PREFIX bytes and `more` bytes may come, else
 * PREFIX_MALFORMED.
 */
export function parseTunnelPrefix(ptr: usize, len: i32, more: bool, out: TunnelPrefix): i32 {
  const n = len < MAX_PREFIX ? len : MAX_PREFIX;
  let end = -1;
  for (let i = 0; i < n; i++) if (load<u8>(ptr + <usize>i) == 0x0A) { end = i; break; }
  if (end < 0) return more && len < MAX_PREFIX ? PREFIX_NEED_MORE : PREFIX_MALFORMED;
  if (end < MAGIC_LEN) return PREFIX_MALFORMED;
  for (let i = 0; i < MAGIC_LEN; i++) if (<i32>load<u8>(ptr + <usize>i) != MAGIC.charCodeAt(i)) return PREFIX_MALFORMED;
  let i = MAGIC_LEN;
  const hostAt = i;
  while (i < end && isHostByte(<u32>load<u8>(ptr + <usize>i))) i++;
  const hostLen = i - hostAt;
  if (hostLen < 1 || hostLen > 255 || i >= end || load<u8>(ptr + <usize>i) != 0x20) return PREFIX_MALFORMED;
  i++;
  let port = 0;
  const portAt = i;
  while (i < end && i - portAt < 5) {
    const c = <u32>load<u8>(ptr + <usize>i);
    if (!isDigit(c)) break;
    port = port * 10 + <i32>(c - 0x30);
    i++;
  }
  if (i == portAt || port < 1 || port > 65535 || i >= end || load<u8>(ptr + <usize>i) != 0x20) return PREFIX_MALFORMED;
  i++;
  for (let k = i; k < end; k++) {
    const c = <u32>load<u8>(ptr + <usize>k);
    if (c < 0x20 || c > 0x7E) return PREFIX_MALFORMED;
  }
  out.hostAt = hostAt;
  out.hostLen = hostLen;
  out.port = port;
  out.recordAt = i;
  out.recordLen = end - i;
  return end + 1;
}
