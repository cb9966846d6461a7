/**
 * The identity source × listener table, cell by cell, written out here independently of
 * harness/render/identity-roles.ts; and both renderers refuse exactly the cells the table refuses,
 * with the reason and the flag in the message.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Role } from '../../../harness/envoy/reference';
import { compilePolicyText } from '../../../harness/policy/compile';
import type { IdentitySource } from '../../../harness/policy/model';
import { identitySourceProblem, IDENTITY_SOURCE_BY_LISTENER, ISTIO_LISTENER } from '../../../harness/render/identity-roles';
import { renderEnvoy } from '../../../harness/render/envoy';
import { buildIstioResource, IstioRenderError, type IstioRole } from '../../../harness/render/istio';

type Cell = [Role, IdentitySource, 'ok' | RegExp];
const CELLS: Cell[] = [
  ['inbound', 'peer-certificate', 'ok'],
  ['inbound', 'xfcc', 'ok'],
  ['inbound', 'local', /every caller would be that identity/],
  ['egress', 'peer-certificate', 'ok'],
  ['egress', 'xfcc', 'ok'],
  ['egress', 'local', /egress gateway is shared.*every caller would be that identity/],
  ['egress-sidecar', 'peer-certificate', /plain text to its own sidecar.*no peer certificate.*denied/],
  ['egress-sidecar', 'xfcc', /plain text.*denied/],
  ['egress-sidecar', 'local', 'ok'],
  ['egress-sni-sidecar', 'peer-certificate', /no client certificate.*denied/],
  ['egress-sni-sidecar', 'xfcc', /x-forwarded-client-cert/],
  ['egress-sni-sidecar', 'local', 'ok'],
  ['egress-sni-gateway', 'peer-certificate', 'ok'],
  ['egress-sni-gateway', 'xfcc', /x-forwarded-client-cert/],
  ['egress-sni-gateway', 'local', /every caller would be that identity/],
];

const ID = 'spiffe://example.org/ns/shop/sa/billing';
/** A valid policy with the given identity source and both sections. */
function policyText(source: IdentitySource): string {
  const identity =
    source === 'local' ? `identity: {from: local, id: "${ID}"}` : source === 'xfcc' ? 'identity: {from: xfcc, trustedProxies: ["spiffe://example.org/ns/edge/sa/front"]}' : 'identity: {from: peer-certificate}';
  return [
    'trustDomain: example.org',
    identity,
    'inbound:',
    '  rules: [{name: store, from: ["spiffe://example.org/ns/shop/sa/store"], methods: [GET]}]',
    'egress:',
    '  rules: [{name: stripe, hosts: [api.stripe.com], ports: [443]}]',
    '',
  ].join('\n');
}

test('the table has every listener × source, and nothing else', () => {
  expect(Object.keys(IDENTITY_SOURCE_BY_LISTENER).sort()).toEqual([...new Set(CELLS.map(([r]) => r))].sort());
  for (const row of Object.values(IDENTITY_SOURCE_BY_LISTENER)) expect(Object.keys(row).sort()).toEqual(['local', 'peer-certificate', 'xfcc']);
});

test.each(CELLS)('%s × %s → %s', (role, source, expected) => {
  const problem = identitySourceProblem(role, role, source);
  if (expected === 'ok') expect(problem).toBeUndefined();
  else {
    expect(problem).toMatch(expected);
    expect(problem).toMatch(new RegExp(`^--role ${role} with identity.from: ${source}: `));
    expect(problem).toMatch(/; use identity/); // says what to use instead
  }
});

describe('render envoy applies the table before writing anything', () => {
  let tmp: string;
  beforeAll(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'meshgate-roles-'))));
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  test.each(CELLS.filter(([, , e]) => e !== 'ok'))('%s × %s is refused', async (role, source, expected) => {
    const compiled = compilePolicyText(policyText(source), 'p.yaml');
    expect(compiled.ok).toBe(true);
    const out = path.join(tmp, `${role}-${source}`);
    await expect(renderEnvoy({ role, compiled, outDir: out, wasmFile: '/m.wasm' })).rejects.toThrow(expected);
    expect(fs.existsSync(out)).toBe(false);
  });
});

describe('render istio maps its roles onto the listeners they land on', () => {
  test('inbound → inbound, egress → the egress gateway, egress-sni → the SNI gateway', () => {
    expect(ISTIO_LISTENER).toEqual({ inbound: 'inbound', egress: 'egress', 'egress-sni': 'egress-sni-gateway' });
  });

  const ISTIO_CELLS = CELLS.filter(([r]) => (Object.values(ISTIO_LISTENER) as Role[]).includes(r));
  test.each(ISTIO_CELLS)('%s × %s', (listener, source, expected) => {
    const role = (Object.keys(ISTIO_LISTENER) as IstioRole[]).find((r) => ISTIO_LISTENER[r] === listener)!;
    const compiled = compilePolicyText(policyText(source), 'p.yaml');
    const render = () => buildIstioResource({ role, policyJson: compiled.json, url: 'file:///opt/meshgate.wasm', namespace: 'shop', selector: { app: 'billing' } });
    if (expected === 'ok') expect(render).not.toThrow();
    else {
      let error: unknown;
      try {
        render();
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(IstioRenderError);
      expect((error as IstioRenderError).code).toBe('IDENTITY_ROLE');
      expect((error as IstioRenderError).message).toMatch(expected);
    }
  });
});
