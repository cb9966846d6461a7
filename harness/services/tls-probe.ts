/**
 * One workload connection to a TLS-passthrough egress listener (meshgate_egress_sni): what an
 * SDK dialing `api.stripe.com:443` does once iptables (sidecar) or its mesh (gateway) has sent
 * the connection to Envoy. The probe either writes chosen first bytes (a ClientHello built by
 * harness/tls/client-hello.ts, or anything else) or runs a real TLS client with a chosen SNI,
 * then reports whether a handshake completed, whether the other side closed the connection, and
 * how many bytes came back.
 *
 * Gateway form: `outerTls` first opens the workload's mTLS hop to the gateway (its client
 * certificate is the caller's identity); the first bytes or the inner TLS client run inside it.
 */
import * as net from 'node:net';
import * as tls from 'node:tls';
import { tlsOptions, type ClientTls } from './client';

export interface ProbeOptions {
  host: string;
  port: number;
  /** Gateway: the workload's mTLS hop to the proxy (client certificate = identity). */
  outerTls?: ClientTls;
  /** Raw first bytes, written as soon as the connection (or the outer hop) is up. */
  first?: Buffer;
  /** Or a real TLS client: SNI `servername` ('' or absent = no SNI), server verified with `ca`
   *  (against `servername` when there is one). After the handshake it sends one HTTP/1.1 GET. */
  handshake?: { servername?: string; ca: string };
  /** How long to wait for the other side to close; default 5000 ms. */
  timeoutMs?: number;
}

export interface ProbeResult {
  /** The inner TLS handshake completed (only with `handshake`). */
  handshook: boolean;
  /** The other side closed the connection before the probe gave up (the probe closes it only
   *  after a complete HTTP response, or on timeout). */
  closedByProxy: boolean;
  /** Bytes that came back to the workload (read by the inner TLS client, or by the probe after
   *  its first bytes; never the outer hop's handshake): 0 = the proxy said nothing. */
  bytesReceived: number;
  /** With `handshake`: the decrypted reply (an HTTP response from the external service). */
  response?: string;
  /** The first error seen (handshake failure, reset, timeout). */
  error?: string;
}

export function probe(o: ProbeOptions): Promise<ProbeResult> {
  if ((o.first === undefined) === (o.handshake === undefined)) return Promise.reject(new Error('probe: give exactly one of `first` and `handshake`'));
  const timeoutMs = o.timeoutMs ?? 5000;
  return new Promise((resolve) => {
    const result: ProbeResult = { handshook: false, closedByProxy: false, bytesReceived: 0 };
    let settled = false;
    const carrier: net.Socket = o.outerTls
      ? tls.connect({ host: o.host, port: o.port, ...tlsOptions({ ...o.outerTls, checkServerName: false }) })
      : net.connect({ host: o.host, port: o.port });
    // Sockets handed to tls.connect are read through their native handle ('data' is never
    // emitted on them): count what the inner TLS read (its bytesRead, below its decryption), or
    // the 'data' chunks when the probe reads the carrier itself.
    let carrierBytes = 0;
    let inner: tls.TLSSocket | undefined;
    const received = () => (inner ? inner.bytesRead : carrierBytes);
    // Set once the external service's answer is complete: a close after that is the end of a
    // finished exchange, not a refusal.
    let answered = false;
    const finish = (closed: boolean, error?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      result.closedByProxy = closed;
      result.bytesReceived = received();
      if (error !== undefined && result.error === undefined) result.error = error;
      inner?.destroy();
      carrier.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => finish(false, `no close within ${timeoutMs} ms`), timeoutMs);

    carrier.once(o.outerTls ? 'secureConnect' : 'connect', () => {
      if (o.first) {
        carrier.write(o.first);
        carrier.on('data', (c: Buffer) => (carrierBytes += c.length)); // and keep reading, so a close is seen
        return;
      }
      const servername = o.handshake!.servername ?? '';
      const innerOptions: tls.ConnectionOptions = { socket: carrier, ca: o.handshake!.ca, rejectUnauthorized: true };
      if (servername) innerOptions.servername = servername;
      else innerOptions.checkServerIdentity = () => undefined;
      inner = tls.connect(innerOptions);
      let body = '';
      inner.once('secureConnect', () => {
        result.handshook = true;
        inner!.write(`GET / HTTP/1.1\r\nHost: ${servername || o.host}\r\nConnection: close\r\n\r\n`);
      });
      inner.on('data', (c: Buffer) => (body += c.toString('latin1')));
      inner.on('end', () => {
        result.response = body;
        answered = body.includes('\r\n\r\n');
        finish(!answered);
      });
      inner.on('error', (e) => {
        if (body) result.response = body;
        result.error = e.message;
      });
    });
    carrier.on('error', (e) => {
      if (result.error === undefined) result.error = e.message;
    });
    carrier.on('close', () => finish(!answered));
  });
}
