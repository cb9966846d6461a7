/**
 * The few protobuf messages of Envoy's Secret Discovery Service, encoded and decoded by hand
 * (protobuf wire format: a tag `field << 3 | wire type`, then a varint or a length-prefixed
 * body), so the harness's SDS server needs no gRPC or protobuf dependency. Field numbers are
 * those of envoy/service/discovery/v3/discovery.proto, envoy/extensions/transport_sockets/tls/v3
 * /secret.proto + common.proto, envoy/config/core/v3/base.proto and google/protobuf/any.proto.
 */

export const SECRET_TYPE_URL = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret';

/** A secret as SDS serves it: this proxy's certificate and key, or a trust bundle. */
export type SdsSecret =
  | { name: string; tlsCertificate: { certificateChain: string; privateKey: string } }
  | { name: string; validationContext: { trustedCa: string } };

/** What Envoy sends on the stream: a subscription, and with `responseNonce` an ACK or a NACK. */
export interface DiscoveryRequest {
  versionInfo: string;
  resourceNames: string[];
  typeUrl: string;
  responseNonce: string;
  /** Set on a NACK: Envoy's reason for rejecting the response with `responseNonce`. */
  errorDetail?: string;
}

export interface DiscoveryResponse {
  versionInfo: string;
  secrets: SdsSecret[];
  nonce: string;
}

const VARINT = 0;
const FIXED64 = 1;
const LENGTH_DELIMITED = 2;
const FIXED32 = 5;

function varint(n: number): Buffer {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return Buffer.from(out);
}

/** One length-delimited field (a string, bytes or an embedded message). */
function field(number: number, body: Buffer | string): Buffer {
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  return Buffer.concat([varint((number << 3) | LENGTH_DELIMITED), varint(bytes.length), bytes]);
}

/** config.core.v3.DataSource{inline_string = 3}. */
function inlineString(text: string): Buffer {
  return field(3, text);
}

/** tls.v3.Secret{name = 1, tls_certificate = 2 {certificate_chain = 1, private_key = 2}, validation_context = 4 {trusted_ca = 1}}. */
export function encodeSecret(s: SdsSecret): Buffer {
  const body =
    'tlsCertificate' in s
      ? field(2, Buffer.concat([field(1, inlineString(s.tlsCertificate.certificateChain)), field(2, inlineString(s.tlsCertificate.privateKey))]))
      : field(4, field(1, inlineString(s.validationContext.trustedCa)));
  return Buffer.concat([field(1, s.name), body]);
}

/** discovery.v3.DiscoveryResponse{version_info = 1, resources = 2 (Any{type_url = 1, value = 2}), type_url = 4, nonce = 5}. */
export function encodeDiscoveryResponse(r: DiscoveryResponse): Buffer {
  return Buffer.concat([
    field(1, r.versionInfo),
    ...r.secrets.map((s) => field(2, Buffer.concat([field(1, SECRET_TYPE_URL), field(2, encodeSecret(s))]))),
    field(4, SECRET_TYPE_URL),
    field(5, r.nonce),
  ]);
}

/** Every field of a message as (number, wire type, value): a number for varints, bytes otherwise. */
function* fields(buf: Buffer): Generator<[number, number, Buffer | number]> {
  let at = 0;
  const readVarint = (): number => {
    let n = 0;
    let scale = 1;
    for (;;) {
      if (at >= buf.length) throw new Error('protobuf: varint runs past the end of the message');
      const b = buf[at++];
      n += (b & 0x7f) * scale;
      if (b < 0x80) return n;
      scale *= 128;
    }
  };
  while (at < buf.length) {
    const tag = readVarint();
    const type = tag & 7;
    const number = Math.floor(tag / 8);
    if (type === VARINT) yield [number, type, readVarint()];
    else if (type === LENGTH_DELIMITED) {
      const len = readVarint();
      if (at + len > buf.length) throw new Error(`protobuf: field ${number} runs past the end of the message`);
      yield [number, type, buf.subarray(at, at + len)];
      at += len;
    } else if (type === FIXED64 || type === FIXED32) {
      const len = type === FIXED64 ? 8 : 4;
      yield [number, type, buf.subarray(at, at + len)];
      at += len;
    } else throw new Error(`protobuf: field ${number} has wire type ${type}, which proto3 does not use`);
  }
}

/** discovery.v3.DiscoveryRequest{version_info = 1, resource_names = 3, type_url = 4, response_nonce = 5, error_detail = 6 (google.rpc.Status{message = 2})}. */
export function decodeDiscoveryRequest(buf: Buffer): DiscoveryRequest {
  const r: DiscoveryRequest = { versionInfo: '', resourceNames: [], typeUrl: '', responseNonce: '' };
  for (const [number, type, value] of fields(buf)) {
    if (type !== LENGTH_DELIMITED) continue;
    const bytes = value as Buffer;
    if (number === 1) r.versionInfo = bytes.toString('utf8');
    else if (number === 3) r.resourceNames.push(bytes.toString('utf8'));
    else if (number === 4) r.typeUrl = bytes.toString('utf8');
    else if (number === 5) r.responseNonce = bytes.toString('utf8');
    else if (number === 6) {
      r.errorDetail = '';
      for (const [n, t, v] of fields(bytes)) if (n === 2 && t === LENGTH_DELIMITED) r.errorDetail = (v as Buffer).toString('utf8');
    }
  }
  return r;
}

/** gRPC's length-prefixed message framing: 1 byte "compressed" (0), 4 bytes big-endian length, the message. */
export function grpcFrame(message: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(message.length, 1);
  return Buffer.concat([head, message]);
}

/** Splits gRPC frames off the front of `pending`; returns the messages and what is left over. */
export function grpcUnframe(pending: Buffer): { messages: Buffer[]; rest: Buffer } {
  const messages: Buffer[] = [];
  let at = 0;
  while (pending.length - at >= 5) {
    if (pending[at] !== 0) throw new Error('gRPC: compressed messages are not supported (no grpc-encoding was offered)');
    const len = pending.readUInt32BE(at + 1);
    if (pending.length - at - 5 < len) break;
    messages.push(pending.subarray(at + 5, at + 5 + len));
    at += 5 + len;
  }
  return { messages, rest: pending.subarray(at) };
}
