/**
 * What one request costs at the host/module boundary, counted exactly (harness/emulator/ledger.ts):
 * every call into the module (`->`: exports, and `malloc` when the host hands data back) and every
 * host call out of it (`<-`, with what it asked for). In Envoy's V8 a call into the module costs
 * ≈ 85 ns and a host call that returns data ≈ 0.7 µs (it re-enters the module's allocator), so
 * these lists ARE the Wasm path's cost model; a change that adds a crossing fails here.
 *
 * build/meshgate.wasm against build/bench-fetch.wasm (the bench's `wasm-fetch`: the same reads,
 * no decision) for the same requests: the difference is what deciding and acting cost in
 * crossings. Sizes are computed from the inputs (the header map as the host serializes it, the
 * URL-encoded certificate, the filter-state value), so the lists are exact.
 */
import { presentRequest, type EnvoyRequest } from '../../../harness/emulator/request';
import { serializePairs } from '../../../harness/emulator/pairs';
import { CallLedger, ProxyWasmVm, type HttpStream, type PluginHandle } from '../../../harness/emulator/vm';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { benchWasm, ROOT } from './fixtures';
import { BILLING, EGRESS_POLICY, INBOUND_POLICY, STORE, WEB, egressRequest, inboundRequest, loadMeshgate, mintPeers, type Peers } from './meshgate';

let peers: Peers;
let meshgate: ProxyWasmVm;
let fetch: ProxyWasmVm;
let inbound: PluginHandle;
let egress: PluginHandle;
let fetchRoot: PluginHandle;

beforeAll(async () => {
  peers = await mintPeers([STORE, BILLING, WEB]);
  meshgate = await loadMeshgate();
  inbound = meshgate.startPlugin({ rootId: 'meshgate_inbound', configuration: JSON.stringify(INBOUND_POLICY) });
  egress = meshgate.startPlugin({ rootId: 'meshgate_egress', configuration: JSON.stringify(EGRESS_POLICY) });
  fetch = await ProxyWasmVm.load(benchWasm('fetch'));
  fetchRoot = fetch.startPlugin({ rootId: 'bench_fetch', configuration: '{}' });
  expect([inbound.ok, egress.ok, fetchRoot.ok]).toEqual([true, true, true]);
}, 120_000);

/** A request on connection `connectionId` from `caller`, as Envoy presents it. */
function request(plugin: PluginHandle, caller: string, connectionId: bigint, r: Omit<EnvoyRequest, 'connectionId' | 'peer'>): HttpStream {
  return plugin.newHttpStream(presentRequest({ ...r, connectionId, peer: peers[caller] }));
}

/** Runs `drive` with a fresh ledger on `vm`; returns its lines. */
function ledgerOf(vm: ProxyWasmVm, drive: () => void): string[] {
  const ledger = new CallLedger();
  vm.ledger = ledger;
  try {
    drive();
  } finally {
    vm.ledger = undefined;
  }
  return ledger.lines();
}

/** Request headers, response headers, end (log → done → delete): a request without a body. */
function whole(s: HttpStream): HttpStream {
  const r = s.sendRequestHeaders({ endOfStream: true });
  if (r.action === 'continue') s.sendResponseHeaders([[':status', '200']]);
  s.complete();
  return s;
}

const headerMapBytes = (r: EnvoyRequest): number => serializePairs(presentRequest(r).requestHeaders).length;
const certBytes = (caller: string): number => Buffer.byteLength(peers[caller].encodedPem);
const filterStateBytes = (s: HttpStream): number => Buffer.byteLength(s.filterState['wasm.meshgate']);

/** The host calls of a ledger (the `<-` lines), for comparing two modules. */
const hostCalls = (lines: string[]): string[] => lines.filter((l) => l.startsWith('  <- ')).map((l) => l.trim());

