/**
 * The post-resolution guard on real Envoy, as the reference configs ship it (envoy/egress*.yaml:
 * the forward proxy saves the resolved address, an RBAC filter after it refuses non-public
 * addresses; harness/envoy/address-guard.ts). A name meshgate allowed that resolves to cloud
 * metadata (169.254.169.254), an RFC 1918 or a loopback address is refused after DNS answered and
 * before any dial — on every egress path: plain HTTP, TLS origination, CONNECT, SNI passthrough.
 * Proved by the status and response details (or the closed connection), the external services'
 * accept counts and the forward-proxy clusters' own connection counters. The harness's fake
 * external services live on 127.0.0.1, which the stack (and only the stack) treats as public
 * (FAKE_INTERNET); 127.0.0.2 stays guarded like any loopback address.
 */
import { EgressStack } from '../../harness/stack/egress';
import { exchange } from '../../harness/stack/exchange';
import { request, type ClientResponse } from '../../harness/services/client';
import { connectThrough } from '../../harness/services/tunnel';
import { probe } from '../../harness/services/tls-probe';
import { GUARD_POLICY } from '../../harness/envoy/address-guard';

const BILLING = 'spiffe://example.org/ns/shop/sa/billing';
const PLAIN = 18080;
const NAMES = ['public.example', 'metadata.example', 'ten.example', 'loopback.example'];
const ANSWERS = { 'metadata.example': '169.254.169.254', 'ten.example': '10.1.2.3', 'loopback.example': '127.0.0.2' };
const GUARDED = [
  ['cloud metadata 169.254.169.254', 'metadata.example'],
  ['RFC 1918 10.1.2.3', 'ten.example'],
  ['loopback 127.0.0.2', 'loopback.example'],
] as const;
const CLUSTERS = ['dfp_http', 'dfp_tcp', 'dfp_tls', 'dfp_passthrough'];

function policy(identity?: object) {
  return {
    trustDomain: 'example.org',
    ...(identity ? { identity } : {}),
    egress: { default: 'deny', rules: [{ name: 'billing-out', from: [BILLING], hosts: NAMES, ports: [443, PLAIN] }] },
  };
}

const dialed = (delta: (s: string) => number) => CLUSTERS.reduce((n, c) => n + delta(`cluster.${c}.upstream_cx_total`), 0);

describe('post-resolution guard at the egress gateway (envoy/egress.yaml)', () => {
  let stack: EgressStack;
  beforeAll(async () => {
    stack = await EgressStack.start({ policyJson: JSON.stringify(policy()), trustDomain: 'example.org', names: ['public.example'], answers: ANSWERS, ports: [443, PLAIN], plainPorts: [PLAIN] });
  }, 180_000);
  afterAll(() => stack?.stop());

  const plain = (host: string) => async () =>
    request({ port: stack.port, tls: await stack.clientTls(BILLING), path: `http://${host}:${PLAIN}/x`, headers: { host: `${host}:${PLAIN}` } });
  const origination = (host: string) => async () =>
    request({ port: stack.port, tls: await stack.clientTls(BILLING), path: '/x', headers: { host } });
  const tunnel = (host: string) => async (): Promise<ClientResponse> =>
    (await connectThrough({ proxyPort: stack.port, proxyTls: await stack.clientTls(BILLING), target: `${host}:443`, innerServername: host, innerCa: stack.ca.certPem })).connect;

  test.each([
    ['plain HTTP', plain],
    ['TLS origination', origination],
    ['CONNECT', tunnel],
  ])('%s to the fake internet (127.0.0.1) goes out', async (_path, send) => {
    const x = await exchange(stack, send('public.example'));
    expect(x.res.status).toBe(200);
    expect(x.accepted).toBe(1);
  });

  describe.each([
    ['plain HTTP', plain],
    ['TLS origination', origination],
  ])('%s', (_path, send) => {
    test.each(GUARDED)('%s: resolved, then refused before any dial', async (_what, host) => {
      const x = await exchange(stack, send(host));
      expect(x.res.status).toBe(403);
      expect(x.entry.details).toBe(`rbac_access_denied_matched_policy[${GUARD_POLICY}]`);
      // meshgate allowed it: the guard, not the policy filter, refused the address
      expect(x.entry.meshgate).toMatch(/^decision=allow rule=billing-out /);
      // asked once per host:port (Envoy's DNS cache key): CONNECT reuses TLS origination's answer
      expect(x.dns.map((q) => q.name)).toEqual(x.dns.length ? [host] : []);
      expect(dialed(x.delta)).toBe(0);
      expect(x.accepted).toBe(0);
      expect(x.delta('http.egress.rbac.meshgate_address_guard.denied')).toBe(1);
    });
  });
  // A CONNECT's 200 comes from the internal listener (nothing resolved yet); the host is resolved
  // on the tunnel's exit once the first bytes passed meshgate, and the guard there closes the tunnel.
  test.each(GUARDED)('CONNECT %s: the 200, then resolved on the exit and closed before any dial', async (_what, host) => {
    const exits = stack.tunnelLog().length;
    const x = await exchange(stack, tunnel(host));
    expect(x.res.status).toBe(200);
    expect(x.entry.meshgate).toMatch(/^decision=allow rule=billing-out .* sni=/);
    expect(x.dns.map((q) => q.name)).toEqual(x.dns.length ? [host] : []);
    expect(dialed(x.delta)).toBe(0);
    expect(x.accepted).toBe(0);
    expect(x.delta('http.egress.rbac.meshgate_address_guard.denied')).toBe(0);
    expect(x.delta('meshgate_address_guard.rbac.denied')).toBe(1);
    await waitFor(() => stack.tunnelLog().length > exits);
    expect(stack.tunnelLog()[exits]).toMatchObject({ termination: `rbac_access_denied_matched_policy[${GUARD_POLICY}]`, upstream: null });
  });
});

