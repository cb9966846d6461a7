/**
 * The SNI inside CONNECT tunnels, and authority hygiene, on the reference egress configs in real
 * Envoy (envoy/egress.yaml, the mTLS gateway; envoy/egress-sidecar.yaml, plain text on loopback).
 *
 * After an allowed CONNECT, meshgate_egress reads the tunnel's first bytes (request body
 * callbacks) and lets them through only if they are a ClientHello whose SNI is the CONNECT host.
 * The CONNECT route's cluster is Envoy's internal listener `tunnel_exit`: Envoy connects there
 * before it answers 200, which costs no DNS query and no connection. Only a tunnel whose first
 * bytes passed reaches the exit (meshgate_tunnel_exit), which resolves and dials the judged host.
 * So a refused tunnel costs 0 DNS queries and 0 upstream connections, like any other refusal.
 *
 * Authority hygiene: `strip_trailing_host_dot` removes one trailing dot before the filter runs;
 * the filter ignores one more only if the result is still a valid name, so `api.stripe.com..`
 * (an empty label) is refused as an invalid request while `api.stripe.com.` is allowed.
 */
import { EgressStack } from '../../harness/stack/egress';
import { exchange } from '../../harness/stack/exchange';
import { connectThrough, h2ConnectThrough, type ConnectResult } from '../../harness/services/tunnel';
import { clientHello } from '../../harness/tls/client-hello';
import type { Entry } from '../../harness/stack/exchange';

const BILLING = 'spiffe://example.org/ns/shop/sa/billing';
const WASM = process.env.MESHGATE_WASM;
/** Each refusal targets a name of its own, answered by the DNS server but never asked before: a
 *  dial before the 200 would show as a query for it (nothing cached). */
const REFUSED = ['fronted', 'other', 'nosni', 'ech', 'plain', 'h2'].map((n) => `${n}.stripe.com`);
/** What would move if the tunnel's host were resolved or dialed. */
const TUNNEL_ACTIVITY = ['dns_cache.egress_dns.dns_query_attempt', 'dns_cache.egress_dns.host_added', 'cluster.dfp_tcp.upstream_cx_total'];

/** The tunnel exit's connection log entry written after `before` entries (the exit logs when the
 *  tunnel's internal connection ends, which may come after the CONNECT's own entry). */
async function tunnelEntry(stack: EgressStack, before: number): Promise<Entry> {
  for (let i = 0; i < 150; i++) {
    const log = stack.tunnelLog();
    if (log.length > before) return log[before] as Entry;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`no tunnel_exit log entry\n${stack.envoy.logTail()}`);
}
const EGRESS = {
  default: 'deny',
  rules: [
    { name: 'billing-to-stripe', from: [BILLING], hosts: ['api.stripe.com', '*.stripe.com'], ports: [443] },
    { name: 'billing-to-legacy', from: [BILLING], hosts: ['legacy.example'], ports: [443], tunnel: 'any' },
  ],
};

