/**
 * Soak (issue 7, item 5; docs/hardening.md): 10^4 requests (10^6 with MESHGATE_SOAK=long) through
 * meshgate_inbound in Envoy, mixed allow/deny, a few keep-alive clients per identity (so streams
 * are created and recycled on long-lived connections, the way a sidecar sees traffic). Afterwards:
 * - the counters add up exactly: allowed + denied = requests sent, per kind as well, and the
 *   upstream received exactly the allowed ones;
 * - Envoy's log has no error or critical line from the wasm component;
 * - memory is stable: Envoy's RSS (which includes the V8 heap and the module's linear memory)
 *   after the whole run is within a small bound of its value after a warm-up of 1,000 requests.
 */
import { waitForDecisions } from '../../harness/envoy/decisions';
import * as fs from 'node:fs';
import * as https from 'node:https';
import { InboundStack } from '../../harness/stack/inbound';
import type { ClientTls } from '../../harness/services/client';

const STORE = 'spiffe://example.org/ns/shop/sa/store';
const WEB = 'spiffe://example.org/ns/web/sa/frontend';
const LONG = process.env.MESHGATE_SOAK === 'long';
const TOTAL = LONG ? 1_000_000 : 10_000;
const WARMUP = 1_000;
const CLIENTS = 8;
/** Allowed RSS growth from after the warm-up to the end. */
const RSS_BOUND_KIB = 2 * 1024;

const POLICY = {
  trustDomain: 'example.org',
  inbound: {
    default: 'deny',
    rules: [
      { name: 'no-admin', action: 'deny', paths: ['/admin', '/admin/*'] },
      { name: 'store-creates-charges', from: [STORE], methods: ['POST'], paths: ['/charges', '/charges/*'] },
    ],
  },
};

/** Request i: what is sent and what meshgate must decide. */
const MIX: Array<{ id: string; method: string; path: (i: number) => string; status: number }> = [
  { id: STORE, method: 'POST', path: (i) => `/charges/${i}`, status: 200 },
  { id: WEB, method: 'POST', path: () => '/charges', status: 403 },
  { id: STORE, method: 'GET', path: (i) => `/admin/${i}`, status: 403 },
  { id: STORE, method: 'POST', path: () => '/charges', status: 200 },
];

function rssKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]);
}

describe('soak', () => {
  let stack: InboundStack;
  const agents = new Map<string, https.Agent>();

  beforeAll(async () => {
    stack = await InboundStack.start({ policyJson: JSON.stringify(POLICY), trustDomain: 'example.org', componentLogLevel: 'wasm:warn' });
    for (const id of [STORE, WEB]) {
      const t: ClientTls = await stack.clientTls(id);
      agents.set(id, new https.Agent({ keepAlive: true, maxSockets: CLIENTS / 2, ca: t.ca, cert: t.cert, key: t.key, checkServerIdentity: () => undefined }));
    }
  });
  afterAll(async () => {
    for (const a of agents.values()) a.destroy();
    await stack?.stop();
  });

  function send(i: number): Promise<{ status: number; expected: number }> {
    const m = MIX[i % MIX.length];
    return new Promise((resolve, reject) => {
      const req = https.request(
        { host: '127.0.0.1', port: stack.port, method: m.method, path: m.path(i), headers: { host: 'billing' }, agent: agents.get(m.id), timeout: 5000 },
        (res) => {
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode ?? 0, expected: m.status }));
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`request ${i} timed out`)));
      req.on('error', reject);
      req.end();
    });
  }

  /** Sends requests [from, to) with CLIENTS in flight; returns the mismatches. */
  async function run(from: number, to: number): Promise<string[]> {
    let next = from;
    const wrong: string[] = [];
    const client = async () => {
      while (next < to) {
        const i = next++;
        const r = await send(i).catch((e: Error) => ({ status: -1, expected: 0, error: e.message }));
        if (r.status !== r.expected && wrong.length < 20) wrong.push(`#${i}: ${JSON.stringify(r)}`);
      }
    };
    await Promise.all(Array.from({ length: CLIENTS }, client));
    return wrong;
  }

  it(`serves ${TOTAL} mixed requests: counters add up, no wasm errors, memory stable`, async () => {
    const pid = stack.envoy.envoyPid()!;
    expect(pid).toBeDefined();
    const t0 = Date.now();
    expect(await run(0, WARMUP)).toEqual([]);
    const s0 = await stack.envoy.stats();
    const rss0 = rssKiB(pid);
    expect(await run(WARMUP, TOTAL)).toEqual([]);
    const elapsed = Date.now() - t0;
    const s1 = await waitForDecisions(stack.envoy, TOTAL);
    const rss1 = rssKiB(pid);

    const allowed = s1['wasmcustom.meshgate.inbound.allowed'];
    const denied = s1['wasmcustom.meshgate.inbound.denied'];
    const expectAllowed = Array.from({ length: TOTAL }, (_, i) => MIX[i % MIX.length].status === 200).filter(Boolean).length;
    const memory = Object.entries(s1).filter(([k]) => /memory/.test(k)).map(([k, v]) => `${k}=${s0[k]}→${v}`);
    console.log(
      `soak: ${TOTAL} requests in ${elapsed} ms (${Math.round(TOTAL / (elapsed / 1000))}/s, ${CLIENTS} keep-alive clients); ` +
        `allowed=${allowed} denied=${denied} upstream=${stack.upstream.received().length}; ` +
        `Envoy RSS after warm-up ${rss0} KiB, at the end ${rss1} KiB (${rss1 - rss0 >= 0 ? '+' : ''}${rss1 - rss0} KiB); ${memory.join(' ')}`,
    );
    expect(allowed + denied).toBe(TOTAL);
    expect(allowed).toBe(expectAllowed);
    expect(denied).toBe(TOTAL - expectAllowed);
    expect(s1['wasmcustom.meshgate.inbound.rule.no-admin']).toBe(TOTAL / MIX.length);
    expect(s1['wasmcustom.meshgate.inbound.default']).toBe(TOTAL / MIX.length);
    expect(s1['wasmcustom.meshgate.inbound.rule.store-creates-charges']).toBe(expectAllowed);
    expect(s1['wasmcustom.meshgate.inbound.invalid_request'] ?? 0).toBe(0);
    expect(stack.upstream.received().length).toBe(expectAllowed);
    expect(s1['http.inbound.downstream_rq_completed']).toBe(TOTAL);
    // No wasm error or critical lines (an abort logs at critical; a trap at error).
    expect(stack.envoy.logs().split('\n').filter((l) => /\]\[(error|critical)\]\[wasm\]/.test(l))).toEqual([]);
    expect(rss1 - rss0).toBeLessThanOrEqual(RSS_BOUND_KIB);
  }, 10 * 60_000); // a bound for a loaded machine (the run takes about 30 s alone), not a speed check
});
