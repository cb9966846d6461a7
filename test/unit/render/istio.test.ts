/**
 * `meshgate render istio`: WasmPlugin and TrafficExtension for both roles and every URL kind,
 * read back from the YAML text and validated with a fresh Ajv against schema/istio; the sha256
 * rule of each URL kind; and every kind of bad input, with its stable code.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Ajv from 'ajv';
import { parse as parseYaml } from 'yaml';
import { packageOci } from '../../../harness/package/oci';
import {
  buildIstioResource,
  IstioRenderError,
  parseSelector,
  renderWasmPlugin,
  schemaPath,
  type IstioApi,
  type IstioRenderErrorCode,
  type IstioRole,
  type RenderIstioOptions,
} from '../../../harness/render/istio';

const POLICY = {
  trustDomain: 'example.org',
  mode: 'enforce',
  inbound: { default: 'deny', rules: [{ name: 'store', action: 'allow', from: ['spiffe://example.org/ns/shop/sa/store'], methods: ['POST'], paths: ['/charges/*'] }] },
  egress: { default: 'deny', rules: [{ name: 'stripe', hosts: ['*.stripe.com'], ports: [443] }] },
};
const POLICY_JSON = JSON.stringify(POLICY);
const WASM = new Uint8Array(Buffer.from('\0asm\x01\0\0\0', 'latin1'));
const WASM_HEX = createHash('sha256').update(WASM).digest('hex');
const OTHER_HEX = 'ab'.repeat(32);

let tmp: string;
let wasmFile: string;
let layout: { dir: string; hex: string };
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'meshgate-istio-'));
  wasmFile = path.join(tmp, 'meshgate.wasm');
  fs.writeFileSync(wasmFile, WASM);
  const r = packageOci({ wasm: WASM, outDir: path.join(tmp, 'oci'), tag: 'v1' });
  layout = { dir: r.dir, hex: r.manifestDigest.slice(7) };
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const ajv = new Ajv({ allErrors: true, strict: true });
const validators = {
  wasmplugin: ajv.compile(JSON.parse(fs.readFileSync(schemaPath('wasmplugin'), 'utf8'))),
  'traffic-extension': ajv.compile(JSON.parse(fs.readFileSync(schemaPath('traffic-extension'), 'utf8'))),
};
function expectValid(api: IstioApi, doc: unknown): void {
  const v = validators[api];
  const ok = v(doc);
  expect(v.errors ?? []).toEqual([]);
  expect(ok).toBe(true);
}

/** The Wasm fields, wherever the API keeps them. */
const wasmPart = (api: IstioApi, spec: Record<string, unknown>) => (api === 'wasmplugin' ? spec : (spec.wasm as Record<string, unknown>));

/** Where a rendered resource goes: the billing service of the shop namespace. */
const BILLING = { namespace: 'shop', selector: { app: 'billing' } };
/** Per role: inbound names its service; egress roles keep the egress gateway default. */
const target = (role: IstioRole) => (role === 'inbound' ? BILLING : { namespace: 'istio-system' });

function renderError(o: Partial<RenderIstioOptions> | (() => unknown)): IstioRenderError {
  try {
    if (typeof o === 'function') o();
    else renderWasmPlugin({ role: 'inbound', policyJson: POLICY_JSON, url: `oci://reg.example/meshgate:v1@sha256:${OTHER_HEX}`, ...BILLING, ...o } as RenderIstioOptions);
  } catch (e) {
    expect(e).toBeInstanceOf(IstioRenderError);
    return e as IstioRenderError;
  }
  throw new Error('expected an IstioRenderError');
}

// URL kinds × how the digest is known, with the sha256 the resource must carry.
const URL_CASES: Array<[string, () => Partial<RenderIstioOptions>, () => string | undefined]> = [
  ['oci tag + sha256 option (prefixed)', () => ({ url: 'oci://reg.example:5000/mesh/meshgate:v1', sha256: `sha256:${OTHER_HEX}` }), () => OTHER_HEX],
  ['oci @sha256 in the URL', () => ({ url: `oci://reg.example/mesh/meshgate@sha256:${OTHER_HEX}` }), () => OTHER_HEX],
  ['oci tag + local OCI layout', () => ({ url: 'oci://reg.example/meshgate:v1', ociLayout: layout.dir }), () => layout.hex],
  ['oci tag@digest + layout, agreeing', () => ({ url: `oci://reg.example/meshgate:v1@sha256:${layout.hex}`, ociLayout: layout.dir, sha256: layout.hex }), () => layout.hex],
  ['https + local .wasm', () => ({ url: 'https://files.example/meshgate.wasm', wasmFile }), () => WASM_HEX],
  ['http + sha256 option (upper case)', () => ({ url: 'http://10.0.0.1:8080/meshgate.wasm', sha256: WASM_HEX.toUpperCase() }), () => WASM_HEX],
  ['file + local .wasm', () => ({ url: 'file:///var/lib/meshgate/meshgate.wasm', wasmFile }), () => WASM_HEX],
  ['file without a digest', () => ({ url: 'file:///var/lib/meshgate/meshgate.wasm' }), () => undefined],
];

