/**
 * An inbound stack on loopback: a test CA, a recording "billing" upstream, and a real Envoy
 * running envoy/inbound.yaml (patched by harness/envoy/reference.ts) with build/meshgate.wasm and
 * the given policy. Used by e2e tests, the scenario runner's envoy target, the demo and benches.
 *
 * With `liveUpdates`, the listener comes from a watched LDS file on a fixed free port instead of
 * the bootstrap, and `replacePolicy()` pushes a new policy the way a control plane would; the
 * test watches Envoy accept (`listener_manager.lds.update_success`) or reject it.
 */
import * as path from 'node:path';
import type { EnvoyProcess, EnvoyStartOptions } from '../envoy/process';
import { renderReference, hcmOf, wasmPluginConfig } from '../envoy/reference';
import type { Json } from '../envoy/bootstrap';
import { LdsFile, freePort } from '../envoy/lds';
import { repoRoot } from '../envoy/paths';
import type { BadCertKind, TestCa } from '../pki/ca';
import type { AuthoritySpec, CertificateDescription } from '../pki/pki';
import type { ClientTls } from '../services/client';
import { CallerCertificates, accessLogEntries } from './callers';
import { EnvoyOnBase, StackBase } from './base';

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
  /** How long Envoy may take to be ready (default: EnvoyProcess's). */
  readyTimeoutMs?: number;
  /** Reuse a CA (e.g. one shared with an egress stack). */
  ca?: TestCa;
  /** Trust domains trusted besides the own one: with any, clients are validated by Envoy's SPIFFE
   *  validator with one bundle per trust domain (harness/envoy/reference.ts). */
  federatesWith?: string[];
  /** Further authorities by name (see TestPki). */
  authorities?: Record<string, AuthoritySpec>;
  /** Put these HTTP filters where meshgate's wasm filter is (e.g. Envoy RBAC, for differential runs; [] removes it);
   *  a function gets the policy of each rendering (the native module carries the policy, and replacePolicy() renders anew). */
  replaceWasmWith?: Json[] | ((policyJson: string) => Json[]);
  /** Fields set on the wasm filter's PluginConfig, e.g. `{ root_id, failure_policy }` for a fixture module. */
  plugin?: Json;
  /** Serve the listener from a watched LDS file so that `replacePolicy()` can swap it live. */
  liveUpdates?: boolean;
}

export class InboundStack extends EnvoyOnBase {
  private readonly callers: CallerCertificates;

  private constructor(
    base: StackBase,
    envoy: EnvoyProcess,
    readonly port: number,
    private readonly render: (policyJson: string) => Json,
    private readonly lds: LdsFile | undefined,
  ) {
    super(base, envoy);
    this.callers = new CallerCertificates(base.ca, base.pki);
  }

  static async start(o: InboundStackOptions): Promise<InboundStack> {
    const base = await StackBase.create({ trustDomain: o.trustDomain, ca: o.ca, federatesWith: o.federatesWith, authorities: o.authorities, dirPrefix: 'meshgate-inbound-' });
    return base.launch(async (startEnvoy) => {
      const fixedPort = o.liveUpdates ? await freePort() : undefined;
      const render = (policyJson: string) => renderInbound(o, base, policyJson, fixedPort);
      let bootstrap = render(o.policyJson);
      let lds: LdsFile | undefined;
      if (o.liveUpdates) {
        lds = new LdsFile(path.join(base.dir, 'lds'));
        bootstrap = lds.adopt(bootstrap);
      }
      const envoy = await startEnvoy({
        bootstrap,
        concurrency: o.concurrency ?? 1,
        componentLogLevel: o.componentLogLevel ?? 'wasm:debug',
        launcher: o.launcher,
        readyTimeoutMs: o.readyTimeoutMs,
      });
      const port = fixedPort ?? (await envoy.listenerPort('inbound'));
      return new InboundStack(base, envoy, port, render, lds);
    });
  }

  /**
   * With `liveUpdates`: writes the inbound listener with this policy (same port) to the LDS file.
   * Returns the rendered configuration the listener was taken from.
   */
  replacePolicy(policyJson: string): Json {
    if (!this.lds) throw new Error('replacePolicy() needs an InboundStack started with liveUpdates: true');
    const cfg = this.render(policyJson);
    this.lds.write((cfg.static_resources as Json).listeners as Json[]);
    return cfg;
  }

  /** TLS options for a caller (see CallerCertificates): `null` = no client certificate. */
  clientTls(spiffeId: string | null, defect?: BadCertKind): Promise<ClientTls> {
    return this.callers.tls(spiffeId, defect);
  }

  /** TLS options presenting a certificate a scenario describes, minted by this stack's authorities. */
  describedTls(name: string, d: CertificateDescription): Promise<ClientTls> {
    return this.callers.described(this.pki, name, d);
  }

  /** Access-log entries so far. */
  accessLog(): Record<string, string>[] {
    return accessLogEntries(this.envoy);
  }
}

/** envoy/inbound.yaml for this stack: its certificates and upstream, the policy, and the options' patches. */
function renderInbound(o: InboundStackOptions, base: StackBase, policyJson: string, fixedPort: number | undefined): Json {
  const cfg = renderReference('inbound', {
    wasmFile: o.wasmFile ?? path.join(repoRoot(), 'build', 'meshgate.wasm'),
    policyJson,
    certs: base.certs,
    trustBundles: base.trustBundles,
    upstreamPort: base.upstream.port,
    xfccFromTrustedProxy: o.xfccFromTrustedProxy,
  });
  if (o.plugin) Object.assign(wasmPluginConfig(cfg), o.plugin);
  for (const l of (cfg.static_resources as Json).listeners as Json[]) {
    if (fixedPort !== undefined) ((l.address as Json).socket_address as Json).port_value = fixedPort;
    if (o.replaceWasmWith) {
      const hcm = hcmOf(l);
      const replacement = typeof o.replaceWasmWith === 'function' ? o.replaceWasmWith(policyJson) : o.replaceWasmWith;
      hcm.http_filters = (hcm.http_filters as Json[]).flatMap((f) => (f.name === 'envoy.filters.http.wasm' ? replacement : [f]));
    }
  }
  return cfg;
}
