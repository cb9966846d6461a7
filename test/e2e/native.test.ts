/**
 * meshgate as a native Envoy dynamic module (build/libmeshgate.so, from build/meshgate.wasm by
 * wasm2c): the inbound suite (over HTTP/1.1 and h2) and the egress suite (HTTP gateway and
 * sidecar with CONNECT through the tunnel exit, SNI passthrough) on the `envoy-native` target
 * agree with the Wasm filter on the `envoy` target request by request (outcome, status, layer,
 * decision, rule, identity reason, the filter's record, Envoy's details, DNS queries, external
 * connections, tunnel bytes, rule counters); `meshgate stats` reads the native counters; a policy
 * the module refuses keeps Envoy from starting, and a live update replaces the policy while a
 * refused one leaves the old one serving, as with the Wasm filter. Builds the library first when
 * it is missing or older than meshgate.wasm (`npm run build:native`: installs wasm2c into
 * .cache/wabt, needs a C compiler).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadScenario } from '../../harness/scenario/load';
import { runScenario, formatResult, emptySummary, forProtocol } from '../../harness/scenario/run';
import { startTarget } from '../../harness/scenario/targets/factory';
import type { Observation, Protocol, RequestResult, Scenario } from '../../harness/scenario/types';
import { nativeHttpFilters, toNative } from '../../harness/native/config';
import { ensureNativeLibraries } from '../../harness/native/ensure';
import { renderReference, httpFilters, networkFilters } from '../../harness/envoy/reference';
import type { Json } from '../../harness/envoy/bootstrap';
import { waitForDecisions } from '../../harness/envoy/decisions';
import { compilePolicyText } from '../../harness/policy/compile';
import { policyStats } from '../../harness/rollout/stats';
import { request } from '../../harness/services/client';
import { TestCa } from '../../harness/pki/ca';
import { InboundStack } from '../../harness/stack/inbound';

const SCENARIOS = path.join(__dirname, '..', 'scenarios');

/** What both runtimes must agree on (the OpenSSL error text of a refused handshake names a thread address). */
/** A tunnel that went through ends when either side closes first (the harness closes its client
 *  after the echo), so Envoy's own details code of an allowed tunnel is timing
 *  (`via_upstream` or `downstream_remote_disconnect`); the filter's record in it is not. */
