/**
 * The SDS path through real Envoy, as with the SPIRE agent: examples/ledger's policy rendered by
 * the CLI with `--sds SOCKET` (SPIRE's default secret names, `default` and `ROOTCA`), the
 * harness's SDS server (harness/services/sds-server.ts) on a unix socket in this test's temp dir
 * serving the proxy's SVID and the trust bundle, Envoy started on the rendered bootstrap as
 * written. Callers are allowed and denied per policy; then the SDS server pushes a new server
 * certificate and a new connection gets it — new serial, same Envoy process, still enforcing.
 */
import { X509Certificate } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tls from 'node:tls';
import type { EnvoyProcess } from '../../harness/envoy/process';
import { freePort } from '../../harness/envoy/lds';
import { TestPki } from '../../harness/pki/pki';
import type { TestCa } from '../../harness/pki/ca';
import { request, tlsOptions, type ClientTls } from '../../harness/services/client';
import { SdsServer } from '../../harness/services/sds-server';
import type { SdsSecret } from '../../harness/services/sds-wire';
import { RecordingUpstream } from '../../harness/services/upstream';
import { LEDGER_PROXY_ID, LEDGER_SERVER_NAME, LEDGER_TD, ledgerCallerTls, renderAndStartLedger, type LedgerCaller as Caller } from './render-ledger-stack';

let tmp: string;
let ca: TestCa;
let sds: SdsServer;
let envoy: EnvoyProcess | undefined;
let upstream: RecordingUpstream;
let listenPort: number;
let firstSerial: string;
let tlsAs: Map<Caller, ClientTls>;

/** A fresh SVID for the proxy, as the `default` secret (SPIRE's default_svid_name). */
async function proxySvid(): Promise<{ secret: SdsSecret; serial: string }> {
  const svid = await ca.mintSvid(LEDGER_PROXY_ID, { dnsNames: [LEDGER_SERVER_NAME] });
  return { secret: { name: 'default', tlsCertificate: { certificateChain: svid.chainPem, privateKey: svid.keyPem } }, serial: new X509Certificate(svid.certPem).serialNumber };
}

/** The serial of the certificate the listener presents on a new connection. */
function servedSerial(): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port: listenPort, ...tlsOptions(tlsAs.get('api')!) }, () => {
      const serial = socket.getPeerCertificate().serialNumber;
      socket.end();
      resolve(serial);
    });
    socket.on('error', reject);
  });
}

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'meshgate-sds-'));
  const pki = await TestPki.create({ trustDomains: [LEDGER_TD] });
  ca = pki.own;
  const first = await proxySvid();
  firstSerial = first.serial;
  sds = await SdsServer.start({ socketPath: path.join(tmp, 'agent', 'api.sock'), secrets: [first.secret, { name: 'ROOTCA', validationContext: { trustedCa: ca.certPem } }] });
  tlsAs = await ledgerCallerTls(ca);

  upstream = await RecordingUpstream.start({ name: 'ledger' });
  listenPort = await freePort();
  // Only the bootstrap is written: no certificate is minted or read from disk.
  envoy = await renderAndStartLedger(path.join(tmp, 'rendered'), [
    '--listen', `127.0.0.1:${listenPort}`, '--upstream', `127.0.0.1:${upstream.port}`, '--admin', `127.0.0.1:${await freePort()}`,
    '--sds', sds.socketPath, '--service', 'ledger',
  ]);
});

afterAll(async () => {
  await envoy?.stop();
  await upstream?.stop();
  await sds?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('Envoy asked the SDS server for SPIRE\'s default names and took both secrets', async () => {
  expect(new Set(sds.requests.flatMap((r) => r.resourceNames))).toEqual(new Set(['default', 'ROOTCA']));
  // Envoy can be serving before it has ACKed the second secret: wait (bounded) for both answers
  await Promise.all(['default', 'ROOTCA'].map((name) => sds.waitForAck(name, sds.currentVersion)));
  const answers = sds.answers();
  expect(answers.filter((a) => !a.accepted)).toEqual([]);
  expect(new Set(answers.flatMap((a) => a.names))).toEqual(new Set(['default', 'ROOTCA']));
  expect(await servedSerial()).toBe(firstSerial);
});

// examples/ledger/scenarios.yaml's callers, through certificates that came over SDS.
test.each<[Caller, string, string, number]>([
  ['api', 'GET', '/accounts/acc_1/balance', 200],
  ['api', 'POST', '/entries', 403],
  ['batch', 'POST', '/entries/2026-12-04', 200],
  ['intruder', 'GET', '/accounts/acc_1/balance', 403],
  ['none', 'GET', '/accounts/acc_1/balance', 403],
])('%s %s %s → %d', async (caller, method, target, status) => {
  upstream.clear();
  const res = await request({ port: listenPort, tls: tlsAs.get(caller), method, path: target, headers: { host: 'ledger' } });
  expect(res.status).toBe(status);
  expect(upstream.received().map((r) => [r.method, r.path])).toEqual(status === 200 ? [[method, target]] : []);
});

test('rotation: a pushed certificate is served on new connections without restarting Envoy', async () => {
  const pid = envoy!.pid;
  const next = await proxySvid();
  expect(next.serial).not.toBe(firstSerial);
  await sds.waitForAck('default', sds.setSecret(next.secret));
  // The ACK follows the update of the listener's TLS context; new handshakes use it.
  let served = await servedSerial();
  for (let i = 0; i < 50 && served !== next.serial; i++) {
    await new Promise((r) => setTimeout(r, 100));
    served = await servedSerial();
  }
  expect(served).toBe(next.serial);
  expect(envoy!.pid).toBe(pid);
  const allowed = await request({ port: listenPort, tls: tlsAs.get('api'), path: '/accounts/acc_1/balance', headers: { host: 'ledger' } });
  const denied = await request({ port: listenPort, tls: tlsAs.get('intruder'), path: '/accounts/acc_1/balance', headers: { host: 'ledger' } });
  expect([allowed.status, denied.status]).toEqual([200, 403]);
});
