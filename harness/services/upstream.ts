/**
 * A fake upstream service that records every request it receives. HTTP/1.1 on 127.0.0.1:0, TLS
 * optional. Every request is answered 200 with body `upstream:<name>` and header
 * `x-upstream: <name>`, so a test can tell which upstream served a response, and whether a
 * request reached an upstream at all ("deny" = 403 and nothing recorded).
 */
import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';

export interface RecordedRequest {
  method: string;
  /** The request target as sent (path and query; absolute-form if a proxy forwarded one). */
  path: string;
  /** Lower-cased header names; repeated headers joined as Node does. */
  headers: http.IncomingHttpHeaders;
  /** Header names and values exactly as received, in order. */
  rawHeaders: string[];
  body: string;
  /** Milliseconds since the epoch when the request head arrived. */
  time: number;
  /** With TLS: the SNI the client sent (false when none). */
  servername?: string | false;
}

/** Node's default (16 KiB) is below Envoy's 60 KiB request-header limit. */
const UPSTREAM_MAX_HEADER_BYTES = 1024 * 1024;

export interface UpstreamOptions {
  name: string;
  /** Serve HTTPS with this certificate (chain) and key. */
  tls?: { certPem: string; keyPem: string };
  /** Port to bind; default 0 (ephemeral). */
  port?: number;
}

export class RecordingUpstream {
  private readonly log: RecordedRequest[] = [];
  private readonly waiters = new Set<() => void>();
  private readonly sockets = new Set<Socket>();
  /** Per open socket: bytes it had read at the last clear() (those are not counted again). */
  private readonly readBefore = new Map<Socket, number>();
  private closedBytes = 0;
  /** Number of connections accepted (TLS: completed handshakes) since start or clear(). */
  connections = 0;
  /** TCP connections accepted (TLS or not, handshake or not) since start or clear(). */
  accepted = 0;

  private constructor(
    readonly name: string,
    private readonly server: http.Server,
    readonly tls: boolean,
  ) {}

  static async start(options: UpstreamOptions): Promise<RecordingUpstream> {
    // Far above any proxy's header limit: a request the proxy forwards is never refused here.
    const limits = { maxHeaderSize: UPSTREAM_MAX_HEADER_BYTES };
    const server = options.tls ? https.createServer({ ...limits, cert: options.tls.certPem, key: options.tls.keyPem }) : http.createServer(limits);
    const upstream = new RecordingUpstream(options.name, server, Boolean(options.tls));
    server.on(options.tls ? 'secureConnection' : 'connection', () => upstream.connections++);
    server.on('connection', (s: Socket) => {
      upstream.accepted++;
      upstream.sockets.add(s);
      s.on('close', () => {
        upstream.closedBytes += s.bytesRead - (upstream.readBefore.get(s) ?? 0);
        upstream.readBefore.delete(s);
        upstream.sockets.delete(s);
      });
    });
    server.on('request', (req, res) => upstream.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
    });
    return upstream;
  }

  /** The bound port on 127.0.0.1. */
  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** `http://127.0.0.1:<port>` (or https). */
  get url(): string {
    return `${this.tls ? 'https' : 'http'}://127.0.0.1:${this.port}`;
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const time = Date.now();
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const record: RecordedRequest = {
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        rawHeaders: req.rawHeaders,
        body: Buffer.concat(chunks).toString('utf8'),
        time,
      };
      if (this.tls) record.servername = (req.socket as TLSSocket).servername ?? false;
      this.log.push(record);
      for (const wake of this.waiters) wake();
      const body = `upstream:${this.name}`;
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body), 'x-upstream': this.name });
      res.end(body);
    });
  }

  /** Everything received since start or the last clear(), oldest first. */
  received(): RecordedRequest[] {
    return [...this.log];
  }

  /** Raw bytes received on every accepted connection since start or clear() (TLS records
   *  included): 0 = nothing a client sent reached this service. */
  bytesReceived(): number {
    let n = this.closedBytes;
    for (const s of this.sockets) n += s.bytesRead - (this.readBefore.get(s) ?? 0);
    return n;
  }

  /** Forgets recorded requests and resets the connection and byte counts. */
  clear(): void {
    this.log.length = 0;
    this.connections = 0;
    this.accepted = 0;
    this.closedBytes = 0;
    for (const s of this.sockets) this.readBefore.set(s, s.bytesRead);
  }

  /** Resolves with the first recorded request matching `pred` (already received or arriving within `timeoutMs`). */
  waitFor(pred: (r: RecordedRequest) => boolean = () => true, timeoutMs = 5000): Promise<RecordedRequest> {
    const hit = this.log.find(pred);
    if (hit) return Promise.resolve(hit);
    return new Promise((resolve, reject) => {
      const wake = () => {
        const found = this.log.find(pred);
        if (!found) return;
        done();
        resolve(found);
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`upstream ${this.name}: no matching request within ${timeoutMs} ms (received ${this.log.length}: ${this.log.map((r) => `${r.method} ${r.path}`).join(', ') || 'none'})`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(wake);
      };
      this.waiters.add(wake);
    });
  }

  /** Closes the listener and every open connection. */
  async stop(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    await closed;
  }
}
