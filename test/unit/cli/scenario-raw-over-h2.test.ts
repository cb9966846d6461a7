/**
 * `raw:` requests over h2: which raw bytes have an h2 form and what it is (targets/raw-as-h2.ts),
 * and the `h2:` pin that gives a request its own verdict over h2 (load.ts, run.ts forProtocol).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadScenario, ScenarioError } from '../../../harness/scenario/load';
import { forProtocol } from '../../../harness/scenario/run';
import { rawAsH2 } from '../../../harness/scenario/targets/raw-as-h2';

const SHOP = path.resolve(__dirname, '../../scenarios/policies/shop-inbound.yaml');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'meshgate-raw-h2-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function file(requests: string[], role = 'inbound'): string {
  const f = path.join(tmp, `s${fs.readdirSync(tmp).length}.yaml`);
  fs.writeFileSync(f, `name: raw-h2\nrole: ${role}\npolicy: ${SHOP}\nidentities:\n  store: spiffe://example.org/ns/shop/sa/store\nrequests:\n${requests.map((r) => `  - ${r}\n`).join('')}`);
  return f;
}

function errors(requests: string[], role = 'inbound'): string {
  try {
    loadScenario(file(requests, role), { strict: true });
  } catch (e) {
    if (e instanceof ScenarioError) return e.messages.join('\n');
    throw e;
  }
  return '';
}

describe('rawAsH2: the h2 form of raw HTTP/1.1 bytes', () => {
  it('a plain request: pseudo-headers from the request line and Host, the target byte for byte, names lower-cased', () => {
    expect(rawAsH2('POST /a\\..;\\b?x=%zz HTTP/1.1\r\nHost: billing\r\nX-Forwarded-Client-Cert: a\r\nContent-Length: 0\r\n\r\n')).toEqual({
      ok: true,
      headers: [[':method', 'POST'], [':scheme', 'https'], [':authority', 'billing'], [':path', '/a\\..;\\b?x=%zz'], ['x-forwarded-client-cert', 'a'], ['content-length', '0']],
    });
  });

  it('bytes the HTTP/1 codec refuses stay in :path, for the h2 codec to judge', () => {
    for (const target of ['/a\0b', '/sec\tret', '/caf\xe9', '/a#b']) {
      const r = rawAsH2(`GET ${target} HTTP/1.1\r\nHost: billing\r\n\r\n`);
      expect(r.ok && r.headers[3]).toEqual([':path', target]);
    }
  });

  it.each([
    ['absolute form', 'GET http://billing/x HTTP/1.1\r\nHost: billing\r\n\r\n', /origin form/],
    ['CONNECT', 'CONNECT billing:443 HTTP/1.1\r\nHost: billing\r\n\r\n', /origin form/],
    ['asterisk form', 'OPTIONS * HTTP/1.1\r\nHost: billing\r\n\r\n', /origin form/],
    ['no Host', 'GET /x HTTP/1.1\r\n\r\n', /no Host/],
    ['two Host lines', 'GET /x HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n', /several Host/],
    ['a body', 'POST /x HTTP/1.1\r\nHost: billing\r\nContent-Length: 2\r\n\r\nhi', /bytes after the head/],
    ['a content-length announcing a body', 'POST /x HTTP/1.1\r\nHost: billing\r\nContent-Length: 2\r\n\r\n', /content-length/],
    ['HTTP/1.0', 'GET /x HTTP/1.0\r\nHost: billing\r\n\r\n', /not an HTTP\/1.1 request line/],
    ['a space in the target', 'GET /a b HTTP/1.1\r\nHost: billing\r\n\r\n', /malformed request line/],
    ['a lower-case method', 'post /x HTTP/1.1\r\nHost: billing\r\n\r\n', /upper case/],
    ['obs-fold', 'GET /x HTTP/1.1\r\nHost: billing\r\nX-A: 1\r\n 2\r\n\r\n', /obs-fold/],
    ['a space before the colon', 'GET /x HTTP/1.1\r\nHost: billing\r\nX-A : 1\r\n\r\n', /malformed header line/],
    ['a connection-specific field', 'GET /x HTTP/1.1\r\nHost: billing\r\nConnection: close\r\n\r\n', /connection-specific field \(connection\)/],
    ['no end of head', 'GET /x HTTP/1.1\r\nHost: billing\r\n', /empty line/],
  ])('stays HTTP/1.1 only: %s', (_name, raw, why) => {
    const r = rawAsH2(raw);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.why).toMatch(why);
  });
});

describe('h2: a verdict for the h2 run only', () => {
  const s = loadScenario(
    file([
      '{name: tab, as: store, raw: "GET /sec\\tret HTTP/1.1\\r\\nHost: billing\\r\\n\\r\\n", expect: deny, status: 400, h2: {status: 0, why: "the h2 codec resets"}}',
      '{name: both, as: store, path: /x, expect: deny, rule: default, reason: r, h2: {status: 0, why: "w"}}',
    ]),
  );

  it('replaces status and rule over h2, keeps expect and reason; HTTP/1.1 keeps the request verdict', () => {
    const [tab1, both1] = forProtocol(s, 'http1').requests;
    expect([tab1.status, tab1.rule, tab1.raw !== undefined]).toEqual([400, undefined, true]);
    expect([both1.status, both1.rule]).toEqual([undefined, 'default']);
    const [tab2, both2] = forProtocol(s, 'h2').requests;
    expect(tab2).toMatchObject({ protocol: 'h2', raw: undefined, expect: 'deny', status: 0, h2: undefined });
    expect(tab2.h2headers?.[3]).toEqual([':path', '/sec\tret']);
    expect(both2).toMatchObject({ expect: 'deny', status: 0, rule: undefined, reason: 'r' });
  });

  it.each([
    ['turning a deny into an allow', ['{as: store, path: /x, expect: deny, rule: default, h2: {expect: allow, rule: default, why: w}}'], 'inbound', /cannot turn a deny into an allow/],
    ['no why', ['{as: store, path: /x, expect: deny, rule: default, h2: {status: 0}}'], 'inbound', /h2: why is required/],
    ['an unknown field', ['{as: store, path: /x, expect: deny, rule: default, h2: {status: 0, rbac: x, why: w}}'], 'inbound', /h2: unknown field "rbac"/],
    ['pinning nothing', ['{as: store, path: /x, expect: deny, rule: default, h2: {why: w}}'], 'inbound', /h2: pins nothing/],
    ['a raw request without an h2 form', ['{as: store, raw: "GET /x HTTP/1.0\\r\\nHost: billing\\r\\n\\r\\n", expect: deny, status: 426, h2: {status: 0, why: w}}'], 'inbound', /never runs over h2: its raw bytes have no h2 form \(not an HTTP\/1.1 request line\)/],
    ['a request pinned to http1', ['{as: store, path: /x, protocol: http1, expect: deny, rule: default, h2: {status: 0, why: w}}'], 'inbound', /never runs over h2: it says protocol: http1/],
    ['a request that runs over h2 only', ['{as: store, path: /x, protocol: h2, expect: deny, rule: default, h2: {status: 0, why: w}}'], 'inbound', /runs over h2 only: pin its own verdict/],
    ['an unpinned h2 verdict', ['{as: store, path: /x, expect: deny, rule: default, h2: {expect: deny, why: w}}'], 'inbound', /a deny must pin why/],
    ['an egress request', ['{as: store, host: a.example, path: /x, expect: deny, rule: default, h2: {status: 0, why: w}}'], 'egress', /egress requests are sent over HTTP\/1.1 only/],
  ])('refuses %s', (_name, requests, role, message) => {
    expect(errors(requests, role)).toMatch(message);
  });
});
