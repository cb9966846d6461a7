/**
 * The scenario runner behind `meshgate test`: loads scenario files, starts one executor per
 * target (real Envoy, or the emulator), sends every request, and judges each against `expect`
 * and the upstream's record. With several targets, any disagreement between them is a failure.
 * A "bypass" is a request the scenario expects denied that reached the upstream anyway.
 */
import { loadScenario, pinned, ScenarioError } from './load';
import { rawAsH2 } from './targets/raw-as-h2';
import type { Observation, Protocol, RequestResult, Scenario, ScenarioRequest, Target } from './types';
import type { TargetExecutor } from './targets/executor';
import { coverageOf, credit, type PolicyCoverage } from './coverage';

export interface RunOptions {
  targets: Target[];
  /** Called once per judged request, in order (the CLI prints a line per call). */
  onResult?: (r: RequestResult) => void;
  /** Load every scenario file strictly (unpinned requests are errors). */
  strict?: boolean;
  /** Problems and warnings about scenario files (a file that cannot be loaded or run): one call per line. */
  onMessage?: (line: string) => void;
  /** Run every file once per protocol (see forProtocol); default: each request as its file says. */
  protocols?: Protocol[];
  /** A file's text when the caller reads it (the CLI: `-` is stdin); default: read from disk. */
  read?: (file: string) => string | undefined;
}

export interface RunSummary {
  results: RequestResult[];
  passed: number;
  failed: number;
  bypasses: number;
  /** Requests where two targets observed a different outcome, status, or rule. */
  disagreements: number;
  /** Files that did not load, or whose run could not start (each counted as one failure). */
  fileFailures: { file: string; messages: string[] }[];
  /** One entry per policy (and role) the loaded scenarios run, in order of first use. */
  coverage: PolicyCoverage[];
}

export type ExecutorFactory = (scenario: Scenario, target: Target) => Promise<TargetExecutor>;

export function emptySummary(): RunSummary {
  return { results: [], passed: 0, failed: 0, bypasses: 0, disagreements: 0, fileFailures: [], coverage: [] };
}

/**
 * `meshgate test`: every file in order. A file that does not load, or whose run throws (a target
 * that cannot start), counts as one failure and is reported through `onMessage`; the others run.
 */
export async function runScenarioFiles(files: string[], opts: RunOptions, factory: ExecutorFactory): Promise<RunSummary> {
  const summary = emptySummary();
  for (const file of files) {
    let scenario: Scenario;
    try {
      scenario = loadScenario(file, { strict: opts.strict, text: opts.read?.(file) });
    } catch (e) {
      if (!(e instanceof ScenarioError)) throw e;
      for (const m of e.messages) opts.onMessage?.(m);
      summary.fileFailures.push({ file, messages: e.messages });
      summary.failed++;
      continue;
    }
    for (const w of scenario.warnings) opts.onMessage?.(w);
    for (const pass of opts.protocols ?? [undefined]) {
      try {
        await runScenario(forProtocol(scenario, pass), opts, factory, summary);
      } catch (e) {
        const message = `${file}${pass ? ` (${pass})` : ''}: ${(e as Error).message}`;
        opts.onMessage?.(message);
        summary.fileFailures.push({ file, messages: [message] });
        summary.failed++;
      }
    }
  }
  return summary;
}

/**
 * The protocols a request can go over: a header list only h2; raw bytes HTTP/1.1, and h2 too when
 * they are a plain inbound request (targets/raw-as-h2.ts); otherwise its own `protocol:` or both.
 */
export function protocolsOf(scenario: Scenario, r: ScenarioRequest): Protocol[] {
  if (r.tls !== undefined) return ['http1']; // a TLS connection carries no HTTP: it runs once, in the first pass
  if (r.h2headers !== undefined) return ['h2'];
  if (r.protocol !== undefined) return [r.protocol];
  if (r.raw !== undefined) return scenario.role === 'inbound' && rawAsH2(r.raw).ok ? ['http1', 'h2'] : ['http1'];
  return ['http1', 'h2'];
}

/** A request as sent over `protocol`: raw bytes over h2 become their header list, and the
 *  request's pin for that protocol, if any, replaces its verdict. */
function over(r: ScenarioRequest, protocol: Protocol): ScenarioRequest {
  if (protocol === 'http1') return { ...r, protocol };
  const translated = r.raw !== undefined ? rawAsH2(r.raw) : undefined;
  const sent = translated?.ok ? { ...r, raw: undefined, h2headers: translated.headers } : r;
  return { ...(r.h2 ? pinned(sent, r.h2) : sent), protocol };
}

