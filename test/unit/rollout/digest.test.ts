/**
 * The policy digest survives re-serialization (issue 15 item 7; assembly/policy/digest.ts): the
 * same policy with sorted keys (Istio's pluginConfig), other whitespace, other escapes, other
 * number spellings, or written as YAML, has one digest — in `validate`, in the module's compile
 * (tk_compile), and in the filter's own record (`policy=<digest12>` in filter state, emulator).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { main } from '../../../harness/cli';
import { sharedTestkit } from '../../../harness/engine/testkit';
import { evalRequest } from '../../../harness/eval';
import { compilePolicyText } from '../../../harness/policy/compile';

const tk = sharedTestkit();
const YAML = `# the reference form
trustDomain: example.org
inbound:
  default: deny
  rules:
    - name: store-reads
      from: ["spiffe://example.org/ns/shop/sa/store"]
      methods: [GET]
      paths: ["/cafe/*", "/charges"]
egress:
  rules:
    - {name: stripe, from: ["spiffe://example.org/ns/shop/sa/billing"], hosts: ["*.stripe.com"], ports: [443, 8443]}
`;
const base = compilePolicyText(YAML, 'p.yaml');

/** Every object's keys sorted, recursively (what Istio's protobuf Struct → JSON does). */
function sorted(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sorted);
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sorted((v as Record<string, unknown>)[k])]));
  return v;
}

const VARIANTS: Array<[string, string]> = [
  ['as validate writes it', base.json],
  ['keys sorted (Istio)', JSON.stringify(sorted(base.policy))],
  ['keys sorted, indented, CRLF', JSON.stringify(sorted(base.policy), null, 2).replace(/\n/g, '\r\n')],
  ['escaped differently', base.json.replace(/\//g, '\\/').replace('cafe', 'caf\\u0065').replace('"trustDomain"', '"\\u0074rustDomain"')],
  ['numbers spelled differently', base.json.replace('[443,8443]', '[443.0, 8.443e3]')],
  ['YAML re-laid out, then JSON', compilePolicyText(`egress: {rules: [{ports: [443, 8443], hosts: ['*.stripe.com'], name: stripe, from: ['spiffe://example.org/ns/shop/sa/billing']}]}
inbound: {rules: [{paths: [/cafe/*, /charges], methods: [GET], from: ['spiffe://example.org/ns/shop/sa/store'], name: store-reads}], default: deny}
trustDomain: example.org
`, 'q.yaml').json],
];

it('the variants are different bytes', () => {
  expect(new Set(VARIANTS.map(([, v]) => v)).size).toBe(VARIANTS.length);
  expect(base.ok).toBe(true);
});

describe.each(VARIANTS)('%s', (_name, text) => {
  it('validate prints the same digest', async () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'meshgate-digest-')), 'p.json');
    fs.writeFileSync(file, text);
    const out: string[] = [];
    expect(await main(['validate', file], { out: (s) => out.push(s), err: (s) => out.push(s) })).toBe(0);
    expect(out).toEqual([`${file}: ok (policy ${base.digest12})`]);
  });

  it('the module computes the same digest for the bytes themselves', () => {
    expect(tk.compile('inbound', text).digest).toBe(base.digest);
    expect(tk.policyDigest(text)).toBe(base.digest);
  });

  it('the filter records the same digest in filter state', async () => {
    const v = await evalRequest({ compiled: { ...base, json: text }, role: 'inbound', method: 'GET', path: '/charges' });
    expect(v.explanation).toContain(` policy=${base.digest12}`);
  });
});

describe('canonical form', () => {
  it.each([
    ['{"b":1,"a":[true,false,null]}', '{"a":[true,false,null],"b":1}'],
    ['{ "k" : "\\u0041\\n\\"\\\\\\/\\u007f" }', '{"k":"A\\u000a\\"\\\\/\\u007f"}'],
    ['[1.0, -0, 1e2, 0.5, 1e400]', '[1,0,100,0.5,1e400]'],
    ['{"é":1,"z":2,"Z":3}', '{"Z":3,"z":2,"é":1}'],
  ])('%s → %s', (text, canonical) => {
    expect(tk.json('tk_policy_canonical', text)).toEqual({ ok: true, canonical });
  });

  it('a document that is not JSON is digested as its bytes; content changes change the digest', () => {
    expect(tk.policyDigest('garbage')).toBe(tk.call('tk_sha256', 'garbage'));
    expect(tk.policyDigest(base.json.replace('8443', '8444'))).not.toBe(base.digest);
    expect(tk.policyDigest(base.json.replace('/charges', '/Charges'))).not.toBe(base.digest);
  });
});
