/**
 * meshgate as a native Envoy dynamic module (build/libmeshgate.so, from build/meshgate.wasm by
 * wasm2c): the inbound scenario suite on the `envoy-native` target agrees with the Wasm filter on
 * the `envoy` target request by request (outcome, status, layer, decision, rule, identity reason,
 * the filter's record, Envoy's details, rule counters); a policy the module refuses keeps Envoy
 * from starting. Builds the library first when it is missing or older than meshgate.wasm
 * (`npm run build:native`: installs wasm2c into .cache/wabt, needs a C compiler).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadScenario } from '../../harness/scenario/load';
import { runScenario, formatResult, emptySummary, forProtocol } from '../../harness/scenario/run';
import { startTarget } from '../../harness/scenario/targets/factory';
import type { Observation, Protocol, RequestResult } from '../../harness/scenario/types';
import { buildNative } from '../../harness/native/build';
import { nativeHttpFilters, requireNativeLibrary, toNative } from '../../harness/native/config';
import { renderReference, httpFilters } from '../../harness/envoy/reference';
import { TestCa } from '../../harness/pki/ca';
import { InboundStack } from '../../harness/stack/inbound';

const SCENARIOS = path.join(__dirname, '..', 'scenarios', 'inbound');

/** What both runtimes must agree on (the OpenSSL error text of a refused handshake names a thread address). */
function comparable(o: Observation): Omit<Observation, 'detail'> & { detail?: string } {
  return { ...o, detail: o.layer === 'tls' ? undefined : o.detail };
}

beforeAll(async () => {
  try {
    requireNativeLibrary();
  } catch {
    await buildNative();
  }
}, 600_000);

const files = fs.readdirSync(SCENARIOS).filter((f) => f.endsWith('.yaml')).sort();
for (const file of files) {
  for (const protocol of ['http1', 'h2'] as Protocol[]) {
    const scenario = forProtocol(loadScenario(path.join(SCENARIOS, file), { strict: true }), protocol);
    if (scenario.requests.length === 0) continue;
    describe(`inbound/${file} over ${protocol} on envoy-native`, () => {
      // one summary per target: rule coverage comes from each target's own counters in /stats
      const native = emptySummary();
      const wasm = emptySummary();
      beforeAll(async () => {
        await runScenario(scenario, { targets: ['envoy-native'] }, startTarget, native);
        await runScenario(scenario, { targets: ['envoy'] }, startTarget, wasm);
      }, 180_000);

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
    expect(toNative(cfg)).toBe(1);
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
