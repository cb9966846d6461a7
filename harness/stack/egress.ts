/**
 * An egress stack on loopback: a test CA, a DNS server answering the given external names with
 * 127.0.0.1, fake external services (HTTPS with a certificate for those names, or plain HTTP) on
 * the ports the requests use, and a real Envoy running envoy/egress.yaml (or the sidecar form, or
 * one of the SNI passthrough forms) with build/meshgate.wasm and the policy. The fake services and
 * the DNS query log prove whether a request went out: a denied request must cause no DNS query
 * and no connection.
 *
 * SNI roles (envoy/egress-sni-{sidecar,gateway}.yaml): the filter judges the port the workload
 * connected to, so Envoy gets one listener per port in `ports`, on 127.0.0.2:<port>, while the
 * external services keep 127.0.0.1:<port>. `sniEndpoint(port)` is where a workload's connection
 * to `<name>:<port>` lands (what iptables or the mesh would do). Dialing the original destination
 * instead of the judged name would therefore come back to Envoy's own listener.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { EnvoyProcess, type EnvoyStartOptions } from '../envoy/process';
import { isSniRole, renderReference, type Role } from '../envoy/reference';
import type { Json } from '../envoy/bootstrap';
import { repoRoot } from '../envoy/paths';
import { TestCa, type BadCertKind } from '../pki/ca';
import { RecordingUpstream, type RecordedRequest } from '../services/upstream';
import { DnsServer } from '../services/dns';
import type { ClientTls } from '../services/client';
import { CallerCertificates, accessLogEntries } from './callers';
import { acquirePort, type PortLock } from '../services/portlock';

/** Where the SNI roles' Envoy listens (the external services keep 127.0.0.1). */
export const SNI_LISTENER_ADDRESS = '127.0.0.2';

export interface EgressStackOptions {
  policyJson: string;
  trustDomain: string;
  /** External names the DNS server answers (with 127.0.0.1); anything else is NXDOMAIN. */
  names: string[];
  /** Names the DNS server answers but the external services' certificate does NOT cover (to show
   *  that TLS origination verifies the certificate against the name it dials). */
  uncertifiedNames?: string[];
  /** Ports the external services listen on; TLS unless listed in `plainPorts`. */
  ports: number[];
  plainPorts?: number[];
  /** Addresses the post-resolution guard treats as public; default [FAKE_INTERNET], so the fake
   *  external services are reachable. `[]` guards them like any loopback address. */
  treatAsPublic?: string[];
  /** Extra DNS answers, name → IPv4 (e.g. a name the test wants resolved elsewhere). */
  answers?: Record<string, string>;
  role?: Extract<Role, 'egress' | 'egress-sidecar' | 'egress-sni-sidecar' | 'egress-sni-gateway'>;
  wasmFile?: string;
  concurrency?: number;
  launcher?: EnvoyStartOptions['launcher'];
  ca?: TestCa;
  /** Edits the rendered bootstrap before Envoy starts (the envoy-native target: meshgate's Wasm
   *  filters replaced by the native module, harness/native/config.ts toNative). */
  transform?: (bootstrap: Json) => void;
}

/** Where the DNS server sends every external name by default: the fake external services. */
export const FAKE_INTERNET = '127.0.0.1/32';

export class EgressStack {
  private readonly callers: CallerCertificates;

  private constructor(
    readonly ca: TestCa,
    readonly envoy: EnvoyProcess,
    readonly dns: DnsServer,
    /** External services by port. */
    readonly services: Map<number, RecordingUpstream>,
    readonly port: number,
    readonly dir: string,
    private readonly locks: PortLock[],
    /** SNI roles: Envoy's listener per external port. */
    private readonly sniListeners: ReadonlyMap<number, { host: string; port: number; listener: string }>,
  ) {
    this.callers = new CallerCertificates(ca);
  }

  static async start(o: EgressStackOptions): Promise<EgressStack> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meshgate-egress-'));
    const ca = o.ca ?? (await TestCa.create({ trustDomain: o.trustDomain }));
    const { caFile } = ca.writeTo(dir, 'ca');
    const own = (await ca.mintSvid(`spiffe://${o.trustDomain}/ns/egress/sa/gateway`)).writeTo(dir, 'egress');
    const answers: Record<string, string> = {};
    const key = (n: string) => n.toLowerCase().replace(/\.$/, '');
    for (const n of o.names) answers[key(n)] = '127.0.0.1';
    const uncertified = new Set((o.uncertifiedNames ?? []).map(key));
    for (const n of uncertified) answers[n] = '127.0.0.1';
    for (const [n, ip] of Object.entries(o.answers ?? {})) answers[key(n)] = ip;
    const certified = Object.keys(answers).filter((n) => !uncertified.has(n));
    const serverCert = await ca.mintServer([...new Set([...certified, 'localhost', '127.0.0.1'])]);
    const role = o.role ?? 'egress';
    const sni = isSniRole(role);

