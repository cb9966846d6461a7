#!/usr/bin/env node
// Usage: node .ci/summary.js <jest-report.json> [jest's exit code]
// Reads jest's JSON report and prints the closing lines of a CI run:
//   "<N> skipped"                (tests jest did not run: .skip, .todo, filtered)
//   "<N> passed, <N> failed"     (the last line, what CI reads)
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

if (require.main === module) {
  const file = process.argv[2];
  if (!file || !fs.existsSync(file) || fs.statSync(file).size === 0) {
    console.log(`jest wrote no report (${file || 'no file given'})`);
    console.log('0 passed, 1 failed');
    process.exit(1);
  }
  const s = summarize(JSON.parse(fs.readFileSync(file, 'utf8')), Number(process.argv[3] || 0));
  for (const m of s.messages) console.log(m);
  console.log(`${s.skipped} skipped`);
  console.log(`${s.passed} passed, ${s.failed} failed`);
  process.exit(s.failed === 0 ? 0 : 1);
}

module.exports = { summarize };
