/**
 * `meshgate render istio --role egress-sni`: the SNI filter is a proxy-wasm NETWORK filter, so the
 * resource says `type: NETWORK` (istio/api wasm.proto `WasmPlugin.type`, traffic_extension.proto
 * `WasmConfig.type`; enum PluginType UNSPECIFIED_PLUGIN_TYPE | HTTP | NETWORK) next to the root id
 * meshgate_egress_sni; the HTTP roles keep leaving the field out (Istio's default is HTTP). Read
 * back from the YAML and validated against schema/istio, which refuses the network root id
 * without `type: NETWORK` and the HTTP root ids with it.
 */
import * as fs from 'node:fs';
import Ajv from 'ajv';
import { parse as parseYaml } from 'yaml';
import { buildIstioResource, renderWasmPlugin, schemaPath, type IstioApi, type IstioRole } from '../../../harness/render/istio';

const POLICY_JSON = JSON.stringify({
  trustDomain: 'example.org',
  egress: { default: 'deny', rules: [{ name: 'billing-to-stripe', from: ['spiffe://example.org/ns/shop/sa/billing'], hosts: ['api.stripe.com'], ports: [443] }] },
});
const URL = `oci://reg.example/meshgate:v1@sha256:${'ab'.repeat(32)}`;

const ajv = new Ajv({ allErrors: true, strict: true });
const validate = (api: IstioApi) => ajv.compile(JSON.parse(fs.readFileSync(schemaPath(api), 'utf8')));
const wasmPart = (api: IstioApi, spec: Record<string, unknown>) => (api === 'wasmplugin' ? spec : (spec.wasm as Record<string, unknown>));

describe.each<[IstioApi]>([['wasmplugin'], ['traffic-extension']])('%s', (api) => {
  const v = validate(api);

  it('egress-sni: pluginName meshgate_egress_sni, type NETWORK, CLIENT traffic of the egress gateway', () => {
    const doc = parseYaml(renderWasmPlugin({ role: 'egress-sni', api, policyJson: POLICY_JSON, url: URL, namespace: 'istio-system' }));
    expect([v(doc), v.errors ?? []]).toEqual([true, []]);
    expect(wasmPart(api, doc.spec)).toMatchObject({ pluginName: 'meshgate_egress_sni', type: 'NETWORK', failStrategy: 'FAIL_CLOSE' });
    expect(doc.spec).toMatchObject({ phase: 'AUTHZ', match: [{ mode: 'CLIENT' }], selector: { matchLabels: { istio: 'egressgateway' } } });
    expect(doc.metadata).toMatchObject({ name: 'meshgate-egress-sni-egressgateway', namespace: 'istio-system' });
  });

  it.each<[IstioRole]>([['inbound'], ['egress']])('%s (an HTTP filter) has no type field', (role) => {
    expect(wasmPart(api, buildIstioResource({ role, api, policyJson: POLICY_JSON, url: URL, namespace: 'shop', selector: { app: 'billing' } }).spec as Record<string, unknown>)).not.toHaveProperty('type');
  });

  it('the schema refuses the network root id without type NETWORK, and an HTTP root id with it', () => {
    const sni = buildIstioResource({ role: 'egress-sni', api, policyJson: POLICY_JSON, url: URL, namespace: 'istio-system' });
    const http = buildIstioResource({ role: 'egress', api, policyJson: POLICY_JSON, url: URL, namespace: 'istio-system' });
    const without = JSON.parse(JSON.stringify(sni));
    delete wasmPart(api, without.spec).type;
    const withType = JSON.parse(JSON.stringify(http));
    wasmPart(api, withType.spec).type = 'NETWORK';
    const typo = JSON.parse(JSON.stringify(sni));
    wasmPart(api, typo.spec).type = 'TCP';
    for (const bad of [without, withType, typo]) expect(v(bad)).toBe(false);
  });
});