/**
 * The scenario's requests for one run, each with the protocol it goes over. Without `protocol`:
 * every request, over its own `protocol:` or the file's (raw bytes over HTTP/1.1, a header list
 * over h2). With one: the requests that can go over it (protocolsOf), so a file run under both
 * protocols sends each request once per protocol it can take.
 */
export function forProtocol(scenario: Scenario, protocol?: Protocol): Scenario {
  const own = (r: ScenarioRequest): Protocol => (r.raw !== undefined ? 'http1' : r.h2headers !== undefined ? 'h2' : (r.protocol ?? scenario.protocol));
  const requests =
    protocol === undefined
      ? scenario.requests.map((r) => over(r, own(r)))
      : scenario.requests.filter((r) => protocolsOf(scenario, r).includes(protocol)).map((r) => over(r, protocol));
  return { ...scenario, requests };
}

export async function runScenario(scenario: Scenario, opts: RunOptions, factory: ExecutorFactory, summary: RunSummary): Promise<void> {
  const observed = new Map<ScenarioRequest, Map<Target, Observation>>();
  const coverage = coverageOf(summary.coverage, scenario);
  for (const target of opts.targets) {
    const executor = await factory(scenario, target);
    try {
      // Without the filter's counters, the rules the records name (deciding rules only).
      const named: Record<string, number> = {};
      for (const req of scenario.requests) {
        const obs = await executor.run(req);
        if (!observed.has(req)) observed.set(req, new Map());
        observed.get(req)!.set(target, obs);
        if (obs.decision !== undefined && obs.rule !== undefined) named[obs.rule] = (named[obs.rule] ?? 0) + 1;
        const result = judge(scenario, req, target, obs);
        record(summary, result, opts);
      }
      credit(coverage, executor.ruleCounts ? await executor.ruleCounts() : named);
    } finally {
      await executor.stop();
    }
  }
  if (opts.targets.length > 1) {
    for (const req of scenario.requests) {
      const byTarget = [...(observed.get(req) ?? new Map<Target, Observation>()).entries()];
      const differ = disagreement(byTarget.map(([, o]) => o));
      if (differ.length === 0) continue;
      summary.disagreements++;
      const detail = byTarget.map(([t, o]) => `${t}=${o.outcome}(${o.status} ${o.rule ?? 'no rule'})`).join(' ');
      record(
        summary,
        {
          scenario: scenario.name,
          file: scenario.file,
          request: req,
          target: byTarget[0][0],
          observed: byTarget[0][1],
          passed: false,
          bypass: false,
          message: `targets disagree on ${differ.join(', ')}: ${detail} [${req.where}]`,
        },
        opts,
      );
    }
  }
}

/** What two or more targets observed differently: outcome, status, rule or reason. */
export function disagreement(observations: Observation[]): string[] {
  const fields = ['outcome', 'status', 'rule', 'identityReason', 'guard'] as const;
  return fields.filter((f) => new Set(observations.map((o) => o[f])).size > 1);
}

function record(summary: RunSummary, r: RequestResult, opts: RunOptions): void {
  summary.results.push(r);
  if (r.passed) summary.passed++;
  else summary.failed++;
  if (r.bypass) summary.bypasses++;
  opts.onResult?.(r);
}

/**
 * A request passes when it was observed completely (no crash, no missing record), its outcome is
 * `expect`, and its pins hold: `status` whatever the outcome, `rule` against the rule or reason
 * the filter's own record names. A deny pinned by status alone claims a refusal before the
 * filter, so the filter must not have decided it. A meshgate denial, and any denied connection,
 * must have caused no DNS query and no external connection — a tunnel refused for its inner SNI
 * (rule `tunnel_…`) too: its CONNECT went to Envoy's internal listener, never to the host. An
 * allowed connection must have been dialed to the name it judged.
 * A refusal by the post-resolution guard (layer `guard`) must be pinned with `guard:` and must
 * have caused no external connection (its DNS query is how the address became known).
 */
