/**
 * Test clients for Envoy listeners: one composed HTTP/1.1 request per fresh connection (so each
 * request makes its own TLS handshake with its own client certificate), or raw bytes written
 * as-is for requests no well-behaved client would send.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import * as tls from 'node:tls';

export interface ClientTls {
  /** Client certificate (chain) and key; omit both to present no client certificate. */
  cert?: string;
  key?: string;
  /** Trust bundle for the server's certificate. */
  ca: string;
  /** SNI, and the name the server certificate must match (unless `checkServerName: false`). */
  servername?: string;
  /** Verify the server certificate's DNS/IP SANs against `servername`; default true. */
  checkServerName?: boolean;
}

export interface RequestOptions {
  port: number;
  host?: string;
  tls?: ClientTls;
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Whole-exchange timeout; default 5000 ms. */
  timeoutMs?: number;
}

export interface ClientResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** Node TLS options for a client: trust bundle, optional client certificate, SNI. */
export function tlsOptions(t: ClientTls): tls.ConnectionOptions {
  const o: tls.ConnectionOptions = { ca: t.ca, rejectUnauthorized: true };
  if (t.cert !== undefined) o.cert = t.cert;
  if (t.key !== undefined) o.key = t.key;
  if (t.servername !== undefined) o.servername = t.servername;
  if (t.checkServerName === false || t.servername === undefined) o.checkServerIdentity = () => undefined;
  return o;
}

/**
 * Sends one request and resolves with the response. Rejects on connection or handshake failure
 * (e.g. a refused client certificate: `ECONNRESET` or an `ERR_SSL_*` alert code) and on timeout.
 */
export function request(o: RequestOptions): Promise<ClientResponse> {
  const timeoutMs = o.timeoutMs ?? 5000;
  return new Promise((resolve, reject) => {
    const base: http.RequestOptions = {
      host: o.host ?? '127.0.0.1',
      port: o.port,
      method: o.method ?? 'GET',
      path: o.path ?? '/',
      headers: o.headers ?? {},
      agent: false,
    };
    const onResponse = (res: http.IncomingMessage) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') });
      });
      res.on('error', fail);
    };
    const req = o.tls ? https.request({ ...base, ...tlsOptions(o.tls) }, onResponse) : http.request(base, onResponse);
    const timer = setTimeout(() => req.destroy(Object.assign(new Error(`request timed out after ${timeoutMs} ms`), { code: 'CLIENT_TIMEOUT' })), timeoutMs);
    function fail(e: Error) {
      clearTimeout(timer);
      reject(e);
    }
    req.on('error', fail);
    if (o.body !== undefined) req.write(o.body);
    req.end();
  });
}

export interface RawRequestOptions {
  port: number;
  host?: string;
  tls?: ClientTls;
  /** Written to the connection exactly as given (strings as latin1, so every byte value is reachable). */
  bytes: string | Buffer;
  /** Default 5000 ms. */
  timeoutMs?: number;
  /**
   * Default false: resolve as soon as the first complete response (by Content-Length, chunked
   * terminator, or a bodiless status) has arrived. True: collect until the server closes or the timeout.
   */
  untilClose?: boolean;
}

/**
 * Writes raw bytes on a (TLS) connection and resolves with the raw response text (latin1). On
 * timeout resolves with what arrived, or rejects if nothing did; rejects on a connection error
 * before any byte arrived (e.g. a refused handshake).
 */
export function rawRequest(o: RawRequestOptions): Promise<string> {
  const timeoutMs = o.timeoutMs ?? 5000;
  const host = o.host ?? '127.0.0.1';
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let settled = false;
    const received = () => Buffer.concat(chunks);
    const finish = (err?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      const data = received();
      if (data.length > 0 || !err) resolve(data.toString('latin1'));
      else reject(err);
    };
    const bytes = typeof o.bytes === 'string' ? Buffer.from(o.bytes, 'latin1') : o.bytes;
    const socket: net.Socket = o.tls
      ? tls.connect({ host, port: o.port, ...tlsOptions(o.tls) }, () => socket.write(bytes))
      : net.connect({ host, port: o.port }, () => socket.write(bytes));
    const timer = setTimeout(() => {
      if (received().length > 0) finish();
      else finish(Object.assign(new Error(`no response within ${timeoutMs} ms`), { code: 'CLIENT_TIMEOUT' }));
    }, timeoutMs);
    socket.on('data', (c: Buffer) => {
      chunks.push(c);
      if (!o.untilClose && responseComplete(received())) finish();
    });
    socket.on('end', () => finish());
    socket.on('close', () => finish(Object.assign(new Error('connection closed before any response'), { code: 'ECONNRESET' })));
    socket.on('error', (e) => finish(e));
  });
}

/** True when `data` holds at least one complete HTTP/1.x response (1xx interim responses skipped). */
function responseComplete(data: Buffer): boolean {
  let offset = 0;
  for (;;) {
    const headEnd = data.indexOf('\r\n\r\n', offset, 'latin1');
    if (headEnd < 0) return false;
    const head = data.subarray(offset, headEnd).toString('latin1');
    const status = Number(/^HTTP\/\d(?:\.\d)? (\d{3})/.exec(head)?.[1] ?? NaN);
    const bodyStart = headEnd + 4;
    if (status >= 100 && status < 200 && status !== 101) {
      offset = bodyStart;
      continue;
    }
    if (status === 204 || status === 304 || status === 101) return true;
    const length = /\r\ncontent-length:[ \t]*(\d+)/i.exec(head);
    if (length) return data.length - bodyStart >= Number(length[1]);
    if (/\r\ntransfer-encoding:[^\r\n]*chunked/i.test(head)) return chunkedComplete(data.subarray(bodyStart));
    return false; // body delimited by close
  }
}

function chunkedComplete(body: Buffer): boolean {
  let i = 0;
  for (;;) {
    const lineEnd = body.indexOf('\r\n', i, 'latin1');
    if (lineEnd < 0) return false;
    const size = parseInt(body.subarray(i, lineEnd).toString('latin1'), 16);
    if (Number.isNaN(size)) return false;
    // Last chunk: optional trailer lines, then an empty line.
    if (size === 0) return body.indexOf('\r\n\r\n', lineEnd, 'latin1') >= 0;
    i = lineEnd + 2 + size + 2;
    if (i > body.length) return false;
  }
}

/** Splits a raw response (the first one in `text`) into status, lower-cased headers and body. */
export function parseRawResponse(text: string): ClientResponse {
  const headEnd = text.indexOf('\r\n\r\n');
  const head = headEnd < 0 ? text : text.slice(0, headEnd);
  const [statusLine, ...lines] = head.split('\r\n');
  const status = Number(/^HTTP\/\d(?:\.\d)? (\d{3})/.exec(statusLine)?.[1] ?? 0);
  const headers: http.IncomingHttpHeaders = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    const prev = headers[name];
    headers[name] = prev === undefined ? value : `${prev}, ${value}`;
  }
  let body = headEnd < 0 ? '' : text.slice(headEnd + 4);
  const length = headers['content-length'];
  if (typeof length === 'string') body = body.slice(0, Number(length));
  return { status, headers, body };
}
