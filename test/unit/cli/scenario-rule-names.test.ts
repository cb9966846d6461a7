/**
 * A `rule:` pin names a rule of the scenario's policy (for its role) or a label the filter
 * refuses with; anything else is an error when the file loads, at the pin's position, with the
 * nearest name. The refusal labels (harness/scenario/labels.ts) are the filter's own: this file
 * reads them from the functions that write them (assembly/policy/decide.ts, host.ts).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadScenario, ScenarioError } from '../../../harness/scenario/load';
import { REFUSAL_LABELS } from '../../../harness/scenario/labels';
import { nearest } from '../../../harness/policy/did-you-mean';

const ROOT = path.resolve(__dirname, '../../..');
const SHOP = path.join(ROOT, 'test/scenarios/policies/shop-inbound.yaml');
const EGRESS_SHOP = path.join(ROOT, 'test/scenarios/policies/egress-shop.yaml');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'meshgate-rule-names-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** The string literals a `…Name(code)` switch of the filter returns (its `case X: return "…"`). */
function namesReturnedBy(file: string, fn: string): string[] {
  const src = fs.readFileSync(path.join(ROOT, file), 'utf8');
  const body = new RegExp(`export function ${fn}\\([^)]*\\): string \\{([\\s\\S]*?)\\n\\}`).exec(src)?.[1];
  if (body === undefined) throw new Error(`${file}: no function ${fn}`);
  return [...body.matchAll(/case \w+: return "([a-z_]+)";/g)].map((m) => m[1]);
}

function load(role: 'inbound' | 'egress', requests: string[]): { file: string; error?: string[] } {
  const file = path.join(tmp, `s${fs.readdirSync(tmp).length}.yaml`);
  const id = role === 'inbound' ? 'store: spiffe://example.org/ns/shop/sa/store' : 'billing: spiffe://example.org/ns/shop/sa/billing';
  fs.writeFileSync(file, `name: names\nrole: ${role}\npolicy: ${role === 'inbound' ? SHOP : EGRESS_SHOP}\nidentities:\n  ${id}\nrequests:\n${requests.map((r) => `  - ${r}\n`).join('')}`);
  try {
    loadScenario(file);
    return { file };
  } catch (e) {
    if (!(e instanceof ScenarioError)) throw e;
    return { file, error: e.messages };
  }
}

describe('refusal labels', () => {
  it('are exactly the filter’s: default, every invalid-request reason and every target reason', () => {
    const filter = [
      ...namesReturnedBy('assembly/policy/decide.ts', 'invalidReasonName'),
      ...namesReturnedBy('assembly/policy/host.ts', 'targetReasonName').filter((n) => n !== 'ok'),
    ];
    expect(filter.length).toBeGreaterThan(15);
    expect([...REFUSAL_LABELS].sort()).toEqual(['default', ...filter].sort());
  });
});

describe('rule: pins checked at load time', () => {
  it.each<[string, 'inbound' | 'egress', string]>([
    ['a rule of the inbound policy', 'inbound', '{as: store, method: POST, path: /charges, expect: allow, rule: store-creates-charges}'],
    ['default', 'inbound', '{as: none, path: /x, expect: deny, rule: default}'],
    ['a refusal reason', 'inbound', '{as: store, path: "/a/../b", expect: deny, rule: non_canonical_path}'],
    ['a rule of the egress policy', 'egress', '{as: billing, host: api.stripe.com, port: 443, expect: allow, rule: billing-to-stripe}'],
    ['an egress refusal', 'egress', '{as: billing, host: "a..b", port: 443, expect: deny, rule: bad_host}'],
    ['a tunnel refusal', 'egress', '{as: billing, host: api.stripe.com, port: 443, connect: true, expect: deny, rule: tunnel_sni_mismatch}'],
  ])('accepts %s', (_name, role, request) => {
    expect(load(role, [request]).error).toBeUndefined();
  });

  it('rejects a misspelled rule with FILE:LINE:COL and the nearest name', () => {
    const { file, error } = load('inbound', ['{as: store, method: POST, path: /charges, expect: allow, rule: store-create-charges}']);
    expect(error).toEqual([`${file}:7:68: requests[0].rule: "store-create-charges" is no inbound rule of the policy and no refusal label: did you mean "store-creates-charges"?`]);
  });

  it('rejects a name close to nothing, listing the rules', () => {
    const { error } = load('inbound', ['{as: none, path: /, expect: deny, rule: forbidden}']);
    expect(error?.[0]).toMatch(/requests\[0\]\.rule: "forbidden" is no inbound rule of the policy and no refusal label: the policy's inbound rules: no-admin, store-creates-charges, try-new-reader; or default/);
  });

  it('rejects a rule of the other role’s section, and checks h2: pins too', () => {
    const { file, error } = load('inbound', ['{as: none, path: /, expect: deny, rule: default, h2: {rule: defualt, status: 403, why: x}}', '{as: store, path: /, expect: deny, rule: billing-to-stripe}']);
    expect(error).toEqual([
      expect.stringMatching(new RegExp(`^${file}:7:\\d+: requests\\[0\\]\\.h2\\.rule: "defualt" .*did you mean "default"\\?$`)),
      expect.stringMatching(/requests\[1\]\.rule: "billing-to-stripe" is no inbound rule/),
    ]);
  });
});

describe('nearest', () => {
  it.each<[string, string[], string | undefined]>([
    ['no_admin', ['no-admin', 'default'], 'no-admin'],
    ['NO-ADMIN', ['no-admin'], 'no-admin'],
    ['bad_hots', ['bad_host', 'bad_port'], 'bad_host'],
    ['x', ['default'], undefined],
    ['completely-different', ['no-admin'], undefined],
  ])('%s among %j → %s', (name, known, want) => {
    expect(nearest(name, known)).toBe(want);
  });
});
