/**
 * meshgate_egress in a real egress gateway (envoy/egress.yaml, envoy/egress-sidecar.yaml) with
 * real DNS resolution through the harness DNS server and fake external services.
 *
 * 1. The filter runs before the dynamic forward proxy: a denied request causes no DNS query, no
 *    DNS-cache activity and no upstream connection — while the same request allowed causes exactly
 *    one query for the judged name and a TLS connection whose SNI and certificate are that name.
 *    Counters (`wasmcustom.meshgate.egress.*`), the access log's `meshgate` field and
 *    `details: meshgate_denied[...]` say why.
 * 2. What Envoy does around the filter, each point pinned here and written up in
 *    docs/egress-behaviour.md ("pinned by: <test name>"): how absolute-form URIs and CONNECT
 *    targets become :authority, :scheme on each listener, duplicate Host, strip_trailing_host_dot,
 *    how the dynamic forward proxy treats IP literal forms, SNI/SAN, ports. Those run against an
 *    audit-mode gateway (the filter decides and logs but never blocks) so Envoy's own behaviour
 *    shows; the emulator's front model (harness/scenario/targets/emulator.ts) is checked against
 *    the same requests.
 * 3. The reference configs as written: filter order, nothing after meshgate that can change the
 *    destination, TLS origination that follows the judged name.
 */
import * as http2 from 'node:http2';
import { EgressStack } from '../../harness/stack/egress';
import { addressGuardRules } from '../../harness/envoy/address-guard';
import { exchange } from '../../harness/stack/exchange';
import { request, rawRequest, parseRawResponse, type ClientResponse } from '../../harness/services/client';
import { connectThrough } from '../../harness/services/tunnel';
import { destinationKnobs, loadReferenceConfig, httpFilters, hcmOf } from '../../harness/envoy/reference';
import type { Json } from '../../harness/envoy/bootstrap';
import { egressFront, egressDelivery } from '../../harness/scenario/targets/emulator';
import type { ScenarioRequest } from '../../harness/scenario/types';

const BILLING = 'spiffe://example.org/ns/shop/sa/billing';
const STORE = 'spiffe://example.org/ns/shop/sa/store';

const SHOP = {
  trustDomain: 'example.org',
  egress: {
    default: 'deny',
    rules: [
      { name: 'billing-to-stripe', from: [BILLING], hosts: ['api.stripe.com', '*.stripe.com'], ports: [443] },
      { name: 'try-store-to-stripe', mode: 'audit', from: [STORE], hosts: ['api.stripe.com'] },
    ],
  },
};

function get(stack: EgressStack, spiffeId: string | null, host: string, path = '/', scheme?: 'http' | 'https') {
  return async () =>
    request({ port: stack.port, tls: await stack.clientTls(spiffeId), path: scheme ? `${scheme}://${host}${path}` : path, headers: { host } });
}

function raw(stack: EgressStack, spiffeId: string | null, bytes: string) {
  return async () => parseRawResponse(await rawRequest({ port: stack.port, tls: await stack.clientTls(spiffeId), bytes }));
}

function connect(stack: EgressStack, spiffeId: string | null, target: string, headers?: Record<string, string>) {
  return async () => {
    const r = await connectThrough({
      proxyPort: stack.port,
      proxyTls: await stack.clientTls(spiffeId),
      target,
      headers,
      innerServername: target.replace(/:\d+$/, ''),
      innerCa: stack.ca.certPem,
    });
    return r.connect.status === 200 && r.inner ? r.inner : r.connect;
  };
}

/** Every Envoy stat that moves when the dynamic forward proxy resolves or dials anything. */
const ENVOY_ACTIVITY = [
  'dns_cache.egress_dns.dns_query_attempt',
  'dns_cache.egress_dns.host_added',
  'cluster.dfp_tls.upstream_cx_total',
  'cluster.dfp_http.upstream_cx_total',
  'cluster.dfp_tcp.upstream_cx_total',
];

