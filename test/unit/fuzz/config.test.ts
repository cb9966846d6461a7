/**
 * Property-based fuzzing (issue 7, item 2) of the plugin-configuration parser: texts go through
 * the real module (build/meshgate.wasm) in the emulator, `vm.startPlugin({ rootId, configuration })`
 * — on_vm_start + on_configure, as Envoy runs them. Properties: never a trap (`vm.failed` stays
 * null), and whenever the text is valid JSON the filter accepts it exactly when the TypeScript
 * compiler (harness/policy/compile.ts, role-aware) says `ok`; text that is not JSON is always
 * refused. A fresh VM every VM_RUNS starts. Runs per property:
 * MESHGATE_FUZZ_RUNS (default 2000); seed: MESHGATE_FUZZ_SEED or random, printed (gen.ts).
 */
import * as path from 'node:path';
import fc from 'fast-check';
import { ProxyWasmVm } from '../../../harness/emulator/vm';
import { compilePolicy } from '../../../harness/policy/compile';
import type { Role } from '../../../harness/policy/model';
import { mutated, params, reportFuzz, tally, timeoutFor } from './gen';

const WASM = path.resolve(__dirname, '../../../build/meshgate.wasm');
const VM_RUNS = 100;

let vm: ProxyWasmVm | undefined;
let used = 0;
async function freshVm(): Promise<ProxyWasmVm> {
  if (!vm || used >= VM_RUNS) {
    vm = await ProxyWasmVm.load(WASM);
    used = 0;
  }
  used++;
  return vm;
}

reportFuzz('test/unit/fuzz/config.test.ts');

/** Starts the plugin on `text`; checks no trap and agreement with the TypeScript compiler. */
async function check(name: string, role: Role, text: string): Promise<void> {
  const v = await freshVm();
  v.clearLogs();
  const plugin = v.startPlugin({ rootId: `meshgate_${role}`, configuration: text });
  const failed = v.failed;
  if (failed !== null) vm = undefined; // never reuse a trapped VM
  expect({ text, role, trap: failed }).toEqual({ text, role, trap: null });
  let doc: unknown;
  let json = true;
  try {
    doc = JSON.parse(text);
  } catch {
    json = false;
  }
  const want = json ? compilePolicy(doc as object | null, 'fuzz.json', undefined, { role }) : undefined;
  // JSON.parse keeps the last of duplicate keys; the filter (like compilePolicyText) refuses them.
  const tsOk = want ? want.ok && !hasDuplicateKey(text) : false;
  tally(name, plugin.ok ? 'accepted' : 'refused');
  if (plugin.ok !== tsOk) {
    const wasmWhy = v.logsAt('error').concat(v.logsAt('warn')).concat(v.logsAt('critical')).slice(0, 6);
    const tsWhy = want ? want.errors.slice(0, 6).map((e) => `${e.path}: ${e.message}`) : ['not JSON'];
    expect({ text, role, wasm: plugin.ok, wasmWhy }).toEqual({ text, role, wasm: tsOk, tsWhy });
  }
}

/** Whether valid JSON `text` has an object with the same key twice (compared after unescaping). */
export function hasDuplicateKey(text: string): boolean {
  const stack: Array<Set<string> | null> = [];
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      const top = stack[stack.length - 1];
      if (top && expectKey) {
        const key = JSON.parse(text.slice(i, j + 1)) as string;
        if (top.has(key)) return true;
        top.add(key);
        expectKey = false;
      }
      i = j;
    } else if (c === '{') { stack.push(new Set()); expectKey = true; }
    else if (c === '[') { stack.push(null); expectKey = false; }
    else if (c === '}' || c === ']') { stack.pop(); expectKey = false; }
    else if (c === ',') expectKey = stack[stack.length - 1] instanceof Set;
  }
  return false;
}

