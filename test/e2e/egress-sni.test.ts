/**
 * meshgate_egress_sni in real Envoy: TLS passthrough by SNI (envoy/egress-sni-sidecar.yaml and
 * envoy/egress-sni-gateway.yaml), with the harness DNS server and fake external services.
 *
 * 1. Allowed: a real TLS handshake with the external service completes through Envoy (one DNS
 *    query for exactly the SNI, one accepted connection, the workload's own SNI arrives).
 * 2. Denied (wrong name, wrong port, wrong caller, no SNI, ECH, not TLS, bad names): the
 *    connection is closed with nothing sent back, 0 DNS queries, 0 accepted connections, Envoy's
 *    DNS cache and cluster stats unmoved; `wasmcustom.meshgate.egress_sni.*` and the connection
 *    access log say why.
 * 3. A forged SNI cannot carry the connection to another address: Envoy dials what the SNI
 *    resolves to, never the original destination (here Envoy's own listener address, 127.0.0.2,
 *    which would show as a second downstream connection).
 * 4. At the gateway the filter judges the INNER ClientHello, never the outer handshake's name.
 * 5. The reference configs as written: filter order, nothing after the filter that can change
 *    the destination.
 * Each Envoy behaviour relied on is written up in docs/egress-behaviour.md §9.
 */
import { EgressStack } from '../../harness/stack/egress';
import { addressGuardRules } from '../../harness/envoy/address-guard';
import { exchange, type Exchange } from '../../harness/stack/exchange';
import { probe, type ProbeOptions, type ProbeResult } from '../../harness/services/tls-probe';
import { clientHello } from '../../harness/tls/client-hello';
import { destinationKnobs, loadReferenceConfig, networkFilters, type Role } from '../../harness/envoy/reference';
import type { Json } from '../../harness/envoy/bootstrap';

const BILLING = 'spiffe://example.org/ns/shop/sa/billing';
const STORE = 'spiffe://example.org/ns/shop/sa/store';
const WASM = process.env.MESHGATE_WASM;

const EGRESS = {
  default: 'deny',
  rules: [{ name: 'billing-to-stripe', from: [BILLING], hosts: ['api.stripe.com', '*.stripe.com'], ports: [443] }],
};
const SIDECAR_POLICY = { trustDomain: 'example.org', identity: { from: 'local', id: BILLING }, egress: EGRESS };
const GATEWAY_POLICY = { trustDomain: 'example.org', egress: EGRESS };

/** Every Envoy stat that moves when the SNI chain resolves or dials anything. */
const ENVOY_ACTIVITY = ['dns_cache.egress_sni_dns.dns_query_attempt', 'dns_cache.egress_sni_dns.host_added', 'cluster.dfp_passthrough.upstream_cx_total'];
const ALLOW = (identity: string, sni: string) => new RegExp(`^decision=allow rule=billing-to-stripe identity=${identity} policy=[0-9a-f]{12} sni=${sni.replace(/\./g, '\\.')}$`);

function expectNothingLeft(x: Exchange<ProbeResult>): void {
  expect(x.res).toMatchObject({ handshook: false, closedByProxy: true, bytesReceived: 0 });
  expect(x.dns).toEqual([]);
  expect(x.accepted).toBe(0);
  expect(x.bytes).toBe(0);
  for (const stat of ENVOY_ACTIVITY) expect([stat, x.delta(stat)]).toEqual([stat, 0]);
  expect(x.entry.upstream).toBeNull();
  expect(x.delta('wasmcustom.meshgate.egress_sni.denied')).toBe(1);
}

function startStack(role: Extract<Role, 'egress-sni-sidecar' | 'egress-sni-gateway'>, policy: object): Promise<EgressStack> {
  return EgressStack.start({
    role,
    policyJson: JSON.stringify(policy),
    trustDomain: 'example.org',
    names: ['api.stripe.com', 'files.stripe.com', 'www.stripe.com', 'evil.example'],
    ports: [443, 8443],
    wasmFile: WASM,
  });
}

