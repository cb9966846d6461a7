/**
 * `meshgate validate` in process (harness/cli/validate.ts through harness/cli.ts main): text and
 * `--format json` output, exit codes; and `-` reading the policy from stdin through the built bin
 * (npm run build first).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { main } from '../../../harness/cli';
import { EXIT_OK, EXIT_PROBLEM, EXIT_USAGE } from '../../../harness/cli/io';

const TWO_SAME = 'trustDomain: example.org\ninbound:\n  rules:\n    - {name: a, from: ["spiffe://example.org/a"], paths: [/a]}\n    - {name: b, from: ["spiffe://example.org/a"], paths: [/a]}\n';
const BAD = 'trustDomain: Example\n';

async function run(argv: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (s) => out.push(s), err: (s) => err.push(s) });
  return { code, out, err };
}

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'validate-command-'));
  fs.writeFileSync(path.join(dir, 'dup.yaml'), TWO_SAME);
  fs.writeFileSync(path.join(dir, 'bad.yaml'), BAD);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('meshgate validate', () => {
  it('text: warnings on stderr, the summary on stdout, exit 0', async () => {
    const f = path.join(dir, 'dup.yaml');
    const r = await run(['validate', f]);
    expect(r.code).toBe(EXIT_OK);
    expect(r.err).toEqual([`${f}:5:7: warning: inbound.rules[1]: rule "b" has the same matchers as allow rule "a" (inbound.rules[0]) [duplicate-rule]`]);
    expect(r.out).toEqual([expect.stringMatching(new RegExp(`^${f}: ok \\(policy [0-9a-f]{12}, 1 warning\\(s\\)\\)$`))]);
  });

  it('--format json: one object on stdout with errors, warnings and the digest; exit 1 on errors', async () => {
    const [dup, bad] = [path.join(dir, 'dup.yaml'), path.join(dir, 'bad.yaml')];
    const r = await run(['validate', '--format', 'json', dup, bad]);
    expect(r.code).toBe(EXIT_PROBLEM);
    expect(r.err).toEqual([]);
    const doc = JSON.parse(r.out.join('\n'));
    expect(doc.errors).toBe(1);
    expect(doc.warnings).toBe(1);
    expect(doc.files.map((f: { file: string; ok: boolean }) => [f.file, f.ok])).toEqual([[dup, true], [bad, false]]);
    expect(doc.files[0].digest).toMatch(/^[0-9a-f]{64}$/);
    expect(doc.files[0].warnings).toEqual([expect.objectContaining({ code: 'duplicate-rule', line: 5, col: 7, path: 'inbound.rules[1]' })]);
    expect(doc.files[1].errors).toEqual([expect.objectContaining({ line: 1, col: 14, path: 'trustDomain' })]);
  });

  it('--strict --format json: warnings make exit 1', async () => {
    expect((await run(['validate', '--strict', '--format', 'json', path.join(dir, 'dup.yaml')])).code).toBe(EXIT_PROBLEM);
  });

  it('an unknown --format is a usage error', async () => {
    expect((await run(['validate', '--format', 'xml', path.join(dir, 'dup.yaml')])).code).toBe(EXIT_USAGE);
  });

  it('- reads the policy from stdin, named <stdin> in positions (the built bin, stdin piped)', () => {
    const bin = path.resolve(__dirname, '../../../bin/meshgate.js');
    const r = spawnSync(process.execPath, [bin, 'validate', '-'], { input: BAD, encoding: 'utf8' });
    expect([r.status, r.stderr.trim()]).toEqual([EXIT_PROBLEM, '<stdin>:1:14: trustDomain: trust domain has a character outside [a-z0-9._-]: "Example"']);
    const ok = spawnSync(process.execPath, [bin, 'validate', '--format', 'json', '-'], { input: TWO_SAME, encoding: 'utf8' });
    expect(ok.status).toBe(EXIT_OK);
    expect(JSON.parse(ok.stdout).files[0]).toEqual(expect.objectContaining({ file: '<stdin>', ok: true }));
  });
});

describe('meshgate validate on an Istio manifest', () => {
  const manifest = (pluginConfig: string) =>
    `apiVersion: extensions.istio.io/v1alpha1\nkind: WasmPlugin\nmetadata: {name: meshgate-inbound-billing, namespace: shop}\nspec:\n  selector: {matchLabels: {app: billing}}\n  url: file:///opt/meshgate.wasm\n  pluginName: meshgate_inbound\n  pluginConfig:\n${pluginConfig}`;

  it('checks the pluginConfig and names its place in the manifest', async () => {
    const f = path.join(dir, 'wasmplugin.yaml');
    fs.writeFileSync(f, manifest('    trustDomain: example.org\n    inbound:\n      rules:\n        - {name: a, methds: [GET]}\n'));
    const r = await run(['validate', f]);
    expect(r.code).toBe(EXIT_PROBLEM);
    expect(r.err).toEqual([`${f}:12:21: inbound.rules[0].methds: unknown field (did you mean "methods"?)`]);
  });

  it('a good pluginConfig passes with its digest', async () => {
    const f = path.join(dir, 'wasmplugin-ok.yaml');
    fs.writeFileSync(f, manifest('    trustDomain: example.org\n    inbound:\n      rules:\n        - {name: a, methods: [GET]}\n'));
    const r = await run(['validate', f]);
    expect(r.code).toBe(EXIT_OK);
    expect(r.out).toEqual([expect.stringMatching(new RegExp(`^${f}: ok \\(policy [0-9a-f]{12}`))]);
  });

  it('a manifest with no meshgate plugin is an error, not a silent pass', async () => {
    const f = path.join(dir, 'other.yaml');
    fs.writeFileSync(f, 'apiVersion: extensions.istio.io/v1alpha1\nkind: WasmPlugin\nmetadata: {name: x}\nspec: {url: file:///x.wasm, pluginName: other}\n');
    const r = await run(['validate', f]);
    expect(r.code).toBe(EXIT_PROBLEM);
    expect(r.err.join('\n')).toMatch(/no WasmPlugin or TrafficExtension loading meshgate/);
  });
});

describe('did you mean', () => {
  it('a misspelled field gets the nearest known field of its place, after the filter\'s own message', async () => {
    const f = path.join(dir, 'typos.yaml');
    fs.writeFileSync(f, 'trustDomain: example.org\nidentty: {from: local}\ninbound:\n  rules:\n    - {name: a, methds: [GET], zzz: 1}\n');
    const r = await run(['validate', f]);
    expect(r.code).toBe(EXIT_PROBLEM);
    expect(r.err).toEqual([
      `${f}:2:1: identty: unknown field (did you mean "identity"?)`,
      `${f}:5:17: inbound.rules[0].methds: unknown field (did you mean "methods"?)`,
      `${f}:5:32: inbound.rules[0].zzz: unknown field`,
    ]);
  });

  it('--format json keeps the hint apart from the message', async () => {
    const f = path.join(dir, 'typos.yaml');
    const r = await run(['validate', '--format', 'json', f]);
    const errors = JSON.parse(r.out.join('\n')).files[0].errors;
    expect(errors[1]).toMatchObject({ message: 'inbound.rules[0].methds: unknown field', hint: 'did you mean "methods"?' });
    expect(errors[2].hint).toBeUndefined();
  });
});
