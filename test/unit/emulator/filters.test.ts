/**
 * meshgate_inbound and meshgate_egress (build/meshgate.wasm) in the emulator: configure logs the
 * policy digest or one error line per invalid field (JSON field paths), counters exist from
 * configure on, and requests get allow/deny, the 403 local reply with its details, the
 * `wasm.meshgate` filter state, counters; the direct peer's identity is cached per connection.id.
 */
import { policyDigest } from '../../../harness/policy/compile';
import type { ProxyWasmVm, PluginHandle } from '../../../harness/emulator/vm';
import {
  INBOUND_POLICY, EGRESS_POLICY, STORE, READER, BILLING, WEB, FOREIGN,
  mintPeers, loadMeshgate, send, inboundRequest, egressRequest, type Peers,
} from './meshgate';

let peers: Peers;
beforeAll(async () => {
  peers = await mintPeers([STORE, READER, BILLING, WEB, FOREIGN], ['two-uri-sans', 'no-uri-san']);
});

/** The policy digest the filter logs (assembly/policy/digest.ts: sha256 of the canonical form). */
const sha256 = (s: string) => policyDigest(s);
const DENY_BODY = 'meshgate: access denied\n';

interface Started {
  vm: ProxyWasmVm;
  plugin: PluginHandle;
  digest: string;
}

async function start(rootId: 'meshgate_inbound' | 'meshgate_egress', policy: object, logLevel = 2): Promise<Started> {
  const vm = await loadMeshgate();
  vm.logLevel = logLevel;
  const configuration = JSON.stringify(policy);
  const plugin = vm.startPlugin({ rootId, configuration });
  expect({ ok: plugin.ok, errors: vm.logsAt('error') }).toEqual({ ok: true, errors: [] });
  return { vm, plugin, digest: sha256(configuration) };
}

describe('configure', () => {
  it('inbound: one info line with the policy digest and the rule counts', async () => {
    const { vm, digest } = await start('meshgate_inbound', INBOUND_POLICY);
    expect(vm.logsAt('info')).toEqual([
      `meshgate_inbound policy ${digest.slice(0, 12)} rules=4 (deny=1 allow=2 audit=1) mode=enforce default=deny sha256=${digest}`,
    ]);
  });

  it('egress: the same line for the egress section', async () => {
    const { vm, digest } = await start('meshgate_egress', EGRESS_POLICY);
    expect(vm.logsAt('info')).toEqual([
      `meshgate_egress policy ${digest.slice(0, 12)} rules=3 (deny=1 allow=2 audit=0) mode=enforce default=deny sha256=${digest}`,
    ]);
  });

  it('defines every counter at configure time, all zero', async () => {
    const inbound = await start('meshgate_inbound', INBOUND_POLICY);
    expect(inbound.vm.metrics()).toEqual(Object.fromEntries(
      ['allowed', 'denied', 'audit_would_deny', 'invalid_request', 'default',
        'rule.no-admin', 'rule.store-creates-charges', 'rule.try-new-reader', 'rule.anyone-reads-health']
        .map((n) => [`meshgate.inbound.${n}`, 0]),
    ));
    const egress = await start('meshgate_egress', EGRESS_POLICY);
    expect(egress.vm.metrics()).toEqual(Object.fromEntries(
      ['allowed', 'denied', 'audit_would_deny', 'invalid_request', 'default', 'tunnel_denied', 'rule.no-metadata', 'rule.billing-to-stripe', 'rule.shop-to-github']
        .map((n) => [`meshgate.egress.${n}`, 0]),
    ));
  });

  it('refuses a stream whose root it does not know: never continues it', async () => {
    const { vm } = await start('meshgate_inbound', INBOUND_POLICY);
    expect(vm.callExport('proxy_on_context_create', 1000, 555)).toBe(0); // a stream of an unknown root
    expect(vm.callExport('proxy_on_request_headers', 1000, 0, 1)).toBe(1); // StopIteration
    expect(vm.logsAt('error')).toEqual(['meshgate: stream 1000 has no policy (unknown or unconfigured root context): refused']);
    expect(vm.failed).toBeNull();
  });

  it('sets the timer (counter flush, log-level poll) and re-reads the level on tick', async () => {
    const { vm, plugin } = await start('meshgate_inbound', INBOUND_POLICY);
    expect(vm.tickPeriods.get(plugin.id)).toBe(250);
    vm.logLevel = 1;
    plugin.tick();
    send(plugin, { connectionId: 1n, peerCertificate: peers[WEB], request: inboundRequest('GET', '/') });
    expect(vm.logsAt('debug')).toHaveLength(1);
  });

  const BAD_INBOUND = {
    trustDomain: 'Example.ORG',
    color: 'blue',
    inbound: {
      default: 'maybe',
      rules: [
        { name: 'a b', from: ['spiffe://example.org/ns/'], methods: ['get'], paths: ['/a/../b'] },
        { action: 'deny', paths: [] },
      ],
    },
  };

  it.each([
    ['meshgate_inbound', BAD_INBOUND, [
      'trustDomain', 'color', 'inbound.default', 'inbound.rules[0].name', 'inbound.rules[0].from[0]',
      'inbound.rules[0].methods[0]', 'inbound.rules[0].paths[0]', 'inbound.rules[1].paths', 'inbound.rules[1].name',
    ]],
    ['meshgate_egress', { trustDomain: 'example.org', egress: { rules: [{ name: 'x', hosts: ['*.Example.com'], ports: [0], cidrs: ['10.0.0.1/8'] }] } }, [
      'egress.rules[0].hosts[0]', 'egress.rules[0].ports[0]', 'egress.rules[0].cidrs[0]',
    ]],
    ['meshgate_egress', INBOUND_POLICY, ['egress']],
    ['meshgate_inbound', 'not json', ['json']],
  ] as const)('%s refuses an invalid configuration with one error per field, naming its JSON path (%#)', async (rootId, policy, paths) => {
    const vm = await loadMeshgate();
    const configuration = typeof policy === 'string' ? policy : JSON.stringify(policy);
    const plugin = vm.startPlugin({ rootId, configuration });
    expect(plugin.ok).toBe(false);
    expect(vm.failed).toBeNull(); // refused, not trapped
    const errors = vm.logsAt('error');
    const fieldLines = errors.slice(0, -1);
    expect(fieldLines.map((l) => /^meshgate_\w+: invalid configuration: ([^:]+): /.exec(l)?.[1])).toEqual(paths);
    expect(errors[errors.length - 1]).toBe(`${rootId}: configuration refused (${paths.length} error(s), sha256 ${sha256(configuration).slice(0, 12)})`);
    expect(vm.logsAt('info')).toEqual([]);
  });

  it('an unknown root_id fails configure with an error naming it, without trapping; the VM stays usable', async () => {
    const vm = await loadMeshgate();
    const plugin = vm.startPlugin({ rootId: 'meshgate_sideways', configuration: JSON.stringify(INBOUND_POLICY) });
    expect(plugin.ok).toBe(false);
    expect(vm.failed).toBeNull();
    expect(vm.logsAt('error').join('\n')).toMatch(/root_id "meshgate_sideways".*meshgate_inbound, meshgate_egress/);
    expect(vm.startPlugin({ rootId: 'meshgate_inbound', configuration: JSON.stringify(INBOUND_POLICY) }).ok).toBe(true);
  });
});