describe('SNI passthrough in a sidecar (envoy/egress-sni-sidecar.yaml, identity local = billing)', () => {
  let stack: EgressStack;
  beforeAll(async () => (stack = await startStack('egress-sni-sidecar', SIDECAR_POLICY)), 180_000);
  afterAll(() => stack?.stop());

  const connect = (o: Omit<ProbeOptions, 'host' | 'port'>, port = 443) => () => probe({ ...stack.sniEndpoint(port), ...o });
  const handshake = (servername: string, port = 443) => connect({ handshake: { servername, ca: stack.ca.certPem } }, port);
  const first = (bytes: Buffer, port = 443) => connect({ first: bytes, timeoutMs: 2000 }, port);

  it('billing → api.stripe.com:443: a real handshake with the service, one DNS query for the SNI, counters and log', async () => {
    const x = await exchange(stack, handshake('api.stripe.com'));
    expect(x.res).toMatchObject({ handshook: true, closedByProxy: false });
    expect(x.res.response).toMatch(/^HTTP\/1\.1 200 [^]*upstream:external:443$/);
    expect(x.dns.map((q) => `${q.name}/${q.type}`)).toEqual(['api.stripe.com/A']);
    expect(x.accepted).toBe(1);
    expect(x.connections).toBe(1);
    expect(x.received[0].servername).toBe('api.stripe.com');
    expect(x.entry.meshgate).toMatch(ALLOW(BILLING, 'api.stripe.com'));
    expect(x.entry).toMatchObject({ sni: 'api.stripe.com', upstream: '127.0.0.1:443', destination: `127.0.0.2:${stack.sniEndpoint(443).port}` });
    expect(x.delta('wasmcustom.meshgate.egress_sni.allowed')).toBe(1);
    expect(x.delta('wasmcustom.meshgate.egress_sni.rule.billing-to-stripe')).toBe(1);
    expect(x.delta('cluster.dfp_passthrough.upstream_cx_total')).toBe(1);
  });

  it('a forged SNI cannot reach another address: Envoy dials what the SNI resolves to, never the original destination', async () => {
    // The workload "meant" 127.0.0.2:443 (the connection's original destination, where Envoy's own
    // listener sits); its ClientHello names files.stripe.com, which DNS answers with 127.0.0.1.
    const x = await exchange(stack, handshake('files.stripe.com'));
    expect(x.res.handshook).toBe(true);
    expect(x.dns.map((q) => q.name)).toEqual(['files.stripe.com']);
    expect(x.entry).toMatchObject({ upstream: '127.0.0.1:443', destination: '127.0.0.2:443' });
    // Dialing the original destination would have come back to the listener as a second connection.
    expect(x.delta(`listener.127.0.0.2_443.downstream_cx_total`)).toBe(1);
    expect(x.accepted).toBe(1);
  });

  const denials: Array<[string, () => () => Promise<ProbeResult>, string, string]> = [
    ['evil.example (no rule)', () => handshake('evil.example'), 'default', 'evil.example'],
    ['api.stripe.com on port 8443 (the rule says 443)', () => handshake('api.stripe.com', 8443), 'default', 'api.stripe.com'],
    ['no SNI (a real client without servername)', () => handshake(''), 'no_sni', '-'],
    ['no server_name extension (raw hello)', () => first(clientHello({ sni: null })), 'no_sni', '-'],
    ['ECH (outer name api.stripe.com)', () => first(clientHello({ sni: 'api.stripe.com', ech: true })), 'ech', 'api.stripe.com'],
    ['not TLS (plain HTTP to port 443)', () => first(Buffer.from('GET / HTTP/1.1\r\nHost: api.stripe.com\r\n\r\n')), 'not_tls', '-'],
    ['two trailing dots api.stripe.com..', () => first(clientHello({ sni: 'api.stripe.com..' })), 'bad_sni', '-'],
    ['an empty label api..stripe.com', () => first(clientHello({ sni: 'api..stripe.com' })), 'bad_sni', '-'],
  ];

  it.each(denials)('denied before any DNS query or connection: %s', async (_label, send, rule, sni) => {
    const x = await exchange(stack, send());
    expectNothingLeft(x);
    expect(x.entry.meshgate).toMatch(new RegExp(`^decision=deny rule=${rule} identity=${BILLING} policy=[0-9a-f]{12} sni=`));
    if (sni !== '-') expect(x.entry.meshgate).toMatch(new RegExp(` sni=${sni.replace(/\./g, '\\.')}$`));
    expect(x.delta(rule === 'default' ? 'wasmcustom.meshgate.egress_sni.default' : 'wasmcustom.meshgate.egress_sni.invalid_request')).toBe(1);
  });

  it('case and one trailing dot: WWW.Stripe.COM. is judged and resolved as www.stripe.com', async () => {
    const x = await exchange(stack, first(clientHello({ sni: 'WWW.Stripe.COM.' })));
    expect(x.entry.meshgate).toMatch(/^decision=allow rule=billing-to-stripe .* sni=www\.stripe\.com$/);
    expect(x.dns.map((q) => q.name)).toEqual(['www.stripe.com']);
    expect(x.entry.upstream).toBe('127.0.0.1:443');
    // The hello (fixed key share) reached the service as bytes; no handshake can complete.
    expect(x.accepted).toBe(1);
    expect(x.bytes).toBeGreaterThan(0);
  });

  it('defines every counter at configure time', async () => {
    const stats = await stack.envoy.stats();
    for (const name of ['allowed', 'denied', 'audit_would_deny', 'invalid_request', 'default', 'rule.billing-to-stripe']) {
      expect(stats).toHaveProperty([`wasmcustom.meshgate.egress_sni.${name}`]);
    }
    const text = await stack.envoy.statsText();
    expect(text).toMatch(/^wasmcustom\.meshgate\.egress_sni\.denied: \d+$/m);
  });
});

