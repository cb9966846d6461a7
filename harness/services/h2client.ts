/**
 * An HTTP/2 test client over TLS with ALPN `h2`: one request per fresh connection (its own
 * handshake, its own client certificate), its header list sent exactly as given — names in any
 * case, pseudo-headers missing, repeated or out of order — so requests no well-behaved client
 * would send can be written (RFC 9113 §8.2, §8.3).
 *
 * node:http2 runs the connection (preface, SETTINGS, flow control, decoding the response), but it
 * lower-cases names and refuses malformed pseudo-headers. So it sends a placeholder request and
 * the HEADERS frame of that request is replaced on its way to the socket by a header block encoded
 * here (HPACK literals without indexing, RFC 7541 §6.2.2): the block leaves no state in the peer's
 * dynamic table, and the connection carries no other request.
 */
import * as http2 from 'node:http2';
import { Duplex } from 'node:stream';
import * as tls from 'node:tls';
import { tlsOptions, type ClientTls } from './client';

export type HeaderList = [string, string][];

export interface H2RequestOptions {
  port: number;
  host?: string;
  tls: ClientTls;
  /** Sent in this order, names and values byte for byte (latin1). */
  headers: HeaderList;
  /** Whole-exchange timeout; default 5000 ms. */
  timeoutMs?: number;
}

export interface H2Response {
  status: number;
  headers: http2.IncomingHttpHeaders;
  body: string;
}

/** The server ended the exchange without a response: RST_STREAM or GOAWAY with this error code. */
export class H2ResetError extends Error {
  readonly code = 'H2_RESET';
  /** `close`: the server closed the connection without a frame saying why (Envoy's codec does
   *  that with a malformed request); `errorCode` is then 0. */
  constructor(
    readonly frame: 'RST_STREAM' | 'GOAWAY' | 'close',
    readonly errorCode: number,
  ) {
    super(`${frame === 'close' ? 'connection closed' : `${frame} ${H2_ERROR_NAMES[errorCode] ?? errorCode}`} before any response`);
    this.name = 'H2ResetError';
  }
}

/** RFC 9113 §7 error codes. */
export const H2_ERROR_NAMES: Record<number, string> = {
  0: 'NO_ERROR', 1: 'PROTOCOL_ERROR', 2: 'INTERNAL_ERROR', 3: 'FLOW_CONTROL_ERROR', 4: 'SETTINGS_TIMEOUT',
  5: 'STREAM_CLOSED', 6: 'FRAME_SIZE_ERROR', 7: 'REFUSED_STREAM', 8: 'CANCEL', 9: 'COMPRESSION_ERROR',
  10: 'CONNECT_ERROR', 11: 'ENHANCE_YOUR_CALM', 12: 'INADEQUATE_SECURITY', 13: 'HTTP_1_1_REQUIRED',
};

/**
 * Sends one request and resolves with the response. Rejects with H2ResetError when the server
 * resets the stream or closes the connection instead of answering; with an `ALPN_NOT_H2` error
 * when the server does not negotiate h2; on handshake failure and on timeout like `request()`.
 */
export async function h2Request(o: H2RequestOptions): Promise<H2Response> {
  const timeoutMs = o.timeoutMs ?? 5000;
  const socket = await connectH2(o, timeoutMs);
  return new Promise((resolve, reject) => {
    const wire = new HeaderBlockRewriter(socket, encodeHeaderBlock(o.headers));
    const session = http2.connect('http://placeholder', { createConnection: () => wire });
    let settled = false;
    const finish = (err: Error | undefined, res?: H2Response) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      session.destroy();
      socket.destroy();
      if (err) reject(err);
      else resolve(res!);
    };
    const timer = setTimeout(() => finish(Object.assign(new Error(`request timed out after ${timeoutMs} ms`), { code: 'CLIENT_TIMEOUT' })), timeoutMs);
    // Without a response: the server's RST_STREAM or GOAWAY says why; if the server spoke h2 but
    // sent neither, it closed the connection; if it never spoke, the connection failed (e.g. a
    // TLS 1.3 alert refusing the client certificate after the client's side of the handshake).
    const noResponse = () =>
      wire.reset ??
      (wire.serverSpoke ? new H2ResetError('close', 0) : (wire.socketError ?? Object.assign(new Error('connection closed before any response'), { code: 'ECONNRESET' })));
    session.on('error', () => finish(noResponse()));
    // The placeholder carries HEAD when the request does: a HEAD response has no body whatever
    // its content-length says, and node's codec checks that against the method it sent.
    const head = o.headers.some(([k, v]) => k === ':method' && v === 'HEAD');
    const stream = session.request({ ':method': head ? 'HEAD' : 'GET', ':path': '/' }, { endStream: true });
    const chunks: Buffer[] = [];
    let response: http2.IncomingHttpHeaders | undefined;
    stream.on('response', (h) => (response = h));
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('error', () => undefined); // the 'close' below says what happened
    stream.on('close', () => {
      if (response !== undefined) {
        finish(undefined, { status: Number(response[':status']), headers: response, body: Buffer.concat(chunks).toString('utf8') });
      } else {
        finish(noResponse());
      }
    });
  });
}

