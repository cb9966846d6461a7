/**
 * The RBAC renderer's output in a real Envoy: every rendered configuration passes
 * `envoy --mode validate` (so field names, enums and RE2 program sizes are right), and a running
 * Envoy with the rendered DENY filter answers every path of test/vectors/paths.json the way
 * meshgate decides it (non-canonical → 403, canonical → through; a deny rule folds case).
 *
 * Needs Envoy (harness/envoy/locate.ts); when none can be found the test fails and says how to
 * get one — it never skips.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { bootstrap, directResponseRoute, httpListener } from '../../../harness/envoy/bootstrap';
import { locateEnvoy, type LocatedEnvoy } from '../../../harness/envoy/locate';
import { EnvoyProcess } from '../../../harness/envoy/process';
import { compilePolicy, compilePolicyFile } from '../../../harness/policy/compile';
import { isCanonicalPath } from '../../../harness/policy/patterns';
import { renderRbac, renderRbacMatcher } from '../../../harness/policy/rbac';
import { parseRawResponse, rawRequest } from '../../../harness/services/client';

const ROOT = path.resolve(__dirname, '../../..');
const execFileP = promisify(execFile);
jest.setTimeout(120_000);

let envoy: LocatedEnvoy;
beforeAll(async () => {
  envoy = await locateEnvoy();
});

const TD = { trustDomain: 'example.org', federatesWith: ['other.org'] };
const POLICIES: Array<[string, object]> = [
  ['the shop example', compilePolicyFile(path.join(ROOT, 'examples/shop/policy.yaml')).policy!],
  ['every matcher kind', { ...TD, inbound: { rules: [
    { name: 'a', from: ['*', 'spiffe://other.org/x'], notFrom: ['spiffe://example.org/ns/bad/*'], methods: ['GET', 'HEAD'], notMethods: ['DELETE'],
      paths: ['/a/{*}/{**}', '*.json', "/x$(y)+z!~&'=,;:@/{*}", '/v1/{*}/items/{*}/{*}/{*}'], notPaths: ['/Secret', '/A/{*}/private'] },
    { name: 'd', action: 'deny', paths: ['/Admin/{*}/x', '*.PHP'], notPaths: ['/Admin/ok/x'] },
    { name: 'any-path', paths: ['/a', '*'] },
    { name: 'long-td', from: ['*'], paths: ['/long'] },
  ] } }],
  ['a long trust domain in "*"', { trustDomain: `${'a'.repeat(60)}.${'b'.repeat(60)}.example`, inbound: { rules: [{ name: 'a', from: ['*'] }] } }],
  ['global audit', { ...TD, mode: 'audit', inbound: { rules: [{ name: 'd', action: 'deny', paths: ['/d'] }, { name: 'a', paths: ['/a'] }] } }],
  ['default allow, audit rules', { ...TD, inbound: { default: 'allow', rules: [{ name: 'a', mode: 'audit', paths: ['/a'] }, { name: 'd', mode: 'audit', action: 'deny', paths: ['/d'] }] } }],
  ['no rules', { ...TD, inbound: {} }],
];

const RENDERERS = { policies: renderRbac, matcher: renderRbacMatcher } as const;
type Form = keyof typeof RENDERERS;

describe('envoy --mode validate accepts every rendering', () => {
  it.each(POLICIES.flatMap(([n, doc]) => (['policies', 'matcher'] as const).map((form) => [`${n} (${form})`, doc, form] as const)))('%s', async (_n, doc, form: Form) => {
    const r = compilePolicy(doc, 'inline');
    expect(r.errors).toEqual([]);
    const { filters } = RENDERERS[form](r.normalized!);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meshgate-rbac-'));
    try {
      const file = path.join(dir, 'bootstrap.json');
      const listener = httpListener({ name: 'in', routes: [directResponseRoute(200, 'ok')], httpFilters: filters as unknown as Array<Record<string, unknown>> });
      fs.writeFileSync(file, JSON.stringify(bootstrap({ listeners: [listener] })));
      const res = await execFileP(envoy.bin, ['--mode', 'validate', '-c', file, '--log-level', 'error'], { timeout: 60_000 }).catch(
        (e: { stdout?: string; stderr?: string }) => ({ stdout: e.stdout ?? '', stderr: e.stderr ?? '' }),
      );
      expect(`${res.stdout}${res.stderr}`).toContain(`configuration '${file}' OK`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe.each(['policies', 'matcher'] as const)('a running Envoy with the rendered filters (%s)', (form: Form) => {
  let proc: EnvoyProcess | undefined;
  let port = 0;
  beforeAll(async () => {
    const r = compilePolicy({ ...TD, inbound: { default: 'allow', rules: [{ name: 'no-admin', action: 'deny', paths: ['/admin', '/admin/*'] }] } }, 'inline');
    const { filters } = RENDERERS[form](r.normalized!);
    const listener = httpListener({ name: 'in', routes: [directResponseRoute(200, 'ok')], httpFilters: filters as unknown as Array<Record<string, unknown>> });
    proc = await EnvoyProcess.start({ envoy, bootstrap: bootstrap({ listeners: [listener] }) });
    port = await proc.listenerPort('in');
  });
  afterAll(async () => {
    await proc?.stop();
  });

  const status = async (target: string): Promise<number> => {
    const raw = await rawRequest({ port, bytes: `GET ${target} HTTP/1.1\r\nHost: svc\r\nConnection: close\r\n\r\n` });
    return parseRawResponse(raw).status;
  };

  it('denies every non-canonical path of paths.json that reaches it, passes every canonical one', async () => {
    const v = JSON.parse(fs.readFileSync(path.join(ROOT, 'test/vectors/paths.json'), 'utf8')) as { canonical: Array<{ path: string; canonical: boolean }> };
    const rows: Array<{ path: string; canonical: boolean; status: number }> = [];
    for (const c of v.canonical) {
      // bytes that end the request line early (space, CR) would test the codec, not the filter
      if (/[ \r\n]/.test(c.path) || c.path === '') continue;
      rows.push({ path: c.path, canonical: c.canonical, status: await status(Buffer.from(c.path, 'utf8').toString('latin1')) });
    }
    // canonical: through (200), unless Envoy's codec itself refuses the request (400: a '#');
    // non-canonical: RBAC's 403, or the codec's 400 before any filter — never 200
    const ok = (r: (typeof rows)[number]) =>
      r.canonical ? r.status === 200 || (r.status === 400 && r.path.includes('#')) : r.status === 403 || r.status === 400;
    expect(rows.filter((r) => !ok(r))).toEqual([]);
    // most non-canonical paths reach the filter and are denied there
    expect(rows.filter((r) => !r.canonical && r.status === 403).length).toBeGreaterThan(30);
  });

  it.each([
    ['/admin', 403], ['/ADMIN', 403], ['/Admin/users', 403], ['/admin?x=1', 403], ['/administrator', 200],
    ['/a/%2e%2e/admin', 403], ['/a//b', 403], ['/a/./b', 403], ['/%41', 403], ['/%20', 200], ['/a/b/', 200],
  ] as const)('%s → %i', async (p, want) => {
    expect(isCanonicalPath(p)).toBe(!/%2e|\/\/|\/\.\/|%41/.test(p));
    expect(await status(p)).toBe(want);
  });
});