describe.each<[IstioApi]>([['wasmplugin'], ['traffic-extension']])('%s', (api) => {
  describe.each<[IstioRole]>([['inbound'], ['egress']])('%s', (role) => {
    test.each(URL_CASES)('%s: YAML reads back to a schema-valid resource with the right sha256', (_what, opts, sha) => {
      const o = { role, api, policyJson: POLICY_JSON, ...target(role), ...opts() } as RenderIstioOptions;
      const text = renderWasmPlugin(o);
      const doc = parseYaml(text);
      expectValid(api, doc);
      expect(doc).toEqual(buildIstioResource(o));

      expect(doc.apiVersion).toBe('extensions.istio.io/v1alpha1');
      expect(doc.kind).toBe(api === 'wasmplugin' ? 'WasmPlugin' : 'TrafficExtension');
      const w = wasmPart(api, doc.spec);
      expect(w.url).toBe(o.url);
      if (sha() === undefined) expect(w).not.toHaveProperty('sha256');
      else expect(w.sha256).toBe(sha());
      expect(w.pluginName).toBe(role === 'inbound' ? 'meshgate_inbound' : 'meshgate_egress');
      expect(w.failStrategy).toBe('FAIL_CLOSE');
      expect(w.pluginConfig).toEqual(POLICY);
      expect(doc.spec.phase).toBe('AUTHZ');
      expect(doc.spec.match).toEqual([{ mode: role === 'inbound' ? 'SERVER' : 'CLIENT' }]);
    });

    test('defaults: the name follows role and workload; egress selects the egress gateway', () => {
      const doc = parseYaml(renderWasmPlugin({ role, api, policyJson: POLICY_JSON, url: `oci://r.example/m@sha256:${OTHER_HEX}`, ...target(role) }));
      expect(doc.metadata.labels).toEqual({ 'app.kubernetes.io/name': 'meshgate', 'app.kubernetes.io/component': role });
      if (role === 'egress') {
        expect(doc.metadata).toMatchObject({ name: 'meshgate-egress-egressgateway', namespace: 'istio-system' });
        expect(doc.spec.selector).toEqual({ matchLabels: { istio: 'egressgateway' } });
      } else {
        expect(doc.metadata).toMatchObject({ name: 'meshgate-inbound-billing', namespace: 'shop' });
        expect(doc.spec.selector).toEqual({ matchLabels: { app: 'billing' } });
      }
    });

    test('given selector, name, namespace, pull policy, pull secret and priority', () => {
      const doc = parseYaml(
        renderWasmPlugin({
          role,
          api,
          policyJson: POLICY_JSON,
          url: 'oci://r.example/m:v2',
          sha256: OTHER_HEX,
          selector: parseSelector(['app=billing,version=v2', 'topology.kubernetes.io/zone=eu-1a']),
          name: 'billing-v2',
          namespace: 'shop',
          imagePullPolicy: 'IfNotPresent',
          imagePullSecret: 'registry-creds',
          priority: 10,
        }),
      );
      expectValid(api, doc);
      expect(doc.metadata).toMatchObject({ name: `meshgate-${role}-billing-v2`, namespace: 'shop' });
      expect(doc.spec.selector).toEqual({ matchLabels: { app: 'billing', 'topology.kubernetes.io/zone': 'eu-1a', version: 'v2' } });
      expect(doc.spec.priority).toBe(10);
      expect(wasmPart(api, doc.spec)).toMatchObject({ imagePullPolicy: 'IfNotPresent', imagePullSecret: 'registry-creds' });
    });
  });

  test.each<[IstioRole]>([['inbound'], ['egress']])('%s --all-workloads: no selector, named all-workloads', (role) => {
    const doc = parseYaml(renderWasmPlugin({ role, api, policyJson: POLICY_JSON, url: `oci://r.example/m@sha256:${OTHER_HEX}`, namespace: 'shop', allWorkloads: true }));
    expect(doc.spec).not.toHaveProperty('selector');
    expect(doc.metadata.name).toBe(`meshgate-${role}-all-workloads`);
    expectValid(api, doc);
  });
});

