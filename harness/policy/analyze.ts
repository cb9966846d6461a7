/**
 * Static analysis of a VALID policy: findings that do not make it invalid but probably are not
 * what its author meant. Each warning has a position, a message that names the rules involved and
 * a stable code (diagnostics.ts WarningCode):
 *
 *   never-matches        a rule whose fields exclude each other (`from` and `notFrom` the same,
 *                        every path also excluded by the negated list, `hosts` together with
 *                        `cidrs`, ...); for an audit rule: it will never log or count anything
 *   shadowed-by-deny     an allow rule whose every request an enforced deny rule denies, or a deny
 *                        rule an earlier deny rule always decides first
 *   unreachable          an enforced allow rule an earlier allow rule always decides first
 *   duplicate-rule       the same matchers as an earlier rule (whatever the action)
 *   allow-deny-overlap   an enforced allow and an enforced deny rule that may both match a request
 *                        (the deny wins) — often intended, worth a look
 *   duplicate-entry      a list entry another entry of the same list already covers
 *   broad-identity       an allow rule for `*` (any identity of the trust domain) with no path
 *                        (inbound) or destination (egress) limit
 *   unauthenticated-allow an allow rule without `from`: it admits unauthenticated callers
 *   broad-host           `*.com`: a wildcard directly under a top-level domain
 *   inert-option         an egress rule option that cannot act: `tunnel` on a deny rule (it opens
 *                        no tunnel), `privateAddresses` on an audit rule (it never decides, so the
 *                        address guard grants it nothing)
 *   global-audit         `mode: audit`: nothing is enforced
 *   no-sections          neither `inbound` nor `egress`
 *
 * The set reasoning is conservative: "contained" and "disjoint" are claimed only when provable
 * from the patterns (never a false shadowing claim); overlaps are reported unless disjointness is
 * provable.
 */
import type { CompileResult } from './compile';
import { sortDiagnostics, type Warning, type WarningCode } from './diagnostics';
import { compileList, fieldsOf, listNames, listOf, listsOf, type MatchField, type RuleList } from './fields';
import type { NormalizedPolicy, NormalizedRule, NormalizedSection, Role } from './model';
import { dimDisjoint, dimEmpty, dimEqual, dimSubset, type Dim, type EntryOps } from './sets';
import type { PolicySource } from './source';

// ---- a rule as dimensions -------------------------------------------------------------------

/** One field's pair of lists in a rule, compiled, with the field's set operations. */
interface FieldSets extends Dim<unknown> {
  field: MatchField;
  ops: EntryOps<unknown>;
  /** Another field of its universe has a positive list: this part holds nothing. */
  none: boolean;
}

/** A rule as a product of dimensions; a dimension is one field, or the parts of a universe
 *  that fields split (fields.ts FieldAnalysis.part): a request lies in one part. */
interface RuleSets {
  rule: NormalizedRule;
  dims: FieldSets[][];
  byField: Map<MatchField, FieldSets>;
}

/** The dimensions of a role's rules; a shared universe sits where its last part is. */
function dimensionsOf(role: Role): MatchField[][] {
  const fields = fieldsOf(role);
  const universe = (f: MatchField) => f.analysis.part?.universe;
  return fields.flatMap((f, i) => {
    const u = universe(f);
    if (u === undefined) return [[f]];
    return fields.slice(i + 1).some((g) => universe(g) === u) ? [] : [fields.filter((g) => universe(g) === u)];
  });
}

function ruleSets(rule: NormalizedRule, dims: MatchField[][], trustDomain: string): RuleSets {
  const compiled = (f: MatchField, negated: boolean) => {
    const list = listOf(rule, negated ? f.negation : f.name);
    return list === undefined ? undefined : compileList(f, list, { action: rule.action, negated });
  };
  const byField = new Map<MatchField, FieldSets>();
  const sets = dims.map((parts) =>
    parts.map((field) => {
      const none = parts.some((g) => g !== field && listOf(rule, g.name) !== undefined);
      const fs: FieldSets = { field, ops: field.analysis.ops(trustDomain), pos: compiled(field, false), neg: compiled(field, true), none };
      byField.set(field, fs);
      return fs;
    }),
  );
  return { rule, dims: sets, byField };
}

function partEmpty(p: FieldSets): boolean {
  return p.none || dimEmpty(p.ops, p);
}

