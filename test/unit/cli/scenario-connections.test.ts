/**
 * Scenario connections (`tls:`) and CONNECT tunnel bytes (`inner:`): the loader's checks with
 * file:line errors, the TLS inspector model (harness/scenario/tls-inspector.ts), the runner's
 * judging of connections and inner-SNI refusals, and the emulator target running them through
 * build/meshgate.wasm (meshgate_egress_sni and meshgate_egress).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadScenario, ScenarioError } from '../../../harness/scenario/load';
import { judge } from '../../../harness/scenario/run';
import { inspectTls, MAX_CLIENT_HELLO } from '../../../harness/scenario/tls-inspector';
import { flightBytes, handshakeName, rawBytes, wireBytes } from '../../../harness/scenario/first-flight';
import { dialTarget, EmulatorTarget } from '../../../harness/scenario/targets/emulator';
import { clientHello, clientHelloMessage, handshakeRecords } from '../../../harness/tls/client-hello';
import type { Observation, Scenario } from '../../../harness/scenario/types';
import { meshgateWasm } from '../emulator/fixtures';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'meshgate-connections-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const SIDECAR_POLICY = `policy:
  trustDomain: example.org
  identity: {from: local, id: "spiffe://example.org/ns/shop/sa/billing"}
  egress:
    default: deny
    rules:
      - {name: billing-to-stripe, from: ["spiffe://example.org/ns/shop/sa/billing"], hosts: ["api.stripe.com"], ports: [443]}
`;

function write(requests: string[], o: { role?: string; policy?: string } = {}): string {
  const file = path.join(tmp, `c${fs.readdirSync(tmp).length}.yaml`);
  fs.writeFileSync(file, `name: connections\nrole: ${o.role ?? 'egress'}\n${o.policy ?? SIDECAR_POLICY}requests:\n${requests.map((r) => `  - ${r}\n`).join('')}`);
  return file;
}

function errorsOf(file: string): string[] {
  try {
    loadScenario(file, { strict: true });
  } catch (e) {
    if (e instanceof ScenarioError) return e.messages;
    throw e;
  }
  return [];
}

describe('the loader: tls: and inner:', () => {
  it('loads connections, marks the file, and labels them', () => {
    const s = loadScenario(write(['{as: none, tls: {sni: api.stripe.com}, expect: allow, rule: billing-to-stripe}', '{as: none, host: x.example, tls: {sni: null, ech: true}, port: 8443, expect: deny, rule: ech}']), { strict: true });
    expect(s.connections).toBe(true);
    expect(s.requests.map((r) => r.label)).toEqual(['TLS sni=api.stripe.com to :443', 'TLS no SNI ech to :8443']);
    expect(s.requests[1].tls).toEqual({ sni: null, ech: true });
  });

  it('refuses bad first flights with file:line:col and the field', () => {
    const file = write([
      '{as: none, tls: {sni: 42, bogus: 1}, expect: deny, rule: x}',
      '{as: none, tls: {raw: "hex:zz"}, host: a.example, expect: deny, rule: x}',
      '{as: none, tls: {raw: "GET /", sni: a.example}, expect: deny, rule: x}',
      '{as: none, tls: {sni: a.example, fragment: 0, padTo: -1, alpn: []}, expect: deny, rule: x}',
      '{as: none, tls: {sni: a.example}, method: POST, path: /x, expect: deny, rule: x}',
      '{as: none, tls: {sni: a.example}, expect: deny, status: 403}',
      '{as: none, tls: {sni: null}, expect: deny, rule: no_sni}',
    ]);
    const errors = errorsOf(file);
    const at = (line: number) => errors.filter((e) => e.startsWith(`${file}:${line}:`));
    const first = 11; // the first request's line in the written file
    expect(at(first).join('\n')).toMatch(/requests\[0\]\.tls: unknown field "bogus"[^]*requests\[0\]\.tls: sni must be a string/);
    expect(at(first + 1).join('\n')).toMatch(/requests\[1\]\.tls: raw: hex: must be followed by pairs of hex digits/);
    expect(at(first + 2).join('\n')).toMatch(/requests\[2\]\.tls: raw bytes are sent as they are: not with sni/);
    expect(at(first + 3).join('\n')).toMatch(/alpn must be[^]*padTo must be[^]*fragment must be/);
    expect(at(first + 4).join('\n')).toMatch(/requests\[4\]\.method: not with tls:[^]*requests\[4\]\.path: not with tls:/);
    expect(at(first + 5).join('\n')).toMatch(/requests\[5\]\.status: a connection has no HTTP status: only 0/);
    expect(at(first + 6).join('\n')).toMatch(/requests\[6\]\.host: a connection without an SNI name needs the host/);
  });

  it('refuses connections mixed with HTTP requests, in inbound files, and inner: without CONNECT', () => {
    expect(errorsOf(write(['{as: none, tls: {sni: api.stripe.com}, expect: allow, rule: billing-to-stripe}', '{as: none, host: api.stripe.com, scheme: https, expect: allow, rule: billing-to-stripe}'])).join('\n')).toMatch(
      /either every request is a connection \(tls:\) or none is/,
    );
    expect(errorsOf(write(['{as: none, tls: {sni: a.example}, expect: deny, rule: default}'], { role: 'inbound' })).join('\n')).toMatch(/tls: connections are egress requests/);
    expect(errorsOf(write(['{as: none, host: api.stripe.com, inner: {sni: a.example}, expect: deny, rule: x}'])).join('\n')).toMatch(/requests\[0\]\.inner: only with connect: true/);
    expect(errorsOf(write(['{as: none, host: api.stripe.com, connect: true, inner: {sni: a.example, alpn: [h2]}, expect: deny, rule: x}'])).join('\n')).toMatch(/requests\[0\]\.inner: unknown field "alpn"/);
  });
});

describe('first flights', () => {
  it('raw bytes: hex: or text', () => {
    expect(rawBytes('hex:16 03 01')).toEqual(Buffer.from([0x16, 3, 1]));
    expect(rawBytes('GET /\r\n')).toEqual(Buffer.from('GET /\r\n'));
  });

  it('a real client sends plain printable names; everything else goes as built bytes', () => {
    expect(handshakeName({ sni: 'api.stripe.com' }, undefined)).toBe('api.stripe.com');
    expect(handshakeName({}, 'api.stripe.com')).toBe('api.stripe.com');
    expect(handshakeName({ sni: null }, 'api.stripe.com')).toBe('');
    for (const f of [{ sni: '' }, { sni: 'a\0b' }, { sni: 'bücher.example' }, { sni: '10.1.2.3' }, { sni: 'a.example', ech: true as const }, { raw: 'x' }, { sni: 'a', padTo: 600 }]) {
      expect([f, handshakeName(f, undefined)]).toEqual([f, undefined]);
    }
    expect(wireBytes({ sni: null }, 'x')).toEqual(clientHello({ sni: null }));
    expect(flightBytes({ sni: 'a.example', fragment: 50 }, undefined)).toEqual(clientHello({ sni: 'a.example', maxFragment: 50 }));
  });
});

describe('the TLS inspector model', () => {
  it('reads the SNI as sent, or none', () => {
    expect(inspectTls(clientHello({ sni: 'API.Stripe.com.' }))).toEqual({ verdict: 'tls', sni: 'API.Stripe.com.' });
    expect(inspectTls(clientHello({ sni: null }))).toEqual({ verdict: 'tls', sni: '' });
    expect(inspectTls(clientHello({ sni: 'public.example', ech: true }))).toEqual({ verdict: 'tls', sni: 'public.example' });
  });

  it('reassembles a hello split over records', () => {
    expect(inspectTls(clientHello({ sni: 'api.stripe.com', maxFragment: 7 }))).toEqual({ verdict: 'tls', sni: 'api.stripe.com' });
  });

  it('takes what BoringSSL refuses, and non-TLS bytes, for "no TLS"', () => {
    for (const bytes of [clientHello({ sni: '' }), clientHello({ sni: 'a\0b' }), clientHello({ sni: ['a.example', 'b.example'] }), Buffer.from('GET / HTTP/1.1\r\n\r\n'), rawBytes('hex:15 03 03 00 02 02 28'), rawBytes('hex:16 03 01 00 05 01 00 00 01 03')]) {
      expect(inspectTls(bytes).verdict).toBe('not-tls');
    }
  });

  it('closes on a hello it cannot read within 16 KiB, and waits on a short one', () => {
    expect(inspectTls(clientHello({ sni: 'a.example', padTo: MAX_CLIENT_HELLO + 100 }))).toEqual({ verdict: 'too-large' });
    const fits = clientHello({ sni: 'a.example', padTo: MAX_CLIENT_HELLO - 200 });
    expect(fits.length).toBeLessThanOrEqual(MAX_CLIENT_HELLO);
    expect(inspectTls(fits).verdict).toBe('tls');
    expect(inspectTls(handshakeRecords(clientHelloMessage({ sni: 'a.example' })).subarray(0, 40))).toEqual({ verdict: 'waiting' });
    expect(inspectTls(Buffer.from([0x16, 3]))).toEqual({ verdict: 'waiting' });
  });
});

describe('judging connections and tunnels', () => {
  const s = loadScenario(
    write([
      '{as: none, host: evil.example, tls: {sni: API.stripe.com.}, expect: allow, rule: billing-to-stripe}',
      '{as: none, tls: {sni: evil.example}, expect: deny, rule: default}',
      '{as: none, tls: {sni: api.stripe.com, padTo: 20000}, expect: deny, status: 0}',
    ]),
  );
  const tunnels = loadScenario(write(['{as: none, host: api.stripe.com, connect: true, inner: {sni: evil.example}, expect: deny, rule: tunnel_sni_mismatch}']));
  const conn = (o: Partial<Observation>): Observation => ({ outcome: 'allow', status: 0, layer: 'upstream', rule: 'billing-to-stripe', ...o });

  it('an allowed connection must be dialed to the name it judged, not the address it came for', () => {
    expect(judge(s, s.requests[0], 'emulator', conn({ dialed: 'api.stripe.com' })).passed).toBe(true);
    const wrong = judge(s, s.requests[0], 'emulator', conn({ dialed: 'evil.example' }));
    expect(wrong.message).toMatch(/dialed evil\.example, not the name it judged \(api\.stripe\.com\)/);
  });

  it('a denied connection must have resolved and dialed nothing, whoever closed it', () => {
    const denied = conn({ outcome: 'deny', layer: 'meshgate', rule: 'default', dnsQueries: 1, externalConnections: 0 });
    expect(judge(s, s.requests[1], 'envoy', denied).message).toMatch(/caused 1 DNS queries/);
    const inspector = conn({ outcome: 'deny', layer: 'envoy', rule: undefined, externalConnections: 1 });
    expect(judge(s, s.requests[2], 'envoy', inspector).message).toMatch(/caused undefined DNS queries and 1 external connections/);
    expect(judge(s, s.requests[2], 'envoy', { ...inspector, externalConnections: 0 }).passed).toBe(true);
  });

  it('a tunnel refused for its inner SNI is a denial like any other: nothing resolved, nothing dialed', () => {
    const refused: Observation = { outcome: 'deny', status: 200, layer: 'meshgate', rule: 'tunnel_sni_mismatch', dnsQueries: 0, externalConnections: 0, tunnelBytes: 0 };
    expect(judge(tunnels, tunnels.requests[0], 'envoy', refused).passed).toBe(true);
    // the CONNECT went to the internal listener: a query or a connection for its host is a failure
    expect(judge(tunnels, tunnels.requests[0], 'envoy', { ...refused, dnsQueries: 1 }).message).toMatch(/caused 1 DNS queries and 0 external connections/);
    expect(judge(tunnels, tunnels.requests[0], 'envoy', { ...refused, externalConnections: 1 }).message).toMatch(/caused 0 DNS queries and 1 external connections/);
  });
});

describe('the emulator target runs connections and tunnels through build/meshgate.wasm', () => {
  let sidecar: Scenario;
  beforeAll(() => {
    meshgateWasm();
    sidecar = loadScenario(
      write([
        '{as: none, host: evil.example, tls: {sni: api.stripe.com}, expect: allow, rule: billing-to-stripe}',
        '{as: none, tls: {sni: api.stripe.com}, port: 8443, expect: deny, rule: default}',
        '{as: none, host: api.stripe.com, tls: {raw: "GET / HTTP/1.1\\r\\n\\r\\n"}, expect: deny, rule: not_tls}',
        '{as: none, tls: {sni: api.stripe.com, padTo: 20000}, expect: deny, status: 0}',
      ]),
    );
  });

  it('judges each connection as the scenario says, dialing the judged name', async () => {
    const target = await EmulatorTarget.start(sidecar);
    try {
      const seen: Observation[] = [];
      for (const r of sidecar.requests) seen.push(await target.run(r));
      expect(seen.map((o) => [o.outcome, o.status, o.rule, o.dialed])).toEqual([
        ['allow', 0, 'billing-to-stripe', 'api.stripe.com'],
        ['deny', 0, 'default', undefined],
        ['deny', 0, 'not_tls', undefined],
        ['deny', 0, undefined, undefined],
      ]);
      expect(seen[3].detail).toMatch(/tls_inspector: client_hello_too_large/);
      sidecar.requests.forEach((r, i) => expect(judge(sidecar, r, 'emulator', seen[i]).message).not.toMatch(/\[/));
    } finally {
      await target.stop();
    }
  });

  it('where sni_dynamic_forward_proxy dials: filter state first, else the requested name and listener port', () => {
    expect(dialTarget({ 'envoy.upstream.dynamic_host': 'api.stripe.com', 'envoy.upstream.dynamic_port': '443' }, 'evil.example', 8443)).toEqual({ host: 'api.stripe.com', port: 443 });
    expect(dialTarget({}, 'evil.example', 8443)).toEqual({ host: 'evil.example', port: 8443 });
    expect(dialTarget({}, '', 443)).toBeUndefined();
  });

  it('runs a CONNECT tunnel\'s first bytes as request body after the 200, and a reset delivers none', async () => {
    const tunnels = loadScenario(
      write(
        [
          '{as: billing, host: api.stripe.com, connect: true, expect: allow, rule: billing-to-stripe}',
          '{as: billing, host: api.stripe.com, connect: true, inner: {sni: files.stripe.com}, expect: deny, rule: tunnel_sni_mismatch}',
        ],
        { policy: 'policy: ' + path.resolve(__dirname, '../../scenarios/policies/egress-shop.yaml') + '\nidentities:\n  billing: spiffe://example.org/ns/shop/sa/billing\n' },
      ),
    );
    const target = await EmulatorTarget.start(tunnels);
    try {
      const allowed = await target.run(tunnels.requests[0]);
      const refused = await target.run(tunnels.requests[1]);
      expect([allowed.outcome, allowed.status, allowed.rule]).toEqual(['allow', 200, 'billing-to-stripe']);
      expect(allowed.tunnelBytes).toBeGreaterThan(0);
      expect([refused.outcome, refused.status, refused.layer, refused.rule, refused.tunnelBytes]).toEqual(['deny', 200, 'meshgate', 'tunnel_sni_mismatch', 0]);
    } finally {
      await target.stop();
    }
  });
});