describe('meshgate_inbound requests', () => {
  let s: Started;
  let conn = 100n;
  beforeAll(async () => {
    s = await start('meshgate_inbound', INBOUND_POLICY);
  });

  const cases: [string, string | null, string, string, 'allow' | 'deny', string, string, string?][] = [
    // label, peer (certificate name or null = plain text), method, path, decision, rule label, identity, why unauthenticated
    ['store creates a charge', STORE, 'POST', '/charges', 'allow', 'store-creates-charges', STORE],
    ['store, nested path', STORE, 'POST', '/charges/ch_1/refunds', 'allow', 'store-creates-charges', STORE],
    ['web is not store', WEB, 'POST', '/charges', 'deny', 'default', WEB],
    ['nobody reaches /admin', STORE, 'GET', '/admin/users', 'deny', 'no-admin', STORE],
    ['deny paths fold case', STORE, 'GET', '/ADMIN', 'deny', 'no-admin', STORE],
    ['audit rule does not allow', READER, 'GET', '/charges/ch_1/receipt', 'deny', 'default', READER],
    ['any identity of the trust domain reads /healthz', WEB, 'GET', '/healthz', 'allow', 'anyone-reads-health', WEB],
    ['another trust domain, not federated: unauthenticated', FOREIGN, 'GET', '/healthz', 'deny', 'default', '-', 'foreign_trust_domain'],
    ['no certificate: unauthenticated', null, 'GET', '/healthz', 'deny', 'default', '-', 'no_peer_certificate'],
    ['two URI SANs: unauthenticated', 'two-uri-sans', 'GET', '/healthz', 'deny', 'default', '-', 'multiple_uri_sans'],
    ['no URI SAN: unauthenticated', 'no-uri-san', 'GET', '/healthz', 'deny', 'default', '-', 'no_uri_san'],
    ['non-canonical path', STORE, 'POST', '/charges/../admin', 'deny', 'non_canonical_path', STORE],
    ['percent-encoded slash', STORE, 'POST', '/charges%2F..%2Fadmin', 'deny', 'non_canonical_path', STORE],
  ];

  type Case = (typeof cases)[number];
  const sendCase = (plugin: PluginHandle, [, peer, method, path]: Case) =>
    send(plugin, { connectionId: ++conn, peerCertificate: peer === null ? undefined : peers[peer], request: inboundRequest(method, path) });

  it.each(cases)('%s', (...c) => {
    const [, , , , decision, rule, identity, why] = c;
    const { result, stream } = sendCase(s.plugin, c);
    const reason = why === undefined ? '' : ` identity_reason=${why}`;
    expect(stream.filterState).toEqual({ 'wasm.meshgate': `decision=${decision} rule=${rule} identity=${identity} policy=${s.digest.slice(0, 12)}${reason}` });
    if (decision === 'allow') {
      expect(result).toEqual({ action: 'continue', status: 0, localReply: undefined });
    } else {
      expect(result.action).toBe('stop');
      expect(result.localReply).toEqual({ status: 403, body: DENY_BODY, headers: [], details: `meshgate_denied[${rule}]`, grpcStatus: -1 });
    }
  });

  it('counts every decision of the table above, handed to the host on the timer', async () => {
    const own = await start('meshgate_inbound', INBOUND_POLICY);
    for (const c of cases) sendCase(own.plugin, c);
    // counted in module memory: nothing reaches the host before the timer fires
    expect(own.vm.metrics()['meshgate.inbound.allowed']).toBe(0);
    own.plugin.tick();
    const m = own.vm.metrics();
    const allowed = cases.filter((c) => c[4] === 'allow').length;
    expect(m['meshgate.inbound.allowed']).toBe(allowed);
    expect(m['meshgate.inbound.denied']).toBe(cases.length - allowed);
    expect(m['meshgate.inbound.rule.no-admin']).toBe(2);
    expect(m['meshgate.inbound.rule.store-creates-charges']).toBe(2);
    expect(m['meshgate.inbound.rule.try-new-reader']).toBe(1); // matched, in audit mode
    expect(m['meshgate.inbound.invalid_request']).toBe(2);
    expect(m['meshgate.inbound.default']).toBe(cases.filter((c) => c[5] === 'default').length);
    expect(own.vm.failed).toBeNull();
  });
});

