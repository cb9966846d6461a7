/**
 * A scenario file (docs/design.md §4) for a learned proposal: per proposed rule, one request per
 * entry (path, host or address), rebuilt from the first record that showed it, expected to be
 * allowed by that rule. `meshgate test --require-coverage` on it proves every rule is reachable,
 * on the emulator and on real Envoy. One file per role (a scenario file has one role).
 */
import { parseAuthority } from '../policy/patterns';
import type { DecisionRecord } from '../records/record';
import type { ProposedRule } from './learn';
import { shortName } from './learn';
import type { ProposalBase } from './learn-proposal';
import type { RecordDecider } from './replay-decide';

const q = (v: string | number) => JSON.stringify(v);

/**
 * The request fields of an example record (inbound: method, path; egress: host, port, how). A
 * TLS passthrough record becomes an HTTPS request to the same name and port: the same egress
 * rule decides it, and one scenario file can hold both.
 */
function requestFields(r: DecisionRecord): string[] {
  if (r.role === 'inbound') return [`method: ${q(r.method!)}`, `path: ${q(r.path!)}`];
  if (r.role === 'egress-sni') return [`host: ${q(r.sni!)}`, `port: ${r.port}`, 'scheme: https'];
  const a = parseAuthority(r.authority ?? '', { scheme: r.scheme ?? '', connect: r.connect });
  if ('error' in a) throw new Error(`an invalid request was learned: ${r.authority}`);
  const host = 'name' in a ? a.name : a.ip;
  if (r.connect) return [`host: ${q(host)}`, `port: ${a.port}`, 'connect: true'];
  const scheme = r.scheme === 'http' || r.scheme === 'https' ? r.scheme : a.port === 80 ? 'http' : 'https';
  return [`host: ${q(host)}`, `port: ${a.port}`, `scheme: ${scheme}`, ...(r.path ? [`path: ${q(r.path)}`] : [])];
}

/**
 * The scenario YAML for the rules of `role`; `policyPath` as the scenario file will name it
 * (relative to the scenario file). `decider` holds the proposal: of an entry's candidate
 * examples, the first the module decides with the entry's own rule is taken (an earlier rule
 * may win a method both list). `uncovered` gets the rules none of whose examples they win.
 */
export function scenarioYaml(rules: ProposedRule[], role: 'inbound' | 'egress', base: ProposalBase, policyPath: string, decider: RecordDecider, uncovered: string[] = []): string {
  const rs = rules.filter((r) => r.role === role);
  // identity.from local: the sidecar's own identity, whatever the caller presents
  const local = base.identity?.from === 'local';
  const names = new Map<string, string>();
  const taken = new Set<string>();
  for (const r of rs) {
    if (names.has(r.identity)) continue;
    let name = shortName(r.identity);
    for (let i = 2; taken.has(name); i++) name = `${shortName(r.identity)}-${i}`;
    taken.add(name);
    names.set(r.identity, name);
  }
  const out = [
    `name: traffic learned by meshgate learn (${role})`,
    'description: one request per proposed rule and entry, rebuilt from the access log; each must be allowed by its rule',
    `role: ${role}`,
    `policy: ${q(policyPath)}`,
  ];
  if (!local) {
    out.push('identities:');
    for (const [id, name] of names) out.push(`  ${q(name)}: ${q(id)}`);
  }
  out.push('requests:');
  for (const r of rs) {
    const entries = r.paths ?? r.hosts ?? r.cidrs ?? [];
    let covered = false;
    entries.forEach((entry, i) => {
      const ex = r.examples[i].find((c) => decider.decide(c).rule === r.name);
      if (!ex) return;
      covered = true;
      const as = local ? 'none' : names.get(r.identity)!;
      out.push(`  - {name: ${q(`${r.name}: ${entry}`)}, as: ${q(as)}, ${requestFields(ex).join(', ')}, expect: allow, rule: ${q(r.name)}}`);
    });
    if (!covered) uncovered.push(r.name);
  }
  return out.join('\n') + '\n';
}
