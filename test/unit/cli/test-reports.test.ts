/**
 * `meshgate test` tells the truth about a run (issue 14): coverage is per policy across every file
 * that runs it, an audit rule counts when it matched, every target credits what its filter
 * counted; the closing line agrees with the exit code; --format json and --junit say the same;
 * `-` reads a scenario (test) or a policy (eval) from stdin. In process, on the emulator.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { main } from '../../../harness/cli';
import { EXIT } from '../../../harness/cli/io';
import { emptySummary, runScenario } from '../../../harness/scenario/run';
import { loadScenario } from '../../../harness/scenario/load';
import { xmlText } from '../../../harness/scenario/junit';
import type { Observation, Scenario, Target } from '../../../harness/scenario/types';
import type { TargetExecutor } from '../../../harness/scenario/targets/executor';

const SHOP = path.resolve(__dirname, '../../../examples/shop/policy.yaml');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'meshgate-reports-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const STORE = 'spiffe://example.org/ns/shop/sa/store';
/** Exercises store-creates-charges, and try-new-reader (audit) by matching a request default denies. */
const CHARGES = ['{as: store, method: POST, path: /charges, expect: allow, rule: store-creates-charges}', '{as: store, method: GET, path: /charges/1/receipt, expect: deny, rule: default}'];
/** Exercises no-admin. */
const ADMIN = ['{as: store, method: GET, path: /admin, expect: deny, rule: no-admin}'];

function scenarioText(name: string, requests: string[], policy = SHOP): string {
  return `name: ${name}\nrole: inbound\npolicy: ${policy}\nidentities:\n  store: ${STORE}\nrequests:\n${requests.map((r) => `  - ${r}\n`).join('')}`;
}
function write(name: string, requests: string[]): string {
  const f = path.join(tmp, `${name}.yaml`);
  fs.writeFileSync(f, scenarioText(name, requests));
  return f;
}

async function run(argv: string[], stdin?: string): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (s) => out.push(s), err: (s) => err.push(s), stdin: () => stdin ?? '' });
  return { code, out: out.join('\n').split('\n'), err };
}

describe('coverage per policy', () => {
  it('sums every file that runs the policy, and credits an audit rule that matched', async () => {
    const r = await run(['test', write('charges', CHARGES), write('admin', ADMIN), '--require-coverage']);
    expect(r.code).toBe(EXIT.ok);
    const report = r.out.filter((l) => l.startsWith('coverage') || l.startsWith('  '));
    expect(report).toEqual([
      expect.stringMatching(/^coverage .*examples\/shop\/policy\.yaml \(inbound, policy [0-9a-f]{12}; 2 files\):$/),
      '  1 hit(s)   no-admin',
      '  1 hit(s)   store-creates-charges',
      '  1 hit(s)   try-new-reader (audit: credited when matched)',
    ]);
    expect(r.out.at(-1)).toBe('3 passed, 0 failed');
  });

  it('--require-coverage failing: the closing line says so, and the exit code is 1', async () => {
    const r = await run(['test', write('charges-only', CHARGES), '--require-coverage']);
    expect(r.code).toBe(EXIT.problem);
    expect(r.out).toContain('  NEVER HIT  no-admin');
    expect(r.out.at(-1)).toBe('2 passed, 0 failed, 1 rule never exercised');
  });

  it('--coverage alone reports and does not fail', async () => {
    const r = await run(['test', write('charges-report', CHARGES), '--coverage']);
    expect(r.code).toBe(EXIT.ok);
    expect(r.out).toContain('  NEVER HIT  no-admin');
    expect(r.out.at(-1)).toBe('2 passed, 0 failed');
  });

  it('a target without counters is credited by the rules its records name, allows included', async () => {
    const s: Scenario = loadScenario(write('records', CHARGES));
    const observations: Observation[] = [
      { outcome: 'allow', status: 200, layer: 'upstream', decision: 'allow', rule: 'store-creates-charges' },
      { outcome: 'deny', status: 403, layer: 'meshgate', decision: 'deny', rule: 'default' },
    ];
    const factory = async (_s: Scenario, target: Target): Promise<TargetExecutor> => {
      let i = 0;
      return { name: target, run: async () => observations[i++], stop: async () => undefined };
    };
    const summary = emptySummary();
    await runScenario(s, { targets: ['envoy'] }, factory, summary);
    expect(summary.coverage).toHaveLength(1);
    expect(summary.coverage[0].rules).toEqual([
      { name: 'no-admin', audit: false, hits: 0 },
      { name: 'store-creates-charges', audit: false, hits: 1 },
      { name: 'try-new-reader', audit: true, hits: 0 },
    ]);
  });
});