describe('meshgate_egress runs before the dynamic forward proxy (envoy/egress.yaml, shop policy)', () => {
  let stack: EgressStack;

  beforeAll(async () => {
    stack = await EgressStack.start({
      policyJson: JSON.stringify(SHOP),
      trustDomain: 'example.org',
      names: ['api.stripe.com', 'evil.example', 'a.b.stripe.com'],
      ports: [443, 8443, 80],
      plainPorts: [80],
    });
  }, 180_000);
  afterAll(() => stack?.stop());

  it('billing → api.stripe.com: one DNS query for exactly that name, a TLS connection with SNI = the name, counters and access log', async () => {
    const x = await exchange(stack, get(stack, BILLING, 'api.stripe.com', '/v1/charges'));
    expect(x.res.status).toBe(200);
    expect(x.res.body).toBe('upstream:external:443');
    expect(x.dns.map((q) => `${q.name}/${q.type}`)).toEqual(['api.stripe.com/A']);
    expect(x.connections).toBe(1);
    expect(x.received).toHaveLength(1);
    expect(x.received[0]).toMatchObject({ path: '/v1/charges', servername: 'api.stripe.com' });
    expect(x.received[0].headers.host).toBe('api.stripe.com');
    expect(x.entry).toMatchObject({ authority: 'api.stripe.com', scheme: 'https', status: 200, upstream: '127.0.0.1:443', details: 'via_upstream' });
    expect(x.entry.meshgate).toMatch(new RegExp(`^decision=allow rule=billing-to-stripe identity=${BILLING} policy=[0-9a-f]{12}$`));
    expect(x.delta('wasmcustom.meshgate.egress.allowed')).toBe(1);
    expect(x.delta('wasmcustom.meshgate.egress.rule.billing-to-stripe')).toBe(1);
    expect(x.delta('dns_cache.egress_dns.dns_query_attempt')).toBe(1);
    expect(x.delta('cluster.dfp_tls.upstream_cx_total')).toBe(1);
  });

  it('billing → a.b.stripe.com over CONNECT: the tunnel goes to the judged name and port', async () => {
    const x = await exchange(stack, connect(stack, BILLING, 'a.b.stripe.com:443'));
    expect(x.res.status).toBe(200);
    expect(x.dns.map((q) => q.name)).toEqual(['a.b.stripe.com']);
    expect(x.received).toHaveLength(1);
    expect(x.received[0].servername).toBe('a.b.stripe.com'); // the workload's own TLS, inside the tunnel
    // the CONNECT went to the internal listener; its exit dialed the judged name (the exit's log)
    expect(x.entry).toMatchObject({ method: 'CONNECT', authority: 'a.b.stripe.com:443', upstream: 'envoy://tunnel_exit/' });
    expect(x.delta('cluster.dfp_tcp.upstream_cx_total')).toBe(1);
  });

  const denials: Array<[string, (s: EgressStack) => () => Promise<ClientResponse>, string, string]> = [
    ['store → api.stripe.com (TLS origination)', (s) => get(s, STORE, 'api.stripe.com'), 'default', STORE],
    ['store → api.stripe.com (absolute-form)', (s) => get(s, STORE, 'api.stripe.com', '/', 'https'), 'default', STORE],
    ['store → api.stripe.com (CONNECT)', (s) => connect(s, STORE, 'api.stripe.com:443'), 'default', STORE],
    ['billing → evil.example', (s) => get(s, BILLING, 'evil.example'), 'default', BILLING],
    ['billing → evil.example (CONNECT)', (s) => connect(s, BILLING, 'evil.example:443'), 'default', BILLING],
    ['billing → api.stripe.com:8443', (s) => get(s, BILLING, 'api.stripe.com:8443'), 'default', BILLING],
    ['billing → http://api.stripe.com (port 80)', (s) => get(s, BILLING, 'api.stripe.com', '/', 'http'), 'default', BILLING],
    ['billing → 0177.0.0.1 (Envoy would dial 177.0.0.1)', (s) => get(s, BILLING, '0177.0.0.1'), 'ambiguous_ip', BILLING],
    ['no client certificate → api.stripe.com', (s) => get(s, null, 'api.stripe.com'), 'default', '-'],
  ];

  it.each(denials)('denied before any DNS query or connection: %s', async (_label, send, rule, identity) => {
    const x = await exchange(stack, send(stack));
    expect(x.res.status).toBe(403);
    expect(x.res.body).toBe('meshgate: access denied\n');
    expect(x.dns).toEqual([]);
    expect(x.connections).toBe(0);
    expect(x.received).toEqual([]);
    for (const stat of ENVOY_ACTIVITY) expect([stat, x.delta(stat)]).toEqual([stat, 0]);
    expect(x.entry.details).toBe(`meshgate_denied[${rule}]`);
    expect(x.entry.upstream).toBeNull();
    // an unauthenticated caller's record also says why (identity_reason, docs/internals.md §3)
    const why = identity === '-' ? ' identity_reason=[a-z_]+' : '';
    expect(x.entry.meshgate).toMatch(new RegExp(`^decision=deny rule=${rule} identity=${identity.replace(/[.*]/g, '\\$&')} policy=[0-9a-f]{12}${why}$`));
    expect(x.delta('wasmcustom.meshgate.egress.denied')).toBe(1);
    expect(x.delta(rule === 'default' ? 'wasmcustom.meshgate.egress.default' : 'wasmcustom.meshgate.egress.invalid_request')).toBe(1);
  });

  it('a client-supplied XFCC naming billing is ignored: the gateway judges its direct peer', async () => {
    const x = await exchange(stack, async () =>
      request({
        port: stack.port,
        tls: await stack.clientTls(STORE),
        headers: { host: 'api.stripe.com', 'x-forwarded-client-cert': `By=spiffe://example.org/ns/egress/sa/gateway;URI=${BILLING}` },
      }),
    );
    expect(x.res.status).toBe(403);
    expect(x.entry.meshgate).toContain(`identity=${STORE}`);
    expect(x.dns).toEqual([]);
  });

  it('counts an audit rule that matched without changing the outcome', async () => {
    const x = await exchange(stack, get(stack, STORE, 'api.stripe.com'));
    expect(x.res.status).toBe(403);
    expect(x.delta('wasmcustom.meshgate.egress.rule.try-store-to-stripe')).toBe(1);
    expect(x.delta('wasmcustom.meshgate.egress.default')).toBe(1);
  });

  it('defines every counter at configure time, logs the policy digest and explains a default deny', async () => {
    await exchange(stack, get(stack, STORE, 'api.stripe.com'));
    const stats = await stack.envoy.stats();
    for (const name of ['allowed', 'denied', 'audit_would_deny', 'invalid_request', 'default', 'rule.billing-to-stripe', 'rule.try-store-to-stripe']) {
      expect(stats).toHaveProperty([`wasmcustom.meshgate.egress.${name}`]);
    }
    expect(stats['wasmcustom.meshgate.egress.audit_would_deny']).toBe(0);
    // The Envoy stats the denial tests watch exist (a missing one would make "unchanged" vacuous).
    for (const stat of ENVOY_ACTIVITY) expect(stats).toHaveProperty([stat]);
    expect(stack.envoy.logs()).toMatch(/meshgate_egress policy [0-9a-f]{12} rules=2 \(deny=0 allow=1 audit=1\)/);
    expect(stack.envoy.logs()).toMatch(/decision=deny rule=default identity=spiffe:\/\/example.org\/ns\/shop\/sa\/store .*nearest=billing-to-stripe failed_field=from/);
  });
});

