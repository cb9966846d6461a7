/**
 * The CONNECT tunnel's two ends in build/meshgate.wasm, in the emulator: meshgate_egress puts
 * one line naming the judged host and port in front of a passing tunnel's bytes — only when the
 * route's cluster is the internal listener `tunnel_exit` — and meshgate_tunnel_exit on that
 * listener strips exactly that line and names host and port to the next filters, or closes the
 * connection. On real Envoy: test/e2e/egress-tunnel.test.ts.
 */
import { NetworkConnection } from '../../../harness/emulator/network';
import { ProxyWasmVm, type PluginHandle } from '../../../harness/emulator/vm';
import { TUNNEL_EXIT_CLUSTER, TUNNEL_EXIT_ROOT_ID } from '../../../harness/envoy/reference';
import { clientHello } from '../../../harness/tls/client-hello';
import { MESHGATE_WASM } from './fixtures';

const BILLING = 'spiffe://example.org/ns/shop/sa/billing';
const POLICY = JSON.stringify({
  trustDomain: 'example.org',
  identity: { from: 'local', id: BILLING },
  egress: {
    default: 'deny',
    rules: [
      { name: 'out', from: [BILLING], hosts: ['api.stripe.com'], ports: [443, 8443] },
      { name: 'by-address', from: [BILLING], cidrs: ['10.0.0.1/32', '2001:db8::1/128'], ports: [443], tunnel: 'any' },
    ],
  },
});

let vm: ProxyWasmVm;
let egress: PluginHandle;
let exit: PluginHandle;
beforeAll(async () => {
  vm = await ProxyWasmVm.load(MESHGATE_WASM);
  egress = vm.startPlugin({ rootId: 'meshgate_egress', configuration: POLICY });
  exit = vm.startPlugin({ rootId: TUNNEL_EXIT_ROOT_ID, configuration: '' });
  expect([egress.ok, exit.ok]).toEqual([true, true]);
});

/** An allowed CONNECT to `authority` whose first bytes are `first`: what the filter passed on. */
function released(authority: string, first: Buffer, cluster = TUNNEL_EXIT_CLUSTER): Buffer {
  const stream = egress.newHttpStream({ properties: { 'xds.cluster_name': cluster }, requestHeaders: [[':method', 'CONNECT'], [':authority', authority]] });
  expect(stream.sendRequestHeaders({ endOfStream: false }).action).toBe('continue');
  expect(stream.sendRequestBody(first, { endOfStream: false }).action).toBe('continue');
  stream.complete();
  return Buffer.concat(stream.forwarded[0]);
}

const hello = clientHello({ sni: 'api.stripe.com' });

describe('meshgate_egress releases a passing tunnel', () => {
  it('to the exit: one line with the judged host, port and record, then the bytes unchanged', () => {
    const out = released('API.stripe.com:8443', hello);
    const nl = out.indexOf(0x0a);
    expect(out.subarray(0, nl).toString()).toMatch(new RegExp(`^meshgate-tunnel api\\.stripe\\.com 8443 decision=allow rule=out identity=${BILLING} policy=[0-9a-f]{12} sni=api\\.stripe\\.com$`));
    expect(out.subarray(nl + 1).equals(hello)).toBe(true);
  });

  it.each([
    ['10.0.0.1:443', 'meshgate-tunnel 10.0.0.1 443 '],
    ['[2001:DB8:0::1]:443', 'meshgate-tunnel [2001:db8::1] 443 '],
  ])('an IP literal %s is named as the exit dials it', (authority, line) => {
    expect(released(authority, Buffer.from('plain')).toString()).toMatch(new RegExp(`^${line.replace(/[.[\]]/g, '\\$&')}`));
  });

  it('to any other cluster (a route that dials the host itself, e.g. Istio): the bytes untouched', () => {
    expect(released('api.stripe.com:443', hello, 'outbound|443||api.stripe.com').equals(hello)).toBe(true);
  });
});

/** The exit's connection fed `chunks`, one read each; the last with end of stream if `eos`. */
function exitConnection(chunks: Buffer[], eos = false) {
  const conn = new NetworkConnection(exit, {});
  let step = conn.newConnection();
  expect(step.action).toBe('stop'); // nothing after the exit runs yet
  chunks.forEach((c, i) => {
    step = conn.downstreamData(c, eos && i === chunks.length - 1);
  });
  return { conn, step };
}

describe('meshgate_tunnel_exit', () => {
  const line = `meshgate-tunnel api.stripe.com 443 decision=allow rule=out identity=${BILLING} policy=0123456789ab sni=api.stripe.com\n`;

  it('strips exactly the line, names host and port, keeps the record', () => {
    const { conn, step } = exitConnection([Buffer.concat([Buffer.from(line), hello])]);
    expect(step.action).toBe('continue');
    expect(Buffer.concat(conn.forwarded).equals(hello)).toBe(true);
    expect(conn.envoyFilterState).toEqual({ 'envoy.upstream.dynamic_host': 'api.stripe.com', 'envoy.upstream.dynamic_port': '443' });
    expect(conn.filterState['wasm.meshgate']).toBe(line.slice(line.indexOf('decision='), -1));
  });

  it('takes the longest record (a 2048-byte SPIFFE ID)', () => {
    const long = `meshgate-tunnel api.stripe.com 443 decision=allow rule=out identity=spiffe://example.org/${'a'.repeat(2020)} policy=0123456789ab sni=api.stripe.com\n`;
    const { conn, step } = exitConnection([Buffer.concat([Buffer.from(long), hello])]);
    expect(step.action).toBe('continue');
    expect(Buffer.concat(conn.forwarded).equals(hello)).toBe(true);
  });

  it('waits for a line split across reads', () => {
    const bytes = Buffer.concat([Buffer.from(line), hello]);
    const { conn, step } = exitConnection([bytes.subarray(0, 20), bytes.subarray(20, 60), bytes.subarray(60)]);
    expect(step.action).toBe('continue');
    expect(Buffer.concat(conn.forwarded).equals(hello)).toBe(true);
  });

  it.each([
    ['no line at all (the workload\'s own bytes)', [hello], false],
    ['another magic', [Buffer.from('meshgate-tunnex api.stripe.com 443 x\n')], false],
    ['port 0', [Buffer.from('meshgate-tunnel api.stripe.com 0 x\n')], false],
    ['port 65536', [Buffer.from('meshgate-tunnel api.stripe.com 65536 x\n')], false],
    ['a space in the host', [Buffer.from('meshgate-tunnel api.stripe.com  443 x\n')], false],
    ['an upper-case host', [Buffer.from('meshgate-tunnel API.stripe.com 443 x\n')], false],
    ['a control byte in the record', [Buffer.from('meshgate-tunnel api.stripe.com 443 x\ty\n')], false],
    ['no newline within 4096 bytes', [Buffer.from(`meshgate-tunnel api.stripe.com 443 ${'x'.repeat(4100)}`)], false],
    ['end of stream before the newline', [Buffer.from('meshgate-tunnel api.stripe.com 443 x')], true],
  ] as const)('closes the connection on %s: nothing named, nothing passed on', (_what, chunks, eos) => {
    const { conn, step } = exitConnection([...chunks], eos);
    expect(step.action).toBe('closed');
    expect(conn.forwarded).toEqual([]);
    expect(conn.envoyFilterState).toEqual({});
  });
});