describe('meshgate_egress requests', () => {
  let s: Started;
  let conn = 200n;
  beforeAll(async () => {
    s = await start('meshgate_egress', EGRESS_POLICY);
  });

  it.each([
    ['billing CONNECTs to Stripe', BILLING, 'CONNECT', 'api.stripe.com:443', 'https', 'allow', 'billing-to-stripe'],
    ['billing, a Stripe subdomain', BILLING, 'CONNECT', 'files.stripe.com:443', 'https', 'allow', 'billing-to-stripe'],
    ['billing, wrong port', BILLING, 'CONNECT', 'api.stripe.com:8443', 'https', 'deny', 'default'],
    ['store is not billing', STORE, 'CONNECT', 'api.stripe.com:443', 'https', 'deny', 'default'],
    ['the shop fetches from GitHub over plain HTTP', STORE, 'GET', 'github.com', 'http', 'allow', 'shop-to-github'],
    ['nobody reaches the metadata address', BILLING, 'GET', '169.254.169.254', 'http', 'deny', 'no-metadata'],
    ['a malformed authority', BILLING, 'CONNECT', 'api.stripe.com:99999', 'https', 'deny', 'bad_port'],
  ] as const)('%s', (_label, peer, method, authority, scheme, decision, rule) => {
    const { result, stream } = send(s.plugin, { connectionId: ++conn, peerCertificate: peers[peer], request: egressRequest(method, authority, scheme) });
    expect(stream.filterState['wasm.meshgate']).toBe(`decision=${decision} rule=${rule} identity=${peer} policy=${s.digest.slice(0, 12)}`);
    expect(result.action).toBe(decision === 'allow' ? 'continue' : 'stop');
    if (decision === 'deny') expect(result.localReply).toMatchObject({ status: 403, body: DENY_BODY, details: `meshgate_denied[${rule}]` });
  });
});

