/**
 * `render envoy --runtime native`, without Envoy: for every role, each meshgate Wasm filter of the
 * Wasm render becomes the peer-certificate step and the dynamic module (the library by its
 * absolute path, the same root id and plugin configuration), except the SNI gateway's, which stays
 * Wasm; the CLI says why, says the library is for Envoy 1.40 and pins that version in its run
 * line. A missing or stale library and a library without the native runtime are refused before
 * anything is written, with exit code 1.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse } from 'yaml';
import { main } from '../../../harness/cli';
import type { Json } from '../../../harness/envoy/bootstrap';
import { PINNED_ENVOY_VERSION } from '../../../harness/envoy/locate';
import type { Role } from '../../../harness/envoy/reference';
import { NATIVE_ENVOY_MINOR } from '../../../harness/native/build';
import { KEPT_WASM_REASON, PEER_CERTIFICATE_KEY } from '../../../harness/native/config';
import { compilePolicyFile, type CompileResult } from '../../../harness/policy/compile';
import { renderEnvoy, type RenderEnvoyOptions } from '../../../harness/render/envoy';

// the shipped examples: the shop's policy (peer certificates: inbound and the egress gateway) and
// the billing sidecar's (a local identity: the sidecar roles)
const EXAMPLES = path.resolve(__dirname, '..', '..', '..', 'examples');
const compile = (file: string): CompileResult => {
  const r = compilePolicyFile(path.join(EXAMPLES, file));
  if (!r.ok) throw new Error(`${file} does not compile`);
  return r;
};
const SHOP = compile('shop/policy.yaml');
const SIDECAR = compile('shop/billing-sidecar.yaml');
const POLICY_OF: Record<Role, CompileResult> = {
  inbound: SHOP,
  egress: SHOP,
  'egress-sidecar': SIDECAR,
  'egress-sni-sidecar': SIDECAR,
  'egress-sni-gateway': SHOP,
};
const ROLES = Object.keys(POLICY_OF) as Role[];
const WASM_FILTERS = ['envoy.filters.http.wasm', 'envoy.filters.network.wasm'];
const MODULE_TYPES = [
  'type.googleapis.com/envoy.extensions.filters.http.dynamic_modules.v3.DynamicModuleFilter',
  'type.googleapis.com/envoy.extensions.filters.network.dynamic_modules.v3.DynamicModuleNetworkFilter',
];

let tmp: string;
let library: string;
let n = 0;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'meshgate-envoy-native-'));
  library = path.join(tmp, 'lib', 'libmeshgate.so');
  fs.mkdirSync(path.dirname(library));
  fs.writeFileSync(library, 'a stand-in: rendering only checks that the library is there and fresh');
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const render = (o: Partial<RenderEnvoyOptions>) =>
  renderEnvoy({ role: 'inbound', compiled: SHOP, outDir: path.join(tmp, `out-${n++}`), wasmFile: '/opt/meshgate.wasm', ...o });
const load = (file: string): Json => parse(fs.readFileSync(file, 'utf8'));

/** Every filter of the config, in order: each chain's network filters, then its HCM's HTTP filters. */
function filtersOf(cfg: Json): Json[] {
  const out: Json[] = [];
  for (const l of (cfg.static_resources as Json).listeners as Json[]) {
    for (const chain of l.filter_chains as Json[]) {
      for (const f of chain.filters as Json[]) {
        out.push(f);
        if (f.name === 'envoy.filters.network.http_connection_manager') out.push(...((f.typed_config as Json).http_filters as Json[]));
      }
    }
  }
  return out;
}

/** Root id and configuration of each Wasm filter, and of each dynamic module (the same shape). */
const plugins = (filters: Json[]) =>
  filters.filter((f) => WASM_FILTERS.includes(f.name as string)).map((f) => {
    const c = (f.typed_config as Json).config as Json;
    return { rootId: c.root_id, config: (c.configuration as Json | undefined)?.value ?? '' };
  });
const modules = (filters: Json[]) =>
  filters.filter((f) => MODULE_TYPES.includes((f.typed_config as Json | undefined)?.['@type'] as string)).map((f) => {
    const t = f.typed_config as Json;
    return { rootId: t.filter_name, config: (t.filter_config as Json).value, library: (((t.dynamic_module_config as Json).module as Json).local as Json).filename };
  });

describe.each(ROLES)('--role %s --runtime native', (role) => {
  let wasm: Json[];
  let native: Json[];
  let replaced: number;
  let keptWasm: number;
  beforeAll(async () => {
    wasm = filtersOf(load((await render({ role, compiled: POLICY_OF[role] })).bootstrap));
    const written = await render({ role, compiled: POLICY_OF[role], runtime: 'native', nativeLibrary: library });
    native = filtersOf(load(written.bootstrap));
    ({ replaced, keptWasm } = written.native!);
    expect(written.native!.library).toBe(library);
  });

  const kept = role === 'egress-sni-gateway' ? 1 : 0;

  test(`every Wasm filter becomes the dynamic module${kept ? ', except the SNI gateway\'s policy filter' : ''}`, () => {
    const before = plugins(wasm);
    expect(before.length).toBeGreaterThan(0);
    expect(before).toContainEqual({ rootId: expect.stringMatching(/^meshgate_/), config: POLICY_OF[role].json });
    expect([replaced, keptWasm]).toEqual([before.length - kept, kept]);
    expect(plugins(native)).toEqual(kept ? before.filter((p) => p.rootId === 'meshgate_egress_sni') : []);
    const expected = kept ? before.filter((p) => p.rootId !== 'meshgate_egress_sni') : before;
    expect(modules(native)).toEqual(expected.map((p) => ({ ...p, library })));
  });

  test('each module runs right after the step that hands it the peer certificate', () => {
    for (let i = 0; i < native.length; i++) {
      if (native[i].name !== 'meshgate.native') continue;
      expect(native[i - 1].name).toBe('meshgate.peer_certificate');
      expect(JSON.stringify(native[i - 1])).toContain(`"object_key":"${PEER_CERTIFICATE_KEY}"`);
    }
  });
});