/** Why the rule matches nothing, or null. */
function emptyReason(r: RuleSets): string | null {
  for (const parts of r.dims) {
    const given = parts.filter((p) => p.pos !== undefined);
    if (given.length > 1) {
      const names = given.map((p) => `\`${p.field.name}\``).join(' and ');
      const kinds = given.map((p) => p.field.analysis.part!.as).join(' or ');
      return `it has both ${names}, but a ${given[0].field.analysis.part!.universe} is either ${kinds} (use two rules)`;
    }
    if (parts.every(partEmpty)) {
      const p = given[0] ?? parts[parts.length - 1];
      return p.field.analysis.emptyMessage((p.neg ?? []).some((n) => p.ops.full(n)));
    }
  }
  return null;
}

/** Every request rule a matches, rule b matches. */
function subset(a: RuleSets, b: RuleSets): boolean {
  return a.dims.every((parts, i) =>
    parts.every((x, j) => {
      const y = b.dims[i][j];
      return partEmpty(x) || (!y.none && dimSubset(x.ops, x, y));
    }),
  );
}

/** No request matches both rules. */
function disjoint(a: RuleSets, b: RuleSets): boolean {
  return a.dims.some((parts, i) =>
    parts.every((x, j) => {
      const y = b.dims[i][j];
      return partEmpty(x) || partEmpty(y) || dimDisjoint(x.ops, x, y);
    }),
  );
}

function sameMatchers(role: Role, a: NormalizedRule, b: NormalizedRule): boolean {
  return listNames(role).every((f) => dimEqual(listOf(a, f), listOf(b, f)));
}

/** No destination field limits the rule (each is omitted or has an entry covering everything). */
function unlimited(r: RuleSets): boolean {
  return [...r.byField.values()]
    .filter((p) => p.field.analysis.destination)
    .every((p) => !p.none && (p.pos === undefined || p.pos.some((e) => p.ops.full(e))));
}

/** What an allow rule for any identity lets it do when no destination field limits it. */
const REACH: Record<Role, string> = { inbound: 'call any path', egress: 'reach any destination' };

// ---- the analysis ---------------------------------------------------------------------------

export interface AnalyzeOptions {
  /** Codes to leave out. */
  ignore?: WarningCode[];
}

/** Analyzes a compiled policy (compile.ts); an invalid one has no warnings (fix its errors). */
export function analyzeCompiled(compiled: CompileResult, options: AnalyzeOptions = {}): Warning[] {
  if (!compiled.ok || !compiled.normalized) return [];
  return analyzePolicy(compiled.normalized, compiled.source, options);
}

/** Analyzes a valid normalized policy; `source` places the warnings. */
export function analyzePolicy(policy: NormalizedPolicy, source: PolicySource, options: AnalyzeOptions = {}): Warning[] {
  const out: Warning[] = [];
  const ignore = new Set(options.ignore ?? []);
  const warn = (code: WarningCode, path: string, message: string, part: 'key' | 'value' = 'value') => {
    if (ignore.has(code)) return;
    const d = source.diagnostic(path, message, part);
    out.push({ ...d, code });
  };

  if (policy.mode === 'audit') warn('global-audit', 'mode', 'the whole policy is in audit mode: nothing is enforced, every deny is only logged and counted as a would-deny');
  if (!policy.inbound && !policy.egress) warn('no-sections', '(document)', 'the policy has neither an inbound nor an egress section: no filter can use it');

  for (const section of [policy.inbound, policy.egress]) if (section) analyzeSection(policy, section, warn);
  return sortDiagnostics(out);
}

type Warn = (code: WarningCode, path: string, message: string, part?: 'key' | 'value') => void;

