/**
 * TLS ClientHello bytes as a test describes them: a chosen SNI (or none, or several), an ECH
 * extension, ALPN, padding, split over several records. What a workload's first flight looks like
 * to a proxy that judges it by SNI (RFC 8446 §4.1.2, RFC 6066 §3, draft-ietf-tls-esni §5): the
 * scenario targets send these raw, before any handshake, to see what the filter does with them.
 *
 * Only the fields a proxy reads are meaningful; the rest (random, key share) are fixed bytes, so a
 * server that receives such a hello cannot complete a handshake — tests that need a handshake use
 * a real TLS client with `servername`.
 */

/** TLS extension code points the tests use. */
export const EXTENSION = {
  serverName: 0x0000,
  alpn: 0x0010,
  supportedGroups: 0x000a,
  signatureAlgorithms: 0x000d,
  supportedVersions: 0x002b,
  keyShare: 0x0033,
  padding: 0x0015,
  /** encrypted_client_hello (draft-ietf-tls-esni-18 and later, the code point browsers send). */
  ech: 0xfe0d,
} as const;

export interface ClientHelloSpec {
  /** The server_name extension's host names; `null` or `[]` = no server_name extension. A string
   *  is one name. Names are written as given (case, trailing dots, empty labels included). */
  sni?: string | string[] | null;
  /** Add an encrypted_client_hello extension (outer hello: `sni` is then the public name). */
  ech?: boolean;
  alpn?: string[];
  /** Extra extensions, written after the others in this order. */
  extensions?: Array<{ type: number; data: Buffer }>;
  /** Pad the handshake message with a padding extension to at least this many bytes. */
  padTo?: number;
  /** Largest record fragment (default and TLS maximum: 16384): a larger hello spans records. */
  maxFragment?: number;
  /** The record layer's version field (default 0x0301, what clients send in a first flight). */
  recordVersion?: number;
}

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}

function u24(n: number): Buffer {
  return Buffer.from([(n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff]);
}

function withLen16(body: Buffer): Buffer {
  return Buffer.concat([u16(body.length), body]);
}

function extension(type: number, data: Buffer): Buffer {
  return Buffer.concat([u16(type), withLen16(data)]);
}

/** The server_name extension body: a list of host_name entries (name_type 0). */
export function serverNameExtension(names: string[]): Buffer {
  const entries = names.map((n) => {
    const host = Buffer.from(n, 'latin1');
    return Buffer.concat([Buffer.from([0]), withLen16(host)]);
  });
  return withLen16(Buffer.concat(entries));
}

function alpnExtension(protocols: string[]): Buffer {
  return withLen16(Buffer.concat(protocols.map((p) => {
    const b = Buffer.from(p, 'latin1');
    return Buffer.concat([Buffer.from([b.length]), b]);
  })));
}

/** An outer ECH extension: type outer (0), a cipher suite, config id, an encapsulated key and a payload. */
function echExtension(): Buffer {
  return Buffer.concat([
    Buffer.from([0]), // ECHClientHelloType outer
    u16(0x0001), u16(0x0001), // HKDF-SHA256, AES-128-GCM
    Buffer.from([0x2a]), // config_id
    withLen16(Buffer.alloc(32, 0x11)), // enc
    withLen16(Buffer.alloc(128, 0x22)), // payload
  ]);
}

/** The ClientHello handshake message (type 1, 24-bit length, body), without the record layer. */
export function clientHelloMessage(spec: ClientHelloSpec = {}): Buffer {
  const names = spec.sni === undefined || spec.sni === null ? [] : typeof spec.sni === 'string' ? [spec.sni] : spec.sni;
  const exts: Buffer[] = [];
  if (names.length > 0) exts.push(extension(EXTENSION.serverName, serverNameExtension(names)));
  exts.push(extension(EXTENSION.supportedGroups, withLen16(u16(0x001d))));
  exts.push(extension(EXTENSION.signatureAlgorithms, withLen16(Buffer.concat([u16(0x0804), u16(0x0403)]))));
  exts.push(extension(EXTENSION.supportedVersions, Buffer.from([4, 0x03, 0x04, 0x03, 0x03])));
  exts.push(extension(EXTENSION.keyShare, withLen16(Buffer.concat([u16(0x001d), withLen16(Buffer.alloc(32, 0x33))]))));
  if (spec.alpn && spec.alpn.length > 0) exts.push(extension(EXTENSION.alpn, alpnExtension(spec.alpn)));
  if (spec.ech) exts.push(extension(EXTENSION.ech, echExtension()));
  for (const e of spec.extensions ?? []) exts.push(extension(e.type, e.data));
  const head = Buffer.concat([
    u16(0x0303), // legacy_version
    Buffer.alloc(32, 0x44), // random
    Buffer.from([32]), Buffer.alloc(32, 0x55), // legacy_session_id
    withLen16(Buffer.concat([u16(0x1301), u16(0x1302), u16(0x1303)])), // cipher_suites
    Buffer.from([1, 0]), // compression: null
  ]);
  let extBytes = Buffer.concat(exts);
  const size = () => 4 + head.length + 2 + extBytes.length;
  if (spec.padTo !== undefined && size() < spec.padTo) {
    const pad = Math.max(0, spec.padTo - size() - 4);
    extBytes = Buffer.concat([extBytes, extension(EXTENSION.padding, Buffer.alloc(pad))]);
  }
  const body = Buffer.concat([head, withLen16(extBytes)]);
  return Buffer.concat([Buffer.from([1]), u24(body.length), body]);
}

/** Wraps handshake bytes in TLS records (content type 22) of at most `maxFragment` bytes each. */
export function handshakeRecords(message: Buffer, maxFragment = 16384, recordVersion = 0x0301): Buffer {
  const out: Buffer[] = [];
  for (let at = 0; at < message.length || at === 0; at += maxFragment) {
    const frag = message.subarray(at, Math.min(message.length, at + maxFragment));
    out.push(Buffer.concat([Buffer.from([22]), u16(recordVersion), u16(frag.length), frag]));
    if (message.length === 0) break;
  }
  return Buffer.concat(out);
}

/** A complete first flight: the ClientHello of `spec` in one or more TLS records. */
export function clientHello(spec: ClientHelloSpec = {}): Buffer {
  return handshakeRecords(clientHelloMessage(spec), spec.maxFragment ?? 16384, spec.recordVersion ?? 0x0301);
}