/**
 * An audit-mode gateway: the filter decides and logs (the access log's `meshgate` field shows what
 * it judged) but never blocks, so what Envoy itself does with each request shows.
 */
describe('what Envoy does around the filter (envoy/egress.yaml, global audit mode)', () => {
  let stack: EgressStack;
  const AUDIT = { trustDomain: 'example.org', mode: 'audit', egress: { default: 'deny', rules: [] } };

  beforeAll(async () => {
    stack = await EgressStack.start({
      policyJson: JSON.stringify(AUDIT),
      trustDomain: 'example.org',
      names: ['api.stripe.com', 'evil.example', 'a.b.stripe.com'],
      uncertifiedNames: ['nocert.example'],
      ports: [443, 80],
      plainPorts: [80],
    });
  }, 180_000);
  afterAll(() => stack?.stop());

  const send = (bytes: string) => exchange(stack, raw(stack, BILLING, bytes));
  const GET = (target: string, ...hosts: string[]) => `GET ${target} HTTP/1.1\r\n${hosts.map((h) => `Host: ${h}\r\n`).join('')}Connection: close\r\n\r\n`;

  it('origin-form on the TLS listener: :scheme is https, so TLS origination with SNI = the Host name', async () => {
    const x = await send(GET('/v1', 'api.stripe.com'));
    expect(x.entry).toMatchObject({ scheme: 'https', authority: 'api.stripe.com', upstream: '127.0.0.1:443' });
    expect(x.received[0]).toMatchObject({ servername: 'api.stripe.com' });
  });

  it('absolute-form: the URI authority becomes :authority and replaces Host; :scheme comes from the URI', async () => {
    const x = await send(GET('http://api.stripe.com/v1', 'evil.example'));
    expect(x.entry).toMatchObject({ scheme: 'http', authority: 'api.stripe.com', path: '/v1', upstream: '127.0.0.1:80' });
    expect(x.received.map((r) => r.headers.host)).toEqual(['api.stripe.com']);
    expect(x.dns.map((q) => q.name)).not.toContain('evil.example');
  });

  it('absolute-form: the scheme is matched in any case and lower-cased', async () => {
    const x = await send(GET('HTTP://api.stripe.com/v1', 'api.stripe.com'));
    expect(x.entry).toMatchObject({ scheme: 'http', upstream: '127.0.0.1:80' });
  });

  it('absolute-form: userinfo is dropped before the filter sees :authority', async () => {
    const x = await send(GET('https://api.stripe.com@evil.example/v1', 'api.stripe.com'));
    expect(x.entry).toMatchObject({ authority: 'evil.example' });
    expect(x.received.map((r) => r.headers.host)).toEqual(['evil.example']);
  });

  it('CONNECT: the request target becomes :authority; Host is ignored', async () => {
    const x = await exchange(stack, connect(stack, BILLING, 'api.stripe.com:443', { host: 'evil.example:443' }));
    expect(x.entry).toMatchObject({ method: 'CONNECT', authority: 'api.stripe.com:443', upstream: 'envoy://tunnel_exit/' });
    expect(x.received).toHaveLength(1);
    expect(x.dns.map((q) => q.name)).not.toContain('evil.example');
  });

  it('duplicate Host lines are joined with "," into one :authority (empty values skipped)', async () => {
    const x = await send(GET('/v1', 'api.stripe.com', 'evil.example'));
    expect(x.entry).toMatchObject({ authority: 'api.stripe.com,evil.example' });
    expect(x.entry.meshgate).toMatch(/^decision=audit_deny rule=bad_label /);
    const y = await send(GET('/v1', 'api.stripe.com', ''));
    expect(y.entry).toMatchObject({ authority: 'api.stripe.com', status: 200 });
  });

  it('strip_trailing_host_dot removes one trailing dot (also before a port) before the filter; names keep their case', async () => {
    const x = await send(GET('/v1', 'API.Stripe.COM.'));
    expect(x.entry).toMatchObject({ authority: 'API.Stripe.COM', status: 200 });
    expect(x.received[0].servername).toBe('API.Stripe.COM'); // SAN validation compares case-insensitively
    const y = await send(GET('/v1', 'api.stripe.com.:443'));
    expect(y.entry).toMatchObject({ authority: 'api.stripe.com:443', status: 200 });
    const z = await send(GET('/v1', 'api.stripe.com..'));
    expect(z.entry).toMatchObject({ authority: 'api.stripe.com.', status: 503 });
    expect(String(z.entry.details)).toContain('CERTIFICATE_VERIFY_FAILED');
  });

  it('TLS origination verifies the certificate against the name it dials (also after sessions with other names)', async () => {
    const x = await send(GET('/v1', 'nocert.example'));
    expect(x.dns.map((q) => q.name)).toEqual(['nocert.example']);
    expect(x.entry).toMatchObject({ status: 503, upstream: '127.0.0.1:443' });
    expect(String(x.entry.details)).toMatch(/CERTIFICATE_VERIFY_FAILED.*expected_SANs:_\[nocert.example\]/);
    expect(x.received).toEqual([]);
  });

  it('the port judged is the port dialed: leading zeros read as decimal; plain http to 443 stays on 443', async () => {
    const x = await send(GET('/v1', 'api.stripe.com:0443'));
    expect(x.entry).toMatchObject({ authority: 'api.stripe.com:0443', status: 200, upstream: '127.0.0.1:443' });
    const y = await send(GET('http://api.stripe.com:443/v1', 'api.stripe.com'));
    expect(y.entry).toMatchObject({ scheme: 'http', status: 503, upstream: '127.0.0.1:443' });
  });

  it('the dynamic forward proxy dials a dotted quad as written, and reads leading zeros as DECIMAL (0177.0.0.1 → 177.0.0.1)', async () => {
    const x = await send(GET('/v1', '127.0.0.1'));
    expect(x.entry).toMatchObject({ status: 200, upstream: '127.0.0.1:443' });
    expect(x.dns).toEqual([]);
    const y = await send(GET('/v1', '0177.0.0.1'));
    expect(y.entry).toMatchObject({ upstream: '177.0.0.1:443' });
    expect(y.entry.meshgate).toMatch(/rule=ambiguous_ip /);
    expect(y.dns).toEqual([]);
  });

  it.each(['127.1', '0x7f000001', '2130706433'])('the dynamic forward proxy sends %s to DNS as a name', async (host) => {
    const x = await send(GET('/v1', host));
    // the name that was asked, once or more: the resolver asks again when a failing answer is
    // slow (seen on a loaded CI machine); what matters is that it went to DNS as a name
    expect([...new Set(x.dns.map((q) => q.name))]).toEqual([host]);
    expect(x.entry.status).toBe(503);
    expect(String(x.entry.details)).toMatch(/^dns_resolution_failure/);
    expect(x.entry.meshgate).toMatch(/rule=ambiguous_ip /);
  });

  it.each(['[::ffff:127.0.0.1]', '[::1]:443'])('the dynamic forward proxy cannot resolve a bracketed IPv6 authority (%s)', async (host) => {
    const x = await send(GET('/v1', host));
    expect(x.dns).toEqual([]);
    expect(x.entry).toMatchObject({ status: 503, details: 'dns_resolution_failure{cares_failure:Misformatted_domain_name}' });
  });

  /** Raw requests whose fate the emulator's front model must predict: status, or :authority and :scheme. */
  const FRONT: string[] = [
    GET('/v1', 'api.stripe.com'),
    GET('/v1', 'API.Stripe.COM.'),
    GET('/v1', 'api.stripe.com.:443'),
    GET('/v1', 'api.stripe.com', 'evil.example'),
    GET('/v1', 'api.stripe.com', ''),
    GET('/v1', ''),
    GET('/v1'),
    GET('/v1', 'api.stripe.com evil'),
    GET('/v1', 'b\u00fccher.de'),
    GET('/v1', 'user@api.stripe.com'),
    GET('https://api.stripe.com/v1', 'evil.example'),
    GET('https://api.stripe.com/v1', 'evil.example', 'other.example'),
    GET('HTTPS://API.stripe.com./v1', 'evil.example'),
    GET('http://user@api.stripe.com/v1', 'x'),
    GET('http://user@/v1', 'x'),
    GET('https:///v1', 'x'),
    GET('http://api.stripe.com:/v1', 'x'),
    GET('http://api.stripe.com:99999/v1', 'x'),
    GET('ftp://api.stripe.com/v1', 'x'),
    GET('http://api.stripe.com', 'x'),
    GET('http://api.stripe.com?x=1', 'x'),
    GET('//evil.example/v1', 'api.stripe.com'),
    'CONNECT api.stripe.com:443 HTTP/1.1\r\nHost: evil.example:443\r\n\r\n',
    'CONNECT api.stripe.com:443 HTTP/1.1\r\n\r\n',
    'CONNECT API.Stripe.COM.:443 HTTP/1.1\r\n\r\n',
    'CONNECT api.stripe.com HTTP/1.1\r\nHost: api.stripe.com:443\r\n\r\n',
    'CONNECT api.stripe.com: HTTP/1.1\r\n\r\n',
    'CONNECT api.stripe.com:99999 HTTP/1.1\r\n\r\n',
    'CONNECT user@api.stripe.com:443 HTTP/1.1\r\n\r\n',
    'GET /v1 HTTP/1.0\r\nHost: api.stripe.com\r\n\r\n',
    'GET /v1 HTTP/1.1\r\nHost: evil.example\r\n:authority: api.stripe.com\r\nConnection: close\r\n\r\n',
  ];

  it.each(FRONT)('the emulator front model predicts Envoy: %j', async (bytes) => {
    const req = { raw: bytes, headers: {}, method: 'GET', path: '/' } as unknown as ScenarioRequest;
    const model = egressFront(req, 'https');
    const x = await exchange(stack, async () => {
      // A CONNECT tunnel stays open until the client leaves: take the head of the answer and go.
      const text = await rawRequest({ port: stack.port, tls: await stack.clientTls(BILLING), bytes, timeoutMs: bytes.startsWith('CONNECT') ? 1000 : 5000 });
      return parseRawResponse(text);
    });
    if (!model.ok) {
      expect([x.res.status, x.entry.meshgate]).toEqual([model.status, null]);
      return;
    }
    expect({ authority: x.entry.authority, scheme: x.entry.scheme }).toEqual({ authority: model.authority, scheme: model.scheme });
    expect(x.entry.meshgate).not.toBeNull();
    if (egressDelivery(model)) expect(x.res.status).toBe(503);
  });
});