test('the bootstrap header names the runtime', async () => {
  const written = await render({ runtime: 'native', nativeLibrary: library });
  expect(fs.readFileSync(written.bootstrap, 'utf8')).toMatch(/^# Rendered by `meshgate render envoy --role inbound --runtime native`/);
});

test.each<[string, () => Partial<RenderEnvoyOptions>, RegExp]>([
  ['a missing library', () => ({ runtime: 'native', nativeLibrary: path.join(tmp, 'nowhere', 'libmeshgate.so') }), /NATIVE_LIBRARY_MISSING: .*nowhere\/libmeshgate\.so is missing: run npm run build:native \(in /],
  ['--native-library without --runtime native', () => ({ nativeLibrary: library }), /^--native-library: only with --runtime native$/],
])('%s is refused before anything is written', async (_what, o, re) => {
  const outDir = path.join(tmp, `refused-${n++}`);
  await expect(render({ ...o(), outDir })).rejects.toThrow(re);
  expect(fs.existsSync(outDir)).toBe(false);
});

test('a library older than the meshgate.wasm beside it is refused', async () => {
  const dir = path.join(tmp, 'stale');
  fs.mkdirSync(dir);
  const stale = path.join(dir, 'libmeshgate.so');
  fs.writeFileSync(stale, '');
  fs.writeFileSync(path.join(dir, 'meshgate.wasm'), '');
  fs.utimesSync(stale, new Date(2026, 0, 1), new Date(2026, 0, 1));
  await expect(render({ runtime: 'native', nativeLibrary: stale })).rejects.toThrow(`${stale} is older than ${path.join(dir, 'meshgate.wasm')}: run npm run build:native`);
});

describe('the CLI', () => {
  const POLICY = path.join(EXAMPLES, 'ledger', 'policy.yaml');
  const run = async (args: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(['render', 'envoy', POLICY, '--out', path.join(tmp, `cli-${n++}`), '--wasm', '/opt/meshgate.wasm', ...args], { out: (s) => out.push(s), err: (s) => err.push(s) });
    return { code, out, err };
  };

  test('prints the Envoy version the library needs and pins it in the run line', async () => {
    const r = await run(['--role', 'inbound', '--runtime', 'native', '--native-library', library]);
    expect(r.code).toBe(0);
    expect(r.out.slice(-2)).toEqual([
      `native: ${library} is built for Envoy ${NATIVE_ENVOY_MINOR} only (its dynamic-module ABI); run it with Envoy ${NATIVE_ENVOY_MINOR}`,
      `run it: ENVOY_VERSION=${PINNED_ENVOY_VERSION} func-e run -c ${r.out[0]}`,
    ]);
    expect(PINNED_ENVOY_VERSION.startsWith(`${NATIVE_ENVOY_MINOR}.`)).toBe(true);
  });

  test('the SNI gateway says why it keeps its Wasm filter', async () => {
    const r = await run(['--role', 'egress-sni-gateway', '--runtime', 'native', '--native-library', library]);
    expect(r.code).toBe(0);
    expect(r.out).toContain(`note: --role egress-sni-gateway keeps its Wasm filter (/opt/meshgate.wasm): ${KEPT_WASM_REASON}`);
  });

  test('the Wasm runtime stays the default, with its run line', async () => {
    const r = await run(['--role', 'inbound']);
    expect([r.code, r.out.at(-1)]).toEqual([0, `run it: func-e run -c ${r.out[0]}`]);
    expect(load(r.out[0]).static_resources).toBeDefined();
    expect(JSON.stringify(load(r.out[0]))).not.toContain('dynamic_modules');
  });

  test('a missing library: exit 1, the path and the build command on stderr', async () => {
    const missing = path.join(tmp, 'absent', 'libmeshgate.so');
    const r = await run(['--role', 'inbound', '--runtime', 'native', '--native-library', missing]);
    expect([r.code, r.out]).toEqual([1, []]);
    expect(r.err.join('\n')).toContain(`${missing} is missing: run npm run build:native`);
  });

  test('an unknown runtime is a usage error', async () => {
    expect((await run(['--role', 'inbound', '--runtime', 'v8'])).code).toBe(2);
  });

  test('--help says the native library is for Envoy 1.40 only', async () => {
    const out: string[] = [];
    await main(['render', 'envoy', '--help'], { out: (s) => out.push(s), err: (s) => out.push(s) }).catch(() => undefined);
    expect(out.join('\n').replace(/\s+/g, ' ')).toMatch(/--runtime <runtime> .*native .*Envoy 1\.40 only/);
  });
});
