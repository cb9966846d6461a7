/**
 * One exit-code table for every command (harness/cli/io.ts EXIT): no command module ends the
 * process or picks a number of its own, and every command's ok, problem and usage exits are the
 * table's. The CLI also works from any directory: the built bin, run from a temporary directory,
 * finds its module and package files (defaults resolved from the package, not the cwd).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Command } from 'commander';
import { main } from '../../../harness/cli';
import { buildProgram } from '../../../harness/cli/program';
import { EXIT } from '../../../harness/cli/io';

const ROOT = path.resolve(__dirname, '../../..');
const SHOP = path.join(ROOT, 'examples/shop/policy.yaml');
const CLI_FILES = [path.join(ROOT, 'harness/cli.ts'), ...fs.readdirSync(path.join(ROOT, 'harness/cli')).map((f) => path.join(ROOT, 'harness/cli', f))];
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'meshgate-exit-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const silent = { out: () => undefined, err: () => undefined };

function leaves(cmd: Command, prefix = ''): string[] {
  return cmd.commands.flatMap((c) => (c.commands.length ? leaves(c, `${prefix}${c.name()} `) : [`${prefix}${c.name()}`]));
}

describe('the exit-code table', () => {
  it('is 0 ok, 1 problem, 2 usage', () => {
    expect(EXIT).toEqual({ ok: 0, problem: 1, usage: 2 });
  });

  it.each(CLI_FILES.map((f) => [path.relative(ROOT, f)]))('%s ends only through the table', (file) => {
    const src = fs.readFileSync(path.join(ROOT, file), 'utf8');
    expect(src).not.toMatch(/process\.exit\(|process\.exitCode\s*=/);
    expect(src).not.toMatch(/new Exit\(\s*\d/);
    expect(src).not.toMatch(/new CommanderError\(\s*\d/);
    expect(src).not.toMatch(/return\s+\d+\s*;/);
  });

  // One failing and one usage case per command; `ok` runs are in test/e2e/cli.test.ts and test-reports.test.ts.
  const bad = path.join(tmp, 'bad.yaml');
  fs.writeFileSync(bad, 'trustDomain: Example.ORG\n');
  const failing = path.join(tmp, 'failing.yaml');
  fs.writeFileSync(failing, `name: f\nrole: inbound\npolicy: ${SHOP}\nidentities: {}\nrequests:\n  - {as: none, path: /admin, expect: allow, rule: no-admin}\n`);
  const cases: Record<string, { problem: string[]; usage: string[] }> = {
    validate: { problem: ['validate', bad], usage: ['validate', bad, '--frobnicate'] },
    'render envoy': { problem: ['render', 'envoy', bad, '--role', 'inbound', '--out', path.join(tmp, 'o')], usage: ['render', 'envoy', SHOP, '--out', path.join(tmp, 'o')] },
    'render istio': { problem: ['render', 'istio', bad, '--role', 'inbound', '--url', 'file:///m.wasm', '--namespace', 'shop', '--selector', 'app=billing'], usage: ['render', 'istio', SHOP, '--role', 'sideways', '--url', 'file:///m.wasm'] },
    'render rbac': { problem: ['render', 'rbac', bad], usage: ['render', 'rbac'] },
    'package oci': { problem: ['package', 'oci', '--out', path.join(tmp, 'oci'), '--wasm', path.join(tmp, 'missing.wasm')], usage: ['package', 'oci'] },
    eval: { problem: ['eval', bad, '--role', 'inbound'], usage: ['eval', SHOP, '--role', 'egress'] },
    test: { problem: ['test', failing], usage: ['test', failing, '--target', 'staging'] },
    explain: { problem: ['explain', '--policy', bad, '--role', 'inbound'], usage: ['explain', '--policy', SHOP] },
    replay: { problem: ['replay', path.join(tmp, 'missing.log'), '--policy', SHOP], usage: ['replay', path.join(tmp, 'missing.log')] },
    learn: { problem: ['learn', path.join(tmp, 'missing.log')], usage: ['learn', SHOP, '--scenarios', path.join(tmp, 's.yaml')] },
    diff: { problem: ['diff', bad, SHOP], usage: ['diff', SHOP] },
    stats: { problem: ['stats', path.join(tmp, 'missing-stats.txt'), '--policy', SHOP], usage: ['stats', path.join(tmp, 'missing-stats.txt')] },
  };

  it('covers every command', () => {
    expect(Object.keys(cases).sort()).toEqual(leaves(buildProgram(silent)).sort());
  });

  it.each(Object.entries(cases))('%s: a problem exits 1, a bad command line 2', async (_name, c) => {
    expect(await main(c.problem, silent)).toBe(EXIT.problem);
    expect(await main(c.usage, silent)).toBe(EXIT.usage);
  });

  it('help and --version exit 0; no command exits 2', async () => {
    expect(await main(['--version'], silent)).toBe(EXIT.ok);
    expect(await main(['test', '--help'], silent)).toBe(EXIT.ok);
    expect(await main([], silent)).toBe(EXIT.usage);
  });
});

describe('the built bin from another directory', () => {
  const bin = path.join(ROOT, 'bin', 'meshgate.js');
  const meshgate = (args: string[], input?: string) => spawnSync(process.execPath, [bin, ...args], { cwd: tmp, encoding: 'utf8', input, timeout: 60_000 });

  it.each<[string, string[], RegExp]>([
    ['--version', ['--version'], /^\d+\.\d+\.\d+\n$/],
    ['validate', ['validate', SHOP], /policy\.yaml: ok/],
    ['render istio (the package module for its sha256)', ['render', 'istio', SHOP, '--role', 'inbound', '--url', 'file:///m.wasm', '--namespace', 'shop', '--selector', 'app=billing'], /kind: WasmPlugin/],
    ['package oci (the package module)', ['package', 'oci', '--out', path.join(tmp, 'oci-anywhere')], /manifest sha256:[0-9a-f]{64}/],
  ])('%s', (_name, args, out) => {
    const r = meshgate(args);
    expect(r.stderr).not.toMatch(/ENOENT/);
    expect(r.status).toBe(EXIT.ok);
    expect(r.stdout).toMatch(out);
  });

  it('test and eval, with the scenario and the policy from stdin', () => {
    const scenario = `name: piped\nrole: inbound\npolicy: ${SHOP}\nidentities: {}\nrequests:\n  - {as: none, path: /admin, expect: deny, rule: no-admin}\n`;
    const t = meshgate(['test', '-', '--format', 'json'], scenario);
    expect(t.status).toBe(EXIT.ok);
    expect(JSON.parse(t.stdout)).toMatchObject({ passed: 1, failed: 0, ok: true });
    const e = meshgate(['eval', '-', '--role', 'inbound', '--path', '/admin', '--json'], fs.readFileSync(SHOP, 'utf8'));
    expect(e.status).toBe(EXIT.ok);
    expect(JSON.parse(e.stdout)).toMatchObject({ decision: 'deny', rule: 'no-admin' });
  });
});