describe.each([
  ['egress', { trustDomain: 'example.org', egress: EGRESS }],
  ['egress-sidecar', { trustDomain: 'example.org', identity: { from: 'local', id: BILLING }, egress: EGRESS }],
] as const)('CONNECT tunnels through envoy/%s.yaml', (role, policy) => {
  let stack: EgressStack;
  beforeAll(async () => {
    stack = await EgressStack.start({
      role,
      policyJson: JSON.stringify(policy),
      trustDomain: 'example.org',
      names: ['api.stripe.com', 'files.stripe.com', 'evil.example', 'legacy.example', 'big.stripe.com', ...REFUSED],
      ports: [443],
      wasmFile: WASM,
    });
  }, 180_000);
  afterAll(() => stack?.stop());

  const tunnel = (target: string, inner: { servername?: string; first?: Buffer }) => async (): Promise<ConnectResult> =>
    connectThrough({
      proxyPort: stack.port,
      proxyTls: role === 'egress' ? await stack.clientTls(BILLING) : undefined,
      target,
      innerServername: inner.servername ?? '',
      innerFirst: inner.first,
      innerCa: stack.ca.certPem,
      timeoutMs: 4000,
    });

  it('matching inner SNI: the workload handshakes with the service through the tunnel exit', async () => {
    const before = stack.tunnelLog().length;
    const x = await exchange(stack, tunnel('api.stripe.com:443', { servername: 'api.stripe.com' }));
    expect(x.res.connect.status).toBe(200);
    expect(x.res.inner?.status).toBe(200); // both ways: handshake, request and response
    expect(x.received[0].servername).toBe('api.stripe.com');
    expect(x.entry.meshgate).toMatch(/^decision=allow rule=billing-to-stripe .* sni=api\.stripe\.com$/);
    expect(x.entry.upstream).toBe('envoy://tunnel_exit/');
    expect(x.delta('cluster.dfp_tcp.upstream_cx_total')).toBe(1);
    // the exit dialed the judged host and logged the tunnel with the stream's record
    const exit = await tunnelEntry(stack, before);
    expect(exit.upstream).toBe('127.0.0.1:443');
    expect(exit.meshgate).toBe(x.entry.meshgate);
  });

  it('the tunnel exit has no socket address: only Envoy itself can write to it (so its line cannot be forged)', async () => {
    const body = JSON.parse(await stack.envoy.admin('GET', '/listeners?format=json')) as {
      listener_statuses: Array<{ name: string; local_address?: Record<string, unknown> }>;
    };
    const exit = body.listener_statuses.find((l) => l.name === 'tunnel_exit');
    expect(exit?.local_address).toEqual({ envoy_internal_address: { server_listener_name: 'tunnel_exit' } });
    await expect(stack.envoy.listenerPort('tunnel_exit')).rejects.toThrow(/no listener "tunnel_exit"/);
  });

  it('a first flight larger than one TLS record (> 16 KiB) reaches the service byte for byte', async () => {
    const hello = clientHello({ sni: 'big.stripe.com', padTo: 20_000 });
    expect(hello.length).toBeGreaterThan(16_384 + 5);
    const x = await exchange(stack, tunnel('big.stripe.com:443', { first: hello }));
    expect(x.res.connect.status).toBe(200);
    expect(x.entry.meshgate).toMatch(/^decision=allow rule=billing-to-stripe .* sni=big\.stripe\.com$/);
    expect(x.accepted).toBe(1);
    expect(x.bytes).toBe(hello.length); // the exit's line was stripped, nothing else
  });

  it('matching ignores case and one trailing dot on either side', async () => {
    const x = await exchange(stack, tunnel('API.stripe.com:443', { first: clientHello({ sni: 'api.STRIPE.com.' }) }));
    expect(x.res.connect.status).toBe(200);
    expect(x.entry.meshgate).toMatch(/^decision=allow rule=billing-to-stripe /);
    expect(x.bytes).toBeGreaterThan(0); // the hello went through
  });

  const refusals: Array<[string, string, Buffer, string, string]> = [
    ['mismatched inner SNI (domain fronting)', 'fronted.stripe.com:443', clientHello({ sni: 'evil.example' }), 'tunnel_sni_mismatch', 'evil.example'],
    ['inner SNI of another allowed name', 'other.stripe.com:443', clientHello({ sni: 'api.stripe.com' }), 'tunnel_sni_mismatch', 'api.stripe.com'],
    ['no inner SNI', 'nosni.stripe.com:443', clientHello({ sni: null }), 'tunnel_no_sni', '-'],
    ['inner ECH', 'ech.stripe.com:443', clientHello({ sni: 'ech.stripe.com', ech: true }), 'tunnel_ech', 'ech.stripe.com'],
    ['plain text inside', 'plain.stripe.com:443', Buffer.from('GET / HTTP/1.1\r\nHost: plain.stripe.com\r\n\r\n'), 'tunnel_not_tls', '-'],
  ];

  it.each(refusals)('%s: the tunnel is reset — 0 DNS queries, 0 upstream connections, 0 bytes', async (_label, target, first, rule, sni) => {
    const x = await exchange(stack, tunnel(target, { first }));
    expect(x.res.connect.status).toBe(200);
    expect(x.res.tunnel).toEqual({ closed: true, bytesReceived: 0 });
    // The 200 came from Envoy's internal listener: the CONNECT host was never resolved or dialed.
    expect(x.dns).toEqual([]);
    expect(x.accepted).toBe(0);
    expect(x.bytes).toBe(0);
    for (const stat of TUNNEL_ACTIVITY) expect([stat, x.delta(stat)]).toEqual([stat, 0]);
    expect(x.entry.meshgate).toMatch(new RegExp(`^decision=deny rule=${rule} identity=${BILLING} policy=[0-9a-f]{12} sni=${sni.replace(/\./g, '\\.')}$`));
    expect(x.delta('wasmcustom.meshgate.egress.tunnel_denied')).toBe(1);
  });

  it('an allowed host that does not resolve: the 200 (from the internal listener), then the tunnel closes', async () => {
    const exits = stack.tunnelLog().length;
    const x = await exchange(stack, tunnel('gone.stripe.com:443', { first: clientHello({ sni: 'gone.stripe.com' }) }));
    expect(x.res.connect.status).toBe(200);
    expect(x.res.tunnel).toEqual({ closed: true, bytesReceived: 0 });
    expect(x.entry.meshgate).toMatch(/^decision=allow rule=billing-to-stripe .* sni=gone\.stripe\.com$/);
    expect(x.dns.map((q) => q.name)).toContain('gone.stripe.com'); // asked on the exit, after the check
    expect(x.accepted).toBe(0);
    const exit = await tunnelEntry(stack, exits);
    expect(exit).toMatchObject({ upstream: null, bytes_sent: 0 });
  });

  it('a real TLS client whose SNI differs from the CONNECT host gets no handshake', async () => {
    const x = await exchange(stack, () => tunnel('files.stripe.com:443', { servername: 'evil.example' })().catch((e: Error) => e));
    // Either the client reports the reset, or the tunnel ends with no response at all.
    expect(x.res instanceof Error ? 0 : (x.res.inner?.status ?? 0)).toBe(0);
    expect(x.bytes).toBe(0);
    expect(x.connections).toBe(0);
    expect(x.entry.meshgate).toMatch(/^decision=deny rule=tunnel_sni_mismatch .* sni=evil\.example$/);
  });

  it('a rule with `tunnel: any` lets plain text through, but still checks a ClientHello', async () => {
    const plain = await exchange(stack, tunnel('legacy.example:443', { first: Buffer.from('HELLO\r\n') }));
    expect(plain.res.connect.status).toBe(200);
    expect(plain.bytes).toBeGreaterThanOrEqual(7);
    const fronted = await exchange(stack, tunnel('legacy.example:443', { first: clientHello({ sni: 'evil.example' }) }));
    expect(fronted.res.tunnel).toEqual({ closed: true, bytesReceived: 0 });
    expect(fronted.bytes).toBe(0);
  });

  it('authority hygiene: CONNECT api.stripe.com.:443 is allowed (strip_trailing_host_dot removes the dot before the filter)', async () => {
    const oneDot = await exchange(stack, tunnel('api.stripe.com.:443', { servername: 'api.stripe.com' }));
    expect(oneDot.res.connect.status).toBe(200);
    expect(oneDot.entry.authority).toBe('api.stripe.com:443');
    expect(oneDot.entry.upstream).toBe('envoy://tunnel_exit/');
    expect(oneDot.dns.filter((q) => q.name.endsWith('.'))).toEqual([]); // (api.stripe.com may be cached)
  });

  it('authority hygiene: CONNECT api.stripe.com..:443 (an empty label once Envoy stripped one dot) is refused before DNS', async () => {
    const twoDots = await exchange(stack, tunnel('api.stripe.com..:443', { servername: 'api.stripe.com' }));
    expect(twoDots.entry.authority).toBe('api.stripe.com.:443');
    expect(twoDots.res.connect.status).toBe(403);
    expect(twoDots.entry.meshgate).toMatch(/^decision=deny rule=bad_host /);
    expect(twoDots.dns).toEqual([]);
    expect(twoDots.accepted).toBe(0);
    expect(twoDots.delta('wasmcustom.meshgate.egress.invalid_request')).toBe(1);
  });
});

