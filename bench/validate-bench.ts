/**
 * How long `meshgate validate` takes on large policies (bench/validate-policies.ts: N rules).
 * Per size and round: the whole command in a fresh Node process (what a user waits for, start-up
 * included), then in this process the two phases — read + check (YAML, schema, the filter's
 * rules) and the static analysis — wall and CPU time. Medians over the rounds.
 *
 *   node dist/bench/validate-bench.js [--quick]      # only this section: bench/results/<stamp>-validate.{json,md}
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { repoRoot } from '../harness/envoy/paths';
import { analyzeCompiled } from '../harness/policy/analyze';
import { compilePolicyText } from '../harness/policy/compile';
import { median } from './stats';
import { largePolicyYaml } from './validate-policies';

export interface ValidateBenchOptions {
  sizes: number[];
  rounds: number;
  log?: (line: string) => void;
}

export interface ValidateSize {
  rules: number;
  yamlLines: number;
  warnings: number;
  /** `node bin/meshgate.js validate FILE`, wall ms (median, and the range over rounds). */
  commandMs: number;
  commandRange: [number, number];
  /** In this process: read + check, and analysis; wall and CPU (user+system) ms, medians. */
  checkMs: number;
  checkCpuMs: number;
  analyzeMs: number;
  analyzeCpuMs: number;
}

export interface ValidateBenchResult {
  rounds: number;
  sizes: ValidateSize[];
}

/** Wall and CPU ms of one call. */
function timed<T>(f: () => T): { value: T; ms: number; cpuMs: number } {
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const value = f();
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const c = process.cpuUsage(c0);
  return { value, ms, cpuMs: (c.user + c.system) / 1000 };
}

export function runValidateBench(options: ValidateBenchOptions): ValidateBenchResult {
  const log = options.log ?? (() => undefined);
  const cli = path.join(repoRoot(), 'bin', 'meshgate.js');
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'meshgate-validate-bench-'));
  try {
    const sizes = options.sizes.map((n): ValidateSize => {
      const text = largePolicyYaml(n);
      const file = path.join(tmp, `policy-${n}.yaml`);
      fs.writeFileSync(file, text);
      const command: number[] = [];
      const check: Array<{ ms: number; cpuMs: number }> = [];
      const analysis: Array<{ ms: number; cpuMs: number }> = [];
      let warnings = 0;
      for (let round = 0; round < options.rounds; round++) {
        const t0 = process.hrtime.bigint();
        const r = spawnSync(process.execPath, [cli, 'validate', '--quiet', file], { encoding: 'utf8' });
        command.push(Number(process.hrtime.bigint() - t0) / 1e6);
        if (r.status !== 0) throw new Error(`meshgate validate failed on the generated ${n}-rule policy (exit ${r.status}): ${r.stderr.slice(0, 500)}`);
        const compiled = timed(() => compilePolicyText(text, file));
        if (!compiled.value.ok) throw new Error(`the generated ${n}-rule policy is invalid: ${compiled.value.errors[0]?.message}`);
        const analyzed = timed(() => analyzeCompiled(compiled.value));
        check.push(compiled);
        analysis.push(analyzed);
        warnings = analyzed.value.length;
      }
      const out: ValidateSize = {
        rules: n,
        yamlLines: text.split('\n').length - 1,
        warnings,
        commandMs: median(command),
        commandRange: [Math.min(...command), Math.max(...command)],
        checkMs: median(check.map((x) => x.ms)),
        checkCpuMs: median(check.map((x) => x.cpuMs)),
        analyzeMs: median(analysis.map((x) => x.ms)),
        analyzeCpuMs: median(analysis.map((x) => x.cpuMs)),
      };
      log(`validate: ${n.toLocaleString('en-US')} rules: command ${Math.round(out.commandMs)} ms (check ${Math.round(out.checkMs)} ms, analysis ${Math.round(out.analyzeMs)} ms), ${warnings} warnings`);
      return out;
    });
    return { rounds: options.rounds, sizes };
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

export function validateMarkdown(r: ValidateBenchResult): string[] {
  const f0 = (x: number) => Math.round(x).toLocaleString('en-US');
  const L = [
    '## `meshgate validate` on large policies',
    '',
    'Generated policies of N rules (bench/validate-policies.ts: four fifths inbound, one fifth egress; per-service allow rules, admin deny rules, audit trials, copies). ' +
      `Command: \`meshgate validate --quiet FILE\` in a fresh Node process, start-up included; phases: in the bench process, wall (CPU) ms. Medians of ${r.rounds} rounds.`,
    '',
    '| rules | YAML lines | warnings | command ms (range) | read + check ms | analysis ms |',
    '|---:|---:|---:|---:|---:|---:|',
  ];
  for (const s of r.sizes) {
    L.push(`| ${f0(s.rules)} | ${f0(s.yamlLines)} | ${s.warnings} | ${f0(s.commandMs)} (${f0(s.commandRange[0])}…${f0(s.commandRange[1])}) | ${f0(s.checkMs)} (${f0(s.checkCpuMs)}) | ${f0(s.analyzeMs)} (${f0(s.analyzeCpuMs)}) |`);
  }
  L.push('');
  return L;
}

/** The sizes and rounds of a full and a --quick run. */
export const VALIDATE_PROFILES = {
  full: { sizes: [1000, 4000, 20_000], rounds: 3 },
  quick: { sizes: [1000, 4000], rounds: 1 },
} as const;

function main(): void {
  const quick = process.argv.includes('--quick');
  const p = VALIDATE_PROFILES[quick ? 'quick' : 'full'];
  const result = runValidateBench({ sizes: [...p.sizes], rounds: p.rounds, log: (s) => process.stderr.write(s + '\n') });
  const out = path.join(repoRoot(), 'bench', 'results');
  fs.mkdirSync(out, { recursive: true });
  const stamp = new Date().toISOString().replace(/\.\d+Z$/, 'Z').replace(/:/g, '-');
  fs.writeFileSync(path.join(out, `${stamp}-validate.json`), JSON.stringify(result, null, 2) + '\n');
  const md = validateMarkdown(result).join('\n');
  fs.writeFileSync(path.join(out, `${stamp}-validate.md`), md + '\n');
  process.stdout.write(md + '\n');
}

if (require.main === module) main();