describe('peer identity cache per connection.id', () => {
  it('a second request on the same connection id keeps the first certificate\'s identity; a new id re-reads', async () => {
    const { plugin } = await start('meshgate_inbound', INBOUND_POLICY);
    const post = inboundRequest('POST', '/charges');
    const state = (r: ReturnType<typeof send>) => r.stream.filterState['wasm.meshgate'].split(' ').slice(0, 3).join(' ');

    expect(state(send(plugin, { connectionId: 7001n, peerCertificate: peers[STORE], request: post })))
      .toBe(`decision=allow rule=store-creates-charges identity=${STORE}`);
    // Same connection, another certificate property: a connection's peer cannot change, so the
    // filter does not look again (Envoy never does this; the emulator can, to show the cache).
    expect(state(send(plugin, { connectionId: 7001n, peerCertificate: peers[WEB], request: post })))
      .toBe(`decision=allow rule=store-creates-charges identity=${STORE}`);
    // A new connection id: the certificate is read again.
    expect(state(send(plugin, { connectionId: 7002n, peerCertificate: peers[WEB], request: post })))
      .toBe(`decision=deny rule=default identity=${WEB}`);
    // Without connection.id nothing is cached.
    expect(state(send(plugin, { peerCertificate: peers[STORE], request: post }))).toBe(`decision=allow rule=store-creates-charges identity=${STORE}`);
    expect(state(send(plugin, { peerCertificate: peers[WEB], request: post }))).toBe(`decision=deny rule=default identity=${WEB}`);
  });

  it('each root context (plugin configuration) has its own cache', async () => {
    const { vm, plugin } = await start('meshgate_inbound', INBOUND_POLICY);
    const post = inboundRequest('POST', '/charges');
    send(plugin, { connectionId: 9001n, peerCertificate: peers[STORE], request: post });
    const second = vm.startPlugin({ rootId: 'meshgate_inbound', configuration: JSON.stringify(INBOUND_POLICY) });
    const r = send(second, { connectionId: 9001n, peerCertificate: peers[WEB], request: post });
    expect(r.stream.filterState['wasm.meshgate']).toMatch(`decision=deny rule=default identity=${WEB}`);
  });
});

it('at debug level, one decision line per request explaining a default deny', async () => {
  const { vm, plugin, digest } = await start('meshgate_inbound', INBOUND_POLICY, 1);
  send(plugin, { connectionId: 1n, peerCertificate: peers[WEB], request: inboundRequest('POST', '/charges') });
  send(plugin, { connectionId: 2n, request: inboundRequest('GET', '/healthz') });
  expect(vm.logsAt('debug')).toEqual([
    `decision=deny rule=default identity=${WEB} policy=${digest.slice(0, 12)} nearest=store-creates-charges failed_field=from`,
    expect.stringMatching(new RegExp(`^decision=deny rule=default identity=- policy=${digest.slice(0, 12)} identity_reason=\\S+`)),
  ]);
});

describe('per-connection identity cache (assembly/filter/peer.ts)', () => {
  // The filter reads `connection.peer_certificate` only when `connection.id` is not cached. These
  // tests hand a DIFFERENT certificate on a later request of the same connection (Envoy never
  // does): the decision then shows whether the cached identity or a fresh parse was used.
  const charge = inboundRequest('POST', '/charges');
  const decide = (plugin: PluginHandle, connectionId: bigint, peer: string) =>
    send(plugin, { connectionId, peerCertificate: peers[peer], request: charge }).result.action;

  it('keeps 4 connections whose ids share their low bits, and replaces the least recently used', async () => {
    const { plugin } = await start('meshgate_inbound', INBOUND_POLICY);
    const same = [0n, 1n, 2n, 3n, 4n].map((k) => 7n + 64n * k); // one set of the 64
    for (const id of same.slice(0, 4)) expect(decide(plugin, id, STORE)).toBe('continue');
    // all four still cached: store's identity answers, whatever certificate is offered now
    for (const id of same.slice(0, 4)) expect(decide(plugin, id, WEB)).toBe('continue');
    // a fifth connection of the set evicts the least recently used (the first)
    expect(decide(plugin, same[4], STORE)).toBe('continue');
    expect(decide(plugin, same[0], WEB)).toBe('stop'); // parsed again: web
    expect(decide(plugin, same[3], WEB)).toBe('continue'); // still cached
  });

  it('forgets what a replaced policy answered for a cached connection', async () => {
    const { plugin } = await start('meshgate_inbound', INBOUND_POLICY);
    expect(decide(plugin, 42n, STORE)).toBe('continue');
    const withoutStore = JSON.parse(JSON.stringify(INBOUND_POLICY));
    withoutStore.inbound.rules[1].from = [READER];
    expect(plugin.reconfigure(JSON.stringify(withoutStore))).toBe(true);
    expect(decide(plugin, 42n, STORE)).toBe('stop');
    expect(plugin.reconfigure(JSON.stringify(INBOUND_POLICY))).toBe(true);
    expect(decide(plugin, 42n, STORE)).toBe('continue');
  });
});