    const locks: PortLock[] = [];
    const services = new Map<number, RecordingUpstream>();
    let dns: DnsServer | undefined;
    let envoy: EnvoyProcess | undefined;
    try {
      // Fixed ports (443, 80) are shared by every egress test on the machine: take turns, always
      // locking in ascending order (port, then address) so two processes never wait for each
      // other's second port. SNI roles also hold Envoy's 127.0.0.2:<port>.
      for (const port of [...new Set(o.ports)].sort((a, b) => a - b)) {
        locks.push(await acquirePort(port));
        if (sni) locks.push(await acquirePort(port, SNI_LISTENER_ADDRESS));
        const plain = (o.plainPorts ?? []).includes(port);
        services.set(port, await RecordingUpstream.start({ name: `external:${port}`, port, tls: plain ? undefined : { certPem: serverCert.chainPem, keyPem: serverCert.keyPem } }));
      }
      dns = await DnsServer.start({ answers, tcp: true, ttl: 3600 });
      const ports = [...new Set(o.ports)];
      const bootstrap = renderReference(role, {
        wasmFile: o.wasmFile ?? path.join(repoRoot(), 'build', 'meshgate.wasm'),
        policyJson: o.policyJson,
        certs: { caFile, certFile: own.chainFile, keyFile: own.keyFile },
        dnsPort: dns.port,
        // The fake external services live on 127.0.0.1: the post-resolution guard must let the
        // harness's own "internet" through; every other loopback/private address stays guarded.
        treatAsPublic: o.treatAsPublic ?? [FAKE_INTERNET],
        sniListeners: sni ? { address: SNI_LISTENER_ADDRESS, ports } : undefined,
      });
      o.transform?.(bootstrap);
      envoy = await EnvoyProcess.start({
        bootstrap,
        concurrency: o.concurrency ?? 1,
        componentLogLevel: process.env.MESHGATE_ENVOY_LOG ?? 'wasm:debug,dns:debug,forward_proxy:debug',
        launcher: o.launcher,
      });
      const sniListeners = new Map<number, { host: string; port: number; listener: string }>();
      if (sni) {
        const base = role === 'egress-sni-sidecar' ? 'outbound_tls' : 'egress_tls';
        for (const p of ports) {
          const listener = `${base}_${p}`;
          sniListeners.set(p, { host: SNI_LISTENER_ADDRESS, port: await envoy.listenerPort(listener), listener });
        }
      }
      const port = sni ? sniListeners.get(ports[0])!.port : await envoy.listenerPort(role === 'egress-sidecar' ? 'outbound' : 'egress');
      return new EgressStack(ca, envoy, dns, services, port, dir, locks, sniListeners);
    } catch (e) {
      await envoy?.stop();
      await dns?.stop();
      for (const s of services.values()) await s.stop();
      for (const l of locks) l.release();
      throw e;
    }
  }

  /** SNI roles: where a workload's connection to `<name>:<port>` lands (Envoy's listener). */
  sniEndpoint(port: number): { host: string; port: number } {
    const l = this.sniListeners.get(port);
    if (!l) throw new Error(`no SNI listener for port ${port} (ports: ${[...this.sniListeners.keys()].join(', ') || 'none — not an SNI role'})`);
    return { host: l.host, port: l.port };
  }

  /** SNI roles: the Envoy listener name for an external port (its stats are `listener.<address>_<port>.*`). */
  sniListenerName(port: number): string {
    const l = this.sniListeners.get(port);
    if (!l) throw new Error(`no SNI listener for port ${port}`);
    return l.listener;
  }

  /** TLS options for a caller (see CallerCertificates): `null` = no client certificate. */
  clientTls(spiffeId: string | null, defect?: BadCertKind): Promise<ClientTls> {
    return this.callers.tls(spiffeId, defect);
  }

  /** Clears the DNS query log and every service's record before a request. */
  clear(): void {
    this.dns.clear();
    for (const s of this.services.values()) {
      s.clear();
      s.connections = 0;
    }
  }

  /** Everything the external services received since clear(). */
  received(): RecordedRequest[] {
    return [...this.services.values()].flatMap((s) => s.received());
  }

  /** Connections the external services accepted since clear(). */
  connections(): number {
    return [...this.services.values()].reduce((n, s) => n + s.connections, 0);
  }

  /** TCP connections the external services accepted since clear() (handshake or not). */
  accepted(): number {
    return [...this.services.values()].reduce((n, s) => n + s.accepted, 0);
  }

  /** Raw bytes the external services received since clear(). */
  bytesReceived(): number {
    return [...this.services.values()].reduce((n, s) => n + s.bytesReceived(), 0);
  }

  /**
   * Access-log entries so far: the HTTP connection manager's (one per request or CONNECT) for the
   * HTTP roles, the connection log for the SNI roles. The HTTP roles' CONNECT tunnels also end in
   * a connection log on the internal listener: tunnelLog().
   */
  accessLog(): Record<string, string>[] {
    const all = accessLogEntries(this.envoy);
    return this.sni ? all : all.filter((e) => 'method' in e);
  }

  /** HTTP roles: the connection log of the tunnels' exit (envoy/egress*.yaml `tunnel_exit`). */
  tunnelLog(): Record<string, string>[] {
    return this.sni ? [] : accessLogEntries(this.envoy).filter((e) => !('method' in e));
  }

  private get sni(): boolean {
    return this.sniListeners.size > 0;
  }

  async stop(): Promise<void> {
    await this.envoy.stop();
    await this.dns.stop();
    for (const s of this.services.values()) await s.stop();
    for (const l of this.locks) l.release();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
