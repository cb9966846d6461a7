/**
 * `meshgate`: a thin shell over the harness's programmatic API (harness/policy, harness/scenario,
 * harness/render, harness/package, harness/emulator). Options are declared once per command.
 *
 * Exit codes: 0 success; 1 the command ran and found a problem (invalid policy, failed scenario,
 * deny from `eval` is NOT a problem: it exits 0); 2 usage errors (unknown command, bad flags,
 * unreadable input that is not the thing being judged).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { stringify } from 'yaml';
import { compilePolicyFile, type CompileResult } from './policy/compile';
import { formatDiagnostic, formatWarning } from './policy/diagnostics';
import { analyzeCompiled } from './policy/analyze';
import { renderRbac } from './policy/rbac';
import { loadScenario, ScenarioError } from './scenario/load';
import { runScenario, formatResult, type RunSummary } from './scenario/run';
import { startTarget } from './scenario/targets/factory';
import type { Scenario, Target } from './scenario/types';
import { renderEnvoy } from './render/envoy';
import { evalRequest } from './eval';

export const EXIT_OK = 0;
export const EXIT_PROBLEM = 1;
export const EXIT_USAGE = 2;

class Exit extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
}

function compileOrReport(file: string, io: Io): CompileResult {
  const r = compilePolicyFile(file);
  if (!r.ok) {
    for (const e of r.errors) io.err(formatDiagnostic(e));
    throw new Exit(EXIT_PROBLEM);
  }
  return r;
}

function role(value: string, allowed: string[]): string {
  if (!allowed.includes(value)) throw new CommanderError(EXIT_USAGE, 'meshgate.role', `--role must be one of ${allowed.join(', ')}, not "${value}"`);
  return value;
}

export function buildProgram(io: Io): Command {
  const program = new Command('meshgate')
    .description('Identity-aware L7 policy for Envoy: validate, render, evaluate and test meshgate policies')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s.replace(/\n$/, '')), writeErr: (s) => io.err(s.replace(/\n$/, '')) })
    .showHelpAfterError();

  program
    .command('validate')
    .description('check policy files: FILE:LINE:COL: message per error (exit 1), warnings from static analysis (exit 0 unless --strict)')
    .argument('<policy...>', 'policy YAML files')
    .option('--strict', 'treat warnings as errors (exit 1)')
    .option('--quiet', 'print errors only, no warnings and no summary')
    .action((files: string[], o: { strict?: boolean; quiet?: boolean }) => {
      let errors = 0;
      let warnings = 0;
      for (const file of files) {
        const r = compilePolicyFile(file);
        for (const e of r.errors) io.err(formatDiagnostic(e));
        errors += r.errors.length;
        if (r.ok) {
          const w = analyzeCompiled(r);
          warnings += w.length;
          if (!o.quiet) for (const x of w) io.err(formatWarning(x));
          if (!o.quiet && r.errors.length === 0) io.out(`${file}: ok (policy ${r.digest12}${w.length ? `, ${w.length} warning(s)` : ''})`);
        }
      }
      if (errors > 0 || (o.strict && warnings > 0)) throw new Exit(EXIT_PROBLEM);
    });

  const render = program.command('render').description('render a policy for Envoy, Istio, or as Envoy RBAC');
  render
    .command('envoy')
    .description('write a runnable Envoy bootstrap (func-e run -c DIR/envoy.yaml) with its certificates')
    .argument('<policy>', 'policy YAML file')
    .addOption(new Option('--role <role>', 'which filter').choices(['inbound', 'egress', 'egress-sidecar']).makeOptionMandatory())
    .requiredOption('--out <dir>', 'output directory')
    .option('--wasm <path>', 'the module to load', 'build/meshgate.wasm')
    .option('--certs <dir>', 'use existing ca.pem, proxy.pem, proxy-key.pem from DIR instead of minting demo ones')
    .action(async (file: string, o: { role: string; out: string; wasm: string; certs?: string }) => {
      const r = compileOrReport(file, io);
      const written = await renderEnvoy({ role: role(o.role, ['inbound', 'egress', 'egress-sidecar']) as 'inbound', compiled: r, outDir: o.out, wasmFile: o.wasm, certsDir: o.certs });
      for (const f of written.files) io.out(f);
      io.out(`run it: func-e run -c ${written.bootstrap}`);
    });
  render
    .command('istio')
    .description('print WasmPlugin (or TrafficExtension) manifests for the policy')
    .argument('<policy>', 'policy YAML file')
    .addOption(new Option('--role <role>', 'which filter').choices(['inbound', 'egress']).makeOptionMandatory())
    .requiredOption('--url <url>', 'where Istio fetches the module: oci://…, https://…, file://…')
    .option('--selector <k=v...>', 'workload selector labels')
    .option('--wasm <path>', 'local module, to compute sha256 for http(s)/file URLs', 'build/meshgate.wasm')
    .option('--oci-layout <dir>', 'OCI image layout from `meshgate package oci`, to take the manifest digest for oci:// URLs')
    .option('--name <name>', 'resource name')
    .option('--namespace <ns>', 'resource namespace')
    .addOption(new Option('--api <api>', 'resource kind').choices(['wasmplugin', 'traffic-extension']).default('wasmplugin'))
    .action(async (file: string, o: { role: string; url: string; selector?: string[]; wasm: string; ociLayout?: string; name?: string; namespace?: string; api: string }) => {
      const r = compileOrReport(file, io);
      const { renderIstioCli } = await import('./render/istio-cli');
      io.out(renderIstioCli({ ...o, policyJson: r.json }));
    });
  render
    .command('rbac')
    .description("print the inbound policy as Envoy RBAC HTTP filters (what RBAC cannot express is listed on stderr)")
    .argument('<policy>', 'policy YAML file')
    .action((file: string) => {
      const r = compileOrReport(file, io);
      const out = renderRbac(r.normalized!);
      for (const u of out.unsupported) io.err(`not expressible in RBAC: ${u}`);
      io.out(stringify(out.filters));
    });

  program
    .command('package')
    .description('package the module for distribution')
    .command('oci')
    .description('write an OCI image layout holding the module in the format Istio pulls (no Docker needed)')
    .requiredOption('--out <dir>', 'output directory (an OCI image layout)')
    .option('--wasm <path>', 'the module', 'build/meshgate.wasm')
    .option('--tag <tag>', 'image tag', 'latest')
    .action(async (o: { out: string; wasm: string; tag: string }) => {
      const { packageOci } = await import('./package/oci');
      const r = packageOci({ wasmFile: o.wasm, outDir: o.out, tag: o.tag });
      io.out(`${o.out}: manifest ${r.manifestDigest}`);
      io.out(`push it (e.g. crane push ${o.out} REGISTRY/meshgate:${o.tag}) and use --url oci://REGISTRY/meshgate:${o.tag} with --oci-layout ${o.out}`);
    });

  program
    .command('eval')
    .description('run the compiled filter in the emulator on one request and print decision, rule and reason')
    .argument('<policy>', 'policy YAML file')
    .addOption(new Option('--role <role>', 'which filter').choices(['inbound', 'egress']).makeOptionMandatory())
    .option('--identity <id>', 'caller SPIFFE ID (omit: no client certificate)')
    .option('--method <m>', 'inbound: request method', 'GET')
    .option('--path <p>', 'inbound: request path', '/')
    .option('--host <h>', 'egress: target host')
    .option('--port <n>', 'egress: target port')
    .option('--connect', 'egress: a CONNECT request')
    .option('--scheme <s>', 'egress: request scheme', 'https')
    .option('--xfcc <header>', 'x-forwarded-client-cert as the filter receives it')
    .option('--json', 'print the result as JSON')
    .action(async (file: string, o: Record<string, string | boolean | undefined>) => {
      const r = compileOrReport(file, io);
      if (o.role === 'egress' && !o.host) throw new CommanderError(EXIT_USAGE, 'meshgate.eval', 'egress: --host is required');
      const res = await evalRequest({
        compiled: r,
        role: o.role as 'inbound' | 'egress',
        identity: o.identity as string | undefined,
        method: o.method as string,
        path: o.path as string,
        host: o.host as string | undefined,
        port: o.port === undefined ? undefined : Number(o.port),
        connect: Boolean(o.connect),
        scheme: o.scheme as string,
        xfcc: o.xfcc as string | undefined,
      });
      if (o.json) io.out(JSON.stringify(res, null, 2));
      else {
        io.out(`decision: ${res.decision}`);
        io.out(`rule:     ${res.rule}`);
        io.out(`identity: ${res.identity}`);
        if (res.status) io.out(`response: ${res.status} ${res.details ?? ''}`.trimEnd());
        io.out(`why:      ${res.explanation}`);
      }
    });

  program
    .command('test')
    .description('run scenario files against the emulator, real Envoy, or both; last line: N passed, N failed')
    .argument('<scenario...>', 'scenario YAML files')
    .addOption(new Option('--target <target>', 'where requests go').choices(['emulator', 'envoy', 'both']).default('emulator'))
    .option('--coverage', 'report which rules the scenarios exercised')
    .option('--require-coverage', 'fail when a rule is hit by no scenario')
    .action(async (files: string[], o: { target: string; coverage?: boolean; requireCoverage?: boolean }) => {
      const targets: Target[] = o.target === 'both' ? ['envoy', 'emulator'] : [o.target as Target];
      const summary: RunSummary = { results: [], passed: 0, failed: 0, bypasses: 0, disagreements: 0 };
      const hits = new Map<Scenario, Map<string, number>>();
      const scenarios: Scenario[] = [];
      for (const file of files) {
        let scenario: Scenario;
        try {
          scenario = loadScenario(file);
        } catch (e) {
          if (e instanceof ScenarioError) {
            for (const m of e.messages) io.err(m);
            summary.failed++;
            continue;
          }
          throw e;
        }
        scenarios.push(scenario);
        hits.set(scenario, new Map());
        try {
          await runScenario(
            scenario,
            {
              targets,
              onResult: (res) => io.out(formatResult(res)),
              onRule: (s, rule) => hits.get(s)!.set(rule, (hits.get(s)!.get(rule) ?? 0) + 1),
            },
            startTarget,
            summary,
          );
        } catch (e) {
          io.err(`${file}: ${(e as Error).message}`);
          summary.failed++;
        }
      }
      let uncovered = 0;
      if (o.coverage || o.requireCoverage) {
        for (const s of scenarios) {
          const names = ruleNames(s);
          io.out(`coverage ${s.file}:`);
          for (const n of names) {
            const count = hits.get(s)!.get(n) ?? 0;
            if (count === 0) uncovered++;
            io.out(`  ${count === 0 ? 'NEVER HIT' : `${count} decision(s)`.padEnd(9)}  ${n}`);
          }
        }
      }
      if (summary.bypasses > 0) io.out(`${summary.bypasses} bypass(es): requests the policy denies reached the upstream`);
      io.out(`${summary.passed} passed, ${summary.failed} failed`);
      if (summary.failed > 0 || (o.requireCoverage && uncovered > 0)) throw new Exit(EXIT_PROBLEM);
    });

  return program;
}

function ruleNames(s: Scenario): string[] {
  const section = (s.policy[s.role] ?? {}) as { rules?: { name: string }[] };
  return (section.rules ?? []).map((r) => r.name);
}

/** Runs the CLI; resolves with the exit code (never calls process.exit). */
export async function main(argv: string[], io: Io = { out: (s) => console.log(s), err: (s) => console.error(s) }): Promise<number> {
  const program = buildProgram(io);
  if (argv.length === 0) {
    program.outputHelp();
    return EXIT_USAGE;
  }
  try {
    await program.parseAsync(argv, { from: 'user' });
    return EXIT_OK;
  } catch (e) {
    if (e instanceof Exit) return e.code;
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.exitCode === 0) return EXIT_OK;
      if (!['commander.unknownCommand', 'commander.missingMandatoryOptionValue', 'commander.invalidArgument', 'commander.missingArgument', 'commander.unknownOption', 'commander.optionMissingArgument', 'commander.excessArguments', 'commander.help'].includes(e.code)) {
        io.err(e.message);
      }
      return EXIT_USAGE;
    }
    io.err(`meshgate: ${(e as Error).message}`);
    return EXIT_PROBLEM;
  }
}

export function resolveFrom(base: string, p: string): string {
  return path.isAbsolute(p) ? p : path.resolve(base, p);
}

export function exists(p: string): boolean {
  return fs.existsSync(p);
}
