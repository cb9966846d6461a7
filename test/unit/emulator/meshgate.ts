/**
 * build/meshgate.wasm in the emulator, for filters.test.ts and memory.test.ts: the policies, the
 * identities (X.509-SVIDs minted by harness/pki TestCa, handed to the filter the way Envoy does:
 * `connection.peer_certificate` = URL-encoded PEM) and one-call requests in Envoy's order.
 */
import { ProxyWasmVm, type HttpStream, type PluginHandle, type StepResult } from '../../../harness/emulator/vm';
import type { Pairs } from '../../../harness/emulator/pairs';
import { TestCa, type BadCertKind } from '../../../harness/pki/ca';
import { MESHGATE_WASM } from './fixtures';

export const TRUST_DOMAIN = 'example.org';
export const STORE = 'spiffe://example.org/ns/shop/sa/store';
export const READER = 'spiffe://example.org/ns/shop/sa/reader';
export const BILLING = 'spiffe://example.org/ns/shop/sa/billing';
export const WEB = 'spiffe://example.org/ns/web/sa/frontend';
export const FOREIGN = 'spiffe://other.org/ns/shop/sa/store';

/** The shop's inbound policy (test/scenarios/policies/shop-inbound.yaml). */
export const INBOUND_POLICY = {
  trustDomain: TRUST_DOMAIN,
  mode: 'enforce',
  identity: { from: 'peer-certificate' },
  inbound: {
    default: 'deny',
    rules: [
      { name: 'no-admin', action: 'deny', paths: ['/admin', '/admin/*'] },
      { name: 'store-creates-charges', action: 'allow', from: [STORE], methods: ['POST'], paths: ['/charges', '/charges/*'] },
      { name: 'try-new-reader', mode: 'audit', from: ['spiffe://example.org/ns/shop/*'], methods: ['GET'], paths: ['/charges/{*}/receipt'] },
      { name: 'anyone-reads-health', from: ['*'], methods: ['GET'], paths: ['/healthz'] },
    ],
  },
};

/** Billing may call Stripe; nobody reaches link-local metadata; the shop may fetch from GitHub. */
export const EGRESS_POLICY = {
  trustDomain: TRUST_DOMAIN,
  identity: { from: 'peer-certificate' },
  egress: {
    default: 'deny',
    rules: [
      { name: 'no-metadata', action: 'deny', cidrs: ['169.254.0.0/16'] },
      { name: 'billing-to-stripe', from: [BILLING], hosts: ['api.stripe.com', '*.stripe.com'], ports: [443] },
      { name: 'shop-to-github', from: ['spiffe://example.org/ns/shop/*'], hosts: ['github.com'], ports: [443, 80] },
    ],
  },
};

/** Peer certificates by name: URL-encoded PEM, as Envoy serves `connection.peer_certificate`. */
export type Peers = Record<string, string>;

/** Mints one SVID per SPIFFE ID (keyed by the ID) plus certificates with defects (keyed by defect). */
export async function mintPeers(ids: string[], defects: BadCertKind[] = []): Promise<Peers> {
  const ca = await TestCa.create({ trustDomain: TRUST_DOMAIN });
  const foreign = await TestCa.create({ trustDomain: 'other.org' });
  const peers: Peers = {};
  for (const id of ids) {
    const issuer = id.startsWith(`spiffe://${TRUST_DOMAIN}/`) ? ca : foreign;
    peers[id] = encodeURIComponent((await issuer.mintSvid(id)).certPem);
  }
  for (const d of defects) peers[d] = encodeURIComponent((await ca.mintBad(d)).certPem);
  return peers;
}

export async function loadMeshgate(): Promise<ProxyWasmVm> {
  return ProxyWasmVm.load(MESHGATE_WASM);
}

export interface RequestSpec {
  /** `connection.id` (omitted: the property is absent). */
  connectionId?: bigint;
  /** URL-encoded PEM (omitted: plain text, every `connection.*` TLS property is absent). */
  peerCertificate?: string;
  headers: Pairs;
}

/** One stream: request headers, then (if it went on) response headers, then log → done → delete. */
export function send(plugin: PluginHandle, spec: RequestSpec): { result: StepResult; stream: HttpStream } {
  const properties: Record<string, string | bigint | boolean> = {};
  if (spec.connectionId !== undefined) properties['connection.id'] = spec.connectionId;
  if (spec.peerCertificate !== undefined) {
    properties['connection.peer_certificate'] = spec.peerCertificate;
    properties['connection.mtls'] = true;
  }
  const stream = plugin.newHttpStream({ properties, requestHeaders: spec.headers });
  const result = stream.sendRequestHeaders({ endOfStream: true });
  if (result.action === 'continue') stream.sendResponseHeaders([[':status', '200']]);
  stream.complete();
  return { result, stream };
}

/** Request headers as Envoy's HCM hands them to an inbound filter. */
export function inboundHeaders(method: string, path: string): Pairs {
  return [[':authority', 'billing'], [':path', path], [':method', method], [':scheme', 'https']];
}

/** Request headers of a CONNECT (no :path) or an absolute-form request, as the egress listener sees them. */
export function egressHeaders(method: string, authority: string, scheme = 'https'): Pairs {
  return method === 'CONNECT'
    ? [[':authority', authority], [':method', 'CONNECT']]
    : [[':authority', authority], [':path', '/'], [':method', method], [':scheme', scheme]];
}