describe('SNI passthrough at a gateway (envoy/egress-sni-gateway.yaml, identity from the mTLS hop)', () => {
  let stack: EgressStack;
  beforeAll(async () => (stack = await startStack('egress-sni-gateway', GATEWAY_POLICY)), 180_000);
  afterAll(() => stack?.stop());

  /** The workload's mTLS hop to the gateway (outer SNI `outer`), then its own TLS inside. */
  const through = (caller: string | null, o: Omit<ProbeOptions, 'host' | 'port' | 'outerTls'>, outer?: string) => async () =>
    probe({ ...stack.sniEndpoint(443), outerTls: { ...(await stack.clientTls(caller)), servername: outer }, ...o });
  const handshake = (caller: string | null, servername: string, outer?: string) => through(caller, { handshake: { servername, ca: stack.ca.certPem } }, outer);

  it('billing → api.stripe.com: a real handshake end to end, peer = billing', async () => {
    const x = await exchange(stack, handshake(BILLING, 'api.stripe.com'));
    expect(x.res).toMatchObject({ handshook: true, closedByProxy: false });
    expect(x.dns.map((q) => q.name)).toEqual(['api.stripe.com']);
    expect(x.accepted).toBe(1);
    expect(x.received[0].servername).toBe('api.stripe.com');
    expect(x.entry).toMatchObject({ peer: BILLING, upstream: '127.0.0.1:443' });
    expect(x.entry.meshgate).toMatch(ALLOW(BILLING, 'api.stripe.com'));
  });

  it('the outer name is not the target: outer SNI evil.example, inner files.stripe.com → files.stripe.com is dialed', async () => {
    const x = await exchange(stack, handshake(BILLING, 'files.stripe.com', 'evil.example'));
    expect(x.res.handshook).toBe(true);
    // No TLS inspector on the gateway listener: Envoy records no server name at all, so the SNI
    // forward proxy has no outer name to fall back on.
    expect(x.entry).toMatchObject({ sni: null, upstream: '127.0.0.1:443' });
    expect(x.received[0].servername).toBe('files.stripe.com');
    expect(x.dns.map((q) => q.name)).toEqual(['files.stripe.com']);
  });

  const denials: Array<[string, () => () => Promise<ProbeResult>, string, string]> = [
    ['outer SNI api.stripe.com, inner evil.example', () => handshake(BILLING, 'evil.example', 'api.stripe.com'), 'default', BILLING],
    ['store → api.stripe.com', () => handshake(STORE, 'api.stripe.com'), 'default', STORE],
    ['no client certificate', () => handshake(null, 'api.stripe.com'), 'default', '-'],
    ['no inner SNI', () => handshake(BILLING, ''), 'no_sni', BILLING],
    ['not TLS inside', () => through(BILLING, { first: Buffer.from('GET / HTTP/1.1\r\nHost: api.stripe.com\r\n\r\n') }), 'not_tls', BILLING],
  ];

  it.each(denials)('denied before any DNS query or connection: %s', async (_label, send, rule, identity) => {
    const x = await exchange(stack, send());
    expectNothingLeft(x);
    expect(x.entry.meshgate).toMatch(new RegExp(`^decision=deny rule=${rule} identity=${identity.replace(/[.*]/g, '\\$&')} policy=[0-9a-f]{12}`));
  });
});

