/**
 * examples/ledger through real Envoy, as the render-* e2e tests run it: its callers' SVIDs, and
 * `meshgate render envoy` through the CLI (in process) with the flags a test chooses, then Envoy
 * started on the rendered bootstrap exactly as written.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';
import { main } from '../../harness/cli';
import { EnvoyProcess } from '../../harness/envoy/process';
import type { TestCa } from '../../harness/pki/ca';
import type { ClientTls } from '../../harness/services/client';

export const ROOT = path.resolve(__dirname, '..', '..');
export const LEDGER_POLICY = path.join(ROOT, 'examples', 'ledger', 'policy.yaml');
export const LEDGER_TD = 'ledger.example';
/** The DNS name of the ledger proxy's server certificate (what callers verify). */
export const LEDGER_SERVER_NAME = 'ledger.ledger.svc';
export const LEDGER_PROXY_ID = `spiffe://${LEDGER_TD}/ns/ledger/sa/ledger`;
export const LEDGER_CALLERS = {
  api: `spiffe://${LEDGER_TD}/ns/ledger/sa/api`,
  batch: `spiffe://${LEDGER_TD}/ns/ledger/sa/batch`,
  intruder: `spiffe://${LEDGER_TD}/ns/web/sa/frontend`,
};
export type LedgerCaller = keyof typeof LEDGER_CALLERS | 'none';

/** Client TLS per caller: an SVID from `ca` each, and `none` with no client certificate. */
export async function ledgerCallerTls(ca: TestCa): Promise<Map<LedgerCaller, ClientTls>> {
  const tls = new Map<LedgerCaller, ClientTls>([['none', { ca: ca.certPem, servername: LEDGER_SERVER_NAME }]]);
  for (const [name, id] of Object.entries(LEDGER_CALLERS)) {
    const c = await ca.mintSvid(id);
    tls.set(name as LedgerCaller, { ca: ca.certPem, servername: LEDGER_SERVER_NAME, cert: c.chainPem, key: c.keyPem });
  }
  return tls;
}

/**
 * Renders the ledger policy for the inbound role into `out` with `flags`, checks the CLI printed
 * exactly the bootstrap and the run line (plus `files`, what else it writes), and starts Envoy.
 */
export async function renderAndStartLedger(out: string, flags: string[], files: string[] = []): Promise<EnvoyProcess> {
  const printed: string[] = [];
  const io = { out: (s: string) => printed.push(s), err: (s: string) => printed.push(s) };
  const code = await main(['render', 'envoy', LEDGER_POLICY, '--role', 'inbound', '--out', out, '--wasm', path.join(ROOT, 'build', 'meshgate.wasm'), ...flags], io);
  const bootstrap = path.join(out, 'envoy.yaml');
  expect([code, printed]).toEqual([0, [bootstrap, ...files, `run it: func-e run -c ${bootstrap}`]]);
  return EnvoyProcess.start({ bootstrap: parse(fs.readFileSync(bootstrap, 'utf8')), cwd: out });
}
