/**
 * meshgate_inbound in real Envoy (envoy/inbound.yaml + build/meshgate.wasm): decisions reach or
 * never reach the upstream, and every outcome of docs/design.md §3.5 is visible where operators
 * look — Envoy's /stats, the access log (details string and filter state), Envoy's own log.
 */
import { decisionCount, waitForDecisions } from '../../harness/envoy/decisions';
import { InboundStack } from '../../harness/stack/inbound';
import { request } from '../../harness/services/client';

const STORE = 'spiffe://example.org/ns/shop/sa/store';
const WEB = 'spiffe://example.org/ns/web/sa/frontend';

const POLICY = {
  trustDomain: 'example.org',
  identity: { from: 'peer-certificate' },
  inbound: {
    default: 'deny',
    rules: [
      { name: 'no-admin', action: 'deny', paths: ['/admin', '/admin/*'] },
      { name: 'store-creates-charges', from: [STORE], methods: ['POST'], paths: ['/charges', '/charges/*'] },
      { name: 'try-new-reader', mode: 'audit', from: ['spiffe://example.org/ns/shop/*'], methods: ['GET'], paths: ['/charges/{*}/receipt'] },
    ],
  },
};

describe('meshgate_inbound in Envoy', () => {
  let stack: InboundStack;

  beforeAll(async () => {
    stack = await InboundStack.start({ policyJson: JSON.stringify(POLICY), trustDomain: 'example.org' });
  });
  afterAll(() => stack?.stop());

  async function send(spiffeId: string | null, method: string, path: string) {
    stack.upstream.clear();
    const res = await request({ port: stack.port, tls: await stack.clientTls(spiffeId), method, path, headers: { host: 'billing' } });
    return { res, received: stack.upstream.received() };
  }

  async function logEntry(n: number): Promise<Record<string, string>> {
    for (let i = 0; i < 100; i++) {
      const log = stack.accessLog();
      if (log.length >= n) return log[n - 1];
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`access log has ${stack.accessLog().length} entries, wanted ${n}\n${stack.envoy.logTail()}`);
  }

  it('lets store create a charge: the upstream receives it, counters and access log say why', async () => {
    const counted = decisionCount(await stack.envoy.stats());
    const { res, received } = await send(STORE, 'POST', '/charges');
    expect(res.status).toBe(200);
    expect(res.body).toBe('upstream:billing');
    expect(received.map((r) => `${r.method} ${r.path}`)).toEqual(['POST /charges']);
    const entry = await logEntry(stack.accessLog().length || 1);
    expect(entry.meshgate).toMatch(new RegExp(`^decision=allow rule=store-creates-charges identity=${STORE} policy=[0-9a-f]{12}$`));
    const stats = await waitForDecisions(stack.envoy, counted + 1);
    expect(stats['wasmcustom.meshgate.inbound.allowed']).toBeGreaterThanOrEqual(1);
    expect(stats['wasmcustom.meshgate.inbound.rule.store-creates-charges']).toBeGreaterThanOrEqual(1);
  });

  it('denies web with 403 and details naming the default, and explains the default deny in the log', async () => {
    const before = stack.accessLog().length;
    const { res, received } = await send(WEB, 'POST', '/charges');
    expect(res.status).toBe(403);
    expect(res.body).toBe('meshgate: access denied\n');
    expect(received).toHaveLength(0);
    const entry = await logEntry(before + 1);
    expect(entry.details).toBe('meshgate_denied[default]');
    expect(entry.meshgate).toContain(`decision=deny rule=default identity=${WEB}`);
    expect(stack.envoy.logs()).toMatch(/decision=deny rule=default identity=spiffe:\/\/example.org\/ns\/web\/sa\/frontend .*nearest=store-creates-charges failed_field=from/);
  });

  it('names the deny rule and defines every counter at configure time (zero counters show)', async () => {
    const before = stack.accessLog().length;
    const counted = decisionCount(await stack.envoy.stats());
    const { res } = await send(STORE, 'GET', '/admin/users');
    expect(res.status).toBe(403);
    expect((await logEntry(before + 1)).details).toBe('meshgate_denied[no-admin]');
    const stats = await waitForDecisions(stack.envoy, counted + 1);
    for (const name of ['allowed', 'denied', 'audit_would_deny', 'invalid_request', 'default', 'rule.no-admin', 'rule.store-creates-charges', 'rule.try-new-reader']) {
      expect(stats).toHaveProperty([`wasmcustom.meshgate.inbound.${name}`]);
    }
    expect(stats['wasmcustom.meshgate.inbound.audit_would_deny']).toBe(0);
    expect(stats['wasmcustom.meshgate.inbound.rule.no-admin']).toBeGreaterThanOrEqual(1);
  });

  it('counts an audit rule that matched without enforcing it', async () => {
    const stats0 = await stack.envoy.stats();
    const before = stats0['wasmcustom.meshgate.inbound.rule.try-new-reader'];
    const { res, received } = await send(STORE, 'GET', '/charges/ch_1/receipt');
    expect(res.status).toBe(403);
    expect(received).toHaveLength(0);
    const stats = await waitForDecisions(stack.envoy, decisionCount(stats0) + 1);
    expect(stats['wasmcustom.meshgate.inbound.rule.try-new-reader']).toBe(before + 1);
  });

  it('denies a caller without a client certificate', async () => {
    const { res, received } = await send(null, 'POST', '/charges');
    expect(res.status).toBe(403);
    expect(received).toHaveLength(0);
  });

  it('logs the policy digest at configure', () => {
    expect(stack.envoy.logs()).toMatch(/meshgate_inbound policy [0-9a-f]{12} rules=3 \(deny=1 allow=1 audit=1\)/);
  });
});