function analyzeSection(policy: NormalizedPolicy, section: NormalizedSection, warn: Warn): void {
  const role = section.role;
  const td = policy.trustDomain;
  const q = (s: string) => JSON.stringify(s);
  const ref = (r: NormalizedRule) => `${r.mode === 'audit' ? 'audit ' : ''}${r.action} rule ${q(r.name)} (${r.path})`;
  const dims = dimensionsOf(role);
  const sets = section.rules.map((r) => ruleSets(r, dims, td));
  const lists = listsOf(role);

  // entries: what they name (e.g. outside the trust domain), redundant within their list, too broad
  for (const r of section.rules) {
    const s = sets[r.index];
    const compiled = (l: RuleList) => {
      const p = s.byField.get(l.field)!;
      return l.negated ? p.neg : p.pos;
    };
    for (const l of lists) {
      const note = l.field.analysis.entryWarning;
      if (!note) continue;
      compiled(l)?.forEach((e, k) => {
        const w = note(e, listOf(r, l.name)![k] as string, td);
        if (w) warn(w.code, `${r.path}.${l.name}[${k}]`, w.message);
      });
    }
    for (const l of lists) {
      const list = compiled(l);
      if (!list) continue;
      const ops = s.byField.get(l.field)!.ops;
      const raw = listOf(r, l.name)!;
      list.forEach((a, k) => {
        const by = list.findIndex((b, j) => j !== k && ops.covers(b, a) && (!ops.covers(a, b) || j < k));
        if (by >= 0) {
          const same = JSON.stringify(raw[by]) === JSON.stringify(raw[k]);
          warn('duplicate-entry', `${r.path}.${l.name}[${k}]`, same ? `${JSON.stringify(raw[k])} is listed twice` : `${JSON.stringify(raw[k])} is already covered by ${JSON.stringify(raw[by])}`);
        }
      });
    }
    if (r.action === 'allow' && r.mode === 'enforce') {
      for (const l of lists) {
        const note = l.field.analysis.grantWarning;
        if (!note || l.negated) continue;
        listOf(r, l.name)?.forEach((e, k) => {
          const w = note(e as string);
          if (w) warn(w.code, `${r.path}.${l.name}[${k}]`, w.message);
        });
      }
    }
  }

  for (const r of section.rules) {
    if (r.action === 'deny' && r.tunnel === 'any') {
      warn('inert-option', `${r.path}.tunnel`, `rule ${q(r.name)} is a deny rule: \`tunnel: any\` has no effect (a deny rule opens no tunnel)`);
    }
    if (r.mode === 'audit' && r.privateAddresses !== undefined) {
      warn('inert-option', `${r.path}.privateAddresses`, `audit rule ${q(r.name)} never decides, so the address guard grants its privateAddresses to nothing`);
    }
  }

  // rules that match nothing
  const empty = sets.map(emptyReason);
  section.rules.forEach((r, i) => {
    const why = empty[i];
    if (why === null) return;
    const what = r.mode === 'audit' ? `audit rule ${q(r.name)} can never match, so it will never log or count anything` : `rule ${q(r.name)} can never match`;
    warn('never-matches', r.path, `${what}: ${why}`);
  });

  // pairs
  const live = section.rules.filter((r) => empty[r.index] === null);
  const enforcedDeny = live.filter((r) => r.mode === 'enforce' && r.action === 'deny');
  const enforcedAllow = live.filter((r) => r.mode === 'enforce' && r.action === 'allow');
  const reported = new Set<number>();

  for (const r of live) {
    const dup = live.find((o) => o.index < r.index && sameMatchers(role, o, r));
    if (dup) {
      const tail = dup.action !== r.action && dup.mode === 'enforce' && r.mode === 'enforce' ? '; the deny rule decides' : '';
      warn('duplicate-rule', r.path, `rule ${q(r.name)} has the same matchers as ${ref(dup)}${tail}`);
      reported.add(r.index);
    }
  }

  for (const r of live) {
    if (reported.has(r.index)) continue;
    if (r.mode === 'audit' && r.action === 'deny') continue; // evaluated on its own, never shadowed
    const denies = enforcedDeny.filter((d) => d.index !== r.index && (r.action === 'allow' || d.index < r.index));
    const shadow = denies.find((d) => subset(sets[r.index], sets[d.index]));
    if (shadow) {
      const msg = r.action === 'allow'
        ? r.mode === 'audit'
          ? `audit rule ${q(r.name)} could never allow anything: every request it matches is denied by ${ref(shadow)}`
          : `rule ${q(r.name)} can never allow anything: every request it matches is denied by ${ref(shadow)}`
        : `rule ${q(r.name)} never decides: the earlier ${ref(shadow)} matches every request it matches`;
      warn('shadowed-by-deny', r.path, msg);
      continue;
    }
    if (r.mode === 'enforce' && r.action === 'allow') {
      const first = enforcedAllow.find((a) => a.index < r.index && subset(sets[r.index], sets[a.index]));
      if (first) {
        warn('unreachable', r.path, `rule ${q(r.name)} is unreachable: the earlier ${ref(first)} allows every request it matches first`);
        continue;
      }
      for (const d of enforcedDeny) {
        if (!disjoint(sets[r.index], sets[d.index])) {
          warn('allow-deny-overlap', r.path, `rule ${q(r.name)} overlaps ${ref(d)}: requests matching both are denied`);
        }
      }
    }
  }

  // over-broad enforced allow rules
  for (const r of live) {
    if (r.action !== 'allow' || r.mode !== 'enforce') continue;
    const facts = {
      rule: r, sectionDefault: section.default, identitySource: policy.identity.from, trustDomain: td, reach: REACH[role], unlimited: unlimited(sets[r.index]),
    };
    for (const f of fieldsOf(role)) {
      for (const w of f.analysis.allowRuleWarnings?.(listOf(r, f.name) as string[] | undefined, facts) ?? []) warn(w.code, w.path, w.message);
    }
  }
}
