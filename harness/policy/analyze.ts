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
 *   literal-parameter    a `paths` segment like `:id` (another router's parameter): here it
 *                        matches only the literal text `:id`; the hint says to use `{*}`
 *   global-audit         `mode: audit`: nothing is enforced
 *   no-sections          neither `inbound` nor `egress`
 *
 * The set reasoning is conservative: "contained" and "disjoint" are claimed only when provable
 * from the patterns (never a false shadowing claim); overlaps are reported unless disjointness is
 * provable.
 */
import type { CompileResult } from './compile';
import { sortDiagnostics, type Warning, type WarningCode } from './diagnostics';
import { keyColumns, RuleIndex } from './analyze-index';
import { fieldsOf, listNames, listOf, listsOf, type RuleList } from './fields';
import type { NormalizedPolicy, NormalizedRule, NormalizedSection, Role } from './model';
import { dimensionsOf, disjoint, emptyReason, ruleSets, subset, type RuleSets } from './rule-sets';
import type { PolicySource } from './source';
import { pathPatternHint } from './patterns';

/** Equal for two rules exactly when every list holds the same entries (as sets.ts dimEqual
 *  compares them: by their JSON, order and repeats aside). */
function matchersKey(role: Role, r: NormalizedRule): string {
  return JSON.stringify(listNames(role).map((f) => {
    const list = listOf(r, f);
    return list === undefined ? null : [...new Set(list.map((x) => JSON.stringify(x)))].sort();
  }));
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
  const warn = (code: WarningCode, path: string, message: string, part: 'key' | 'value' = 'value', hint?: string) => {
    if (ignore.has(code)) return;
    const d = source.diagnostic(path, message, part);
    out.push({ ...d, code, ...(hint !== undefined ? { hint } : {}) });
  };

  if (policy.mode === 'audit') warn('global-audit', 'mode', 'the whole policy is in audit mode: nothing is enforced, every deny is only logged and counted as a would-deny');
  if (!policy.inbound && !policy.egress) warn('no-sections', '(document)', 'the policy has neither an inbound nor an egress section: no filter can use it');

  for (const section of [policy.inbound, policy.egress]) if (section) analyzeSection(policy, section, warn);
  return sortDiagnostics(out);
}

type Warn = (code: WarningCode, path: string, message: string, part?: 'key' | 'value', hint?: string) => void;

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
    for (const name of ['paths', 'notPaths'] as const) {
      (listOf(r, name) ?? []).forEach((entry, k) => {
        const hint = typeof entry === 'string' ? pathPatternHint(entry) : undefined;
        if (hint !== undefined) warn('literal-parameter', `${r.path}.${name}[${k}]`, `${JSON.stringify(entry)} matches only that literal text`, 'value', hint);
      });
    }
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

  // pairs: each rule against the rules an index says can cover or meet it (analyze-index.ts)
  const live = section.rules.filter((r) => empty[r.index] === null);
  const liveSets = (pred: (r: NormalizedRule) => boolean) => live.filter(pred).map((r) => sets[r.index]);
  const columns = keyColumns(liveSets(() => true), fieldsOf(role));
  const denies = new RuleIndex(liveSets((r) => r.mode === 'enforce' && r.action === 'deny'), columns);
  const allows = new RuleIndex(liveSets((r) => r.mode === 'enforce' && r.action === 'allow'), columns);
  const reported = new Set<number>();

  const firstWithMatchers = new Map<string, NormalizedRule>();
  for (const r of live) {
    const key = matchersKey(role, r);
    const dup = firstWithMatchers.get(key);
    if (!dup) {
      firstWithMatchers.set(key, r);
      continue;
    }
    const tail = dup.action !== r.action && dup.mode === 'enforce' && r.mode === 'enforce' ? '; the deny rule decides' : '';
    warn('duplicate-rule', r.path, `rule ${q(r.name)} has the same matchers as ${ref(dup)}${tail}`);
    reported.add(r.index);
  }

  for (const r of live) {
    if (reported.has(r.index)) continue;
    if (r.mode === 'audit' && r.action === 'deny') continue; // evaluated on its own, never shadowed
    const rs = sets[r.index];
    const shadow = denies.coverers(rs).find(({ rule: d }) => d.index !== r.index && (r.action === 'allow' || d.index < r.index) && subset(rs, sets[d.index]))?.rule;
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
      const first = allows.coverers(rs).find(({ rule: a }) => a.index < r.index && subset(rs, sets[a.index]))?.rule;
      if (first) {
        warn('unreachable', r.path, `rule ${q(r.name)} is unreachable: the earlier ${ref(first)} allows every request it matches first`);
        continue;
      }
      for (const { rule: d } of denies.meeting(rs)) {
        if (!disjoint(rs, sets[d.index])) {
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
