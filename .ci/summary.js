#!/usr/bin/env node
// Usage: node .ci/summary.js <jest-report.json> [jest's exit code] [<report> <exit code>]... [--step <label>=<exit code>]...
// Reads jest's JSON reports (one per jest run: CI runs the suite as root, then the e2e project as
// an unprivileged user) and the exit codes of single CI steps (each counts as one test), and
// prints the closing lines of a CI run:
//   "<report>: <N> passed, <N> failed"   (per report, when there are several)
//   "<N> skipped"                (tests jest did not run: .skip, .todo, filtered)
//   "<N> passed, <N> failed"     (the last line, what CI reads: the sum of everything)
// A suite can fail without a failing test: it did not load, its beforeAll/afterAll threw, or an
// uncaught error hit it between tests. jest keeps that suite's tests "passed" in numPassedTests,
// so each such suite counts as one failure here, and its message is printed.
// Exit code: 0 iff nothing failed.
'use strict';
const fs = require('node:fs');

function summarize(report, jestExitCode = 0) {
  let brokenSuites = 0;
  const messages = [];
  for (const suite of report.testResults) {
    const failedTests = suite.assertionResults.filter((t) => t.status === 'failed').length;
    const suiteError = suite.status === 'failed' || Boolean(suite.testExecError);
    if (suiteError && failedTests === 0) {
      brokenSuites++;
      const text = String(suite.message || (suite.testExecError && suite.testExecError.message) || 'suite failed');
      const head = text.split('\n').map((l) => l.trim()).filter((l) => l !== '').slice(0, 2).join(': ');
      messages.push(`suite error: ${suite.name}: ${head}`);
    }
  }
  let failed = report.numFailedTests + brokenSuites;
  if (failed === 0 && jestExitCode !== 0) {
    // jest failed for a reason outside every suite (an open handle, a config error): never "0 failed".
    failed = 1;
    messages.push(`jest exited ${jestExitCode} with no failing test or suite`);
  }
  return {
    passed: report.numPassedTests,
    failed,
    skipped: report.numPendingTests + (report.numTodoTests || 0),
    messages,
  };
}

/** Splits the command line into jest runs (report, exit code) and steps (label, exit code). */
function parseArgs(args) {
  const runs = [];
  const steps = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--step') {
      const spec = args[++i] || '';
      const at = spec.lastIndexOf('=');
      steps.push({ label: spec.slice(0, at), rc: Number(spec.slice(at + 1)) });
      continue;
    }
    const rc = /^-?\d+$/.test(args[i + 1] || '') ? Number(args[i + 1]) : 0;
    runs.push({ file: args[i], rc });
    if (/^-?\d+$/.test(args[i + 1] || '')) i++;
  }
  return { runs, steps };
}

if (require.main === module) {
  const { runs, steps } = parseArgs(process.argv.slice(2));
  if (runs.length === 0) runs.push({ file: undefined, rc: 0 });
  const total = { passed: 0, failed: 0, skipped: 0 };
  for (const run of runs) {
    const { file } = run;
    let s;
    if (!file || !fs.existsSync(file) || fs.statSync(file).size === 0) {
      s = { passed: 0, failed: 1, skipped: 0, messages: [`jest wrote no report (${file || 'no file given'})`] };
    } else {
      s = summarize(JSON.parse(fs.readFileSync(file, 'utf8')), run.rc);
    }
    for (const m of s.messages) console.log(m);
    if (runs.length > 1) console.log(`${file}: ${s.passed} passed, ${s.failed} failed`);
    total.passed += s.passed;
    total.failed += s.failed;
    total.skipped += s.skipped;
  }
  for (const step of steps) {
    const ok = step.rc === 0;
    console.log(`step ${step.label}: ${ok ? 'passed' : `failed (exit ${step.rc})`}`);
    if (ok) total.passed++;
    else total.failed++;
  }
  console.log(`${total.skipped} skipped`);
  console.log(`${total.passed} passed, ${total.failed} failed`);
  process.exit(total.failed === 0 ? 0 : 1);
}

module.exports = { summarize, parseArgs };