test('TrafficExtension keeps the Wasm fields under spec.wasm; WasmPlugin at the top of spec', () => {
  const o = { role: 'inbound' as const, policyJson: POLICY_JSON, url: `oci://r.example/m@sha256:${OTHER_HEX}`, ...BILLING };
  const te = buildIstioResource({ ...o, api: 'traffic-extension' });
  const wp = buildIstioResource(o);
  expect(Object.keys(te.spec as object)).toEqual(['selector', 'phase', 'match', 'wasm']);
  expect(Object.keys(wp.spec as object)).toEqual(['selector', 'phase', 'match', 'url', 'sha256', 'pluginName', 'failStrategy', 'pluginConfig']);
  // Each validates against its own schema only.
  expect(validators.wasmplugin(te)).toBe(false);
  expect(validators['traffic-extension'](wp)).toBe(false);
});

test('strings YAML 1.1 or 1.2 would read as something else are quoted, and read back unchanged both ways', () => {
  const tricky = { a: 'on', b: 'yes', c: 'n', d: '0o17', e: '0644', f: '~', g: '1:20', h: '*', i: 'null', j: '1e3', k: ' padded ' };
  const text = renderWasmPlugin({ role: 'inbound', policyJson: JSON.stringify({ ...POLICY, tricky }), url: `oci://r.example/m@sha256:${OTHER_HEX}`, ...BILLING });
  for (const version of ['1.1', '1.2'] as const) {
    expect(parseYaml(text, { version }).spec.pluginConfig.tricky).toEqual(tricky);
  }
  expect(text).toContain('a: "on"');
  expect(text).toContain('d: "0o17"');
  expect(text.startsWith('# meshgate inbound policy as an Istio WasmPlugin')).toBe(true);
});