const TUNNEL_END = /^(via_upstream|downstream_remote_disconnect) \(/;

function comparable(o: Observation): Omit<Observation, 'detail'> & { detail?: string } {
  if (o.layer === 'tls') return { ...o, detail: undefined };
  const tunnel = o.outcome === 'allow' && o.detail !== undefined && /\bsni=/.test(o.detail) && TUNNEL_END.test(o.detail);
  return { ...o, detail: tunnel ? o.detail!.replace(TUNNEL_END, '<tunnel end> (') : o.detail };
}

beforeAll(() => ensureNativeLibraries(), 600_000);

const yamlIn = (dir: string) => fs.readdirSync(path.join(SCENARIOS, dir)).filter((f) => f.endsWith('.yaml')).sort();

/** One scenario on both targets: the same observation for every request, the same rule counts. */
function agreesWithWasm(title: string, scenario: Scenario): void {
  if (scenario.requests.length === 0) return;
  describe(`${title} on envoy-native`, () => {
    // one summary per target: rule coverage comes from each target's own counters in /stats
    const native = emptySummary();
    const wasm = emptySummary();
    beforeAll(async () => {
      await runScenario(scenario, { targets: ['envoy-native'] }, startTarget, native);
      await runScenario(scenario, { targets: ['envoy'] }, startTarget, wasm);
    }, 300_000);

    it.each(scenario.requests.map((r, i) => [i, r.label] as const))('#%i %s', (i) => {
      const req = scenario.requests[i];
      const mine: RequestResult | undefined = native.results.find((r) => r.request === req);
      const reference: RequestResult | undefined = wasm.results.find((r) => r.request === req);
      expect(mine && !mine.passed ? formatResult(mine) : mine?.target).toBe('envoy-native');
      expect(comparable(mine!.observed)).toEqual(comparable(reference!.observed));
    });

    it('counts the same rules in /stats as the Wasm filter', () => {
      expect(native.coverage.length).toBeGreaterThan(0);
      expect(native.coverage).toEqual(wasm.coverage);
    });
  });
}

for (const file of yamlIn('inbound')) {
  for (const protocol of ['http1', 'h2'] as Protocol[]) {
    agreesWithWasm(`inbound/${file} over ${protocol}`, forProtocol(loadScenario(path.join(SCENARIOS, 'inbound', file), { strict: true }), protocol));
  }
}
for (const file of yamlIn('egress')) {
  agreesWithWasm(`egress/${file}`, forProtocol(loadScenario(path.join(SCENARIOS, 'egress', file), { strict: true })));
}

describe('native configuration', () => {
  it('replaces the Wasm filter of a rendered reference config, keeping root id and policy', () => {
    const policyJson = JSON.stringify({ trustDomain: 'example.org', inbound: { default: 'deny', rules: [] } });
    const cfg = renderReference('inbound', {
      wasmFile: 'build/meshgate.wasm',
      policyJson,
      certs: { caFile: 'ca.pem', certFile: 'cert.pem', keyFile: 'key.pem' },
      trustBundles: [],
      upstreamPort: 1,
    });
    expect(toNative(cfg)).toEqual({ replaced: 1, keptWasm: 0 });
    const names = httpFilters(cfg).map((f) => f.name);
    expect(names).toEqual(['meshgate.peer_certificate', 'meshgate.native', 'envoy.filters.http.router']);
    const module = httpFilters(cfg)[1].typed_config as Record<string, unknown>;
    expect(module.filter_name).toBe('meshgate_inbound');
    expect((module.filter_config as Record<string, unknown>).value).toBe(policyJson);
  });

  it('a policy the module refuses keeps Envoy from starting, naming every bad field', async () => {
    const ca = await TestCa.create({ trustDomain: 'example.org' });
    const invalid = JSON.stringify({
      trustDomain: 'example.org',
      inbound: { default: 'deny', rules: [{ name: 'everyone', from: ['spiffe://Example.ORG/ns/web/*'], pathz: ['/charges'] }] },
    });
    const err = await InboundStack.start({
      policyJson: invalid,
      trustDomain: 'example.org',
      ca,
      replaceWasmWith: nativeHttpFilters({ rootId: 'meshgate_inbound', policyJson: invalid }),
    }).then(
      async (stack) => {
        await stack.stop();
        return undefined;
      },
      (e: Error) => e,
    );
    expect(err).toBeInstanceOf(Error);
    expect(err!.message).toContain('inbound.rules[0].from[0]');
    expect(err!.message).toContain('inbound.rules[0].pathz');
    expect(err!.message).toContain('Failed to initialize dynamic module');
  }, 120_000);
});

describe('native egress configuration', () => {
  const certs = { caFile: 'ca.pem', certFile: 'cert.pem', keyFile: 'key.pem' };
  const policyJson = JSON.stringify({ trustDomain: 'example.org', egress: { default: 'deny', rules: [] } });
  const typesOf = (filters: Json[]) => filters.map((f) => String((f.typed_config as Json)['@type']).split('.').pop());

  it('the HTTP gateway: the policy filter and the tunnel exit run natively', () => {
    const cfg = renderReference('egress', { wasmFile: 'build/meshgate.wasm', policyJson, certs, trustBundles: [], dnsPort: 53 });
    expect(toNative(cfg)).toEqual({ replaced: 2, keptWasm: 0 });
    expect(httpFilters(cfg).map((f) => f.name)).toContain('meshgate.native');
    const exit = networkFilters(cfg).filter((f) => f.name === 'meshgate.native');
    expect(typesOf(exit)).toEqual(['DynamicModuleNetworkFilter']);
    expect((exit[0].typed_config as Json).filter_name).toBe('meshgate_tunnel_exit');
  });

  it('the SNI gateway keeps its Wasm policy filter: the network ABI cannot hand over the caller certificate', () => {
    const cfg = renderReference('egress-sni-gateway', { wasmFile: 'build/meshgate.wasm', policyJson, certs, trustBundles: [], dnsPort: 53, sniListeners: { address: '127.0.0.2', ports: [443] } });
    expect(toNative(cfg)).toEqual({ replaced: 0, keptWasm: 1 });
  });

  it('the SNI sidecar runs natively', () => {
    const cfg = renderReference('egress-sni-sidecar', { wasmFile: 'build/meshgate.wasm', policyJson, certs, trustBundles: [], dnsPort: 53, sniListeners: { address: '127.0.0.2', ports: [443] } });
    expect(toNative(cfg)).toEqual({ replaced: 1, keptWasm: 0 });
  });
});

describe('native live reload', () => {
  const STORE = 'spiffe://example.org/ns/shop/sa/store';
  const WEB = 'spiffe://example.org/ns/web/sa/frontend';
  const policy = (from: string[]) =>
    JSON.stringify({ trustDomain: 'example.org', inbound: { default: 'deny', rules: [{ name: 'creates-charges', from, methods: ['POST'], paths: ['/charges'] }] } });
  const INVALID = JSON.stringify({ trustDomain: 'example.org', inbound: { default: 'deny', rules: [{ name: 'x', from: [STORE], pathz: ['/charges'] }] } });

  it('a new policy takes effect without a restart; a refused one leaves the last good policy serving; meshgate stats reads the counters', async () => {
    const stack = await InboundStack.start({
      policyJson: policy([STORE]),
      trustDomain: 'example.org',
      liveUpdates: true,
      replaceWasmWith: (policyJson) => nativeHttpFilters({ rootId: 'meshgate_inbound', policyJson }),
    });
    try {
      const { envoy, port, upstream } = stack;
      const send = async (id: string) => {
        upstream.clear();
        const res = await request({ port, tls: await stack.clientTls(id), method: 'POST', path: '/charges', headers: { host: 'billing' } });
        return { status: res.status, received: upstream.received().length };
      };
      const stat = async (name: string) => (await envoy.stats())[name] ?? 0;
      const until = async (name: string, value: number) => {
        for (let i = 0; i < 100 && (await stat(name)) < value; i++) await new Promise((r) => setTimeout(r, 50));
        // the new listener has warmed before it takes connections
        for (let i = 0; i < 100 && (await stat('listener_manager.total_listeners_warming')) > 0; i++) await new Promise((r) => setTimeout(r, 50));
        return stat(name);
      };
      expect(await send(WEB)).toEqual({ status: 403, received: 0 });

      const accepted = await stat('listener_manager.lds.update_success');
      stack.replacePolicy(policy([STORE, WEB]));
      expect(await until('listener_manager.lds.update_success', accepted + 1)).toBe(accepted + 1);
      expect(await send(WEB)).toEqual({ status: 200, received: 1 });

      stack.replacePolicy(INVALID);
      expect(await until('listener_manager.lds.update_rejected', 1)).toBe(1);
      expect(envoy.logs()).toContain('inbound.rules[0].pathz');
      expect(await send(WEB)).toEqual({ status: 200, received: 1 });
      expect(await send(STORE)).toEqual({ status: 200, received: 1 });

      // `meshgate stats` on the native proxy's /stats: the rule decided every allowed request
      const compiled = compilePolicyText(policy([STORE, WEB]), 'policy.json');
      const [inbound] = policyStats(compiled, await waitForDecisions(envoy, 4));
      expect(Object.keys(await envoy.stats()).some((k) => k.startsWith('dynamicmodulescustom.meshgate.inbound.'))).toBe(true);
      expect(inbound.filter).toBe('inbound');
      expect(inbound.rules.find((r) => r.name === 'creates-charges')?.count).toBe(3);
      expect(inbound.totals.denied).toBe(1);
    } finally {
      await stack.stop();
    }
  }, 120_000);
});