describe('--format json and --junit', () => {
  it('JSON: one document whose ok and summary agree with the exit code', async () => {
    const r = await run(['test', write('json', CHARGES), '--format', 'json', '--require-coverage']);
    expect(r.code).toBe(EXIT.problem);
    const doc = JSON.parse(r.out.join('\n'));
    expect(doc).toMatchObject({ passed: 2, failed: 0, ok: false, summary: '2 passed, 0 failed, 1 rule never exercised', neverExercised: 1 });
    expect(doc.results).toHaveLength(2);
    expect(doc.results[0]).toMatchObject({ target: 'emulator', request: 'POST /charges', passed: true, observed: { rule: 'store-creates-charges' } });
  });

  it('JUnit: a testcase per request and target, failures with the message, coverage as a testcase', async () => {
    const junit = path.join(tmp, 'report.xml');
    const failing = write('junit', [...CHARGES, '{as: store, method: POST, path: /charges, expect: allow, status: 201, rule: store-creates-charges}']);
    const broken = path.join(tmp, 'broken.yaml');
    fs.writeFileSync(broken, 'name: broken\nrole: sideways\n');
    const r = await run(['test', failing, broken, '--junit', junit, '--require-coverage']);
    expect(r.code).toBe(EXIT.problem);
    const xml = fs.readFileSync(junit, 'utf8');
    // well formed: every element closed, every attribute value free of markup
    expect(xml.match(/<testcase [^>]*[^/]>/g)?.length).toBe(xml.match(/<\/testcase>/g)?.length);
    for (const [, value] of xml.matchAll(/="([^"]*)"/g)) expect(value).toMatch(/^([^<>&\n]|&(amp|lt|gt|quot|apos|#10);)*$/);
    expect(xml).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?>\n<testsuites name="meshgate test" tests="5" failures="3" errors="0">/);
    expect(xml.match(/<testcase /g)).toHaveLength(5); // 3 requests, the broken file, coverage
    expect(xml).toContain(`<testcase classname="junit" name="[emulator] POST /charges (as store) expect allow" file="${failing}">`);
    expect(xml).toMatch(/<failure message="status 200, expected 201 \[[^"]*junit\.yaml:9:5\]" type="failure">/);
    expect(xml).toMatch(/<testsuite name="[^"]*broken\.yaml" tests="1" failures="1"/);
    expect(xml).toMatch(/<failure message="rules never exercised: no-admin" type="coverage">/);
  });

  it('escapes what XML cannot hold as text', () => {
    expect(xmlText('a<b & "c"\n\u0001')).toBe('a&lt;b &amp; &quot;c&quot;&#10;\ufffd');
  });
});

describe('- reads stdin', () => {
  it('test -: the scenario from stdin, named <stdin> in messages', async () => {
    const r = await run(['test', '-'], scenarioText('piped', [...ADMIN, '{as: store, path: /admin, expect: deny, rule: no_admin}']));
    expect(r.code).toBe(EXIT.problem);
    expect(r.err).toEqual([expect.stringMatching(/^<stdin>:8:\d+: requests\[1\]\.rule: "no_admin" .*did you mean "no-admin"\?$/)]);
    const ok = await run(['test', '-'], scenarioText('piped', ADMIN));
    expect(ok.code).toBe(EXIT.ok);
    expect(ok.out.at(-1)).toBe('1 passed, 0 failed');
  });

  it('eval -: the policy from stdin; --format json', async () => {
    const r = await run(['eval', '-', '--role', 'inbound', '--identity', STORE, '--method', 'POST', '--path', '/charges', '--format', 'json'], fs.readFileSync(SHOP, 'utf8'));
    expect(r.code).toBe(EXIT.ok);
    expect(JSON.parse(r.out.join('\n'))).toMatchObject({ decision: 'allow', rule: 'store-creates-charges' });
    const bad = await run(['eval', '-', '--role', 'inbound'], 'trustDomain: Example.ORG\n');
    expect(bad.code).toBe(EXIT.problem);
    expect(bad.err[0]).toMatch(/^<stdin>:1:\d+: /);
  });
});