describe('the sidecar form (envoy/egress-sidecar.yaml, identity.from local)', () => {
  let stack: EgressStack;
  const SIDECAR = { ...SHOP, identity: { from: 'local', id: BILLING } };

  beforeAll(async () => {
    stack = await EgressStack.start({
      policyJson: JSON.stringify(SIDECAR),
      trustDomain: 'example.org',
      names: ['api.stripe.com', 'evil.example'],
      ports: [443, 80],
      plainPorts: [80],
      role: 'egress-sidecar',
    });
  }, 180_000);
  afterAll(() => stack?.stop());

  const plain = (bytes: string) => exchange(stack, async () => parseRawResponse(await rawRequest({ port: stack.port, bytes })));

  it('absolute-form https:// is TLS origination as the configured identity', async () => {
    const x = await plain('GET https://api.stripe.com/v1 HTTP/1.1\r\nHost: api.stripe.com\r\nConnection: close\r\n\r\n');
    expect(x.res.status).toBe(200);
    expect(x.entry).toMatchObject({ scheme: 'https', upstream: '127.0.0.1:443', peer: null });
    expect(x.entry.meshgate).toMatch(new RegExp(`^decision=allow rule=billing-to-stripe identity=${BILLING} `));
    expect(x.received[0].servername).toBe('api.stripe.com');
  });

  it('origin-form on the plain listener has :scheme http (port 80): denied before DNS', async () => {
    const x = await plain('GET /v1 HTTP/1.1\r\nHost: api.stripe.com\r\nConnection: close\r\n\r\n');
    expect(x.res.status).toBe(403);
    expect(x.entry).toMatchObject({ scheme: 'http', details: 'meshgate_denied[default]' });
    expect(x.dns).toEqual([]);
    expect(x.connections).toBe(0);
  });

  /** One HTTP/2 request with prior knowledge (the plain listener's codec detects the preface). */
  function h2(headers: http2.OutgoingHttpHeaders) {
    return async (): Promise<ClientResponse> =>
      new Promise((resolve, reject) => {
        const session = http2.connect(`http://127.0.0.1:${stack.port}`);
        session.on('error', reject);
        const r = session.request(headers);
        let status = 0;
        let body = '';
        r.on('response', (h) => (status = Number(h[':status'])));
        r.on('data', (c: Buffer) => (body += c.toString()));
        r.on('error', reject);
        r.on('close', () => {
          session.close();
          resolve({ status, headers: {}, body });
        });
        r.end();
      });
  }

  it('HTTP/2: :scheme decides the port the same way for the filter and the route, in any case', async () => {
    const tlsOrigination = await exchange(stack, h2({ ':method': 'GET', ':scheme': 'Https', ':authority': 'api.stripe.com', ':path': '/v1' }));
    expect(tlsOrigination.res.status).toBe(200);
    expect(tlsOrigination.entry).toMatchObject({ scheme: 'https', upstream: '127.0.0.1:443' });
    const plainHttp = await exchange(stack, h2({ ':method': 'GET', ':scheme': 'HTTP', ':authority': 'api.stripe.com', ':path': '/v1' }));
    expect(plainHttp.res.status).toBe(403);
    expect(plainHttp.entry).toMatchObject({ scheme: 'http', details: 'meshgate_denied[default]' });
    expect(plainHttp.dns).toEqual([]);
  });

  it('CONNECT works through the plain listener; evil.example is denied before DNS', async () => {
    const ok = await exchange(stack, async () => {
      const r = await connectThrough({ proxyPort: stack.port, target: 'api.stripe.com:443', innerServername: 'api.stripe.com', innerCa: stack.ca.certPem });
      return r.inner ?? r.connect;
    });
    expect(ok.res.status).toBe(200);
    expect(ok.received).toHaveLength(1);
    const no = await plain('CONNECT evil.example:443 HTTP/1.1\r\nHost: evil.example:443\r\n\r\n');
    expect(no.res.status).toBe(403);
    expect(no.dns).toEqual([]);
    expect(no.connections).toBe(0);
  });
});

