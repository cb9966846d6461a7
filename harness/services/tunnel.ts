/**
 * HTTP CONNECT through a (TLS) proxy, then HTTPS inside the tunnel: what a workload with
 * HTTPS_PROXY does. Resolves with the proxy's answer to CONNECT and, if the tunnel opened, the
 * response of the inner request. With `innerFirst` the tunnel carries those raw bytes instead of
 * a TLS client (a ClientHello for another name, none at all, plain text...) and the result says
 * whether the proxy then closed the tunnel and how many bytes came back through it.
 */
import * as http2 from 'node:http2';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { parseRawResponse, type ClientResponse, type ClientTls } from './client';

export interface ConnectOptions {
  proxyPort: number;
  /** TLS to the proxy (client certificate = the caller's identity); omit for plain text. */
  proxyTls?: ClientTls;
  /** The CONNECT request target, `host:port`. */
  target: string;
  /** Extra CONNECT request headers (e.g. a forged Host), names case-insensitive: a `Host` given
   *  here replaces the default one (= target) instead of adding a second. */
  headers?: Record<string, string>;
  /** Inner TLS: SNI/verification name and trust bundle. The SNI may differ from the target's
   *  host (domain fronting); '' = no SNI (the certificate is then not checked against a name). */
  innerServername: string;
  innerCa: string;
  innerPath?: string;
  /** Raw first tunnel bytes instead of the inner TLS client (innerServername is then unused). */
  innerFirst?: Buffer;
  timeoutMs?: number;
}

export interface ConnectResult {
  connect: ClientResponse;
  inner?: ClientResponse;
  /** With `innerFirst`, once the tunnel opened: did the proxy close it (before the timeout), and
   *  how many bytes came back through it. */
  tunnel?: { closed: boolean; bytesReceived: number };
}

export function connectThrough(o: ConnectOptions): Promise<ConnectResult> {
  const timeoutMs = o.timeoutMs ?? 5000;
  return new Promise((resolve, reject) => {
    const outer: net.Socket = o.proxyTls
      ? tls.connect({ host: '127.0.0.1', port: o.proxyPort, ca: o.proxyTls.ca, cert: o.proxyTls.cert, key: o.proxyTls.key, checkServerIdentity: () => undefined })
      : net.connect({ host: '127.0.0.1', port: o.proxyPort });
    let tunnel: { connect: ClientResponse; bytesReceived: number } | undefined;
    const timer = setTimeout(() => {
      // Raw tunnel bytes: a tunnel still open at the timeout is an answer, not an error.
      if (tunnel) done(null, { connect: tunnel.connect, tunnel: { closed: false, bytesReceived: tunnel.bytesReceived } });
      else done(new Error(`CONNECT ${o.target}: no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    let settled = false;
    const done = (err: Error | null, value?: ConnectResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      outer.destroy();
      if (err) reject(err);
      else resolve(value!);
    };
    outer.once(o.proxyTls ? 'secureConnect' : 'connect', () => {
      const headers: Record<string, string> = { host: o.target };
      for (const [k, v] of Object.entries(o.headers ?? {})) headers[k.toLowerCase()] = v;
      outer.write(`CONNECT ${o.target} HTTP/1.1\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`);
    });
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      outer.off('data', onData);
      const connect = parseRawResponse(head.toString('latin1'));
      if (connect.status !== 200) {
        done(null, { connect });
        return;
      }
      if (o.innerFirst) {
        const open = { connect, bytesReceived: head.length - end - 4 };
        tunnel = open;
        outer.on('data', (c: Buffer) => (open.bytesReceived += c.length));
        outer.write(o.innerFirst);
        return;
      }
      // The caller's own TLS inside the tunnel: SNI and certificate check for the name it meant.
      // (An IP literal is checked against the certificate's IP SANs and sent without SNI, RFC 6066.)
      const byIp = net.isIP(o.innerServername.replace(/^\[|\]$/g, '')) !== 0;
      const inner = byIp
        ? tls.connect({ socket: outer, host: o.innerServername.replace(/^\[|\]$/g, ''), ca: o.innerCa })
        : o.innerServername === ''
          ? tls.connect({ socket: outer, ca: o.innerCa, checkServerIdentity: () => undefined })
          : tls.connect({ socket: outer, servername: o.innerServername, ca: o.innerCa });
      inner.once('secureConnect', () => inner.write(`GET ${o.innerPath ?? '/'} HTTP/1.1\r\nHost: ${o.innerServername}\r\nConnection: close\r\n\r\n`));
      let body = '';
      inner.on('data', (c: Buffer) => (body += c.toString('latin1')));
      inner.on('end', () => done(null, { connect, inner: parseRawResponse(body) }));
      inner.on('error', (e) => (body ? done(null, { connect, inner: parseRawResponse(body) }) : done(e)));
    };
    outer.on('data', onData);
    outer.on('error', (e) => {
      // A reset of an open raw tunnel is the proxy closing it.
      if (tunnel) done(null, { connect: tunnel.connect, tunnel: { closed: true, bytesReceived: tunnel.bytesReceived } });
      else done(e);
    });
    outer.on('close', () => {
      if (tunnel) done(null, { connect: tunnel.connect, tunnel: { closed: true, bytesReceived: tunnel.bytesReceived } });
      else done(new Error(`CONNECT ${o.target}: connection closed before an answer`));
    });
  });
}

export interface H2ConnectOptions {
  /** A plain-text listener that speaks HTTP/2 with prior knowledge. */
  proxyPort: number;
  /** `host:port`, the CONNECT stream's :authority. */
  target: string;
  /** Raw first tunnel bytes, written once the proxy answered 200. */
  innerFirst: Buffer;
  timeoutMs?: number;
}

export interface H2ConnectResult {
  /** The proxy's :status for the CONNECT stream (0: none before the stream ended). */
  status: number;
  /** Once the stream opened: did the proxy end or reset it, with which RST_STREAM code (0 = a
   *  clean end), and how many bytes came back through it. */
  tunnel?: { closed: boolean; rstCode: number; bytesReceived: number };
}

/** HTTP/2 CONNECT (RFC 9113 §8.5) on one stream, then raw bytes through it. */
export function h2ConnectThrough(o: H2ConnectOptions): Promise<H2ConnectResult> {
  const timeoutMs = o.timeoutMs ?? 5000;
  return new Promise((resolve, reject) => {
    const session = http2.connect(`http://127.0.0.1:${o.proxyPort}`);
    let status = 0;
    let bytesReceived = 0;
    let settled = false;
    const done = (r: H2ConnectResult | Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      session.destroy();
      if (r instanceof Error) reject(r);
      else resolve(r);
    };
    const timer = setTimeout(() => done(status ? { status, tunnel: { closed: false, rstCode: 0, bytesReceived } } : new Error(`CONNECT ${o.target} (h2): no answer within ${timeoutMs} ms`)), timeoutMs);
    session.on('error', (e) => done(e));
    const stream = session.request({ ':method': 'CONNECT', ':authority': o.target });
    stream.on('response', (h) => {
      status = Number(h[':status']);
      if (status === 200) stream.write(o.innerFirst);
    });
    stream.on('data', (c: Buffer) => (bytesReceived += c.length));
    stream.on('error', () => undefined); // the close event carries the reset code
    stream.on('close', () => done(status === 200 ? { status, tunnel: { closed: true, rstCode: stream.rstCode ?? 0, bytesReceived } } : { status }));
  });
}