const GET_HEALTH = inboundRequest('GET', '/healthz');
const POST_CHARGE = inboundRequest('POST', '/charges');
const EGRESS_GET = egressRequest('GET', 'api.stripe.com');

/** A POST with a 3-chunk body on a connection already seen; the ledger and the filter state. */
function postWithBody(vm: ProxyWasmVm, plugin: PluginHandle, conn: bigint): { lines: string[]; record: string } {
  whole(request(plugin, STORE, conn, GET_HEALTH));
  let s!: HttpStream;
  const lines = ledgerOf(vm, () => {
    s = request(plugin, STORE, conn, POST_CHARGE);
    expect(s.sendRequestHeaders({ endOfStream: false }).action).toBe('continue');
    for (const [chunk, end] of [['{"amount":', false], ['42,"currency":', false], ['"eur"}', true]] as const) {
      expect(s.sendRequestBody(chunk, { endOfStream: end }).action).toBe('continue');
    }
    s.sendResponseHeaders([[':status', '200']]);
    s.complete();
  });
  return { lines, record: s.filterState['wasm.meshgate'] };
}

/** The request-headers part of an allowed POST's ledger (`record`: its filter state). */
const postHeaders = (record: string): string[] => [
  '-> proxy_on_context_create',
  '-> proxy_on_request_headers',
  '  <- proxy_get_header_map_pairs HttpRequestHeaders',
  `    -> malloc ${headerMapBytes(POST_CHARGE)}`,
  '  <- proxy_get_property connection.id',
  '    -> malloc 8',
  `  <- proxy_set_property meshgate ${Buffer.byteLength(record)} B`,
];

describe('meshgate_inbound, per request', () => {
  test('a GET, the first on its connection: the header map, the connection id, the certificate once, the filter state', () => {
    let s!: HttpStream;
    const lines = ledgerOf(meshgate, () => { s = whole(request(inbound, STORE, 101n, GET_HEALTH)); });
    expect(s.filterState['wasm.meshgate']).toMatch(/^decision=allow rule=anyone-reads-health /);
    expect(lines).toEqual([
      '-> proxy_on_context_create',
      '-> proxy_on_request_headers',
      '  <- proxy_get_header_map_pairs HttpRequestHeaders',
      `    -> malloc ${headerMapBytes(GET_HEALTH)}`,
      '  <- proxy_get_property connection.id',
      '    -> malloc 8',
      '  <- proxy_get_property connection.peer_certificate',
      `    -> malloc ${certBytes(STORE)}`,
      `  <- proxy_set_property meshgate ${filterStateBytes(s)} B`,
      '-> proxy_on_delete',
    ]);
  });

  test('h2: two concurrent streams on a connection already seen read no certificate', () => {
    whole(request(inbound, STORE, 102n, GET_HEALTH));
    let a!: HttpStream;
    let b!: HttpStream;
    const lines = ledgerOf(meshgate, () => {
      a = request(inbound, STORE, 102n, GET_HEALTH);
      b = request(inbound, STORE, 102n, GET_HEALTH);
      a.sendRequestHeaders({ endOfStream: true });
      b.sendRequestHeaders({ endOfStream: true });
      a.sendResponseHeaders([[':status', '200']]);
      b.sendResponseHeaders([[':status', '200']]);
      a.complete();
      b.complete();
    });
    const perStream = [
      '-> proxy_on_request_headers',
      '  <- proxy_get_header_map_pairs HttpRequestHeaders',
      `    -> malloc ${headerMapBytes(GET_HEALTH)}`,
      '  <- proxy_get_property connection.id',
      '    -> malloc 8',
      `  <- proxy_set_property meshgate ${filterStateBytes(a)} B`,
    ];
    expect(lines).toEqual([
      '-> proxy_on_context_create', ...perStream,
      '-> proxy_on_context_create', ...perStream,
      '-> proxy_on_delete',
      '-> proxy_on_delete',
    ]);
    expect(filterStateBytes(b)).toBe(filterStateBytes(a));
  });

  test('a POST with a 3-chunk body: one more call into the module per chunk (the module exports proxy_on_request_body)', () => {
    const { lines, record } = postWithBody(meshgate, inbound, 103n);
    expect(record).toMatch(/^decision=allow rule=store-creates-charges /);
    expect(lines).toEqual([...postHeaders(record), ...Array(3).fill('-> proxy_on_request_body'), '-> proxy_on_delete']);
  });

  test('a deny costs one more host call: the local reply', () => {
    whole(request(inbound, WEB, 104n, GET_HEALTH));
    let s!: HttpStream;
    const denied = inboundRequest('GET', '/admin');
    const lines = ledgerOf(meshgate, () => { s = whole(request(inbound, WEB, 104n, denied)); });
    expect(s.localReply?.status).toBe(403);
    expect(lines).toEqual([
      '-> proxy_on_context_create',
      '-> proxy_on_request_headers',
      '  <- proxy_get_header_map_pairs HttpRequestHeaders',
      `    -> malloc ${headerMapBytes(denied)}`,
      '  <- proxy_get_property connection.id',
      '    -> malloc 8',
      `  <- proxy_set_property meshgate ${filterStateBytes(s)} B`,
      '  <- proxy_send_local_response 403 meshgate_denied[no-admin]',
      '-> proxy_on_delete',
    ]);
  });
});

