/**
 * What `meshgate test` concludes from a run, shared by its text, JSON and JUnit outputs: the
 * closing line and whether the run failed, which always agree (a failing --require-coverage
 * says so on the closing line).
 */
import { neverExercised, type PolicyCoverage } from './coverage';
import type { RunSummary } from './run';

export interface Verdict {
  failed: boolean;
  /** Rules never exercised (counted only when coverage was asked for). */
  neverExercised: number;
  /** `N passed, M failed[, K rules never exercised]`: the last line of the text output. */
  closing: string;
}

export function verdictOf(summary: RunSummary, o: { coverage?: boolean; requireCoverage?: boolean }): Verdict {
  const never = o.coverage || o.requireCoverage ? neverExercised(summary.coverage) : 0;
  const uncovered = o.requireCoverage === true && never > 0;
  const closing = `${summary.passed} passed, ${summary.failed} failed${uncovered ? `, ${never} rule${never === 1 ? '' : 's'} never exercised` : ''}`;
  return { failed: summary.failed > 0 || uncovered, neverExercised: never, closing };
}

/** The run as one JSON document (`meshgate test --format json`). */
export function summaryJson(summary: RunSummary, verdict: Verdict, o: { coverage?: boolean; requireCoverage?: boolean }): unknown {
  return {
    passed: summary.passed,
    failed: summary.failed,
    bypasses: summary.bypasses,
    disagreements: summary.disagreements,
    ok: !verdict.failed,
    summary: verdict.closing,
    fileFailures: summary.fileFailures,
    results: summary.results.map((r) => ({
      file: r.file,
      scenario: r.scenario,
      where: r.request.where,
      request: r.request.label,
      as: r.request.as,
      target: r.target,
      protocol: r.request.protocol ?? 'http1',
      expect: r.request.expect,
      passed: r.passed,
      bypass: r.bypass,
      message: r.message,
      observed: r.observed,
    })),
    ...(o.coverage || o.requireCoverage ? { coverage: summary.coverage.map(coverageJson), neverExercised: verdict.neverExercised } : {}),
  };
}

function coverageJson(c: PolicyCoverage): unknown {
  return { policy: c.policy, digest12: c.digest12, role: c.role, files: c.files, rules: c.rules };
}