describe('the SNI reference configs as written', () => {
  it.each(['egress-sni-sidecar', 'egress-sni-gateway'] as const)('envoy/%s.yaml: meshgate first, then the SNI forward proxy, its address guard, then tcp_proxy; nothing can change the destination', (role) => {
    const cfg = loadReferenceConfig(role);
    expect(networkFilters(cfg, role).map((f) => f.name)).toEqual([
      'envoy.filters.network.wasm',
      'envoy.filters.network.sni_dynamic_forward_proxy',
      'envoy.filters.network.rbac',
      'envoy.filters.network.tcp_proxy',
    ]);
    const [wasm, dfp, guard, tcp] = networkFilters(cfg, role).map((f) => f.typed_config as Json);
    expect(dfp.save_upstream_address).toBe(true);
    expect(guard.rules).toEqual(addressGuardRules({ grants: [] }));
    expect(wasm.config).toMatchObject({ root_id: 'meshgate_egress_sni', failure_policy: 'FAIL_CLOSED' });
    // tcp_proxy: one cluster, no tunneling, no per-connection cluster choice.
    expect(Object.keys(tcp).sort()).toEqual(['@type', 'access_log', 'cluster', 'max_early_data_bytes', 'stat_prefix']);
    expect(destinationKnobs(cfg)).toEqual([]);
    expect(JSON.stringify(cfg)).not.toContain('http_connection_manager');
    const clusters = (cfg.static_resources as Json).clusters as Json[];
    expect(clusters.map((c) => [c.name, (c.cluster_type as Json).name, c.transport_socket ?? null])).toEqual([['dfp_passthrough', 'envoy.clusters.dynamic_forward_proxy', null]]);
    // The filter and the cluster share one DNS cache.
    const sniDfp = networkFilters(cfg, role)[1].typed_config as Json;
    expect(((clusters[0].cluster_type as Json).typed_config as Json).dns_cache_config).toEqual(sniDfp.dns_cache_config);
    // The sidecar restores the original destination for its PORT only; the gateway listens per port.
    const listener = ((cfg.static_resources as Json).listeners as Json[])[0];
    const listenerFilters = ((listener.listener_filters as Json[] | undefined) ?? []).map((f) => f.name);
    expect(listenerFilters).toEqual(role === 'egress-sni-sidecar' ? ['envoy.filters.listener.original_dst', 'envoy.filters.listener.tls_inspector'] : []);
  });
});
