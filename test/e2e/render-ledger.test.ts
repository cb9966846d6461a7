/**
 * The second example app through real Envoy from `render envoy` flags alone: examples/ledger's
 * policy rendered by the CLI with --listen, --upstream, --admin and --cert/--key/--ca (a PKI this
 * test mints, with the server certificate named for the ledger service), Envoy started on the
 * rendered bootstrap as written, and requests sent as the ledger's callers. Each caller gets the
 * status the scenario file promises, and the upstream receives exactly the allowed requests with
 * the caller's identity in x-forwarded-client-cert.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { EnvoyProcess } from '../../harness/envoy/process';
import { freePort } from '../../harness/envoy/lds';
import { TestPki } from '../../harness/pki/pki';
import { request, type ClientTls } from '../../harness/services/client';
import { RecordingUpstream } from '../../harness/services/upstream';
import { LEDGER_CALLERS as CALLERS, LEDGER_PROXY_ID, LEDGER_SERVER_NAME, LEDGER_TD as TD, ledgerCallerTls, renderAndStartLedger, type LedgerCaller as Caller } from './render-ledger-stack';

let tmp: string;
let envoy: EnvoyProcess | undefined;
let upstream: RecordingUpstream;
let listenPort: number;
let adminPort: number;
let tlsAs: Map<Caller, ClientTls>;

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'meshgate-ledger-'));
  const pki = await TestPki.create({ trustDomains: [TD] });
  const certs = path.join(tmp, 'pki');
  const { caFile } = pki.own.writeTo(certs, 'bundle');
  const proxy = (await pki.own.mintSvid(LEDGER_PROXY_ID, { dnsNames: [LEDGER_SERVER_NAME] })).writeTo(certs, 'ledger');
  tlsAs = await ledgerCallerTls(pki.own);

  upstream = await RecordingUpstream.start({ name: 'ledger' });
  listenPort = await freePort();
  adminPort = await freePort();
  envoy = await renderAndStartLedger(path.join(tmp, 'rendered'), [
    '--listen', `127.0.0.1:${listenPort}`, '--upstream', `127.0.0.1:${upstream.port}`, '--admin', `127.0.0.1:${adminPort}`,
    '--cert', proxy.chainFile, '--key', proxy.keyFile, '--ca', caFile,
  ]);
});

afterAll(async () => {
  await envoy?.stop();
  await upstream?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('Envoy listens and serves admin where the flags said', async () => {
  expect(await envoy!.listenerPort('inbound')).toBe(listenPort);
  expect(await envoy!.admin('GET', '/ready')).toMatch(/LIVE/);
  // The local service's cluster carries the workload's name (from the --cert SVID), not the demo's billing.
  expect(await envoy!.admin('GET', '/clusters')).toMatch(/^ledger::/m);
  expect(await envoy!.admin('GET', '/clusters')).not.toMatch(/^billing::/m);
  expect(fs.readFileSync(path.join(tmp, 'rendered', 'envoy.yaml'), 'utf8')).toContain(`port_value: ${adminPort}`);
});

// The same table as examples/ledger/scenarios.yaml.
test.each<[Caller, string, string, number]>([
  ['api', 'GET', '/accounts/acc_1/balance', 200],
  ['api', 'POST', '/transfers', 200],
  ['api', 'POST', '/entries', 403],
  ['api', 'GET', '/accounts/acc_1/history', 403],
  ['batch', 'POST', '/entries/2026-12-04', 200],
  ['batch', 'GET', '/accounts/acc_1/balance', 403],
  ['intruder', 'GET', '/accounts/acc_1/balance', 403],
  ['api', 'GET', '/admin/users', 403],
  ['none', 'GET', '/accounts/acc_1/balance', 403],
])('%s %s %s → %d', async (caller, method, target, status) => {
  upstream.clear();
  const res = await request({ port: listenPort, tls: tlsAs.get(caller), method, path: target, headers: { host: 'ledger' } });
  expect(res.status).toBe(status);
  const received = upstream.received();
  if (status === 200) {
    expect(received.map((r) => [r.method, r.path])).toEqual([[method, target]]);
    // SANITIZE_SET: only the proxy's own element — By = the certificate given with --cert, URI = the verified caller.
    const xfcc = `By=spiffe://${TD}/ns/ledger/sa/ledger;Hash=[0-9a-f]{64};URI=${CALLERS[caller as keyof typeof CALLERS]}`;
    expect(received[0].headers['x-forwarded-client-cert']).toMatch(new RegExp(`^${xfcc}$`));
  } else {
    expect(received).toEqual([]);
  }
});
