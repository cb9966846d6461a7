/**
 * Rule coverage for `meshgate test --coverage`: one entry per policy (its digest and the role the
 * scenarios run it in) across every scenario file that uses it, so a rule exercised by any file
 * counts. A rule is exercised when it decided a request or, for an audit rule, matched one, on
 * any target: what the filter's counters say (targets/rule-counts.ts).
 */
import type { Scenario } from './types';

export interface RuleCoverage {
  name: string;
  /** An audit rule: it never decides, it is credited when it matched. */
  audit: boolean;
  /** Decisions (audit rules: matches) over every file, protocol pass and target. */
  hits: number;
}

export interface PolicyCoverage {
  /** The policy file, or `<scenario file> (inline policy)`. */
  policy: string;
  digest12: string;
  role: Scenario['role'];
  /** The scenario files that run it, in order. */
  files: string[];
  rules: RuleCoverage[];
}

/** The entry for the scenario's policy, created (with every rule at 0) on first use. */
export function coverageOf(all: PolicyCoverage[], scenario: Scenario): PolicyCoverage {
  let entry = all.find((c) => c.digest12 === scenario.policyDigest12 && c.role === scenario.role);
  if (entry === undefined) {
    entry = {
      policy: scenario.policyFile ?? `${scenario.file} (inline policy)`,
      digest12: scenario.policyDigest12,
      role: scenario.role,
      files: [],
      rules: (scenario.normalized[scenario.role]?.rules ?? []).map((r) => ({ name: r.name, audit: r.mode === 'audit', hits: 0 })),
    };
    all.push(entry);
  }
  if (!entry.files.includes(scenario.file)) entry.files.push(scenario.file);
  return entry;
}

/** Adds one target's counts (rule name → decisions or matches); other names are ignored. */
export function credit(entry: PolicyCoverage, counts: Record<string, number>): void {
  for (const rule of entry.rules) rule.hits += counts[rule.name] ?? 0;
}

/** Rules no request exercised, over every policy. */
export function neverExercised(all: PolicyCoverage[]): number {
  return all.reduce((n, c) => n + c.rules.filter((r) => r.hits === 0).length, 0);
}

/** The report the CLI prints: per policy, then one line per rule. */
export function formatCoverage(all: PolicyCoverage[]): string[] {
  const lines: string[] = [];
  for (const c of all) {
    const used = c.files.length === 1 ? c.files[0] : `${c.files.length} files`;
    lines.push(`coverage ${c.policy} (${c.role}, policy ${c.digest12}; ${used}):`);
    for (const r of c.rules) lines.push(`  ${r.hits === 0 ? 'NEVER HIT' : `${r.hits} hit(s)`.padEnd(9)}  ${r.name}${r.audit ? ' (audit: credited when matched)' : ''}`);
  }
  return lines;
}