function connectH2(o: H2RequestOptions, timeoutMs: number): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: o.host ?? '127.0.0.1', port: o.port, ...tlsOptions(o.tls), ALPNProtocols: ['h2'] });
    const timer = setTimeout(() => socket.destroy(Object.assign(new Error(`handshake timed out after ${timeoutMs} ms`), { code: 'CLIENT_TIMEOUT' })), timeoutMs);
    socket.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      if (socket.alpnProtocol === 'h2') return resolve(socket);
      socket.destroy();
      reject(Object.assign(new Error(`the server did not negotiate h2 by ALPN (got ${socket.alpnProtocol || 'none'})`), { code: 'ALPN_NOT_H2' }));
    });
  });
}

// ---- HPACK (RFC 7541) and framing (RFC 9113 §4, §6) -----------------------------------------

/** RFC 7541 §5.1: an integer with an N-bit prefix, the first byte's high bits set to `flags`. */
function encodeInteger(value: number, prefixBits: number, flags: number): number[] {
  const max = (1 << prefixBits) - 1;
  if (value < max) return [flags | value];
  const out = [flags | max];
  let rest = value - max;
  while (rest >= 128) {
    out.push((rest % 128) + 128);
    rest = Math.floor(rest / 128);
  }
  out.push(rest);
  return out;
}

/** RFC 7541 §5.2: a string literal, not Huffman-coded. */
function encodeString(s: string): Buffer {
  const bytes = Buffer.from(s, 'latin1');
  return Buffer.concat([Buffer.from(encodeInteger(bytes.length, 7, 0)), bytes]);
}

/** Every field as a literal without indexing, new name (RFC 7541 §6.2.2): no dynamic-table state. */
export function encodeHeaderBlock(headers: HeaderList): Buffer {
  return Buffer.concat(headers.flatMap(([name, value]) => [Buffer.from([0]), encodeString(name), encodeString(value)]));
}

const FRAME_HEADERS = 0x1;
const FRAME_RST_STREAM = 0x3;
const FRAME_GOAWAY = 0x7;
const FRAME_CONTINUATION = 0x9;
const FLAG_END_STREAM = 0x1;
const FLAG_END_HEADERS = 0x4;
/** SETTINGS_MAX_FRAME_SIZE's initial value: the largest frame a peer must accept. */
const MAX_FRAME = 16384;
const PREFACE_LENGTH = 24;

function frame(type: number, flags: number, streamId: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(streamId, 5);
  return Buffer.concat([head, payload]);
}

/** A header block as HEADERS (END_STREAM) plus CONTINUATION frames, the last with END_HEADERS. */
export function headerFrames(streamId: number, block: Buffer): Buffer {
  const parts: Buffer[] = [];
  for (let i = 0; i === 0 || i < block.length; i += MAX_FRAME) parts.push(block.subarray(i, i + MAX_FRAME));
  return Buffer.concat(
    parts.map((p, i) => {
      const last = i === parts.length - 1 ? FLAG_END_HEADERS : 0;
      return i === 0 ? frame(FRAME_HEADERS, FLAG_END_STREAM | last, streamId, p) : frame(FRAME_CONTINUATION, last, streamId, p);
    }),
  );
}

