/**
 * `paths` / `notPaths` lists of every size against the reference evaluator: a list of at most four
 * exact and prefix entries is matched by comparing bytes (assembly/policy/path.ts, few keys), a
 * longer one through its hash tables, and a list with suffixes or templates scans them as well.
 * Both ways must give the reference's decision — for allow rules (byte-exact) and deny rules
 * (case-insensitive), for `paths` and `notPaths`, and for paths with upper case, parameters,
 * a query and more segments than the facts keep prefixes for.
 */
import { compilePolicy } from '../../../harness/policy/compile';
import { decideInbound, type Decision } from '../../../harness/policy/evaluate';
import { loadTestkit } from './testkit';

const tk = loadTestkit();
const ID = 'spiffe://example.org/ns/shop/sa/store';

const deep = '/' + Array.from({ length: 70 }, (_, i) => `s${i}`).join('/');

/** Lists: few keys (1..4 exact/prefix), tables (5+), and both kinds with a scanned entry. */
const LISTS: string[][] = [
  ['/api/*'],
  ['/admin'],
  ['/admin', '/admin/*'],
  ['/a/b', '/a/b/*', '/Api/*', '/x'],
  ['/a/b', '/a/b/*', '/Api/*', '/x', '/y/*'],
  ['/v1/*', '/v2/*', '/v3/*', '/v4/*', '/v5/*', '/health', '/ready'],
  ['/api/*', '*.json'],
  ['/admin', '/users/{*}/keys', '/v1/*', '/v2/*', '/v3/*'],
  [deep.slice(0, deep.indexOf('/s66')) + '/*'],
  [deep.slice(0, deep.indexOf('/s66')) + '/*', '/a/*', '/b/*', '/c/*', '/d/*'],
  [deep],
];

const PATHS = [
  '/', '/api', '/api/', '/api/items/1', '/API/items/1', '/Api/items', '/api;v=1/items', '/apix/1',
  '/admin', '/ADMIN', '/Admin/', '/admin/users', '/admin;x=1/users', '/admin;x=1', '/adminx',
  '/a/b', '/a/B', '/a/b/', '/a/b/c', '/A/b/c', '/x', '/X', '/x/', '/y', '/y/z', '/Y/z',
  '/v3/deep/er', '/V3/x', '/health', '/Health', '/ready?probe=1',
  '/users/7/keys', '/users/7/Keys', '/users/7;x/keys', '/data.json', '/data;x.json', '/DATA.JSON',
  deep, deep + '/', deep + '/tail', deep.toUpperCase(), deep.replace('/s68', '/s68;p=1'),
];

const line = (d: Decision) =>
  `${d.decision} rule=${d.rule} nearest=${d.nearest?.rule ?? '-'} field=${d.nearest?.field ?? '-'} audit=${d.audit.length ? d.audit.map((a) => `${a.rule}:${a.wouldBe}`).join(',') : '-'}`;

function check(doc: object): number {
  const r = compilePolicy(doc, 'p');
  expect(r.errors).toEqual([]);
  expect(tk.compile('inbound', doc).errors).toEqual([]);
  let allowed = 0;
  for (const p of PATHS) {
    const want = line(decideInbound(r.normalized!, { identity: ID, method: 'GET', path: p }));
    expect([p, tk.decideInbound(ID, 'GET', p)]).toEqual([p, want]);
    if (want.startsWith('allow')) allowed++;
  }
  return allowed;
}

const label = (l: string[]) => l.map((e) => (e.length > 24 ? `${e.slice(0, 12)}…(${e.length} bytes)` : e)).join(' ');

describe.each(LISTS.map((l) => [label(l), l] as const))('list %s', (_n, list) => {
  it('deny rule paths (case-insensitive) before an allow-all', () => {
    check({ trustDomain: 'example.org', inbound: { default: 'deny', rules: [{ name: 'd', action: 'deny', paths: list }, { name: 'a', from: ['*'] }] } });
  });
  it('deny rule notPaths (byte-exact)', () => {
    check({ trustDomain: 'example.org', inbound: { default: 'allow', rules: [{ name: 'd', action: 'deny', notPaths: list }] } });
  });
  it('allow rule paths (byte-exact), nearest rule on a miss', () => {
    const allowed = check({ trustDomain: 'example.org', inbound: { default: 'deny', rules: [{ name: 'a', from: ['*'], methods: ['GET'], paths: list }] } });
    expect(allowed).toBeGreaterThan(0); // the lists are built to match some of the paths
  });
  it('allow rule notPaths (case-insensitive)', () => {
    check({ trustDomain: 'example.org', inbound: { default: 'deny', rules: [{ name: 'a', from: ['*'], notPaths: list }] } });
  });
});
