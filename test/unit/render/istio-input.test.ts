/**
 * Reading meshgate's pluginConfig back out of WasmPlugin/TrafficExtension manifests: every
 * document of a stream, positions in the file, other kinds and other modules skipped, and a bad
 * hand edit reported at its line in the manifest.
 */
import { parse as parseYaml } from 'yaml';
import { compileIstioManifest, looksLikeIstioResource, readPluginConfigs, toFilePosition } from '../../../harness/render/istio-input';
import { renderWasmPlugin } from '../../../harness/render/istio';

const POLICY = { trustDomain: 'example.org', inbound: { default: 'deny', rules: [{ name: 'store', from: ['spiffe://example.org/ns/shop/sa/store'], methods: ['GET'] }] } };
const URL = 'file:///opt/meshgate.wasm';
const rendered = (api: 'wasmplugin' | 'traffic-extension') =>
  renderWasmPlugin({ role: 'inbound', api, policyJson: JSON.stringify(POLICY), url: URL, namespace: 'shop', selector: { app: 'billing' } });

test('a rendered WasmPlugin and TrafficExtension in one stream, plus a document of another kind', () => {
  const other = 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {pluginConfig: "{}"}\n';
  const text = [rendered('wasmplugin'), other, rendered('traffic-extension')].join('---\n');
  expect(looksLikeIstioResource(text)).toBe(true);
  const { configs, problems } = readPluginConfigs(text);
  expect(problems).toEqual([]);
  expect(configs.map((c) => [c.document, c.kind, c.name, c.pluginName])).toEqual([
    [0, 'WasmPlugin', 'meshgate-inbound-billing', 'meshgate_inbound'],
    [2, 'TrafficExtension', 'meshgate-inbound-billing', 'meshgate_inbound'],
  ]);
  const lines = text.split('\n');
  for (const c of configs) {
    expect(parseYaml(c.text)).toEqual(POLICY);
    // The text starts where the file says, and a later line maps back to the same characters.
    expect(lines[c.line - 1].slice(c.col - 1)).toBe(c.text.split('\n')[0]);
    const second = c.text.split('\n')[1];
    const p = toFilePosition(c, 2, 1);
    expect(lines[p.line - 1].slice(p.col - 1)).toBe(second);
  }
  expect(compileIstioManifest('m.yaml', text).map((r) => [r.ok, r.json])).toEqual([
    [true, JSON.stringify(POLICY)],
    [true, JSON.stringify(POLICY)],
  ]);
});

test('a hand-edited pluginConfig: the error is at its line in the manifest', () => {
  const text = rendered('wasmplugin').replace('methods:\n', 'methods:\n        - FETCH\n');
  const line = text.split('\n').findIndex((l) => l.includes('FETCH')) + 1;
  expect(line).toBeGreaterThan(0);
  const [r] = compileIstioManifest('plugin.yaml', text);
  expect(r.ok).toBe(false);
  expect(r.errors.map((e) => [e.file, e.line])).toContainEqual(['plugin.yaml', line]);
});

test('flow-style pluginConfig on one line (TrafficExtension), and the SNI filter refuses xfcc', () => {
  const text = [
    'apiVersion: extensions.istio.io/v1alpha1',
    'kind: TrafficExtension',
    'metadata: {name: sni, namespace: istio-system}',
    'spec:',
    '  wasm:',
    '    url: file:///m.wasm',
    '    pluginName: meshgate_egress_sni',
    '    pluginConfig: {trustDomain: example.org, identity: {from: xfcc, trustedProxies: ["spiffe://example.org/a"]}, egress: {rules: [{name: a, hosts: [x.example]}]}}',
    '',
  ].join('\n');
  const { configs } = readPluginConfigs(text);
  expect(configs).toHaveLength(1);
  expect(configs[0]).toMatchObject({ line: 8, col: 19, indent: 18 });
  const [r] = compileIstioManifest('sni.yaml', text);
  expect(r.ok).toBe(false);
  expect(r.errors.map((e) => e.message).join('\n')).toMatch(/not available to a network filter/);
  expect(r.errors[0].line).toBe(8);
});

test.each<[string, string, RegExp]>([
  ['YAML that does not parse', 'kind: WasmPlugin\nspec: {pluginName: meshgate_inbound, pluginConfig: [\n', /./],
  ['a meshgate WasmPlugin without pluginConfig', 'kind: WasmPlugin\nmetadata: {name: a}\nspec: {url: file:///m.wasm, pluginName: meshgate_egress}\n', /document 1 \(WasmPlugin\): meshgate_egress has no spec\.pluginConfig/],
  ['a TrafficExtension without wasm', 'kind: TrafficExtension\nspec: {phase: AUTHZ}\n', /no spec\.wasm/],
  ['no meshgate module at all', 'kind: WasmPlugin\nspec: {url: file:///other.wasm, pluginName: other, pluginConfig: {a: 1}}\n', /no WasmPlugin or TrafficExtension loading meshgate/],
])('%s → one failed result', (_what, text, re) => {
  const results = compileIstioManifest('bad.yaml', text);
  expect(results).toHaveLength(1);
  expect(results[0].ok).toBe(false);
  expect(results[0].errors[0].message).toMatch(re);
});

test('looksLikeIstioResource: only a top-level kind line', () => {
  expect(looksLikeIstioResource('trustDomain: example.org\n# kind: WasmPlugin\n')).toBe(false);
  expect(looksLikeIstioResource('apiVersion: x\nkind: "TrafficExtension"  # yes\n')).toBe(true);
});
