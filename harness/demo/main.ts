/**
 * `npm start`: the demo mesh on loopback. billing sits behind an inbound Envoy (envoy/inbound.yaml)
 * and reaches the outside through an egress gateway (envoy/egress.yaml) that resolves names with
 * the harness DNS server; a fake api.stripe.com answers on 127.0.0.1:443. The policy is
 * examples/shop/policy.yaml. Four headline requests are driven and tabulated; then the mesh keeps
 * running with ready-to-paste curl commands until Ctrl-C (`--once`: exit after the table, status 0
 * iff every outcome is the expected one).
 *
 * A user who may not bind 443 gets the same mesh inside a private user + network namespace
 * (harness/sandbox): the demo re-runs itself there, and the curl lines it prints enter that
 * namespace with `nsenter`, since its loopback is not the host's.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { compilePolicyFile } from '../policy/compile';
import { formatDiagnostic } from '../policy/diagnostics';
import { repoRoot } from '../envoy/paths';
import { TestCa } from '../pki/ca';
import { InboundStack } from '../stack/inbound';
import { EgressStack } from '../stack/egress';
import { request, type ClientTls } from '../services/client';
import { locateEnvoy } from '../envoy/locate';
import { HOLDS_UNTIL_STOPPED_ENV } from '../services/portlock';
import { insideSandbox } from '../sandbox/netns';
import { runInSandboxIfNeeded } from '../sandbox/reexec';

const TD = 'example.org';
const ID = {
  store: `spiffe://${TD}/ns/shop/sa/store`,
  web: `spiffe://${TD}/ns/web/sa/frontend`,
  billing: `spiffe://${TD}/ns/shop/sa/billing`,
};

interface Row {
  caller: string;
  target: string;
  expected: 'allow' | 'deny';
  outcome: 'allow' | 'deny';
  status: number;
  rule: string;
}

function progress(msg: string): void {
  process.stdout.write(`• ${msg}\n`);
}

function ruleFrom(log: Record<string, string>[]): string {
  const last = log.at(-1);
  return /rule=(\S+)/.exec(last?.meshgate ?? '')?.[1] ?? '-';
}

async function waitLog(read: () => Record<string, string>[], n: number): Promise<Record<string, string>[]> {
  for (let i = 0; i < 100; i++) {
    const log = read();
    if (log.length >= n) return log;
    await new Promise((r) => setTimeout(r, 20));
  }
  return read();
}

export async function runDemo(argv: string[]): Promise<number> {
  const once = argv.includes('--once');
  // Kept running, the demo holds 443 until Ctrl-C: tests that want it should say so at once.
  if (!once) process.env[HOLDS_UNTIL_STOPPED_ENV] = 'the demo (npm start)';
  const policyFile = path.join(repoRoot(), 'examples', 'shop', 'policy.yaml');
  const compiled = compilePolicyFile(policyFile);
  if (!compiled.ok) {
    for (const e of compiled.errors) console.error(formatDiagnostic(e));
    return 1;
  }
  const envoy = await locateEnvoy();
  progress(`Envoy ${envoy.version} (${envoy.source}: ${envoy.bin})`);
  progress(`policy ${path.relative(process.cwd(), policyFile)} (digest ${compiled.digest12})`);
  const ca = await TestCa.create({ trustDomain: TD });
  progress('test CA minted for example.org');

  let inbound: InboundStack | undefined;
  let egress: EgressStack | undefined;
  const stopAll = async () => {
    await inbound?.stop().catch(() => undefined);
    await egress?.stop().catch(() => undefined);
  };
  try {
    inbound = await InboundStack.start({ policyJson: compiled.json, trustDomain: TD, ca });
    progress(`inbound Envoy in front of billing on https://127.0.0.1:${inbound.port} (admin ${inbound.envoy.adminUrl})`);
    egress = await EgressStack.start({ policyJson: compiled.json, trustDomain: TD, names: ['api.stripe.com'], ports: [443], ca });
    progress(`egress gateway on https://127.0.0.1:${egress.port}, DNS on 127.0.0.1:${egress.dns.port}, fake api.stripe.com on 127.0.0.1:443`);

    const rows: Row[] = [];
    const callInbound = async (who: keyof typeof ID, expected: Row['expected']) => {
      const tls = await inbound!.clientTls(ID[who]);
      inbound!.upstream.clear();
      const n = inbound!.accessLog().length;
      const res = await request({ port: inbound!.port, tls, method: 'POST', path: '/charges', headers: { host: 'billing' } });
      const log = await waitLog(() => inbound!.accessLog(), n + 1);
      rows.push({ caller: who, target: 'billing POST /charges', expected, outcome: inbound!.upstream.received().length ? 'allow' : 'deny', status: res.status, rule: ruleFrom(log) });
    };
    const callStripe = async (who: keyof typeof ID, expected: Row['expected']) => {
      const tls = await egress!.clientTls(ID[who]);
      egress!.clear();
      const n = egress!.accessLog().length;
      const res = await request({ port: egress!.port, tls, method: 'GET', path: '/v1/charges', headers: { host: 'api.stripe.com' } });
      const log = await waitLog(() => egress!.accessLog(), n + 1);
      rows.push({ caller: who, target: 'api.stripe.com:443 GET /v1/charges', expected, outcome: egress!.received().length ? 'allow' : 'deny', status: res.status, rule: ruleFrom(log) });
    };
    await callInbound('store', 'allow');
    await callInbound('web', 'deny');
    await callStripe('billing', 'allow');
    await callStripe('store', 'deny');

    printTable(rows);
    const ok = rows.every((r) => r.outcome === r.expected);
    console.log(ok ? '\nall four outcomes as expected' : '\nUNEXPECTED OUTCOMES above');
    if (once) return ok ? 0 : 1;

    const dir = fs.mkdtempSync(path.join(inbound.dir, 'svids-'));
    const files = async (who: keyof typeof ID, tls: Promise<ClientTls>) => {
      const t = await tls;
      fs.writeFileSync(path.join(dir, `${who}.pem`), t.cert!);
      fs.writeFileSync(path.join(dir, `${who}-key.pem`), t.key!);
      return { cert: path.join(dir, `${who}.pem`), key: path.join(dir, `${who}-key.pem`) };
    };
    fs.writeFileSync(path.join(dir, 'ca.pem'), ca.certPem);
    const store = await files('store', inbound.clientTls(ID.store));
    const web = await files('web', inbound.clientTls(ID.web));
    const billing = await files('billing', egress.clientTls(ID.billing));
    const ca$ = path.join(dir, 'ca.pem');
    const curl = insideSandbox() ? `nsenter --preserve-credentials --user --net --target ${process.pid} curl` : 'curl';
    console.log('\nThe mesh keeps running. Try (Ctrl-C to stop):');
    if (insideSandbox()) console.log(`  (it runs in its own network namespace, as this user may not bind port 443: nsenter enters it)`);
    console.log(`  ${curl} -sk --cert ${store.cert} --key ${store.key} -X POST https://127.0.0.1:${inbound.port}/charges`);
    console.log(`  ${curl} -sk --cert ${web.cert} --key ${web.key} -X POST https://127.0.0.1:${inbound.port}/charges`);
    console.log(`  ${curl} -sk --cert ${billing.cert} --key ${billing.key} -H 'Host: api.stripe.com' https://127.0.0.1:${egress.port}/v1/charges`);
    console.log(`  ${curl} -s ${inbound.envoy.adminUrl}/stats | grep meshgate`);
    console.log(`  (trust bundle: ${ca$})`);
    await new Promise<void>((resolve) => {
      process.once('SIGINT', () => resolve());
      process.once('SIGTERM', () => resolve());
    });
    console.log('\nstopping…');
    return 0;
  } finally {
    await stopAll();
  }
}

function printTable(rows: Row[]): void {
  const head = ['caller', 'target', 'expected', 'outcome', 'status', 'rule'];
  const cells = rows.map((r) => [r.caller, r.target, r.expected, r.outcome === r.expected ? r.outcome : `${r.outcome} (!)`, String(r.status), r.rule]);
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: string[]) => c.map((x, i) => x.padEnd(widths[i])).join('  ');
  console.log('');
  console.log(line(head));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const c of cells) console.log(line(c));
}

async function main(argv: string[]): Promise<number> {
  const sandboxed = await runInSandboxIfNeeded([process.execPath, ...process.execArgv, __filename, ...argv], {
    what: 'the demo',
    before: async () => void (await locateEnvoy()), // a first install needs the network
  });
  return sandboxed ?? runDemo(argv);
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e) => {
      console.error(`demo failed: ${(e as Error).message}`);
      process.exit(1);
    },
  );
}
