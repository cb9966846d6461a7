/**
 * The learned rules as a policy file: readable YAML, each rule with a comment saying why it
 * exists (requests, first and last seen), checked by the same compiler and analyzer as
 * `meshgate validate`. Entries another entry of the same rule covers (`/users/me` next to
 * `/users/{*}`, `api.stripe.com` next to `*.stripe.com`) are dropped, so the proposal validates
 * with no warnings.
 */
import { compilePolicyText, type CompileResult } from '../policy/compile';
import { formatDiagnostic, formatWarning } from '../policy/diagnostics';
import { analyzeCompiled } from '../policy/analyze';
import type { PolicyDocument } from '../policy/model';
import type { Learner, ProposedRule } from './learn';

/** What the proposal keeps from the current policy (or works out from the identities seen). */
export interface ProposalBase {
  trustDomain: string;
  federatesWith?: string[];
  identity?: PolicyDocument['identity'];
}

export interface Proposal {
  yaml: string;
  rules: ProposedRule[];
  compiled: CompileResult;
  /** Warnings the analyzer still has (none expected), formatted. */
  warnings: string[];
}

/** The base from the current policy, else the most common trust domain (the others federated). */
export function proposalBase(learner: Learner, current?: PolicyDocument): ProposalBase {
  const seen = [...learner.trustDomains.entries()].sort((a, b) => b[1] - a[1]).map(([td]) => td);
  const trustDomain = current?.trustDomain ?? seen[0] ?? 'example.org';
  const federated = new Set(current?.federatesWith ?? []);
  for (const td of seen) if (td !== trustDomain) federated.add(td);
  return {
    trustDomain,
    ...(federated.size ? { federatesWith: [...federated] } : {}),
    ...(current?.identity ? { identity: current.identity } : {}),
  };
}

const q = (v: string | number) => JSON.stringify(v);
const list = (vs: Array<string | number>) => `[${vs.map(q).join(', ')}]`;

function ruleYaml(r: ProposedRule): string[] {
  const when = r.seen.first ? `, first ${r.seen.first}, last ${r.seen.last}` : '';
  const out = [`    # ${r.seen.count} request${r.seen.count === 1 ? '' : 's'}${when}`];
  if (r.tunnelAny) out.push('    # its CONNECT tunnels carried non-TLS bytes, hence tunnel: any');
  out.push(`    - name: ${r.name}`, '      action: allow', `      from: ${list([r.identity])}`);
  if (r.methods) out.push(`      methods: ${list(r.methods)}`);
  if (r.paths) out.push(`      paths: ${list(r.paths)}`);
  if (r.hosts) out.push(`      hosts: ${list(r.hosts)}`);
  if (r.cidrs) out.push(`      cidrs: ${list(r.cidrs)}`);
  if (r.ports) out.push(`      ports: ${list(r.ports)}`);
  if (r.tunnelAny) out.push('      tunnel: any');
  return out;
}

/** The policy YAML of `rules` on `base`, with `header` comment lines on top. */
export function proposalYaml(rules: ProposedRule[], base: ProposalBase, header: string[]): string {
  const out = header.map((h) => `# ${h}`);
  out.push(`trustDomain: ${q(base.trustDomain)}`, 'mode: enforce');
  if (base.federatesWith) out.push(`federatesWith: ${list(base.federatesWith)}`);
  if (base.identity) out.push(`identity: ${JSON.stringify(base.identity)}`);
  for (const role of ['inbound', 'egress'] as const) {
    const rs = rules.filter((r) => r.role === role);
    if (rs.length === 0) continue;
    out.push(`${role}:`, '  default: deny', '  rules:');
    for (const r of rs) out.push(...ruleYaml(r));
  }
  return out.join('\n') + '\n';
}

const ENTRY = /^(inbound|egress)\.rules\[(\d+)\]\.(paths|hosts|cidrs)\[(\d+)\]$/;

/**
 * Renders, compiles and analyzes the proposal; drops covered entries the analyzer names
 * (`duplicate-entry`) and renders again until none is left.
 */
export function buildProposal(rules: ProposedRule[], base: ProposalBase, header: string[], file = 'proposal.yaml'): Proposal {
  for (;;) {
    const yaml = proposalYaml(rules, base, header);
    const compiled = compilePolicyText(yaml, file);
    if (!compiled.ok) throw new Error(`learn produced an invalid policy:\n${compiled.errors.map(formatDiagnostic).join('\n')}\n${yaml}`);
    const warnings = analyzeCompiled(compiled);
    const covered = warnings.map((w) => (w.code === 'duplicate-entry' ? ENTRY.exec(w.path) : null)).filter((m): m is RegExpExecArray => m !== null);
    if (covered.length === 0) return { yaml, rules, compiled, warnings: warnings.map(formatWarning) };
    const [, role, ri, field, ei] = covered[0];
    const rule = rules.filter((r) => r.role === role)[Number(ri)];
    const entries = rule[field as 'paths' | 'hosts' | 'cidrs']!;
    entries.splice(Number(ei), 1);
    rule.examples.splice(Number(ei), 1);
  }
}
