/**
 * `meshgate diff` on targeted changes: each kind of boundary (template segments, negations, host
 * wildcards, ports, CIDRs, identities) gives exactly the classes that change, judged by the module.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { main } from '../../../harness/cli';
import { sharedTestkit } from '../../../harness/engine/testkit';
import { compilePolicy } from '../../../harness/policy/compile';
import { cidrEdges } from '../../../harness/rollout/diff-space';
import { classOf, diffPolicies, describeClass, type PolicyDiff } from '../../../harness/rollout/diff';
import type { CompileResult } from '../../../harness/policy/compile';
import type { ExplainRequest } from '../../../harness/rollout/explain';

const tk = sharedTestkit();
const STORE = 'spiffe://example.org/ns/shop/sa/store';
const BILLING = 'spiffe://example.org/ns/shop/sa/billing';
const inbound = (rules: object[], extra: object = {}) => compilePolicy({ trustDomain: 'example.org', ...extra, inbound: { rules } }, 'inline');
const egress = (rules: object[]) => compilePolicy({ trustDomain: 'example.org', egress: { rules } }, 'inline');

/** Whether a request (not a representative) falls in a class the diff reports. */
const reported = (d: PolicyDiff, a: CompileResult, b: CompileResult, r: ExplainRequest) => d.changed.some((c) => c.key === classOf(tk, a, b, r).key);

/** Rows as [change, ...request, old rule, new rule]. */
const rows = (d: PolicyDiff) => d.changed.map((c) => [c.change, ...describeClass(c.request), c.old.rule, c.new.rule]);

it('a template segment: only requests with a segment there change', () => {
  const a = inbound([{ name: 'r', from: [STORE], methods: ['GET'], paths: ['/orders/{*}'] }]);
  const b = inbound([{ name: 'r', from: [STORE], methods: ['GET'], paths: ['/orders/{*}/items'] }]);
  const d = diffPolicies(tk, a, b, 'inbound');
  expect(rows(d)).toEqual([
    ['allow-to-deny', STORE, 'GET', '/orders/x-diff', 'r', 'default'],
    ['deny-to-allow', STORE, 'GET', '/orders/x-diff/items', 'default', 'r'],
  ]);
});

it('a negation: the excluded paths flip, nothing else', () => {
  const a = inbound([{ name: 'r', from: ['*'], paths: ['/api/*'] }]);
  const b = inbound([{ name: 'r', from: ['*'], paths: ['/api/*'], notPaths: ['/api/internal/*'] }]);
  const d = diffPolicies(tk, a, b, 'inbound');
  expect(rows(d)).toEqual([['allow-to-deny', 'spiffe://example.org/x-diff', 'GET', '/api/internal/x-diff', 'r', 'default']]);
  const web = 'spiffe://example.org/ns/web/sa/frontend';
  expect(reported(d, a, b, { role: 'inbound', peer: web, method: 'PUT', path: '/api/internal/users/7' })).toBe(true);
  expect(reported(d, a, b, { role: 'inbound', peer: web, method: 'PUT', path: '/api/public/users/7' })).toBe(false);
  expect(reported(d, a, b, { role: 'inbound', peer: null, method: 'PUT', path: '/api/internal/users/7' })).toBe(false);
});

it('an identity prefix narrowed to one ID', () => {
  const a = inbound([{ name: 'r', from: ['spiffe://example.org/ns/shop/*'] }]);
  const b = inbound([{ name: 'r', from: [STORE] }]);
  const d = diffPolicies(tk, a, b, 'inbound');
  expect(rows(d)).toEqual([['allow-to-deny', 'spiffe://example.org/ns/shop/x-diff', 'GET', '/', 'r', 'default']]);
  expect(reported(d, a, b, { role: 'inbound', peer: BILLING, method: 'POST', path: '/x' })).toBe(true);
  expect(reported(d, a, b, { role: 'inbound', peer: STORE, method: 'POST', path: '/x' })).toBe(false);
  expect(reported(d, a, b, { role: 'inbound', peer: 'spiffe://example.org/ns/shop', method: 'POST', path: '/x' })).toBe(false);
});

