/**
 * An invalid plugin configuration never lets traffic through unchecked:
 * - at boot, Envoy refuses to start, and its log carries meshgate's field-level messages;
 * - as a live update (file-based LDS, the way a control plane pushes config), Envoy rejects the
 *   new listener and keeps enforcing the previous policy: store still allowed, web still denied.
 */
import { wasmPluginConfig } from '../../harness/envoy/reference';
import { TestCa } from '../../harness/pki/ca';
import { request } from '../../harness/services/client';
import { InboundStack } from '../../harness/stack/inbound';

const STORE = 'spiffe://example.org/ns/shop/sa/store';
const WEB = 'spiffe://example.org/ns/web/sa/frontend';
const VALID = JSON.stringify({
  trustDomain: 'example.org',
  inbound: { default: 'deny', rules: [{ name: 'store-creates-charges', from: [STORE], methods: ['POST'], paths: ['/charges'] }] },
});
const INVALID = JSON.stringify({
  trustDomain: 'example.org',
  inbound: { default: 'deny', rules: [{ name: 'everyone', from: ['spiffe://Example.ORG/ns/web/*'], methods: ['post'], pathz: ['/charges'] }] },
});

describe('invalid plugin configuration', () => {
  let ca: TestCa;

  beforeAll(async () => {
    ca = await TestCa.create({ trustDomain: 'example.org' });
  });

  const start = (policyJson: string, liveUpdates = false) =>
    InboundStack.start({ policyJson, trustDomain: 'example.org', ca, liveUpdates, componentLogLevel: liveUpdates ? 'wasm:debug' : 'wasm:info' });

  it('keeps Envoy from starting, naming every bad field', async () => {
    const err = await start(INVALID).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err).toBeInstanceOf(Error);
    const msg = err!.message;
    expect(msg).toContain('inbound.rules[0].from[0]');
    expect(msg).toContain('inbound.rules[0].methods[0]');
    expect(msg).toContain('inbound.rules[0].pathz: unknown field');
    expect(msg).toMatch(/meshgate_inbound: configuration refused \(3 error/);
  });

  it('is rejected as a live update while the previous policy stays in force', async () => {
    const stack = await start(VALID, true);
    const { envoy, port, upstream } = stack;
    try {
      const send = async (id: string) => {
        upstream.clear();
        const res = await request({ port, tls: await stack.clientTls(id), method: 'POST', path: '/charges', headers: { host: 'billing' } });
        return { status: res.status, received: upstream.received().length };
      };
      expect(await send(STORE)).toEqual({ status: 200, received: 1 });
      expect(await send(WEB)).toEqual({ status: 403, received: 0 });

      const bad = stack.replacePolicy(INVALID);
      expect(wasmPluginConfig(bad).configuration).toBeDefined();
      let rejected = 0;
      for (let i = 0; i < 100 && rejected === 0; i++) {
        await new Promise((r) => setTimeout(r, 50));
        rejected = (await envoy.stats())['listener_manager.lds.update_rejected'] ?? 0;
      }
      expect(rejected).toBe(1);
      expect(envoy.logs()).toContain('inbound.rules[0].pathz: unknown field');
      // The old policy still decides: nothing is let through unchecked.
      expect(await send(WEB)).toEqual({ status: 403, received: 0 });
      expect(await send(STORE)).toEqual({ status: 200, received: 1 });
    } finally {
      await stack.stop();
    }
  });
});
