/**
 * Replacing the policy while Envoy serves (issue 7, item 4; docs/hardening.md): file-based LDS
 * swaps the listener (the way a control plane pushes a new filter configuration) in the middle of
 * a bounded stream of requests. No request fails or is let through unchecked: every response is
 * the old policy's or the new policy's decision, the upstream receives exactly the allowed ones,
 * and once Envoy reports the update, the new policy alone decides.
 *
 * Old policy: store may POST /charges, web is denied. New policy: web may POST /charges too.
 * Store's GET /charges is denied by both (a control: never allowed at any point).
 */
import { request } from '../../harness/services/client';
import { InboundStack } from '../../harness/stack/inbound';

const STORE = 'spiffe://example.org/ns/shop/sa/store';
const WEB = 'spiffe://example.org/ns/web/sa/frontend';
const policy = (from: string[]) =>
  JSON.stringify({ trustDomain: 'example.org', inbound: { default: 'deny', rules: [{ name: 'creates-charges', from, methods: ['POST'], paths: ['/charges'] }] } });
const OLD = policy([STORE]);
const NEW = policy([STORE, WEB]);

const TOTAL = 400;
const CONCURRENCY = 4;
const SWAP_AFTER = 150;

type Kind = 'store-post' | 'web-post' | 'store-get';
const KINDS: Kind[] = ['store-post', 'web-post', 'store-get'];
/** What each policy decides for each kind of request. */
const DECISION: Record<'old' | 'new', Record<Kind, number>> = {
  old: { 'store-post': 200, 'web-post': 403, 'store-get': 403 },
  new: { 'store-post': 200, 'web-post': 200, 'store-get': 403 },
};

describe('policy reload under load', () => {
  let stack: InboundStack | undefined;

  afterAll(async () => {
    await stack?.stop();
  });

  it('swaps the listener mid-stream: no errors, every decision old or new, then new only', async () => {
    const live = await InboundStack.start({ policyJson: OLD, trustDomain: 'example.org', liveUpdates: true, componentLogLevel: 'wasm:warn' });
    stack = live;
    const { envoy, port, upstream } = live;
    const tls = { [STORE]: await live.clientTls(STORE), [WEB]: await live.clientTls(WEB) };
    const updates = async () => (await envoy.stats())['listener_manager.lds.update_success'] ?? 0;
    const initialUpdates = await updates();
    /** The update was accepted and the new listener has warmed (it now takes new connections). */
    const inForce = async () => {
      const s = await envoy.stats();
      return (s['listener_manager.lds.update_success'] ?? 0) > initialUpdates && (s['listener_manager.total_listeners_warming'] ?? 0) === 0;
    };

    const send = async (kind: Kind) => {
      const res = await request({
        port,
        tls: tls[kind === 'web-post' ? WEB : STORE],
        method: kind === 'store-get' ? 'GET' : 'POST',
        path: '/charges',
        headers: { host: 'billing' },
      });
      return res.status;
    };

    // The bounded stream: CONCURRENCY clients, each request on its own connection (keep-alive free).
    upstream.clear();
    const results: Array<{ kind: Kind; status: number | string; afterUpdate: boolean }> = [];
    let next = 0;
    let swapped = false;
    let updateSeen = false;
    const watcher = (async () => {
      while (!updateSeen && next < TOTAL) {
        await new Promise((r) => setTimeout(r, 20));
        if (swapped && (await inForce())) updateSeen = true;
      }
    })();
    const client = async () => {
      while (next < TOTAL) {
        const i = next++;
        if (i === SWAP_AFTER && !swapped) {
          live.replacePolicy(NEW);
          swapped = true;
        }
        const kind = KINDS[i % KINDS.length];
        const afterUpdate = updateSeen;
        const status = await send(kind).catch((e: NodeJS.ErrnoException) => `error ${e.code ?? e.message}`);
        results.push({ kind, status, afterUpdate });
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, client));
    await watcher;
    const allowedDuringStream = results.filter((r) => r.status === 200).length;
    const receivedDuringStream = upstream.received().length;

    // Wait for the update if the stream ended first, then a final batch: the new policy only.
    for (let i = 0; i < 100 && !(await inForce()); i++) await new Promise((r) => setTimeout(r, 50));
    expect(await updates()).toBe(initialUpdates + 1);
    expect((await envoy.stats())['listener_manager.lds.update_rejected'] ?? 0).toBe(0);
    upstream.clear();
    const final: Array<{ kind: Kind; status: number }> = [];
    for (let i = 0; i < 30; i++) final.push({ kind: KINDS[i % 3], status: await send(KINDS[i % 3]) });

    const count = (pred: (r: (typeof results)[number]) => boolean) => results.filter(pred).length;
    const webAllowed = count((r) => r.kind === 'web-post' && r.status === 200);
    const webDenied = count((r) => r.kind === 'web-post' && r.status === 403);
    console.log(
      `reload: ${results.length} requests across the reload (swap after #${SWAP_AFTER}); ` +
        `${allowedDuringStream} allowed = ${receivedDuringStream} at the upstream; web POST: ${webDenied} denied (old) + ${webAllowed} allowed (new); ` +
        `${count((r) => r.afterUpdate)} sent after update_success rose; errors/5xx: ${count((r) => typeof r.status !== 'number' || r.status >= 500)}`,
    );

    expect(results).toHaveLength(TOTAL);
    expect(results.filter((r) => typeof r.status !== 'number' || (r.status !== 200 && r.status !== 403))).toEqual([]);
    // Each response is the old or the new policy's decision; the control is never allowed.
    for (const r of results) expect([DECISION.old[r.kind], DECISION.new[r.kind]]).toContain(r.status);
    // Sent once Envoy reported the new listener: only the new policy's decisions.
    for (const r of results.filter((x) => x.afterUpdate)) expect(r.status).toBe(DECISION.new[r.kind]);
    expect(webDenied).toBeGreaterThan(0); // the stream really started under the old policy
    expect(receivedDuringStream).toBe(allowedDuringStream);
    expect(upstream.received().length).toBe(final.filter((r) => r.status === 200).length);
    expect(final.map((r) => r.status)).toEqual(final.map((r) => DECISION.new[r.kind]));
  });
});