/**
 * The byte stream between node:http2 and the TLS socket. Outbound, it passes the preface and
 * every frame through, except the first HEADERS frame, whose block it replaces by `block`.
 * The request is held back until the server's first frame has arrived, so that a server that
 * never spoke h2 (a refused handshake) is told apart from one that closed the connection because
 * of the request. Inbound, it notes the server's first RST_STREAM or GOAWAY (node reports a
 * stream it closed itself as CANCEL, which the server never sent).
 */
class HeaderBlockRewriter extends Duplex {
  /** The server's first RST_STREAM or GOAWAY. */
  reset: H2ResetError | undefined;
  /** The socket's error, if it failed. */
  socketError: Error | undefined;
  /** A whole frame from the server has arrived. */
  serverSpoke = false;
  /** The request and what followed it, until the server speaks. */
  private held: Buffer[] | undefined;
  private inbound = Buffer.alloc(0);
  private pending = Buffer.alloc(0);
  private replaced = false;
  private prefaceLeft = PREFACE_LENGTH;

  constructor(
    private readonly socket: tls.TLSSocket,
    private readonly block: Buffer,
  ) {
    super();
    socket.on('data', (d: Buffer) => {
      this.noteFrames(d);
      if (!this.push(d)) socket.pause();
    });
    socket.on('end', () => this.push(null));
    socket.on('error', (e) => {
      this.socketError = e;
      this.destroy(e);
    });
    socket.on('close', () => this.destroy());
  }

  private noteFrames(data: Buffer): void {
    if (this.reset) return;
    this.inbound = Buffer.concat([this.inbound, data]);
    while (this.inbound.length >= 9) {
      const end = 9 + this.inbound.readUIntBE(0, 3);
      if (this.inbound.length < end) return;
      if (!this.serverSpoke) {
        this.serverSpoke = true;
        if (this.held) this.socket.write(Buffer.concat(this.held));
        this.held = undefined;
      }
      const type = this.inbound[3];
      if (type === FRAME_RST_STREAM) this.reset = new H2ResetError('RST_STREAM', this.inbound.readUInt32BE(9));
      if (type === FRAME_GOAWAY) this.reset = new H2ResetError('GOAWAY', this.inbound.readUInt32BE(13));
      if (this.reset) return;
      this.inbound = this.inbound.subarray(end);
    }
  }

  _read(): void {
    this.socket.resume();
  }

  _write(chunk: Buffer, _encoding: BufferEncoding, done: (e?: Error | null) => void): void {
    if (this.held) {
      this.held.push(chunk);
      done();
      return;
    }
    if (this.replaced) {
      this.socket.write(chunk, done);
      return;
    }
    this.pending = Buffer.concat([this.pending, chunk]);
    const out: Buffer[] = [];
    // The client connection preface comes first, then frames.
    let offset = Math.min(this.prefaceLeft, this.pending.length);
    out.push(this.pending.subarray(0, offset));
    this.prefaceLeft -= offset;
    while (this.prefaceLeft === 0 && !this.replaced && this.pending.length - offset >= 9) {
      const length = this.pending.readUIntBE(offset, 3);
      const end = offset + 9 + length;
      if (this.pending.length < end) break;
      const type = this.pending[offset + 3];
      if (type === FRAME_HEADERS) {
        this.replaced = true;
        const request = headerFrames(this.pending.readUInt32BE(offset + 5) & 0x7fffffff, this.block);
        if (this.serverSpoke) out.push(request);
        else this.held = [request];
      } else {
        out.push(this.pending.subarray(offset, end));
      }
      offset = end;
    }
    if (this.replaced) (this.held ?? out).push(this.pending.subarray(offset));
    this.pending = this.replaced ? Buffer.alloc(0) : this.pending.subarray(offset);
    this.socket.write(Buffer.concat(out), done);
  }

  _final(done: () => void): void {
    this.socket.end();
    done();
  }

  _destroy(err: Error | null, done: (e: Error | null) => void): void {
    this.socket.destroy();
    done(err);
  }
}