describe('sha256 rules', () => {
  test.each<[string, IstioRenderErrorCode, Partial<RenderIstioOptions>, RegExp]>([
    ['oci without any digest', 'OCI_DIGEST_REQUIRED', { url: 'oci://reg.example/meshgate:v1' }, /image MANIFEST digest/],
    ['oci with only the .wasm file', 'OCI_DIGEST_REQUIRED', { url: 'oci://reg.example/meshgate:v1', wasmFile: 'x.wasm' }, /the \.wasm file's own hash is not that digest/],
    ['oci URL digest and sha256 differ', 'SHA256_MISMATCH', { url: `oci://reg.example/m@sha256:${OTHER_HEX}`, sha256: WASM_HEX }, /differs/],
    ['https without sha256 or file', 'SHA256_REQUIRED', { url: 'https://files.example/meshgate.wasm' }, /must be pinned/],
    ['sha256 not hex', 'SHA256_SYNTAX', { url: 'https://files.example/m.wasm', sha256: 'sha256:xyz' }, /64 hex digits/],
    ['oci digest not sha256', 'URL_SYNTAX', { url: 'oci://reg.example/m@sha512:abcd' }, /sha256:<64 lower-case hex>/],
  ])('%s → %s', (_what, code, o, re) => {
    const e = renderError(o);
    expect(e.code).toBe(code);
    expect(e.message).toMatch(re);
  });

  test('https: the file and the given sha256 must agree', () => {
    const e = renderError({ url: 'https://files.example/m.wasm', wasmFile, sha256: OTHER_HEX });
    expect(e.code).toBe('SHA256_MISMATCH');
  });

  test('oci: a layout whose manifest differs from the URL digest', () => {
    expect(renderError({ url: `oci://r.example/m:v1@sha256:${OTHER_HEX}`, ociLayout: layout.dir }).code).toBe('SHA256_MISMATCH');
  });

  test('oci: the URL tag must be in the layout (when the layout records tags)', () => {
    const e = renderError({ url: 'oci://r.example/m:v9', ociLayout: layout.dir });
    expect(e.code).toBe('OCI_LAYOUT');
    expect(e.message).toMatch(/no manifest tagged "v9"/);
  });

  test('a .wasm file that is not Wasm', () => {
    const bad = path.join(tmp, 'bad.wasm');
    fs.writeFileSync(bad, 'not wasm at all');
    expect(renderError({ url: 'https://f.example/m.wasm', wasmFile: bad }).code).toBe('WASM_FILE');
  });
});

describe('bad input', () => {
  test.each<[string, Partial<RenderIstioOptions>, IstioRenderErrorCode]>([
    ['unknown role', { role: 'sidecar' as IstioRole }, 'ROLE_UNKNOWN'],
    ['unknown api', { api: 'envoyfilter' as IstioApi }, 'API_UNKNOWN'],
    ['URL without scheme', { url: 'reg.example/meshgate:v1' }, 'URL_SYNTAX'],
    ['URL with a scheme Istio does not fetch', { url: 'ftp://reg.example/meshgate.wasm' }, 'URL_SYNTAX'],
    ['relative file URL', { url: 'file://meshgate.wasm' }, 'URL_SYNTAX'],
    ['policy not JSON', { policyJson: '{trustDomain:' }, 'POLICY_JSON'],
    ['policy not an object', { policyJson: '[1,2]' }, 'POLICY_JSON'],
    ['name not DNS-1123', { name: 'Meshgate_Inbound' }, 'NAME_SYNTAX'],
    ['namespace not DNS-1123 label', { namespace: 'istio.system' }, 'NAME_SYNTAX'],
    ['selector value with a wildcard', { selector: { app: 'bill*' } }, 'SELECTOR_SYNTAX'],
    ['pull policy', { imagePullPolicy: 'Never' as 'Always' }, 'PULL_POLICY'],
    ['priority', { priority: 2 ** 31 }, 'PRIORITY'],
  ])('%s → %s', (_what, o, code) => {
    expect(renderError(o).code).toBe(code);
  });

  test('all problems are reported at once', () => {
    const e = renderError({ role: 'sidecar' as IstioRole, policyJson: 'nope', url: 'ftp://x' });
    expect(e.problems.map((p) => p.code)).toEqual(['ROLE_UNKNOWN', 'POLICY_JSON', 'URL_SYNTAX']);
    expect(e.message.split('\n')).toHaveLength(3);
  });
});

describe('parseSelector', () => {
  test('k=v, comma lists and repeated flags', () => {
    expect(parseSelector('app=billing')).toEqual({ app: 'billing' });
    expect(parseSelector(['app=billing,version=v2', 'example.com/tier=', 'app=billing'])).toEqual({ app: 'billing', version: 'v2', 'example.com/tier': '' });
  });

  test.each([
    ['app', /--selector "app": expected key=value$/m],
    ['=billing', /expected key=value \(empty key\)/],
    ['app=a=b', /label "app" value "a=b"/],
    ['app=*', /label "app" value "\*"/],
    ['-app=x', /label key "-app"/],
    ['Bad_Prefix/app=x', /prefix must be a DNS-1123 subdomain/],
    [`app=${'v'.repeat(64)}`, /value/],
  ])('%s → SELECTOR_SYNTAX', (arg, re) => {
    const e = renderError(() => parseSelector(arg));
    expect(e.code).toBe('SELECTOR_SYNTAX');
    expect(e.message).toMatch(re);
  });

  test('reports every bad entry and conflicting repeats', () => {
    const e = renderError(() => parseSelector(['app', 'x=1', 'x=2', 'y=*']));
    expect(e.problems).toHaveLength(3);
  });
});

describe('the schemas have teeth', () => {
  const base = () => buildIstioResource({ role: 'inbound', policyJson: POLICY_JSON, url: `oci://r.example/m@sha256:${OTHER_HEX}`, ...BILLING }) as Record<string, any>;
  test.each<[string, (d: Record<string, any>) => void]>([
    ['an unknown spec field', (d) => (d.spec.vmConfig = {})],
    ['an unknown metadata field', (d) => (d.metadata.uid = 'x')],
    ['phase outside the enum', (d) => (d.spec.phase = 'AUTHORIZATION')],
    ['failStrategy outside the enum', (d) => (d.spec.failStrategy = 'CLOSE')],
    ['match mode outside the enum', (d) => (d.spec.match = [{ mode: 'INBOUND' }])],
    ['inbound root id with CLIENT mode', (d) => (d.spec.match = [{ mode: 'CLIENT' }])],
    ['a root id the module does not have', (d) => (d.spec.pluginName = 'meshgate')],
    ['upper-case sha256', (d) => (d.spec.sha256 = OTHER_HEX.toUpperCase())],
    ['prefixed sha256', (d) => (d.spec.sha256 = `sha256:${OTHER_HEX}`)],
    ['oci URL without sha256', (d) => delete d.spec.sha256],
    ['imagePullPolicy outside the enum', (d) => (d.spec.imagePullPolicy = 'Never')],
    ['selector with a wildcard key', (d) => (d.spec.selector = { matchLabels: { 'a*': 'b' } })],
    ['pluginConfig not an object', (d) => (d.spec.pluginConfig = '{}')],
    ['no namespace', (d) => delete d.metadata.namespace],
    ['both selector and targetRefs', (d) => (d.spec.targetRefs = [{ group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'gw' }])],
    ['a targetRef without a name', (d) => { delete d.spec.selector; d.spec.targetRefs = [{ kind: 'Gateway' }]; }],
  ])('rejects %s', (_what, mutate) => {
    const d = base();
    expect(validators.wasmplugin(d)).toBe(true);
    mutate(d);
    expect(validators.wasmplugin(d)).toBe(false);
  });
});
