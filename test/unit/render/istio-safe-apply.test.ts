/**
 * `render istio` output is safe to `kubectl apply`: the namespace is required; the name follows
 * role and workload, so a second service's policy gets its own resource; inbound needs a
 * selector or targetRefs unless `allWorkloads` is said; the header states the oldest Istio
 * release with every field used. Each refusal names the flag and what to do.
 */
import { parse as parseYaml } from 'yaml';
import {
  buildIstioResource,
  IstioRenderError,
  minimumIstioVersion,
  parseTargetRef,
  renderWasmPlugin,
  schemaValidator,
  type IstioApi,
  type IstioRenderErrorCode,
  type RenderIstioOptions,
} from '../../../harness/render/istio';

const POLICY_JSON = JSON.stringify({ trustDomain: 'example.org', inbound: { default: 'deny', rules: [] }, egress: { default: 'deny', rules: [] } });
const URL = `oci://reg.example/meshgate:v1@sha256:${'ab'.repeat(32)}`;
const base = (o: Partial<RenderIstioOptions>): RenderIstioOptions => ({ role: 'inbound', policyJson: POLICY_JSON, url: URL, namespace: 'shop', selector: { app: 'billing' }, ...o });

function refusal(o: Partial<RenderIstioOptions>): IstioRenderError {
  try {
    buildIstioResource(base(o));
  } catch (e) {
    expect(e).toBeInstanceOf(IstioRenderError);
    return e as IstioRenderError;
  }
  throw new Error('expected an IstioRenderError');
}

describe('refusals name the flag and say what to do', () => {
  test.each<[string, Partial<RenderIstioOptions>, IstioRenderErrorCode, RegExp]>([
    ['no namespace', { namespace: undefined }, 'NAMESPACE_REQUIRED', /^--namespace is required/],
    ['egress without namespace points at the gateway\'s', { role: 'egress', namespace: undefined, selector: undefined }, 'NAMESPACE_REQUIRED', /usually istio-system/],
    ['inbound without a target', { selector: undefined }, 'TARGET_REQUIRED', /--selector app=<service>.*every workload of the namespace.*--all-workloads/],
    ['an empty selector is no target', { selector: {} }, 'TARGET_REQUIRED', /--all-workloads/],
    ['--all-workloads with a selector', { allWorkloads: true }, 'TARGET_REQUIRED', /contradicts/],
    ['selector and targetRefs', { targetRefs: [parseTargetRef('Gateway/gw')] }, 'TARGET_REQUIRED', /only one of selector and targetRefs/],
    ['a selector without an app label', { selector: { tier: 'web' } }, 'NAME_REQUIRED', /^--name is required/],
    ['several targets and no name', { selector: undefined, targetRefs: [parseTargetRef('Gateway/a'), parseTargetRef('Gateway/b')] }, 'NAME_REQUIRED', /--name/],
    ['an app label that is no resource name', { selector: { app: 'Billing_API' } }, 'NAME_SYNTAX', /"meshgate-inbound-Billing_API" \(derived from the selector or target\).*give --name/],
    ['a bad --name', { name: 'a/b' }, 'NAME_SYNTAX', /give --name/],
  ])('%s → %s', (_what, o, code, re) => {
    const e = refusal(o);
    expect(e.problems.map((p) => p.code)).toContain(code);
    expect(e.problems.find((p) => p.code === code)!.message).toMatch(re);
  });

  test.each(['Pod/x', 'Gateway', 'Gateway/', 'Gateway/Bad_Name', 'gateway/x'])('--target-ref %j → TARGET_REF_SYNTAX', (text) => {
    expect(() => parseTargetRef(text)).toThrow(/--target-ref .*expected Kind\/name with Kind one of Gateway, GatewayClass, Service, ServiceEntry/);
  });
});

describe('names follow role and workload', () => {
  test('two services of one namespace get two resources', () => {
    const names = ['billing', 'ledger'].map((app) => (buildIstioResource(base({ selector: { app } })).metadata as { name: string }).name);
    expect(names).toEqual(['meshgate-inbound-billing', 'meshgate-inbound-ledger']);
  });

  test.each<[string, Partial<RenderIstioOptions>, string]>([
    ['--name wins', { name: 'billing-v2' }, 'meshgate-inbound-billing-v2'],
    ['app.kubernetes.io/name when there is no app', { selector: { 'app.kubernetes.io/name': 'ledger' } }, 'meshgate-inbound-ledger'],
    ['the egress gateway default', { role: 'egress', selector: undefined, namespace: 'istio-system' }, 'meshgate-egress-egressgateway'],
    ['the one target', { role: 'egress', selector: undefined, targetRefs: [parseTargetRef('Gateway/egress-gw')] }, 'meshgate-egress-egress-gw'],
    ['--all-workloads', { selector: undefined, allWorkloads: true }, 'meshgate-inbound-all-workloads'],
  ])('%s', (_what, o, name) => {
    expect((buildIstioResource(base(o)).metadata as { name: string }).name).toBe(name);
  });
});

describe.each<[IstioApi]>([['wasmplugin'], ['traffic-extension']])('%s targetRefs', (api) => {
  test('rendered instead of a selector (also for egress, whose gateway default then goes), schema-valid', () => {
    const doc = parseYaml(renderWasmPlugin(base({ api, role: 'egress', selector: undefined, targetRefs: [parseTargetRef('Gateway/egress-gw'), parseTargetRef('ServiceEntry/stripe')], name: 'egress' })));
    expect(doc.spec.targetRefs).toEqual([
      { group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'egress-gw' },
      { group: 'networking.istio.io', kind: 'ServiceEntry', name: 'stripe' },
    ]);
    expect(doc.spec).not.toHaveProperty('selector');
    const v = schemaValidator(api);
    expect([v(doc), v.errors ?? []]).toEqual([true, []]);
  });
});

describe('supported Istio versions', () => {
  test.each<[Partial<RenderIstioOptions>, string, RegExp]>([
    [{}, '1.19', /WasmPlugin failStrategy: 1\.19/],
    [{ role: 'egress-sni', selector: undefined }, '1.20', /WasmPlugin type: NETWORK: 1\.20/],
    [{ selector: undefined, targetRefs: [parseTargetRef('Gateway/gw')] }, '1.22', /WasmPlugin targetRefs: 1\.22/],
    [{ api: 'traffic-extension', role: 'egress-sni', selector: undefined }, '1.30', /TrafficExtension: 1\.30/],
  ])('%j → %s and later, in the header', (o, version, because) => {
    const min = minimumIstioVersion(base(o));
    expect(min.version).toBe(version);
    const text = renderWasmPlugin(base(o));
    const header = text.split('\n').filter((l) => l.startsWith('#'));
    expect(header.find((l) => l.includes('Supported Istio versions'))).toMatch(new RegExp(`^# Supported Istio versions: ${version.replace('.', '\\.')} and later \\(.*\\)\\.$`));
    expect(header.join('\n')).toMatch(because);
  });
});