describe('meshgate_egress, per request', () => {
  test('an HTTP request on a connection already seen: the same two reads and the filter state', () => {
    whole(request(egress, BILLING, 201n, EGRESS_GET));
    let s!: HttpStream;
    const lines = ledgerOf(meshgate, () => { s = whole(request(egress, BILLING, 201n, EGRESS_GET)); });
    expect(s.filterState['wasm.meshgate']).toMatch(/^decision=allow rule=billing-to-stripe /);
    expect(lines).toEqual([
      '-> proxy_on_context_create',
      '-> proxy_on_request_headers',
      '  <- proxy_get_header_map_pairs HttpRequestHeaders',
      `    -> malloc ${headerMapBytes(EGRESS_GET)}`,
      '  <- proxy_get_property connection.id',
      '    -> malloc 8',
      `  <- proxy_set_property meshgate ${filterStateBytes(s)} B`,
      '-> proxy_on_delete',
    ]);
  });
});

describe('the root timer', () => {
  test('a tick hands each moved counter to Envoy once and polls the log level; nothing when nothing moved', () => {
    inbound.tick();
    whole(request(inbound, STORE, 301n, GET_HEALTH));
    whole(request(inbound, STORE, 301n, GET_HEALTH));
    const id = (name: string) => metricId(name);
    expect(ledgerOf(meshgate, () => inbound.tick())).toEqual([
      '-> proxy_on_tick',
      `  <- proxy_increment_metric ${id('meshgate.inbound.allowed')} +2`,
      `  <- proxy_increment_metric ${id('meshgate.inbound.rule.anyone-reads-health')} +2`,
      '  <- proxy_get_log_level',
    ]);
    expect(ledgerOf(meshgate, () => inbound.tick())).toEqual(['-> proxy_on_tick', '  <- proxy_get_log_level']);
  });
});

/** The metric id meshgate's last root got for counter `name` (ids are per define call). */
function metricId(name: string): number {
  const ids = [...meshgate.metricsById].filter(([, m]) => m.name === name).map(([k]) => k);
  return Math.max(...ids);
}