const TD = 'example.org';
const STORE = 'spiffe://example.org/ns/shop/sa/store';
const SEEDS: Record<Role, object[]> = {
  inbound: [
    { trustDomain: TD, inbound: {} },
    {
      trustDomain: TD, mode: 'enforce', identity: { from: 'peer-certificate' },
      inbound: { default: 'deny', rules: [
        { name: 'no-admin', action: 'deny', paths: ['/admin', '/admin/*'] },
        { name: 'store-creates-charges', action: 'allow', from: [STORE], methods: ['POST'], paths: ['/charges', '/charges/*'] },
        { name: 'try-new-reader', mode: 'audit', from: ['spiffe://example.org/ns/shop/*'], methods: ['GET'], paths: ['/charges/{*}/receipt'] },
      ] },
    },
    {
      trustDomain: TD, mode: 'audit', identity: { from: 'xfcc', trustedProxies: ['spiffe://example.org/ns/gw/sa/gw'] },
      inbound: { rules: [{ name: 'A_z-09', action: 'deny', from: ['*', 'spiffe://other.org/x'], notFrom: [STORE],
        methods: ['GET', 'PATCH'], notMethods: ['DELETE'], paths: ['*', '/', '/a/*', '*.json', '/a/{*}/{**}'], notPaths: ['/*'] }] },
    },
    { trustDomain: TD, identity: { from: 'local', id: STORE }, inbound: { default: 'allow', rules: [{ name: 'x', paths: ['/x'] }] } },
  ],
  egress: [
    { trustDomain: TD, egress: { default: 'allow', rules: [] } },
    {
      trustDomain: TD, identity: { from: 'peer-certificate' },
      egress: { default: 'deny', rules: [
        { name: 'no-metadata', action: 'deny', cidrs: ['169.254.0.0/16', 'fe80::/10'] },
        { name: 'billing-to-stripe', from: [STORE], hosts: ['api.stripe.com', '*.stripe.com'], ports: [443] },
        { name: 'e', from: ['*'], notFrom: ['spiffe://x.org/y'], hosts: ['a.com'], notHosts: ['b.a.com'], ports: [1, 65535], notPorts: [80], notCidrs: ['10.1.0.0/16'] },
      ] },
    },
  ],
};
const seedTexts = (role: Role) => SEEDS[role].map((s) => JSON.stringify(s)).concat(SEEDS[role].map((s) => JSON.stringify(s, null, 1)));
const JSON_ALPHABET = '{}[]:,"\\ 0123456789.-+eEtrufalsn/**aA_\u00e9';
const role = fc.constantFrom<Role>('inbound', 'egress');

it('hasDuplicateKey', () => {
  expect(hasDuplicateKey('{"a":1,"b":{"a":2},"c":[{"a":3}]}')).toBe(false);
  expect(hasDuplicateKey('{"a":"\\"a\\"","b":{"x":1,"\\u0078":2}}')).toBe(true);
  expect(hasDuplicateKey('{"id":"","id":"x"}')).toBe(true);
});

describe('plugin configuration: no trap, acceptance agrees with compilePolicy', () => {
  it('mutated valid policies (text)', async () => {
    const arb = role.chain((r) => fc.tuple(fc.constant(r), mutated(seedTexts(r), JSON_ALPHABET, 4)));
    await fc.assert(fc.asyncProperty(arb, ([r, text]) => check('mutated-text', r, text)), params());
  }, timeoutFor(undefined, 4));

  it('mutated valid policies (values: a field replaced by a random JSON value)', async () => {
    // Walks to a random node of a valid seed and replaces it (or adds a key) with a random JSON value.
    const arb = fc.tuple(role, fc.nat(), fc.array(fc.nat(), { maxLength: 6 }), fc.jsonValue({ maxDepth: 2 }), fc.boolean()).map(([r, s, walk, val, add]) => {
      const doc = JSON.parse(JSON.stringify(SEEDS[r][s % SEEDS[r].length]));
      let node: any = doc;
      for (const w of walk) {
        const keys = node && typeof node === 'object' ? Object.keys(node) : [];
        if (keys.length === 0) break;
        const k = keys[w % keys.length];
        if (node[k] && typeof node[k] === 'object' && w % 3 !== 0) { node = node[k]; continue; }
        node[k] = val;
        return [r, JSON.stringify(doc)] as const;
      }
      if (node && typeof node === 'object' && add) {
        if (Array.isArray(node)) node.push(val);
        else node[`k${walk.length}`] = val;
      }
      return [r, JSON.stringify(doc)] as const;
    });
    await fc.assert(fc.asyncProperty(arb, ([r, text]) => check('mutated-value', r, text)), params());
  }, timeoutFor(undefined, 4));

  it('random JSON values and random text', async () => {
    const text = fc.oneof(fc.json({ maxDepth: 3 }), fc.string({ maxLength: 40 }), fc.constantFrom('', 'null', '[]', '{}', '"x"', '1e999', '-0', '{"a":1,"a":2}'));
    await fc.assert(fc.asyncProperty(role, text, (r, t) => check('random', r, t)), params());
  }, timeoutFor(undefined, 4));
});
