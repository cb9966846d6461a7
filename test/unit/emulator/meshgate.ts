/**
 * build/meshgate.wasm in the emulator, for filters.test.ts and memory.test.ts: the shop's
 * policies (test/scenarios/policies/*.yaml, compiled by harness/policy as the scenario loader
 * does) and identities (test/scenarios/inbound/shop.yaml), certificates minted by harness/pki
 * TestCa, and one-call requests presented the way Envoy does (harness/emulator/request.ts).
 */
import * as path from 'node:path';
import { peerCertificate, presentRequest, type EnvoyRequest, type PeerCertificate } from '../../../harness/emulator/request';
import { ProxyWasmVm, type HttpStream, type PluginHandle, type StepResult } from '../../../harness/emulator/vm';
import { TestCa, type BadCertKind } from '../../../harness/pki/ca';
import { compilePolicy, compilePolicyFile } from '../../../harness/policy/compile';
import type { EgressRuleDocument, InboundRuleDocument, PolicyDocument } from '../../../harness/policy/model';
import { loadScenario } from '../../../harness/scenario/load';
import { MESHGATE_WASM, ROOT } from './fixtures';

const SCENARIOS = path.join(ROOT, 'test/scenarios');

/** A policy document compiled through harness/policy; a test fixture that does not compile is a broken test. */
function compiled(result: ReturnType<typeof compilePolicy>, what: string): PolicyDocument {
  if (!result.ok) throw new Error(`${what} does not compile:\n${result.errors.map((e) => `  ${e.file}:${e.line}:${e.col}: ${e.message}`).join('\n')}`);
  return result.policy as PolicyDocument;
}

const policyFile = (name: string): PolicyDocument => compiled(compilePolicyFile(path.join(SCENARIOS, 'policies', name)), name);

/** The shop policies exactly as the scenario suites use them. */
export const SHOP_INBOUND = policyFile('shop-inbound.yaml');
export const SHOP_EGRESS = policyFile('egress-shop.yaml');

const shop = loadScenario(path.join(SCENARIOS, 'inbound/shop.yaml')).identities;
export const TRUST_DOMAIN = String(SHOP_INBOUND.trustDomain);
export const STORE = shop.store;
export const BILLING = shop.billing;
export const WEB = shop.web;
export const FOREIGN = shop['store-other-td'];
/** A shop identity no scenario names: matched only by the audit rule's `ns/shop/*`. */
export const READER = `spiffe://${TRUST_DOMAIN}/ns/shop/sa/reader`;

/** `policy` with `section`'s rules wrapped: `before` first, `after` last, then compiled. */
function withRules(policy: PolicyDocument, section: 'inbound' | 'egress', before: (InboundRuleDocument | EgressRuleDocument)[], after: (InboundRuleDocument | EgressRuleDocument)[], what: string): PolicyDocument {
  const doc: PolicyDocument = JSON.parse(JSON.stringify(policy));
  const rules = doc[section]?.rules ?? [];
  doc[section] = { ...doc[section], rules: [...before, ...rules, ...after] };
  return compiled(compilePolicy(doc, what), what);
}

/** The shop's inbound policy plus a rule for any caller of the trust domain (`from: ["*"]`). */
export const INBOUND_POLICY = withRules(SHOP_INBOUND, 'inbound', [], [
  { name: 'anyone-reads-health', from: ['*'], methods: ['GET'], paths: ['/healthz'] },
], 'the inbound test policy');

/** The shop's egress policy plus a CIDR deny first (nobody reaches link-local metadata) and a plain-HTTP allow last. */
export const EGRESS_POLICY = withRules(SHOP_EGRESS, 'egress', [
  { name: 'no-metadata', action: 'deny', cidrs: ['169.254.0.0/16'] },
], [
  { name: 'shop-to-github', from: [`spiffe://${TRUST_DOMAIN}/ns/shop/*`], hosts: ['github.com'], ports: [443, 80] },
], 'the egress test policy');

/** Peer certificates by name (a SPIFFE ID or a defect). */
export type Peers = Record<string, PeerCertificate>;

/** Mints one SVID per SPIFFE ID (keyed by the ID) plus certificates with defects (keyed by defect). */
export async function mintPeers(ids: string[], defects: BadCertKind[] = []): Promise<Peers> {
  const ca = await TestCa.create({ trustDomain: TRUST_DOMAIN });
  const foreign = await TestCa.create({ trustDomain: 'other.org' });
  const peers: Peers = {};
  for (const id of ids) {
    const issuer = id.startsWith(`spiffe://${TRUST_DOMAIN}/`) ? ca : foreign;
    peers[id] = peerCertificate((await issuer.mintSvid(id)).certPem);
  }
  for (const d of defects) peers[d] = peerCertificate((await ca.mintBad(d)).certPem);
  return peers;
}

export async function loadMeshgate(): Promise<ProxyWasmVm> {
  return ProxyWasmVm.load(MESHGATE_WASM);
}

export interface RequestSpec {
  /** `connection.id` (omitted: the property is absent). */
  connectionId?: bigint;
  /** The client certificate (omitted: plain text, every `connection.*` TLS property is absent). */
  peerCertificate?: PeerCertificate;
  request: Omit<EnvoyRequest, 'connectionId' | 'peer'>;
}

/** One stream: request headers, then (if it went on) response headers, then log → done → delete. */
export function send(plugin: PluginHandle, spec: RequestSpec): { result: StepResult; stream: HttpStream } {
  const stream = plugin.newHttpStream(presentRequest({ ...spec.request, connectionId: spec.connectionId, peer: spec.peerCertificate }));
  const result = stream.sendRequestHeaders({ endOfStream: true });
  if (result.action === 'continue') stream.sendResponseHeaders([[':status', '200']]);
  stream.complete();
  return { result, stream };
}

/** An inbound request as the billing service's listener sees it. */
export function inboundRequest(method: string, path: string): RequestSpec['request'] {
  return { method, path, authority: 'billing', scheme: 'https' };
}

/** A CONNECT (no :path) or an absolute-form request, as the egress listener sees it. */
export function egressRequest(method: string, authority: string, scheme = 'https'): RequestSpec['request'] {
  return method === 'CONNECT' ? { method, authority, scheme } : { method, path: '/', authority, scheme };
}