async function waitFor(ok: () => boolean): Promise<void> {
  for (let i = 0; i < 150 && !ok(); i++) await new Promise((r) => setTimeout(r, 20));
  expect(ok()).toBe(true);
}

describe('post-resolution guard in SNI passthrough (envoy/egress-sni-sidecar.yaml)', () => {
  let stack: EgressStack;
  beforeAll(async () => {
    stack = await EgressStack.start({
      role: 'egress-sni-sidecar', policyJson: JSON.stringify(policy({ from: 'local', id: BILLING })), trustDomain: 'example.org',
      names: ['public.example'], answers: ANSWERS, ports: [443],
    });
  }, 180_000);
  afterAll(() => stack?.stop());

  const handshake = (servername: string) => () => probe({ ...stack.sniEndpoint(443), handshake: { servername, ca: stack.ca.certPem } });

  test('a name on the fake internet: the handshake completes', async () => {
    const x = await exchange(stack, handshake('public.example'));
    expect(x.res.handshook).toBe(true);
    expect(x.accepted).toBe(1);
  });

  test.each(GUARDED)('%s: resolved, then the connection is closed before any dial', async (_what, host) => {
    const x = await exchange(stack, handshake(host));
    expect(x.res).toMatchObject({ handshook: false, closedByProxy: true });
    expect(x.entry.meshgate).toMatch(new RegExp(`^decision=allow rule=billing-out .* sni=${host.replace(/\./g, '\\.')}$`));
    expect(x.dns.map((q) => q.name)).toEqual([host]);
    expect(dialed(x.delta)).toBe(0);
    expect(x.accepted).toBe(0);
    expect(x.entry.upstream).toBeNull();
    expect(x.entry.termination).toBe(`rbac_access_denied_matched_policy[${GUARD_POLICY}]`);
    const guardDenied = Object.keys(await stack.envoy.stats()).filter((k) => k.includes('meshgate_address_guard') && k.endsWith('.denied'));
    expect(guardDenied.reduce((n, k) => n + x.delta(k), 0)).toBe(1);
  });
});

describe('grants: a rule that names the private networks it may reach (privateAddresses)', () => {
  // Nothing is treated as public here: the fake external services on 127.0.0.1 are a loopback
  // address like any other, reachable only through a rule that grants it.
  let stack: EgressStack;
  const GRANTS = {
    trustDomain: 'example.org',
    egress: {
      default: 'deny',
      rules: [
        { name: 'ungranted', from: [BILLING], hosts: ['public.example'], ports: [443] },
        { name: 'loopback-granted', from: [BILLING], hosts: ['granted.example'], ports: [443], privateAddresses: ['127.0.0.1/32'] },
        { name: 'ten-granted', from: [BILLING], hosts: ['wrong-grant.example'], ports: [443], privateAddresses: ['10.0.0.0/8'] },
      ],
    },
  };
  beforeAll(async () => {
    stack = await EgressStack.start({ policyJson: JSON.stringify(GRANTS), trustDomain: 'example.org', names: ['public.example', 'granted.example', 'wrong-grant.example'], ports: [443], treatAsPublic: [] });
  }, 180_000);
  afterAll(() => stack?.stop());

  const get = (host: string) => async () => request({ port: stack.port, tls: await stack.clientTls(BILLING), path: '/x', headers: { host } });

  test('the granted rule reaches the service on 127.0.0.1', async () => {
    const x = await exchange(stack, get('granted.example'));
    expect(x.res.status).toBe(200);
    expect(x.accepted).toBe(1);
    expect(x.entry.meshgate).toMatch(/^decision=allow rule=loopback-granted /);
  });

  test('over CONNECT too: the tunnel exit carries the rule to the guard (wasm.meshgate)', async () => {
    const x = await exchange(stack, async () => connectThrough({ proxyPort: stack.port, proxyTls: await stack.clientTls(BILLING), target: 'granted.example:443', innerServername: 'granted.example', innerCa: stack.ca.certPem }));
    expect(x.res.inner?.status).toBe(200);
    expect(x.accepted).toBe(1);
    const refused = await exchange(stack, async () => connectThrough({ proxyPort: stack.port, proxyTls: await stack.clientTls(BILLING), target: 'wrong-grant.example:443', innerServername: 'wrong-grant.example', innerCa: stack.ca.certPem, timeoutMs: 3000 }).catch((e: Error) => e));
    expect(refused.accepted).toBe(0);
  });

  test.each([
    ['a rule without grants', 'public.example', GUARD_POLICY],
    ['a rule granting 10.0.0.0/8 only', 'wrong-grant.example', `${GUARD_POLICY}.ten-granted`],
  ])('%s: refused before any dial', async (_what, host, policyName) => {
    const x = await exchange(stack, get(host));
    expect(x.res.status).toBe(403);
    expect(x.entry.details).toBe(`rbac_access_denied_matched_policy[${policyName}]`);
    expect(dialed(x.delta)).toBe(0);
    expect(x.accepted).toBe(0);
  });
});
