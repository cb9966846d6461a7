/**
 * A model of Envoy 1.40's TLS inspector listener filter (source/extensions/filters/listener/
 * tls_inspector/tls_inspector.cc), which runs before any network filter on the SNI sidecar's
 * listener (envoy/egress-sni-sidecar.yaml) and fills `connection.requested_server_name`. It
 * peeks at the first bytes, feeds them to BoringSSL as a server, and stops at the servername
 * callback:
 * - a complete ClientHello: the server_name BoringSSL accepted, as sent (case and dots kept), or
 *   '' when there is none (`sni_not_found`); an ECH extension is ignored (no ECH keys), so the
 *   name is the outer, public one;
 * - a hello BoringSSL refuses (an empty or NUL-carrying host_name, two names in the list, a name
 *   type other than host_name, a malformed message) and bytes that are not TLS at all: "TLS not
 *   found", the connection goes on with '' (`close_connection_on_client_hello_parsing_errors`
 *   is false by default), so the network filter sees those bytes;
 * - a hello not complete after `max_client_hello_size` bytes (default 16 KiB, the record-layer
 *   maximum in BoringSSL): `client_hello_too_large`, the socket is closed before any network
 *   filter exists — no filter callback, no record;
 * - fewer bytes than a record header, or an incomplete hello under the limit: the inspector waits
 *   (a real client's first flight is one write; scenarios do not pin waits).
 * A hello split over several records or reads is reassembled (BoringSSL reads records until the
 * message is complete); the filter then receives every byte peeked so far in its first read.
 * Pinned against Envoy 1.40 by test/e2e/front-model.test.ts where the reference config exists.
 */
export const MAX_CLIENT_HELLO = 16 * 1024;

export type InspectorResult =
  | { verdict: 'tls'; sni: string }
  | { verdict: 'not-tls'; why: string }
  | { verdict: 'too-large' }
  | { verdict: 'waiting' };

const HANDSHAKE = 22;
const CLIENT_HELLO = 1;
const SERVER_NAME = 0x0000;
const MAX_HOST_NAME = 255;

/** What the inspector makes of the first bytes of a connection. */
export function inspectTls(bytes: Uint8Array, maxClientHello = MAX_CLIENT_HELLO): InspectorResult {
  // The inspector never peeks at more than max_client_hello_size bytes.
  const window = bytes.subarray(0, maxClientHello);
  const message = reassemble(window);
  if (message === 'partial') return window.length >= maxClientHello ? { verdict: 'too-large' } : { verdict: 'waiting' };
  if (typeof message === 'object' && 'why' in message) return { verdict: 'not-tls', why: message.why };
  const sni = serverName(message);
  return typeof sni === 'string' ? { verdict: 'tls', sni } : { verdict: 'not-tls', why: sni.why };
}

/** The ClientHello handshake message from the records, 'partial' when more bytes are needed. */
function reassemble(bytes: Uint8Array): Buffer | 'partial' | { why: string } {
  const parts: Buffer[] = [];
  let have = 0;
  let need: number | undefined;
  for (let off = 0; ; ) {
    if (need !== undefined && have >= need) return Buffer.concat(parts).subarray(0, need);
    if (off + 5 > bytes.length) return 'partial';
    const type = bytes[off];
    const major = bytes[off + 1];
    const length = (bytes[off + 3] << 8) | bytes[off + 4];
    if (type !== HANDSHAKE || major !== 3) return { why: 'not a TLS handshake record' };
    if (length === 0 || length > 16384 + 2048) return { why: 'bad record length' };
    if (off + 5 + length > bytes.length) return 'partial';
    parts.push(Buffer.from(bytes.subarray(off + 5, off + 5 + length)));
    have += length;
    off += 5 + length;
    if (need === undefined && have >= 4) {
      const head = Buffer.concat(parts);
      if (head[0] !== CLIENT_HELLO) return { why: 'first handshake message is not a ClientHello' };
      need = 4 + ((head[1] << 16) | (head[2] << 8) | head[3]);
    }
  }
}

/** BoringSSL's reading of the server_name extension: the name, '' when absent, or why it refused the hello. */
function serverName(message: Buffer): string | { why: string } {
  const bad = (why: string) => ({ why });
  let off = 4 + 2 + 32; // type + length, legacy_version, random
  const take = (n: number): Buffer | undefined => {
    if (off + n > message.length) return undefined;
    const b = message.subarray(off, off + n);
    off += n;
    return b;
  };
  const u8 = () => take(1)?.[0];
  const u16 = () => {
    const b = take(2);
    return b === undefined ? undefined : b.readUInt16BE(0);
  };
  const session = u8();
  if (session === undefined || session > 32 || !take(session)) return bad('truncated ClientHello');
  const suites = u16();
  if (suites === undefined || suites === 0 || suites % 2 !== 0 || !take(suites)) return bad('bad cipher_suites');
  const compression = u8();
  if (compression === undefined || compression === 0 || !take(compression)) return bad('bad compression_methods');
  if (off === message.length) return '';
  const extLength = u16();
  if (extLength === undefined || off + extLength !== message.length) return bad('bad extensions length');
  const seen = new Set<number>();
  let sni = '';
  while (off < message.length) {
    const type = u16();
    const len = u16();
    const body = len === undefined ? undefined : take(len);
    if (type === undefined || body === undefined) return bad('truncated extension');
    if (seen.has(type)) return bad('duplicate extension');
    seen.add(type);
    if (type !== SERVER_NAME) continue;
    // Exactly one entry: name_type host_name, a non-empty name without NUL, at most 255 bytes.
    if (body.length < 2 || body.readUInt16BE(0) !== body.length - 2) return bad('bad server_name list');
    if (body.length < 5 || body[2] !== 0) return bad('server_name type is not host_name');
    const nameLength = body.readUInt16BE(3);
    if (5 + nameLength !== body.length) return bad('server_name list has more than one entry');
    const name = body.subarray(5);
    if (name.length === 0 || name.length > MAX_HOST_NAME || name.includes(0)) return bad('bad host_name');
    sni = name.toString('latin1');
  }
  return sni;
}
