/**
 * `meshgate test <scenario...>`: the scenario runner (harness/scenario/run.ts). Text: one line per
 * request, the coverage report, and last the closing line (`N passed, M failed`, plus
 * `, K rules never exercised` when --require-coverage fails), which always agrees with the exit
 * code. `--format json`: one JSON document instead; `--junit FILE`: JUnit XML besides either.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Option, type Command } from 'commander';
import { parse } from 'yaml';
import { locateEnvoy } from '../envoy/locate';
import { runInSandboxIfNeeded } from '../sandbox/reexec';
import { formatResult, runScenarioFiles } from '../scenario/run';
import { formatCoverage } from '../scenario/coverage';
import { junitXml } from '../scenario/junit';
import { summaryJson, verdictOf } from '../scenario/report';
import { startTarget } from '../scenario/targets/factory';
import type { Protocol, Target } from '../scenario/types';
import { EXIT_PROBLEM, EXIT_USAGE, Exit, FORMATS, readStdin, STDIN, STDIN_NAME, type Format, type Io } from './io';

export interface TestFlags {
  target: Target | 'both';
  coverage?: boolean;
  requireCoverage?: boolean;
  strict?: boolean;
  protocol?: Protocol | 'both';
  format: Format;
  junit?: string;
}

export function registerTest(program: Command, io: Io): Command {
  return program
    .command('test')
    .description('run scenario files against the emulator, real Envoy, or both; last line: N passed, N failed')
    .argument('<scenario...>', 'scenario YAML files (- reads one from stdin; its policy path is then relative to the working directory)')
    .addOption(new Option('--target <target>', 'where requests go').choices(['emulator', 'envoy', 'both', 'envoy-native']).default('emulator'))
    .addOption(new Option('--protocol <protocol>', 'send every request over this protocol (both: each file twice); default: as each file says').choices(['http1', 'h2', 'both']))
    .option('--coverage', 'report, per policy across all files, how often each rule decided (audit rules: matched)')
    .option('--require-coverage', 'fail when a rule of a policy was exercised by no request of any file')
    .option('--strict', 'a request that pins no rule (or, for a refusal before the filter, no status) is an error')
    .addOption(new Option('--format <format>', 'stdout: text lines, or one JSON document').choices(FORMATS).default('text'))
    .option('--junit <file>', 'also write JUnit XML: one testcase per request and target')
    .action(async (files: string[], o: TestFlags) => {
      const targets: Target[] = o.target === 'both' ? ['envoy', 'emulator'] : [o.target];
      if (targets.some((t) => t !== 'emulator') && files.some(bindsLowPorts)) {
        // Egress stacks on real Envoy bind 80 and 443: a normal user's run goes on in a private network namespace.
        const code = await reexecInSandbox();
        if (code === 0) return;
        if (code !== undefined) throw new Exit(code === EXIT_USAGE ? EXIT_USAGE : EXIT_PROBLEM);
      }
      const protocols: Protocol[] | undefined = o.protocol === 'both' ? ['http1', 'h2'] : o.protocol && [o.protocol];
      const text = o.format === 'text';
      const stdin = files.includes(STDIN) ? readStdin(io) : undefined;
      const summary = await runScenarioFiles(
        files.map((f) => (f === STDIN ? STDIN_NAME : f)),
        { targets, protocols, strict: o.strict, onResult: text ? (r) => io.out(formatResult(r)) : undefined, onMessage: io.err, read: (f) => (f === STDIN_NAME ? stdin : undefined) },
        startTarget,
      );
      const verdict = verdictOf(summary, o);
      if (o.junit) fs.writeFileSync(o.junit, junitXml(summary, o));
      if (!text) io.out(JSON.stringify(summaryJson(summary, verdict, o), null, 2));
      else {
        if (o.coverage || o.requireCoverage) for (const line of formatCoverage(summary.coverage)) io.out(line);
        if (summary.bypasses > 0) io.out(`${summary.bypasses} bypass(es): requests the policy denies reached the upstream`);
        io.out(verdict.closing);
      }
      if (verdict.failed) throw new Exit(EXIT_PROBLEM);
    });
}

/**
 * Egress scenarios on Envoy bind the fake external services' real ports (80, 443). Stdin is not
 * read here (the sandboxed run reads it), so a `-` counts as egress; an unreadable file is left
 * to the runner to report.
 */
function bindsLowPorts(file: string): boolean {
  if (file === STDIN) return true;
  try {
    return (parse(fs.readFileSync(file, 'utf8')) as { role?: unknown } | null)?.role === 'egress';
  } catch {
    return false;
  }
}

/**
 * The same command line again, in a sandbox (harness/sandbox/reexec.ts) when this user may not
 * bind low ports: its exit code, or undefined to go on here. Only the `meshgate` process re-runs
 * (the bin or dist/harness/cli.js); called in process (tests, the API), it goes on as it is.
 */
function reexecInSandbox(): Promise<number | undefined> {
  const entry = process.argv[1] ?? '';
  if (!/(?:^|[/\\])(?:meshgate(?:\.js)?|cli\.js)$/.test(entry)) return Promise.resolve(undefined);
  return runInSandboxIfNeeded([process.execPath, ...process.execArgv, path.resolve(entry), ...process.argv.slice(2)], {
    what: '`meshgate test --target envoy` on egress scenarios',
    before: async () => void (await locateEnvoy()), // a first install needs the network
  });
}
