/**
 * A `meshgate test` run as JUnit XML, the report CI systems read: one <testsuite> per scenario
 * file, one <testcase> per request and target (and protocol), a <failure> with the runner's
 * message for each that failed. A file that did not load or run is one failed testcase; so is,
 * with --require-coverage, each policy with a rule never exercised — the XML fails exactly when
 * the exit code does.
 */
import type { PolicyCoverage } from './coverage';
import type { RunSummary } from './run';
import type { RequestResult } from './types';

interface Case {
  classname: string;
  name: string;
  file?: string;
  failure?: { message: string; type: string };
}

/** Markup characters, and line breaks (an attribute value would lose them to a space). */
const XML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;', '\n': '&#10;' };

/** Text for an attribute or element: escaped, and without characters XML 1.0 cannot hold. */
export function xmlText(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, '\ufffd').replace(/[&<>"'\n]/g, (c) => XML_ESCAPES[c]);
}

function requestCase(r: RequestResult): Case {
  const over = r.request.protocol === 'h2' ? ' h2' : '';
  const mark = r.passed ? undefined : r.bypass ? 'bypass' : 'failure';
  return {
    classname: r.scenario,
    name: `[${r.target}${over}] ${r.request.label} (as ${r.request.as}) expect ${r.request.expect}`,
    file: r.file,
    ...(mark ? { failure: { message: r.message, type: mark } } : {}),
  };
}

function coverageCase(c: PolicyCoverage): Case {
  const never = c.rules.filter((r) => r.hits === 0).map((r) => r.name);
  return {
    classname: 'coverage',
    name: `${c.policy} (${c.role}): every rule exercised`,
    ...(never.length ? { failure: { message: `rules never exercised: ${never.join(', ')}`, type: 'coverage' } } : {}),
  };
}

export function junitXml(summary: RunSummary, o: { requireCoverage?: boolean } = {}): string {
  const suites = new Map<string, Case[]>();
  const add = (suite: string, c: Case) => {
    if (!suites.has(suite)) suites.set(suite, []);
    suites.get(suite)!.push(c);
  };
  for (const f of summary.fileFailures) add(f.file, { classname: f.file, name: 'load and run the scenario file', failure: { message: f.messages.join('\n'), type: 'scenario' } });
  for (const r of summary.results) add(r.file, requestCase(r));
  if (o.requireCoverage) for (const c of summary.coverage) add('coverage', coverageCase(c));

  const all = [...suites.values()].flat();
  const failures = (cases: Case[]) => cases.filter((c) => c.failure).length;
  const lines = ['<?xml version="1.0" encoding="UTF-8"?>', `<testsuites name="meshgate test" tests="${all.length}" failures="${failures(all)}" errors="0">`];
  for (const [name, cases] of suites) {
    lines.push(`  <testsuite name="${xmlText(name)}" tests="${cases.length}" failures="${failures(cases)}" errors="0" skipped="0">`);
    for (const c of cases) {
      const attrs = `classname="${xmlText(c.classname)}" name="${xmlText(c.name)}"${c.file ? ` file="${xmlText(c.file)}"` : ''}`;
      if (!c.failure) lines.push(`    <testcase ${attrs}/>`);
      else lines.push(`    <testcase ${attrs}>`, `      <failure message="${xmlText(c.failure.message)}" type="${c.failure.type}">${xmlText(c.failure.message)}</failure>`, '    </testcase>');
    }
    lines.push('  </testsuite>');
  }
  lines.push('</testsuites>');
  return `${lines.join('\n')}\n`;
}
