/**
 * The demo as a user who may not bind port 443. Run by real root, the suite drops to `nobody`
 * (runuser) for it: before harness/sandbox this failed with `listen EACCES 127.0.0.1:443`; now the
 * demo re-runs itself in a private user + network namespace, with real Envoy, real TLS and the fake
 * api.stripe.com on 443 as the policy says. Run unprivileged, the suite is itself in such a
 * namespace (jest.config.js), which the last test checks, and the demo runs as the suite's user.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { acquirePort } from '../../harness/services/portlock';
import { SANDBOX_ENV, insideSandbox, networkNamespace } from '../../harness/sandbox/netns';
import { canBindLowPorts, isRealRoot } from '../../harness/sandbox/privilege';

const ROOT = path.resolve(__dirname, '..', '..');
const DEMO = path.join(ROOT, 'dist/harness/demo/main.js');
const USER = 'nobody';

/** Runs the demo `--once` as `nobody` when the suite is real root, else as the suite's user. */
function demoUnprivileged(env: NodeJS.ProcessEnv = {}): SpawnSyncReturns<string> {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'meshgate-home-'));
  fs.chmodSync(home, 0o777);
  try {
    const vars = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, ...env };
    const command = [process.execPath, DEMO, '--once'];
    const [bin, ...args] = isRealRoot() ? ['runuser', '-u', USER, '--', 'env', ...Object.entries(vars).map(([k, v]) => `${k}=${v}`), ...command] : command;
    return spawnSync(bin, args, { cwd: home, encoding: 'utf8', timeout: 150_000, env: isRealRoot() ? process.env : { ...process.env, ...vars } });
  } finally {
    fs.rmSync(home, { recursive: true, force: true });
  }
}

function expectFourOutcomes(r: SpawnSyncReturns<string>): void {
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  const rows = r.stdout.split('\n').filter((l) => /^(store|web|billing) /.test(l)).map((l) => l.trim().split(/\s{2,}/).slice(3, 6));
  expect(rows).toEqual([
    ['allow', '200', 'store-creates-charges'],
    ['deny', '403', 'default'],
    ['allow', '200', 'billing-to-stripe'],
    ['deny', '403', 'default'],
  ]);
}

it('the demo --once runs as an unprivileged user: fake api.stripe.com on 443, all four outcomes as expected', () => {
  expectFourOutcomes(demoUnprivileged());
}, 180_000);

if (isRealRoot()) {
  it('root holding 127.0.0.1:443 (its lock and the port) does not stall or block nobody\'s demo', async () => {
    const lock = await acquirePort(443);
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(443, '127.0.0.1', resolve));
    try {
      expectFourOutcomes(demoUnprivileged());
    } finally {
      await new Promise((r) => server.close(r));
      lock.release();
    }
  }, 180_000);

  it('without a sandbox, nobody gets an error that says why and how, not a bare EACCES', () => {
    // Claiming to be inside already stops the re-run: this is the demo as it was before.
    const r = demoUnprivileged({ [SANDBOX_ENV]: 'pretend' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/may not bind 127\.0\.0\.1:443 \(EACCES\).*only root may bind ports below 1024/);
  }, 180_000);
} else {
  it('an unprivileged suite runs inside its own network namespace, where it may bind 443', async () => {
    expect(insideSandbox()).toBe(true);
    expect(canBindLowPorts()).toBe(true);
    // Not the namespace the jest that re-ran itself was in (the host's).
    expect(networkNamespace()).toMatch(/^net:\[\d+\]$/);
    expect(networkNamespace()).not.toBe(process.env[SANDBOX_ENV]);
    const lock = await acquirePort(443); // binds it once to check it is free
    lock.release();
  });
}
