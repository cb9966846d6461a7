/**
 * An SDS server for tests, standing in for the SPIRE agent's Envoy SDS: gRPC over a unix socket
 * (HTTP/2 without TLS, from node:http2), serving
 * `envoy.service.secret.v3.SecretDiscoveryService/StreamSecrets` in the state-of-the-world
 * protocol. Envoy opens a stream, names the secrets it wants (`resource_names`), and gets a
 * DiscoveryResponse with those the server holds; it answers every response with an ACK (the
 * response's nonce and version) or a NACK (the previous version plus `error_detail`).
 * `setSecret` replaces a secret and pushes it to every stream that asked for it — a rotation,
 * with no restart of Envoy. Messages are encoded by hand (harness/services/sds-wire.ts).
 */
import { EventEmitter } from 'node:events';
import * as fs from 'node:fs';
import * as http2 from 'node:http2';
import * as path from 'node:path';
import { decodeDiscoveryRequest, encodeDiscoveryResponse, grpcFrame, grpcUnframe, SECRET_TYPE_URL, type DiscoveryRequest, type SdsSecret } from './sds-wire';

export const STREAM_SECRETS_PATH = '/envoy.service.secret.v3.SecretDiscoveryService/StreamSecrets';

/** gRPC status codes this server answers with (grpc/doc/statuscodes.md). */
const GRPC_OK = '0';
const GRPC_INVALID_ARGUMENT = '3';
const GRPC_UNIMPLEMENTED = '12';

/** One open StreamSecrets call: what it asked for and the last response it was sent. */
interface SecretStream {
  stream: http2.ServerHttp2Stream;
  names: string[];
  lastNonce: string;
}

/** A response Envoy answered: accepted (ACK) or rejected with its reason (NACK). */
export interface SdsAnswer {
  version: string;
  names: string[];
  accepted: boolean;
  errorDetail?: string;
}

export interface SdsServerOptions {
  /** The unix socket to listen on (its directory is created; a stale socket is replaced). */
  socketPath: string;
  secrets: SdsSecret[];
}

export class SdsServer {
  private readonly secrets = new Map<string, SdsSecret>();
  private readonly streams = new Set<SecretStream>();
  private readonly sessions = new Set<http2.ServerHttp2Session>();
  private readonly events = new EventEmitter();
  private readonly answered: SdsAnswer[] = [];
  /** The version each nonce carried (a NACK names the nonce it rejects but an older version). */
  private readonly sentVersion = new Map<string, string>();
  /** Every request received, in order (subscriptions, ACKs and NACKs). */
  readonly requests: DiscoveryRequest[] = [];
  private version = 1;
  private nonces = 0;

  private constructor(
    readonly socketPath: string,
    private readonly server: http2.Http2Server,
  ) {}

  static async start(o: SdsServerOptions): Promise<SdsServer> {
    fs.mkdirSync(path.dirname(o.socketPath), { recursive: true });
    fs.rmSync(o.socketPath, { force: true });
    const server = http2.createServer();
    const sds = new SdsServer(o.socketPath, server);
    for (const s of o.secrets) sds.secrets.set(s.name, s);
    server.on('session', (session) => {
      sds.sessions.add(session);
      session.on('close', () => sds.sessions.delete(session));
    });
    server.on('stream', (stream, headers) => sds.onStream(stream, headers));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(o.socketPath, () => resolve());
    });
    return sds;
  }

  /** The version the next push will carry (each push increments it). */
  get currentVersion(): string {
    return String(this.version);
  }

  /** Responses Envoy has ACKed or NACKed so far. */
  answers(): SdsAnswer[] {
    return [...this.answered];
  }

  /**
   * Replaces (or adds) a secret and pushes it, with a new version, to every stream that asked
   * for it. Returns that version; `waitForAck(version)` then says when Envoy took it.
   */
  setSecret(secret: SdsSecret): string {
    this.secrets.set(secret.name, secret);
    this.version++;
    for (const s of this.streams) if (s.names.includes(secret.name)) this.respond(s);
    return this.currentVersion;
  }

  /** Resolves when Envoy ACKs a response of `version` that carried `name`; rejects on its NACK or timeout. */
  waitForAck(name: string, version: string, timeoutMs = 10_000): Promise<SdsAnswer> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const a = this.answered.find((x) => x.version === version && x.names.includes(name));
        if (!a) return false;
        cleanup();
        if (a.accepted) resolve(a);
        else reject(new Error(`Envoy rejected secret ${name} version ${version}: ${a.errorDetail ?? '(no detail)'}`));
        return true;
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`no ACK for secret ${name} version ${version} within ${timeoutMs} ms; answers so far: ${JSON.stringify(this.answered)}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.events.off('answer', check);
      };
      if (!check()) this.events.on('answer', check);
    });
  }

  async stop(): Promise<void> {
    for (const s of this.streams) s.stream.close(http2.constants.NGHTTP2_CANCEL);
    for (const session of this.sessions) session.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    fs.rmSync(this.socketPath, { force: true });
  }

  private onStream(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): void {
    if (headers[':path'] !== STREAM_SECRETS_PATH) {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': GRPC_UNIMPLEMENTED, 'grpc-message': `not served here: ${String(headers[':path'])}` }, { endStream: true });
      return;
    }
    stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
    stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': GRPC_OK }));
    const s: SecretStream = { stream, names: [], lastNonce: '' };
    this.streams.add(s);
    stream.on('close', () => this.streams.delete(s));
    stream.on('error', () => this.streams.delete(s));
    let pending: Buffer = Buffer.alloc(0);
    stream.on('data', (chunk: Buffer) => {
      try {
        const { messages, rest } = grpcUnframe(Buffer.concat([pending, chunk]));
        pending = rest;
        for (const m of messages) this.onRequest(s, decodeDiscoveryRequest(m));
      } catch (e) {
        stream.sendTrailers({ 'grpc-status': GRPC_INVALID_ARGUMENT, 'grpc-message': (e as Error).message });
      }
    });
    stream.on('end', () => stream.end());
  }

  private onRequest(s: SecretStream, r: DiscoveryRequest): void {
    this.requests.push(r);
    if (r.typeUrl !== '' && r.typeUrl !== SECRET_TYPE_URL) return;
    if (r.responseNonce !== '') {
      // An answer to a response of ours: a NACK carries error_detail and the previous version.
      if (r.responseNonce === s.lastNonce) {
        const version = r.errorDetail === undefined ? r.versionInfo : (this.sentVersion.get(r.responseNonce) ?? '');
        this.answered.push({ version, names: [...s.names], accepted: r.errorDetail === undefined, errorDetail: r.errorDetail });
        this.events.emit('answer');
      }
      // An ACK naming the same resources asks for nothing new.
      if (sameNames(s.names, r.resourceNames)) return;
    }
    s.names = [...r.resourceNames];
    this.respond(s);
  }

  /** Sends the stream every secret it asked for that the server holds (none held: nothing). */
  private respond(s: SecretStream): void {
    const secrets = s.names.flatMap((n) => this.secrets.get(n) ?? []);
    if (secrets.length === 0) return;
    const nonce = String(++this.nonces);
    s.lastNonce = nonce;
    this.sentVersion.set(nonce, this.currentVersion);
    s.stream.write(grpcFrame(encodeDiscoveryResponse({ versionInfo: this.currentVersion, secrets, nonce })));
  }
}

function sameNames(a: string[], b: string[]): boolean {
  return a.length === b.length && [...a].sort().join('\n') === [...b].sort().join('\n');
}