it('a host wildcard and a port', () => {
  const a = egress([{ name: 's', from: [BILLING], hosts: ['api.stripe.com'], ports: [443] }]);
  const b = egress([{ name: 's', from: [BILLING], hosts: ['*.stripe.com'], ports: [443, 8443] }]);
  const d = diffPolicies(tk, a, b, 'egress');
  expect(rows(d)).toEqual([
    ['deny-to-allow', BILLING, 'api.stripe.com', '8443', 'default', 's'],
    ['deny-to-allow', BILLING, 'x-diff.api.stripe.com', '443', 'default', 's'],
    ['deny-to-allow', BILLING, 'x-diff.api.stripe.com', '8443', 'default', 's'],
  ]);
  const at = (host: string, port: number, connect = false): ExplainRequest => ({ role: 'egress', peer: BILLING, host, port, connect, scheme: 'https' });
  expect(reported(d, a, b, at('files.stripe.com', 443, true))).toBe(true);
  expect(reported(d, a, b, at('stripe.com', 443))).toBe(false); // the apex is not under the wildcard
  expect(reported(d, a, b, at('files.stripe.com', 80))).toBe(false);
});

it('CIDR edges: first, last, and just outside', () => {
  expect(cidrEdges('10.1.0.0/16')).toEqual(['10.1.0.0', '10.1.255.255', '10.0.255.255', '10.2.0.0']);
  expect(cidrEdges('0.0.0.0/0')).toEqual(['0.0.0.0', '255.255.255.255']);
  expect(cidrEdges('2001:db8::/32')).toEqual(['2001:db8:0:0:0:0:0:0', '2001:db8:ffff:ffff:ffff:ffff:ffff:ffff', '2001:db7:ffff:ffff:ffff:ffff:ffff:ffff', '2001:db9:0:0:0:0:0:0']);
});

it('a CIDR narrowed', () => {
  const a = egress([{ name: 'n', from: ['*'], cidrs: ['10.0.0.0/8'] }]);
  const b = egress([{ name: 'n', from: ['*'], cidrs: ['10.1.0.0/16'] }]);
  const d = diffPolicies(tk, a, b, 'egress');
  expect(d.changed.map((c) => [c.change, c.request.host])).toEqual([['allow-to-deny', '10.0.0.0']]);
  const at = (host: string): ExplainRequest => ({ role: 'egress', peer: STORE, host, port: 443, scheme: 'https' });
  expect([reported(d, a, b, at('10.200.1.1')), reported(d, a, b, at('10.1.2.3')), reported(d, a, b, at('11.0.0.1'))]).toEqual([true, false, false]);
});

it('the same policy, differently written, changes nothing', () => {
  const a = inbound([{ name: 'r', from: [STORE], methods: ['GET', 'POST'] }]);
  const b = inbound([{ methods: ['POST', 'GET'], name: 'r', from: [STORE] }]);
  const d = diffPolicies(tk, a, b, 'inbound');
  expect(d.changed).toEqual([]);
  expect(d.classes).toBeGreaterThan(1);
});

describe('the command', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meshgate-diff-'));
  const write = (name: string, doc: object) => {
    const f = path.join(dir, name);
    fs.writeFileSync(f, JSON.stringify(doc));
    return f;
  };
  const oldFile = write('old.yaml', { trustDomain: 'example.org', inbound: { rules: [{ name: 'r', from: [STORE], methods: ['GET'] }] } });
  const newFile = write('new.yaml', { trustDomain: 'example.org', inbound: { rules: [{ name: 'r', from: [STORE], methods: ['GET', 'POST'] }] } });
  const run = async (...args: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(['diff', oldFile, newFile, ...args], { out: (s) => out.push(s), err: (s) => err.push(s) });
    return { code, out, err };
  };

  it('prints the table; --fail-on decides the exit code', async () => {
    const r = await run();
    expect(r.code).toBe(0);
    expect(r.out[0]).toMatch(/^inbound: policy [0-9a-f]{12} -> [0-9a-f]{12}: 1 of \d+ request classes change/);
    expect(r.out.slice(2)).toEqual([
      'change         identity                               method  path  old           new',
      `deny-to-allow  ${STORE}  POST    /     deny default  allow r`,
    ]);
    expect((await run('--fail-on', 'allow-to-deny')).code).toBe(0);
    const failing = await run('--fail-on', 'deny-to-allow');
    expect([failing.code, failing.err]).toEqual([1, ['meshgate: 1 request class(es) change deny-to-allow']]);
    expect((await run('--fail-on', 'any')).code).toBe(1);
  });

  it('--format json', async () => {
    const r = await run('--format', 'json');
    const doc = JSON.parse(r.out.join('\n'));
    expect(doc.diffs[0].changed.map((c: any) => [c.change, c.request.method, c.old, c.new])).toEqual([
      ['deny-to-allow', 'POST', { decision: 'deny', rule: 'default' }, { decision: 'allow', rule: 'r' }],
    ]);
  });
});
