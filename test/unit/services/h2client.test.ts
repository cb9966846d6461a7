/**
 * The h2 client: its HPACK literals and framing byte for byte, and whole exchanges with node:http2
 * servers over TLS — the header list arrives as written, a server that resets the stream or closes
 * the connection is told apart from one that never spoke h2, and ALPN must select h2.
 */
import * as http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { createServer as tlsServer, type Server as TlsServer, type TLSSocket } from 'node:tls';
import { encodeHeaderBlock, h2Request, H2ResetError, headerFrames } from '../../../harness/services/h2client';
import { TestCa } from '../../../harness/pki/ca';

describe('HPACK literals and frames', () => {
  it('encodes each field as a literal without indexing, new name, no Huffman (RFC 7541 6.2.2)', () => {
    expect(encodeHeaderBlock([[':path', '/a'], ['X-A', '']]).toString('hex')).toBe(
      ['00', '05', Buffer.from(':path').toString('hex'), '02', Buffer.from('/a').toString('hex'), '00', '03', Buffer.from('X-A').toString('hex'), '00'].join(''),
    );
  });

  it('encodes lengths of 127 and more with continuation bytes (RFC 7541 5.1)', () => {
    expect(encodeHeaderBlock([['x', 'v'.repeat(127)]]).subarray(3, 5).toString('hex')).toBe('7f00');
    expect(encodeHeaderBlock([['x', 'v'.repeat(1337)]]).subarray(3, 6).toString('hex')).toBe('7fba09');
  });

  it('writes latin1 bytes as they are', () => {
    expect([...encodeHeaderBlock([['x', '\xe9\0']]).subarray(3)]).toEqual([2, 0xe9, 0]);
  });

  it('splits a large block into HEADERS and CONTINUATION frames, END_HEADERS on the last', () => {
    const frames = headerFrames(1, Buffer.alloc(16384 * 2 + 1));
    const heads = [0, 9 + 16384, 2 * (9 + 16384)].map((o) => ({ length: frames.readUIntBE(o, 3), type: frames[o + 3], flags: frames[o + 4], stream: frames.readUInt32BE(o + 5) }));
    expect(heads).toEqual([
      { length: 16384, type: 1, flags: 1, stream: 1 },
      { length: 16384, type: 9, flags: 0, stream: 1 },
      { length: 1, type: 9, flags: 4, stream: 1 },
    ]);
    expect(frames.length).toBe(3 * 9 + 16384 * 2 + 1);
  });

  it('sends an empty block as one HEADERS frame with END_STREAM and END_HEADERS', () => {
    expect(headerFrames(3, Buffer.alloc(0)).toString('hex')).toBe('000000010500000003');
  });
});

describe('h2Request against node:http2 servers', () => {
  let ca: TestCa;
  let server: { key: string; cert: string };
  const stops: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    ca = await TestCa.create({ trustDomain: 'example.org' });
    const minted = await ca.mintServer(['localhost', '127.0.0.1']);
    server = { key: minted.keyPem, cert: minted.chainPem };
  });

  afterEach(async () => {
    for (const stop of stops.splice(0)) await stop();
  });

  async function listen(s: TlsServer): Promise<number> {
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    stops.push(() => new Promise<void>((r) => s.close(() => r())));
    return (s.address() as AddressInfo).port;
  }

  /** An h2 server that answers 200 with the header list it received, names and values in order. */
  async function echo(): Promise<number> {
    const s = http2.createSecureServer({ ...server, allowHTTP1: false });
    s.on('stream', (stream: http2.ServerHttp2Stream, _headers: http2.IncomingHttpHeaders, _flags: number, raw: string[]) => {
      stream.respond({ ':status': 200, 'content-type': 'application/json' });
      stream.end(JSON.stringify(raw));
    });
    s.on('session', (session) => stops.push(async () => void session.destroy()));
    return listen(s);
  }

  it('delivers the header list as written, in order', async () => {
    const port = await echo();
    const headers: [string, string][] = [[':method', 'GET'], [':scheme', 'https'], [':authority', 'billing'], [':path', '/a?b'], ['x-b', '2'], ['x-a', '1']];
    const res = await h2Request({ port, tls: { ca: ca.certPem }, headers });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toEqual(headers.flat());
  });

  it('delivers a header list larger than one frame', async () => {
    const port = await echo();
    const long = 'v'.repeat(40_000);
    const res = await h2Request({ port, tls: { ca: ca.certPem }, headers: [[':method', 'GET'], [':scheme', 'https'], [':authority', 'b'], [':path', '/'], ['x-long', long]] });
    expect(JSON.parse(res.body)).toContain(long);
  });

  it('answers a HEAD request without waiting for a body', async () => {
    const s = http2.createSecureServer(server);
    s.on('stream', (stream) => stream.respond({ ':status': 200, 'content-length': '16' }, { endStream: true }));
    const port = await listen(s);
    const res = await h2Request({ port, tls: { ca: ca.certPem }, headers: [[':method', 'HEAD'], [':scheme', 'https'], [':authority', 'b'], [':path', '/']] });
    expect(res.status).toBe(200);
  });

  it('reports the RST_STREAM of a server that refuses a malformed list (upper-case name)', async () => {
    const port = await echo();
    const err = await h2Request({ port, tls: { ca: ca.certPem }, headers: [[':method', 'GET'], [':scheme', 'https'], [':authority', 'b'], [':path', '/'], ['X-Upper', '1']] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(H2ResetError);
    expect(err).toMatchObject({ frame: 'RST_STREAM', errorCode: 1, message: 'RST_STREAM PROTOCOL_ERROR before any response' });
  });

  it('reports a server that spoke h2 and then closed the connection', async () => {
    // Like Envoy's codec with a malformed request: the connection closes, no RST_STREAM, no GOAWAY.
    const s = http2.createSecureServer(server);
    const sockets: TLSSocket[] = [];
    s.on('secureConnection', (socket: TLSSocket) => sockets.push(socket));
    s.on('stream', () => sockets.forEach((socket) => socket.destroy()));
    const port = await listen(s);
    const err = await h2Request({ port, tls: { ca: ca.certPem }, headers: [[':method', 'GET'], [':scheme', 'https'], [':authority', 'b'], [':path', '/']] }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'H2_RESET', frame: 'close' });
  });

  it('reports a server that never spoke h2 (a refused client certificate) as a connection failure', async () => {
    const port = await listen(tlsServer({ ...server, ALPNProtocols: ['h2'] }, (socket) => socket.destroy()));
    const err = await h2Request({ port, tls: { ca: ca.certPem }, headers: [[':method', 'GET'], [':scheme', 'https'], [':authority', 'b'], [':path', '/']] }).catch((e: unknown) => e);
    expect(err).not.toBeInstanceOf(H2ResetError);
    expect(err).toMatchObject({ code: 'ECONNRESET' });
  });

  it('refuses a server that does not negotiate h2 by ALPN', async () => {
    // A TLS server without ALPN (an https server offering only http/1.1 ends the handshake itself).
    const port = await listen(tlsServer(server, (socket) => socket.end()));
    await expect(h2Request({ port, tls: { ca: ca.certPem }, headers: [[':method', 'GET']] })).rejects.toMatchObject({ code: 'ALPN_NOT_H2' });
  });
});
