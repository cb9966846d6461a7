/**
 * `protocol:` and `h2headers:` in scenario files: what the loader accepts and refuses, which
 * requests a run over each protocol sends (forProtocol), and the emulator target judging h2
 * requests through its model of Envoy's h2 codec (harness/scenario/front.ts). No Envoy: the
 * model's e2e pins are test/e2e/front-model.test.ts.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadScenario, ScenarioError } from '../../../harness/scenario/load';
import { forProtocol, formatResult, judge } from '../../../harness/scenario/run';
import { EmulatorTarget } from '../../../harness/scenario/targets/emulator';
import type { Scenario } from '../../../harness/scenario/types';

const SHOP = path.resolve(__dirname, '../../scenarios/policies/shop-inbound.yaml');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'meshgate-protocols-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function file(top: string, requests: string[], role = 'inbound'): string {
  const f = path.join(tmp, `s${fs.readdirSync(tmp).length}.yaml`);
  fs.writeFileSync(f, `name: protocols\nrole: ${role}\npolicy: ${SHOP}\n${top}identities:\n  store: spiffe://example.org/ns/shop/sa/store\nrequests:\n${requests.map((r) => `  - ${r}\n`).join('')}`);
  return f;
}

function errors(top: string, requests: string[], role = 'inbound'): string[] {
  try {
    loadScenario(file(top, requests, role));
  } catch (e) {
    if (e instanceof ScenarioError) return e.messages;
    throw e;
  }
  return [];
}

const H2_POST = '[[":method", "POST"], [":scheme", "https"], [":authority", "billing"], [":path", "/charges"]]';

describe('loading protocol: and h2headers:', () => {
  it('defaults to http1; a file and a request may each name a protocol', () => {
    expect(loadScenario(file('', ['{as: store, path: /x, expect: deny, rule: default}'])).protocol).toBe('http1');
    const s = loadScenario(file('protocol: h2\n', ['{as: store, path: /x, expect: deny, rule: default}', '{as: store, path: /x, protocol: http1, expect: deny, rule: default}']));
    expect(s.protocol).toBe('h2');
    expect(s.requests.map((r) => r.protocol)).toEqual([undefined, 'http1']);
  });

  it('labels a header list by its pseudo-header values', () => {
    const s = loadScenario(file('', [`{as: store, h2headers: ${H2_POST}, expect: allow, rule: store-creates-charges}`]));
    expect(s.requests[0].label).toBe('h2 "POST https billing /charges"');
    expect(s.requests[0].h2headers).toHaveLength(4);
  });

  it.each([
    ['an unknown file protocol', 'protocol: h3\n', ['{as: store, expect: deny, rule: default}'], 'inbound', /protocol must be "http1" or "h2", not "h3"/],
    ['an unknown request protocol', '', ['{as: store, protocol: spdy, expect: deny, rule: default}'], 'inbound', /requests\[0\]\.protocol: must be "http1" or "h2"/],
    ['a header list that is not pairs', '', ['{as: store, h2headers: [[":method"]], expect: deny, rule: default}'], 'inbound', /h2headers: must be a list of \[name, value\] string pairs/],
    ['a header list with a number', '', ['{as: store, h2headers: [[":status", 200]], expect: deny, rule: default}'], 'inbound', /h2headers: must be a list/],
    ['a header list over http1', '', [`{as: store, protocol: http1, h2headers: ${H2_POST}, expect: deny, rule: default}`], 'inbound', /h2headers: is an h2 header list: not with protocol: http1 or raw/],
    ['a header list and raw bytes', '', [`{as: store, raw: "GET / HTTP/1.1\\r\\n\\r\\n", h2headers: ${H2_POST}, expect: deny, rule: default}`], 'inbound', /h2headers: is an h2 header list/],
    ['raw bytes over h2', '', ['{as: store, protocol: h2, raw: "GET / HTTP/1.1\\r\\n\\r\\n", expect: deny, rule: default}'], 'inbound', /raw: raw bytes are HTTP\/1.1: use h2headers/],
  ])('refuses %s', (_name, top, requests, role, message) => {
    expect(errors(top, requests, role).join('\n')).toMatch(message);
  });
});

describe('forProtocol: the requests of one run', () => {
  const s = loadScenario(
    file('', [
      '{name: plain, as: store, path: /x, expect: deny, rule: default}',
      '{name: raw, as: store, raw: "GET /x HTTP/1.1\\r\\nHost: billing\\r\\n\\r\\n", expect: deny, rule: default}',
      '{name: raw10, as: store, raw: "GET /x HTTP/1.0\\r\\nHost: billing\\r\\n\\r\\n", expect: deny, status: 426}',
      `{name: list, as: store, h2headers: ${H2_POST}, expect: allow, rule: store-creates-charges}`,
      '{name: pinned-h2, as: store, path: /x, protocol: h2, expect: deny, rule: default}',
    ]),
  );
  const names = (x: Scenario) => x.requests.map((r) => `${r.label}:${r.protocol}`);

  it('without a protocol: every request, over its own or the file default', () => {
    expect(names(forProtocol(s))).toEqual(['plain:http1', 'raw:http1', 'raw10:http1', 'list:h2', 'pinned-h2:h2']);
    expect(names(forProtocol({ ...s, protocol: 'h2' }))).toEqual(['plain:h2', 'raw:http1', 'raw10:http1', 'list:h2', 'pinned-h2:h2']);
  });

  it('over each protocol: the requests that can go over it; raw bytes with an h2 form over both', () => {
    expect(names(forProtocol(s, 'http1'))).toEqual(['plain:http1', 'raw:http1', 'raw10:http1']);
    expect(names(forProtocol(s, 'h2'))).toEqual(['plain:h2', 'raw:h2', 'list:h2', 'pinned-h2:h2']);
  });

  it('marks h2 results in the printed line', () => {
    const [req] = forProtocol(s, 'h2').requests;
    const line = formatResult(judge(s, req, 'emulator', { outcome: 'deny', status: 403, layer: 'meshgate', rule: 'default' }));
    expect(line).toMatch(/^PASS \[emulator h2\] protocols: plain/);
  });
});

describe('the emulator target over h2 and HTTP/1', () => {
  const s = forProtocol(
    loadScenario(
      file('protocol: h2\n', [
        `{as: store, h2headers: ${H2_POST}, expect: allow, rule: store-creates-charges}`,
        '{as: store, h2headers: [[":method", "POST"], [":scheme", "https"], [":path", "/charges"], ["host", "billing"]], expect: allow, rule: store-creates-charges}',
        '{as: store, h2headers: [[":method", "POST"], [":scheme", "https"], [":authority", "billing"], [":path", "/charges"], ["X-Upper", "1"]], expect: deny, status: 0}',
        '{as: store, h2headers: [[":method", "POST"], [":method", "GET"], [":scheme", "https"], [":authority", "billing"], [":path", "/charges"]], expect: deny, status: 0}',
        '{as: store, h2headers: [[":method", "POST"], [":scheme", "https"], [":authority", "billing"], [":path", "charges"]], expect: deny, status: 0}',
        '{as: store, h2headers: [[":method", "post"], [":scheme", "https"], [":authority", "billing"], [":path", "/charges"]], expect: deny, status: 403, rule: default}',
        '{as: store, h2headers: [[":method", "GET"], [":scheme", "https"], [":authority", "billing"], [":path", "/charges/../admin"]], expect: deny, rule: no-admin}',
        '{as: store, method: POST, path: /charges, expect: allow, rule: store-creates-charges}',
        '{as: store, raw: "POST http://billing/charges HTTP/1.1\\r\\nHost: evil\\r\\ncontent-length: 0\\r\\n\\r\\n", expect: allow, rule: store-creates-charges}',
        '{as: store, raw: "post /charges HTTP/1.1\\r\\nHost: billing\\r\\n\\r\\n", expect: deny, status: 400}',
      ]),
    ),
  );
  const long = { ...s.requests[7], protocol: 'http1' as const, path: `/charges/${'a'.repeat(70 * 1024)}`, status: 431, expect: 'deny' as const, rule: undefined };
  const longH2 = { ...long, protocol: 'h2' as const, status: 0 };

  it.each([...s.requests.map((r, i) => [`#${i} ${r.label}`, r] as const), ['a 70 KiB path over HTTP/1', long] as const, ['a 70 KiB path over h2', longH2] as const])('%s', async (_name, req) => {
    const target = await EmulatorTarget.start(s);
    try {
      const verdict = judge(s, req, 'emulator', await target.run(req));
      expect(verdict.message).not.toMatch(/expected|expects/);
      expect(verdict.passed).toBe(true);
    } finally {
      await target.stop();
    }
  });

  it('sends a header list over h2 even when no run chose the protocol', async () => {
    const plain = loadScenario(file('', ['{as: store, h2headers: [[":method", "POST"], [":scheme", "https"], [":authority", "billing"], [":path", "/charges"], ["X-Upper", "1"]], expect: deny, status: 0}']));
    const target = await EmulatorTarget.start(plain);
    try {
      expect(await target.run(plain.requests[0])).toMatchObject({ outcome: 'deny', status: 0, layer: 'envoy', detail: 'http2.invalid.header.field' });
    } finally {
      await target.stop();
    }
  });
});
