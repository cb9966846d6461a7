/**
 * A tiny authoritative DNS server on 127.0.0.1 for egress tests (Envoy's c-ares resolver points at
 * it). It answers from a table or a function and logs every query.
 *
 * Answers (names compared ASCII case-insensitively, one trailing dot ignored):
 * - known name, A query, IPv4 answer → one A record (TTL `ttl`, default 1 s);
 * - known name, AAAA query, IPv6 answer → one AAAA record;
 * - known name, any other type (AAAA for an IPv4 answer, MX, …) → NOERROR with no records;
 * - unknown name (table miss, or the function returns null) → NXDOMAIN.
 * Responses echo the question exactly as asked (c-ares compares names), set AA and RA, copy RD.
 * UDP always; TCP (2-byte length prefix, RFC 1035 section 4.2.2) on the same port when `tcp: true`.
 */
import * as dgram from 'node:dgram';
import * as net from 'node:net';
import * as dnsPacket from 'dns-packet';

export type DnsAnswers = Record<string, string> | ((name: string) => string | null | undefined);

export interface DnsServerOptions {
  answers: DnsAnswers;
  /** TTL of answer records in seconds; default 1. */
  ttl?: number;
  /** Also serve TCP on the same port; default false. */
  tcp?: boolean;
  /** Port to bind; default 0 (ephemeral). */
  port?: number;
}

export interface DnsQuery {
  /** The name as asked (case preserved, no trailing dot). */
  name: string;
  /** Record type, e.g. `A`, `AAAA`. */
  type: string;
  time: number;
  transport: 'udp' | 'tcp';
  rcode: 'NOERROR' | 'NXDOMAIN';
  /** The address answered, if any. */
  answer?: string;
}

const RCODE = { NOERROR: 0, NXDOMAIN: 3 } as const;
const OPCODE_MASK = 0x7800;

export class DnsServer {
  private readonly log: DnsQuery[] = [];
  private readonly overrides = new Map<string, string | null>();
  private readonly tcpSockets = new Set<net.Socket>();

  private constructor(
    private readonly udp: dgram.Socket,
    private readonly tcpServer: net.Server | undefined,
    private readonly lookup: (name: string) => string | null | undefined,
    private readonly ttl: number,
  ) {}

  static async start(options: DnsServerOptions): Promise<DnsServer> {
    const lookup = toLookup(options.answers);
    const ttl = options.ttl ?? 1;
    // With TCP, UDP and TCP must share one port number: retry if TCP finds the UDP port taken.
    for (let attempt = 0; ; attempt++) {
      const udp = dgram.createSocket('udp4');
      await new Promise<void>((resolve, reject) => {
        udp.once('error', reject);
        udp.bind(options.port ?? 0, '127.0.0.1', () => resolve());
      });
      let tcpServer: net.Server | undefined;
      if (options.tcp) {
        tcpServer = net.createServer();
        try {
          await new Promise<void>((resolve, reject) => {
            tcpServer!.once('error', reject);
            tcpServer!.listen(udp.address().port, '127.0.0.1', () => resolve());
          });
        } catch (e) {
          udp.close();
          if ((e as NodeJS.ErrnoException).code === 'EADDRINUSE' && !options.port && attempt < 20) continue;
          throw e;
        }
      }
      const server = new DnsServer(udp, tcpServer, lookup, ttl);
      server.listen();
      return server;
    }
  }

  /** The bound port (UDP, and TCP when enabled). */
  get port(): number {
    return this.udp.address().port;
  }

  /** `127.0.0.1:<port>`. */
  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Overrides the answer for one name from now on (`null`: NXDOMAIN). */
  set(name: string, ip: string | null): void {
    this.overrides.set(normalizeName(name), ip);
  }

  /** Queries received since start or the last clear(), oldest first. */
  queries(): DnsQuery[] {
    return [...this.log];
  }

  clear(): void {
    this.log.length = 0;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.udp.close(() => resolve()));
    if (this.tcpServer) {
      const closed = new Promise<void>((resolve) => this.tcpServer!.close(() => resolve()));
      for (const s of this.tcpSockets) s.destroy();
      await closed;
    }
  }

  private listen(): void {
    this.udp.on('message', (msg, rinfo) => {
      const reply = this.respond(msg, 'udp');
      if (reply) this.udp.send(reply, rinfo.port, rinfo.address);
    });
    this.tcpServer?.on('connection', (socket) => {
      this.tcpSockets.add(socket);
      socket.on('close', () => this.tcpSockets.delete(socket));
      socket.on('error', () => undefined);
      let pending = Buffer.alloc(0);
      socket.on('data', (chunk: Buffer) => {
        pending = Buffer.concat([pending, chunk]);
        while (pending.length >= 2) {
          const len = pending.readUInt16BE(0);
          if (pending.length < 2 + len) break;
          const reply = this.respond(pending.subarray(2, 2 + len), 'tcp');
          pending = pending.subarray(2 + len);
          if (reply) {
            const framed = Buffer.alloc(2 + reply.length);
            framed.writeUInt16BE(reply.length, 0);
            reply.copy(framed, 2);
            socket.write(framed);
          }
        }
      });
    });
  }

  /** Builds the response to one query message; undefined for anything that is not a parsable query. */
  private respond(msg: Buffer, transport: 'udp' | 'tcp'): Buffer | undefined {
    let query: dnsPacket.DecodedPacket;
    try {
      query = dnsPacket.decode(msg);
    } catch {
      return undefined;
    }
    if (query.type !== 'query' || !query.questions?.length) return undefined;
    const answers: dnsPacket.Answer[] = [];
    let rcode: DnsQuery['rcode'] = 'NOERROR';
    for (const q of query.questions) {
      const asked = q.name.replace(/\.$/, '');
      const ip = this.resolve(asked);
      const entry: DnsQuery = { name: asked, type: q.type, time: Date.now(), transport, rcode: 'NOERROR' };
      if (ip === null) {
        rcode = entry.rcode = 'NXDOMAIN';
      } else if ((q.type === 'A' && net.isIPv4(ip)) || (q.type === 'AAAA' && net.isIPv6(ip))) {
        answers.push({ type: q.type, name: q.name, ttl: this.ttl, class: 'IN', data: ip } as dnsPacket.Answer);
        entry.answer = ip;
      }
      this.log.push(entry);
    }
    const queryFlags = query.flags ?? 0;
    const flags =
      (queryFlags & OPCODE_MASK) |
      dnsPacket.AUTHORITATIVE_ANSWER |
      (queryFlags & dnsPacket.RECURSION_DESIRED) |
      dnsPacket.RECURSION_AVAILABLE |
      RCODE[rcode];
    return dnsPacket.encode({ id: query.id, type: 'response', flags, questions: query.questions, answers });
  }

  private resolve(name: string): string | null {
    const key = normalizeName(name);
    if (this.overrides.has(key)) return this.overrides.get(key) ?? null;
    return this.lookup(key) ?? null;
  }
}

function normalizeName(name: string): string {
  return name.replace(/\.$/, '').toLowerCase();
}

function toLookup(answers: DnsAnswers): (name: string) => string | null | undefined {
  if (typeof answers === 'function') return answers;
  const table = new Map(Object.entries(answers).map(([k, v]) => [normalizeName(k), v]));
  return (name) => table.get(name);
}