describe('meshgate against wasm-fetch (same reads, no decision)', () => {
  test.each([
    ['an inbound GET, first on its connection', 401n, GET_HEALTH, false],
    ['an inbound GET on a connection already seen', 402n, GET_HEALTH, true],
    ['an egress GET on a connection already seen', 403n, EGRESS_GET, true],
  ] as const)('%s: the same calls into the module, and one host call more (the filter state)', (_what, conn, r, warm) => {
    const plugin = r === EGRESS_GET ? egress : inbound;
    const caller = r === EGRESS_GET ? BILLING : STORE;
    if (warm) {
      whole(request(plugin, caller, conn, r));
      whole(request(fetchRoot, caller, conn, r));
    }
    const ours = ledgerOf(meshgate, () => whole(request(plugin, caller, conn, r)));
    const floor = ledgerOf(fetch, () => whole(request(fetchRoot, caller, conn, r)));
    const into = (lines: string[]) => lines.filter((l) => !l.startsWith('  <- ')).sort();
    expect(into(ours)).toEqual(into(floor));
    const extra = [...hostCalls(ours)];
    for (const c of hostCalls(floor)) extra.splice(extra.indexOf(c), 1);
    expect(extra.map((c) => c.replace(/ \d+ B$/, ''))).toEqual(['<- proxy_set_property meshgate']);
  });
});

describe('garbage is collected at the end of a tick, never during a request (assembly/proxywasm/collect.ts)', () => {
  test('log lines built for refused streams grow memory without ticks, and not with them', async () => {
    const vm = await loadMeshgate();
    const root = vm.startPlugin({ rootId: 'meshgate_inbound', configuration: JSON.stringify(INBOUND_POLICY) });
    const unknown = vm.startPlugin({ rootId: 'not_served_here', configuration: '{}' });
    expect([root.ok, unknown.ok]).toEqual([true, false]);
    // each refused stream logs an error line built from strings: garbage until a collection
    const refuse = (n: number, tickEvery: number) => {
      for (let i = 1; i <= n; i++) {
        const s = whole(unknown.newHttpStream(presentRequest({ ...GET_HEALTH, connectionId: 900n })));
        expect(s.localReply?.details).toBe('meshgate_denied[no_policy]');
        if (tickEvery > 0 && i % tickEvery === 0) root.tick();
      }
      vm.clearLogs();
    };
    refuse(2_000, 100);
    const warm = vm.memoryBytes();
    refuse(20_000, 100);
    expect(vm.memoryBytes()).toBe(warm);
    refuse(20_000, 0);
    expect(vm.memoryBytes()).toBeGreaterThan(warm);
    expect(vm.failed).toBeNull();
  }, 60_000);
});

describe('build/meshgate-inbound.wasm (meshgate_inbound alone: no body callback exported)', () => {
  const file = path.join(ROOT, 'build/meshgate-inbound.wasm');
  let vm: ProxyWasmVm;
  let root: PluginHandle;
  beforeAll(async () => {
    if (!fs.existsSync(file)) throw new Error(`${file} is missing: run \`npm run build\``);
    vm = await ProxyWasmVm.load(file);
    root = vm.startPlugin({ rootId: 'meshgate_inbound', configuration: JSON.stringify(INBOUND_POLICY) });
    expect(root.ok).toBe(true);
  });

  test('a POST with a 3-chunk body costs what a GET costs: no call into the module per chunk', () => {
    const { lines, record } = postWithBody(vm, root, 501n);
    expect(record).toMatch(/^decision=allow rule=store-creates-charges /);
    expect(lines).toEqual([...postHeaders(record), '-> proxy_on_delete']);
    // the same decision and record as build/meshgate.wasm's meshgate_inbound
    expect(record).toBe(postWithBody(meshgate, inbound, 502n).record);
  });

  test('serves no other root id: an egress configuration is refused', () => {
    const other = vm.startPlugin({ rootId: 'meshgate_egress', configuration: JSON.stringify(EGRESS_POLICY) });
    expect(other.ok).toBe(false);
    const s = whole(other.newHttpStream(presentRequest({ ...EGRESS_GET, connectionId: 503n, peer: peers[BILLING] })));
    expect(s.localReply?.details).toBe('meshgate_denied[no_policy]');
  });
});