describe('HTTP/2 CONNECT through envoy/egress-sidecar.yaml (prior knowledge on the plain listener)', () => {
  let stack: EgressStack;
  beforeAll(async () => {
    stack = await EgressStack.start({
      role: 'egress-sidecar',
      policyJson: JSON.stringify({ trustDomain: 'example.org', identity: { from: 'local', id: BILLING }, egress: EGRESS }),
      trustDomain: 'example.org',
      names: ['api.stripe.com', 'files.stripe.com', 'evil.example', ...REFUSED],
      ports: [443],
      wasmFile: WASM,
    });
  }, 180_000);
  afterAll(() => stack?.stop());

  const h2 = (target: string, first: Buffer) => () => h2ConnectThrough({ proxyPort: stack.port, target, innerFirst: first, timeoutMs: 3000 });

  it('the tunnel bytes reach the filter as DATA on the stream: a matching ClientHello goes through', async () => {
    const x = await exchange(stack, h2('files.stripe.com:443', clientHello({ sni: 'files.stripe.com' })));
    expect(x.res.status).toBe(200);
    expect(x.entry.meshgate).toMatch(/^decision=allow rule=billing-to-stripe .* sni=files\.stripe\.com$/);
    expect(x.bytes).toBeGreaterThan(0);
  });

  it('a mismatched inner SNI: the stream is reset — 0 DNS queries, 0 upstream connections, 0 bytes', async () => {
    const x = await exchange(stack, h2('h2.stripe.com:443', clientHello({ sni: 'evil.example' })));
    expect(x.res.status).toBe(200);
    expect(x.res.tunnel).toMatchObject({ closed: true, bytesReceived: 0 });
    expect(x.res.tunnel!.rstCode).not.toBe(0);
    expect(x.dns).toEqual([]);
    expect(x.accepted).toBe(0);
    expect(x.bytes).toBe(0);
    for (const stat of TUNNEL_ACTIVITY) expect([stat, x.delta(stat)]).toEqual([stat, 0]);
    expect(x.entry.meshgate).toMatch(/^decision=deny rule=tunnel_sni_mismatch .* sni=evil\.example$/);
  });

  it('missing SNI and non-TLS first bytes: reset the same way, nothing resolved or dialed', async () => {
    for (const first of [clientHello({ sni: null }), Buffer.from('HELLO\r\n')]) {
      const x = await exchange(stack, h2('h2.stripe.com:443', first));
      expect(x.res.tunnel).toMatchObject({ closed: true, bytesReceived: 0 });
      expect(x.dns).toEqual([]);
      expect(x.accepted).toBe(0);
      for (const stat of TUNNEL_ACTIVITY) expect([stat, x.delta(stat)]).toEqual([stat, 0]);
      expect(x.entry.meshgate).toMatch(/^decision=deny rule=tunnel_(no_sni|not_tls) /);
    }
  });
});
