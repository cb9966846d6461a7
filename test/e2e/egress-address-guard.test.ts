/**
 * The post-resolution guard (harness/envoy/address-guard.ts) on real Envoy: a name meshgate
 * allowed that resolves to a non-public address is refused after DNS and before any dial, unless
 * the rule that allowed it grants that address (`privateAddresses`). Proved by the status and
 * details, the external service's accept count and the dynamic-forward-proxy clusters' own
 * connection counters. The harness's fake external service listens on 127.0.0.1, which the guard
 * refuses like any loopback address — here nothing is exempted for the harness.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { EnvoyProcess } from '../../harness/envoy/process';
import { renderReference } from '../../harness/envoy/reference';
import { repoRoot } from '../../harness/envoy/paths';
import { httpAddressGuard, GUARD_POLICY } from '../../harness/envoy/address-guard';
import { TestCa } from '../../harness/pki/ca';
import { RecordingUpstream } from '../../harness/services/upstream';
import { DnsServer } from '../../harness/services/dns';
import { CallerCertificates, accessLogEntries } from '../../harness/stack/callers';
import { request, type ClientResponse } from '../../harness/services/client';
import { connectThrough } from '../../harness/services/tunnel';
import { acquirePort, type PortLock } from '../../harness/services/portlock';
import type { Json } from '../../harness/envoy/bootstrap';

const BILLING = 'spiffe://example.org/ns/shop/sa/billing';
const PORT = 18443;

const POLICY = {
  trustDomain: 'example.org',
  identity: { from: 'peer-certificate' },
  egress: {
    default: 'deny',
    rules: [
      { name: 'no-grant', from: [BILLING], hosts: ['plain.example', 'metadata.example', 'ten.example'], ports: [PORT] },
      { name: 'loopback-granted', from: [BILLING], hosts: ['granted.example'], ports: [PORT] },
      { name: 'ten-granted', from: [BILLING], hosts: ['wrong-grant.example'], ports: [PORT] },
    ],
  },
};
const GRANTS = [{ rule: 'loopback-granted', cidrs: ['127.0.0.1/32'] }, { rule: 'ten-granted', cidrs: ['10.0.0.0/8'] }];

let envoy: EnvoyProcess;
let dns: DnsServer;
let ext: RecordingUpstream;
let lock: PortLock;
let callers: CallerCertificates;
let port: number;
let dir: string;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meshgate-guard-'));
  const ca = await TestCa.create({ trustDomain: 'example.org' });
  const { caFile } = ca.writeTo(dir, 'ca');
  const own = (await ca.mintSvid('spiffe://example.org/ns/egress/sa/gateway')).writeTo(dir, 'egress');
  lock = await acquirePort(PORT);
  ext = await RecordingUpstream.start({ name: 'external', port: PORT });
  dns = await DnsServer.start({
    answers: {
      'plain.example': '127.0.0.1', 'granted.example': '127.0.0.1', 'wrong-grant.example': '127.0.0.1',
      'metadata.example': '169.254.169.254', 'ten.example': '10.1.2.3',
    },
    tcp: true, ttl: 3600,
  });
  const cfg = renderReference('egress', {
    wasmFile: path.join(repoRoot(), 'build', 'meshgate.wasm'), policyJson: JSON.stringify(POLICY),
    certs: { caFile, certFile: own.chainFile, keyFile: own.keyFile }, dnsPort: dns.port,
  });
  const hcm = ((((cfg.static_resources as Json).listeners as Json[])[0].filter_chains as Json[])[0].filters as Json[])[0].typed_config as Json;
  const filters = hcm.http_filters as Json[];
  const dfp = filters.findIndex((f) => f.name === 'envoy.filters.http.dynamic_forward_proxy');
  (filters[dfp].typed_config as Json).save_upstream_address = true;
  filters.splice(dfp + 1, 0, httpAddressGuard({ grants: GRANTS }));
  envoy = await EnvoyProcess.start({ bootstrap: cfg, concurrency: 1 });
  port = await envoy.listenerPort('egress');
  callers = new CallerCertificates(ca);
}, 60_000);

afterAll(async () => {
  await envoy?.stop();
  await dns?.stop();
  await ext?.stop();
  lock?.release();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function observe(send: () => Promise<ClientResponse>) {
  dns.clear();
  ext.connections = 0;
  const before = await envoy.stats();
  const logged = accessLogEntries(envoy).length;
  const res = await send();
  let entry: Record<string, string> | undefined;
  for (let i = 0; i < 100 && !entry; i++) {
    entry = accessLogEntries(envoy)[logged];
    if (!entry) await new Promise((r) => setTimeout(r, 20));
  }
  const after = await envoy.stats();
  const cx = ['dfp_http', 'dfp_tcp', 'dfp_tls'].reduce((n, c) => n + (after[`cluster.${c}.upstream_cx_total`] ?? 0) - (before[`cluster.${c}.upstream_cx_total`] ?? 0), 0);
  return { status: res.status, body: res.body, details: entry?.details, meshgate: entry?.meshgate, accepted: ext.connections, dialed: cx, asked: dns.queries().map((q) => q.name) };
}

const plain = (host: string) => async () =>
  request({ port, tls: await callers.tls(BILLING), path: `http://${host}:${PORT}/x`, headers: { host: `${host}:${PORT}` } });

const tunnel = (host: string) => async () => {
  const r = await connectThrough({ proxyPort: port, proxyTls: await callers.tls(BILLING), target: `${host}:${PORT}`, innerServername: host, innerCa: '' }).catch((e: Error) => ({ connect: { status: -1, body: e.message, headers: {} } as unknown as ClientResponse }));
  return r.connect;
};

describe('post-resolution address guard (HTTP egress)', () => {
  test.each([
    ['loopback, no grant', 'plain.example', GUARD_POLICY],
    ['cloud metadata 169.254.169.254', 'metadata.example', GUARD_POLICY],
    ['RFC 1918 10.1.2.3', 'ten.example', GUARD_POLICY],
    ['loopback, a grant for 10.0.0.0/8 only', 'wrong-grant.example', `${GUARD_POLICY}.ten-granted`],
  ])('%s: resolved, then refused before any dial', async (_what, host, policy) => {
    const o = await observe(plain(host));
    expect(o.status).toBe(403);
    expect(o.details).toBe(`rbac_access_denied_matched_policy[${policy}]`);
    // meshgate allowed it: the guard, not the policy filter, refused the address
    expect(o.meshgate).toMatch(/^decision=allow rule=(no-grant|ten-granted) /);
    expect(o.asked).toEqual([host]);
    expect(o.dialed).toBe(0);
    expect(o.accepted).toBe(0);
  });

  test('a rule granting 127.0.0.1/32 reaches the service on it', async () => {
    const o = await observe(plain('granted.example'));
    expect(o.status).toBe(200);
    expect(o.accepted).toBe(1);
    expect(o.dialed).toBe(1);
  });

  test('CONNECT: the same guard, before the tunnel is dialed', async () => {
    const denied = await observe(tunnel('plain.example'));
    expect(denied.status).toBe(403);
    expect(denied.dialed + denied.accepted).toBe(0);
    const meta = await observe(tunnel('metadata.example'));
    expect(meta.status).toBe(403);
    expect(meta.dialed).toBe(0);
  });

  test('the guard counts its denials under its own stat prefix', async () => {
    const before = await envoy.stats();
    await observe(plain('metadata.example'));
    const after = await envoy.stats();
    const moved = Object.keys(after).filter((k) => k.includes('meshgate_address_guard') && k.endsWith('denied') && (after[k] ?? 0) > (before[k] ?? 0));
    expect(moved.length).toBeGreaterThan(0);
  });
});