describe('the reference configs as written', () => {
  it.each(['egress', 'egress-sidecar'] as const)('envoy/%s.yaml: meshgate first, then the dynamic forward proxy, its address guard, then the router; nothing can change the target', (role) => {
    const cfg = loadReferenceConfig(role);
    expect(httpFilters(cfg, role).map((f) => f.name)).toEqual([
      'envoy.filters.http.wasm',
      'envoy.filters.http.dynamic_forward_proxy',
      'envoy.filters.http.rbac',
      'envoy.filters.http.router',
    ]);
    // The guard as shipped: the resolved address saved, the rules address-guard.ts renders (no grants).
    const [, dfp, guard] = httpFilters(cfg, role).map((f) => f.typed_config as Json);
    expect(dfp.save_upstream_address).toBe(true);
    expect(guard.rules).toEqual(addressGuardRules({ grants: [] }));
    expect(destinationKnobs(cfg)).toEqual([]);
    const listener = ((cfg.static_resources as Json).listeners as Json[])[0];
    const hcm = hcmOf(listener, role);
    expect(hcm).toMatchObject({ strip_trailing_host_dot: true, forward_client_cert_details: 'SANITIZE', normalize_path: true });
    const wasm = (httpFilters(cfg, role)[0].typed_config as Json).config as Json;
    expect(wasm).toMatchObject({ root_id: 'meshgate_egress', failure_policy: 'FAIL_CLOSED' });
    // One DNS cache for the filter and every cluster (same name and settings).
    const caches = new Set<string>();
    const visit = (v: unknown): void => {
      if (Array.isArray(v)) v.forEach(visit);
      else if (v && typeof v === 'object') {
        const o = v as Json;
        if (o.dns_cache_config) caches.add(JSON.stringify(o.dns_cache_config));
        Object.values(o).forEach(visit);
      }
    };
    visit(cfg);
    expect(caches.size).toBe(1);
    const tlsCluster = ((cfg.static_resources as Json).clusters as Json[]).find((c) => c.name === 'dfp_tls') as Json;
    const opts = (tlsCluster.typed_extension_protocol_options as Json)['envoy.extensions.upstreams.http.v3.HttpProtocolOptions'] as Json;
    expect(opts.upstream_http_protocol_options).toEqual({ auto_sni: true, auto_san_validation: true });
  });

  it.each(['egress', 'egress-sidecar'] as const)('envoy/%s.yaml: CONNECT goes to the internal listener, whose exit holds, resolves the judged name, guards, then dials', (role) => {
    const cfg = loadReferenceConfig(role);
    const sr = cfg.static_resources as Json;
    const routes = ((hcmOf((sr.listeners as Json[])[0], role).route_config as Json).virtual_hosts as Json[]).flatMap((v) => v.routes as Json[]);
    expect(routes.find((r) => r.name === 'connect')?.route).toMatchObject({ cluster: 'tunnel_exit' });
    const cluster = (sr.clusters as Json[]).find((c) => c.name === 'tunnel_exit') as Json;
    expect(JSON.stringify(cluster.load_assignment)).toContain('{"envoy_internal_address":{"server_listener_name":"tunnel_exit"}}');
    expect((cfg.bootstrap_extensions as Json[]).map((e) => e.name)).toEqual(['envoy.bootstrap.internal_listener']);
    const exit = (sr.listeners as Json[]).find((l) => l.name === 'tunnel_exit') as Json;
    expect(exit.address).toBeUndefined();
    const filters = ((exit.filter_chains as Json[])[0].filters as Json[]).map((f) => ({ name: f.name, c: f.typed_config as Json }));
    expect(filters.map((f) => f.name)).toEqual([
      'envoy.filters.network.wasm',
      'envoy.filters.network.sni_dynamic_forward_proxy',
      'envoy.filters.network.rbac',
      'envoy.filters.network.tcp_proxy',
    ]);
    expect(filters[0].c.config).toMatchObject({ root_id: 'meshgate_tunnel_exit', failure_policy: 'FAIL_CLOSED', vm_config: { vm_id: 'meshgate' } });
    expect(filters[1].c.save_upstream_address).toBe(true);
    expect(filters[2].c.rules).toEqual(addressGuardRules({ grants: [] }));
    expect(filters[3].c).toMatchObject({ cluster: 'dfp_tcp', max_early_data_bytes: 65536 });
  });
});