export function judge(scenario: Scenario, req: ScenarioRequest, target: Target, obs: Observation): RequestResult {
  const problems: string[] = [];
  if (obs.problem !== undefined) problems.push(obs.problem);
  if (obs.outcome !== req.expect) {
    problems.push(req.expect === 'deny' ? 'reached the upstream but the scenario expects deny' : `denied (${describe(obs, req.tls !== undefined)}) but the scenario expects allow`);
  }
  if (obs.layer === 'guard') {
    // meshgate allowed the name; Envoy resolved it and refused the address before dialing.
    if (req.guard === undefined) problems.push(`refused by the post-resolution guard (${obs.guard}): pin guard: ${obs.guard}`);
    else if (obs.guard !== req.guard) problems.push(`refused by guard policy ${obs.guard}, expected ${req.guard}`);
    if ((obs.externalConnections ?? 0) > 0) problems.push(`refused by the guard, yet it caused ${obs.externalConnections} external connections`);
  } else if (req.guard !== undefined) {
    problems.push(`expected the post-resolution guard to refuse it (${req.guard}), but: ${describe(obs, req.tls !== undefined)}`);
  }
  if (req.expect === 'deny' && obs.outcome === 'deny' && obs.layer !== 'guard' && (obs.layer === 'meshgate' || req.tls !== undefined)) {
    if ((obs.dnsQueries ?? 0) > 0 || (obs.externalConnections ?? 0) > 0) {
      problems.push(`denied, yet it caused ${obs.dnsQueries} DNS queries and ${obs.externalConnections} external connections`);
    }
  }
  if (req.tls !== undefined && obs.outcome === 'allow' && obs.dialed !== undefined) {
    const judged = judgedName(req);
    if (judged !== undefined && obs.dialed.toLowerCase().replace(/\.$/, '') !== judged) problems.push(`dialed ${obs.dialed}, not the name it judged (${judged})`);
  }
  if (req.status !== undefined && obs.status !== req.status) problems.push(`status ${obs.status}, expected ${req.status}`);
  if (req.rule !== undefined && obs.rule !== req.rule) {
    problems.push(obs.rule === undefined ? `the filter named no rule (${describe(obs, req.tls !== undefined)}), expected rule ${req.rule}` : `${obs.outcome === 'allow' ? 'allowed' : 'denied'} by ${obs.rule}, expected rule ${req.rule}`);
  }
  if (req.reason !== undefined && obs.identityReason !== req.reason) {
    problems.push(`identity reason ${obs.identityReason ?? 'none'}, expected ${req.reason}`);
  }
  if (req.expect === 'deny' && req.rule === undefined && req.status !== undefined && obs.rule !== undefined) {
    problems.push(`the filter decided it (rule ${obs.rule}): pin rule: ${obs.rule}, not only the status`);
  }
  return {
    scenario: scenario.name,
    file: scenario.file,
    request: req,
    target,
    observed: obs,
    passed: problems.length === 0,
    bypass: req.expect === 'deny' && obs.outcome === 'allow',
    message: problems.length ? `${problems.join('; ')} [${req.where}]` : describe(obs, req.tls !== undefined),
  };
}

/** The name an allowed connection must be dialed to: its SNI in lower case, one trailing dot off. */
function judgedName(req: ScenarioRequest): string | undefined {
  const sni = req.tls?.raw === undefined ? (req.tls?.sni !== undefined ? req.tls.sni : req.host) : undefined;
  return typeof sni === 'string' ? sni.toLowerCase().replace(/\.$/, '') : undefined;
}

function describe(o: Observation, connection = false): string {
  if (o.layer === 'tls') return 'refused at TLS handshake';
  if (o.layer === 'guard') return `${connection ? 'connection closed' : o.status} by the address guard ${o.guard} after meshgate allowed it (${o.rule ?? 'no record'})`;
  if (connection && o.layer !== 'crash') return `connection ${o.outcome === 'allow' ? `delivered${o.dialed ? ` to ${o.dialed}` : ''}` : `closed by ${o.layer}`}${o.rule !== undefined ? ` ${o.rule}` : ''}`;
  if (o.layer === 'crash') return `${o.status} filter crashed`;
  const rule = o.rule !== undefined ? ` ${o.rule}` : '';
  return `${o.status} ${o.layer}${rule}`;
}

/** One line per request: `PASS [envoy] scenario: label — observed`. */
export function formatResult(r: RequestResult): string {
  const mark = r.passed ? 'PASS' : r.bypass ? 'BYPASS' : 'FAIL';
  const over = r.request.protocol === 'h2' ? ' h2' : '';
  return `${mark} [${r.target}${over}] ${r.scenario}: ${r.request.label} (as ${r.request.as}) expect ${r.request.expect} — ${r.message}`;
}
