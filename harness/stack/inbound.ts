/**
 * An inbound stack on loopback: a test CA, a recording "billing" upstream, and a real Envoy
 * running envoy/inbound.yaml (patched by harness/envoy/reference.ts) with build/meshgate.wasm and
 * the given policy. Used by e2e tests, the scenario runner's envoy target, the demo and benches.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { EnvoyProcess, type EnvoyStartOptions } from '../envoy/process';
import { renderReference, hcmOf } from '../envoy/reference';
import type { Json } from '../envoy/bootstrap';
import { repoRoot } from '../envoy/paths';
import { TestCa, type BadCertKind } from '../pki/ca';
import { RecordingUpstream } from '../services/upstream';
import type { ClientTls } from '../services/client';
import { CallerCertificates, accessLogEntries } from './callers';

export interface InboundStackOptions {
  /** The plugin configuration (compiled policy JSON). */
  policyJson: string;
  /** Trust domain of the test CA and of this proxy's own SVID. */
  trustDomain: string;
  wasmFile?: string;
  /** identity.from = xfcc: the HCM forwards the trusted proxy's XFCC unchanged. */
  xfccFromTrustedProxy?: boolean;
  concurrency?: number;
  componentLogLevel?: string;
  launcher?: EnvoyStartOptions['launcher'];
  /** Reuse a CA (e.g. one shared with an egress stack). */
  ca?: TestCa;
  /** Put these HTTP filters where meshgate's wasm filter is (e.g. Envoy RBAC, for differential runs). */
  replaceWasmWith?: Json[];
}

export class InboundStack {
  private readonly callers: CallerCertificates;

  private constructor(
    readonly ca: TestCa,
    readonly envoy: EnvoyProcess,
    readonly upstream: RecordingUpstream,
    readonly port: number,
    readonly dir: string,
  ) {
    this.callers = new CallerCertificates(ca);
  }

  static async start(o: InboundStackOptions): Promise<InboundStack> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meshgate-inbound-'));
    const ca = o.ca ?? (await TestCa.create({ trustDomain: o.trustDomain }));
    const { caFile } = ca.writeTo(dir, 'ca');
    const own = (await ca.mintSvid(`spiffe://${o.trustDomain}/ns/shop/sa/billing`)).writeTo(dir, 'billing');
    const upstream = await RecordingUpstream.start({ name: 'billing' });
    let envoy: EnvoyProcess | undefined;
    try {
      const bootstrap = renderReference('inbound', {
        wasmFile: o.wasmFile ?? path.join(repoRoot(), 'build', 'meshgate.wasm'),
        policyJson: o.policyJson,
        certs: { caFile, certFile: own.chainFile, keyFile: own.keyFile },
        upstreamPort: upstream.port,
        xfccFromTrustedProxy: o.xfccFromTrustedProxy,
      });
      if (o.replaceWasmWith) {
        for (const l of (bootstrap.static_resources as Json).listeners as Json[]) {
          const hcm = hcmOf(l);
          hcm.http_filters = (hcm.http_filters as Json[]).flatMap((f) => (f.name === 'envoy.filters.http.wasm' ? o.replaceWasmWith! : [f]));
        }
      }
      envoy = await EnvoyProcess.start({
        bootstrap,
        concurrency: o.concurrency ?? 1,
        componentLogLevel: o.componentLogLevel ?? 'wasm:debug',
        launcher: o.launcher,
      });
      const port = await envoy.listenerPort('inbound');
      return new InboundStack(ca, envoy, upstream, port, dir);
    } catch (e) {
      await envoy?.stop();
      await upstream.stop();
      throw e;
    }
  }

  /** TLS options for a caller (see CallerCertificates): `null` = no client certificate. */
  clientTls(spiffeId: string | null, defect?: BadCertKind): Promise<ClientTls> {
    return this.callers.tls(spiffeId, defect);
  }

  /** Access-log entries so far. */
  accessLog(): Record<string, string>[] {
    return accessLogEntries(this.envoy);
  }

  async stop(): Promise<void> {
    await this.envoy.stop();
    await this.upstream.stop();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
