/**
 * `npm start -- --once`: the demo mesh prints the four headline outcomes and exits 0. The test
 * runs the compiled entry directly (`npm start` = build + this), so it does not rebuild the module
 * under the feet of parallel tests.
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');

it('npm start -- --once prints the table with all four outcomes as expected and exits 0', () => {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'dist/harness/demo/main.js'), '--once'], { cwd: ROOT, encoding: 'utf8', timeout: 150_000 });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  const rows = r.stdout.split('\n').filter((l) => /^(store|web|billing) /.test(l)).map((l) => l.trim().split(/\s{2,}/));
  expect(rows).toEqual([
    ['store', 'billing POST /charges', 'allow', 'allow', '200', 'store-creates-charges'],
    ['web', 'billing POST /charges', 'deny', 'deny', '403', 'default'],
    ['billing', 'api.stripe.com:443 GET /v1/charges', 'allow', 'allow', '200', 'billing-to-stripe'],
    ['store', 'api.stripe.com:443 GET /v1/charges', 'deny', 'deny', '403', 'default'],
  ]);
  expect(r.stdout).toContain('all four outcomes as expected');
}, 180_000);
