/**
 * .ci/summary.js writes CI's closing line from jest's JSON report. It must never say "0 failed"
 * for a run in which a suite broke outside its tests (jest keeps those tests "passed").
 * Runs real jest on the fixtures in ./fixtures and feeds its report to the real script.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const repo = path.resolve(__dirname, '../../..');
const fixtures = path.join(__dirname, 'fixtures');

let out: string;
beforeAll(() => { out = fs.mkdtempSync(path.join(os.tmpdir(), 'meshgate-ci-summary-')); });
afterAll(() => fs.rmSync(out, { recursive: true, force: true }));

/** Runs real jest on one fixture (once per fixture) and returns its JSON report's path and exit code. */
const runs = new Map<string, { report: string; jestRc: number }>();
function jestReport(file: string): { report: string; jestRc: number } {
  const done = runs.get(file);
  if (done) return done;
  const report = path.join(out, `${file}.json`);
  const config = JSON.stringify({ rootDir: fixtures, testMatch: [`**/${file}`], testEnvironment: 'node' });
  const r = spawnSync(process.execPath, [require.resolve('jest/bin/jest'), '--ci', '--json', `--outputFile=${report}`, '--config', config],
    { cwd: repo, encoding: 'utf8' });
  const result = { report, jestRc: r.status ?? -1 };
  runs.set(file, result);
  return result;
}

function summary(report: string, jestRc: number): { lines: string[]; rc: number } {
  const r = spawnSync(process.execPath, [path.join(repo, '.ci/summary.js'), report, String(jestRc)], { encoding: 'utf8' });
  return { lines: r.stdout.trim().split('\n'), rc: r.status ?? -1 };
}

test('a suite whose afterAll throws counts as a failure, with its message', () => {
  const { report, jestRc } = jestReport('after-all-throws.spec.js');
  expect(jestRc).not.toBe(0);
  const raw = JSON.parse(fs.readFileSync(report, 'utf8'));
  expect(raw.numFailedTests).toBe(0); // what the old closing line trusted
  const { lines, rc } = summary(report, jestRc);
  expect(lines[lines.length - 1]).toBe('1 passed, 1 failed');
  expect(lines.some((l) => l.includes('after-all-throws.spec.js') && l.includes('teardown broke'))).toBe(true);
  expect(rc).toBe(1);
});

test('a clean run says 0 failed and counts tests jest did not run', () => {
  const { report, jestRc } = jestReport('passing.spec.js');
  expect(jestRc).toBe(0);
  const { lines, rc } = summary(report, jestRc);
  expect(lines.slice(-2)).toEqual(['1 skipped', '1 passed, 0 failed']);
  expect(rc).toBe(0);
});

test('a failing jest exit code with no failing suite is never "0 failed"', () => {
  const { report } = jestReport('passing.spec.js');
  const { lines, rc } = summary(report, 1);
  expect(lines[lines.length - 1]).toBe('1 passed, 1 failed');
  expect(rc).toBe(1);
});

test('no report at all is a failure', () => {
  const { lines, rc } = summary(path.join(os.tmpdir(), 'meshgate-no-such-report.json'), 0);
  expect(lines[lines.length - 1]).toBe('0 passed, 1 failed');
  expect(rc).toBe(1);
});

/** The script with any arguments (several report/exit-code pairs, --step label=rc). */
function summaryOf(args: string[]): { lines: string[]; rc: number } {
  const r = spawnSync(process.execPath, [path.join(repo, '.ci/summary.js'), ...args], { encoding: 'utf8' });
  return { lines: r.stdout.trim().split('\n'), rc: r.status ?? -1 };
}

test('two reports (the root run and the unprivileged one) are summed into one closing line', () => {
  const { report, jestRc } = jestReport('passing.spec.js');
  const { lines, rc } = summaryOf([report, String(jestRc), report, String(jestRc)]);
  expect(lines[lines.length - 1]).toBe('2 passed, 0 failed');
  expect(rc).toBe(0);
});

test('a step counts as one test: a failing one is a failure in the closing line', () => {
  const { report, jestRc } = jestReport('passing.spec.js');
  const ok = summaryOf([report, String(jestRc), '--step', 'npm start -- --once as nobody=0']);
  expect(ok.lines[ok.lines.length - 1]).toBe('2 passed, 0 failed');
  const bad = summaryOf([report, String(jestRc), '--step', 'npm start -- --once as nobody=1']);
  expect(bad.lines[bad.lines.length - 1]).toBe('1 passed, 1 failed');
  expect(bad.rc).toBe(1);
});
