/**
 * Static analysis of a VALID policy: findings that do not make it invalid but probably are not
 * what its author meant. Each warning has a position, a message that names the rules involved and
 * a stable code (diagnostics.ts WarningCode):
 *
 *   never-matches        a rule whose fields exclude each other (`from` and `notFrom` the same,
 *                        every path also in `notPaths`, `hosts` together with `cidrs`, ...); for
 *                        an audit rule: it will never log or count anything
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
 *   foreign-identity     an identity outside `trustDomain` (it matches, because listed explicitly)
 *   global-audit         `mode: audit`: nothing is enforced
 *   no-sections          neither `inbound` nor `egress`
 *
 * The set reasoning is conservative: "contained" and "disjoint" are claimed only when provable
 * from the patterns (never a false shadowing claim); overlaps are reported unless disjointness is
 * provable.
 */
import type { CompileResult } from './compile';
import { sortDiagnostics, type Warning, type WarningCode } from './diagnostics';
import type { MatcherField, NormalizedPolicy, NormalizedRule, NormalizedSection, Role } from './model';
import {
  cidrContains, matchPathPattern, parseCidr, parseFromEntry, parseHostPattern, parsePathPattern, pathFold,
  type Cidr, type FromEntry, type HostPattern, type PathPattern,
} from './patterns';
import type { PolicySource } from './source';
import { trustDomainOf } from './spiffe';

// ---- sets of entries: one matcher field pair (positive list, negated list) ------------------

/** Operations on the entries of one dimension; every answer must be sound (never a false yes). */
interface EntryOps<E> {
  /** a ⊆ b */
  covers(b: E, a: E): boolean;
  /** a ∩ b = ∅ */
  disjoint(a: E, b: E): boolean;
  /** b is the whole universe of the dimension */
  full(b: E): boolean;
}

/** pos undefined = the field is omitted (everything); neg undefined = nothing excluded. */
interface Dim<E> {
  pos?: E[];
  neg?: E[];
}

/** An entry excluded by the negated list contributes nothing. */
function live<E>(ops: EntryOps<E>, d: Dim<E>, a: E): boolean {
  return !(d.neg ?? []).some((m) => ops.covers(m, a));
}

function dimEmpty<E>(ops: EntryOps<E>, d: Dim<E>): boolean {
  if ((d.neg ?? []).some((m) => ops.full(m))) return true;
  return d.pos !== undefined && d.pos.every((a) => !live(ops, d, a));
}

/** S(A) ⊆ S(B) */
function dimSubset<E>(ops: EntryOps<E>, A: Dim<E>, B: Dim<E>): boolean {
  if (dimEmpty(ops, A)) return true;
  const posOk =
    B.pos === undefined ||
    B.pos.some((b) => ops.full(b)) ||
    (A.pos !== undefined && A.pos.every((a) => !live(ops, A, a) || B.pos!.some((b) => ops.covers(b, a))));
  if (!posOk) return false;
  return (B.neg ?? []).every(
    (n) =>
      (A.neg ?? []).some((m) => ops.covers(m, n)) ||
      (A.pos !== undefined && A.pos.every((a) => !live(ops, A, a) || ops.disjoint(a, n))),
  );
}

/** S(A) ∩ S(B) = ∅ */
function dimDisjoint<E>(ops: EntryOps<E>, A: Dim<E>, B: Dim<E>): boolean {
  if (dimEmpty(ops, A) || dimEmpty(ops, B)) return true;
  const outside = (X: Dim<E>, Y: Dim<E>) =>
    X.pos !== undefined &&
    X.pos.every(
      (a) =>
        !live(ops, X, a) ||
        (Y.neg ?? []).some((n) => ops.covers(n, a)) ||
        (Y.pos !== undefined && Y.pos.every((b) => ops.disjoint(a, b))),
    );
  return outside(A, B) || outside(B, A);
}

function dimEqual<T>(a: T[] | undefined, b: T[] | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  const sa = new Set(a.map((x) => JSON.stringify(x)));
  const sb = new Set(b.map((x) => JSON.stringify(x)));
  return sa.size === sb.size && [...sa].every((x) => sb.has(x));
}

// ---- entry kinds ----------------------------------------------------------------------------

function identityOps(trustDomain: string): EntryOps<FromEntry> {
  const td = (e: FromEntry) => (e.kind === 'any' ? trustDomain : trustDomainOf(e.kind === 'exact' ? e.id : e.prefix));
  const key = (e: FromEntry) => (e.kind === 'exact' ? e.id : e.kind === 'prefix' ? e.prefix : '');
  return {
    covers(b, a) {
      if (b.kind === 'any') return td(a) === trustDomain;
      if (b.kind === 'exact') return a.kind === 'exact' && a.id === b.id;
      return a.kind !== 'any' && key(a).startsWith(b.prefix);
    },
    disjoint(a, b) {
      if (a.kind === 'any' || b.kind === 'any') return td(a) !== td(b);
      if (a.kind === 'exact' && b.kind === 'exact') return a.id !== b.id;
      const [x, y] = [key(a), key(b)];
      if (a.kind === 'exact') return !x.startsWith(y);
      if (b.kind === 'exact') return !y.startsWith(x);
      return !x.startsWith(y) && !y.startsWith(x);
    },
    full: () => false, // unauthenticated callers are in no list
  };
}

const valueOps: EntryOps<string | number> = {
  covers: (b, a) => a === b,
  disjoint: (a, b) => a !== b,
  full: () => false,
};

interface PathEntry {
  pat: PathPattern;
  fold: boolean;
}

function lower(s: string): string {
  return s.replace(/[A-Z]+/g, (m) => m.toLowerCase());
}

function lowerPattern(p: PathPattern): PathPattern {
  switch (p.kind) {
    case 'any':
      return p;
    case 'exact':
      return { kind: 'exact', path: lower(p.path) };
    case 'prefix':
      return { kind: 'prefix', prefix: lower(p.prefix) };
    case 'suffix':
      return { kind: 'suffix', suffix: lower(p.suffix) };
    case 'template':
      return { kind: 'template', segments: p.segments.map((s) => (s.kind === 'literal' ? { kind: 'literal', text: lower(s.text) } : s)) };
  }
}

function hasLetters(p: PathPattern): boolean {
  const texts =
    p.kind === 'exact' ? [p.path] : p.kind === 'prefix' ? [p.prefix] : p.kind === 'suffix' ? [p.suffix] : p.kind === 'template' ? p.segments.map((s) => (s.kind === 'literal' ? s.text : '')) : [];
  return texts.some((t) => /[A-Za-z]/.test(t));
}

/** The literal start every path a template matches begins with ("/charges/{*}/x" → "/charges/"). */
function templateLead(p: Extract<PathPattern, { kind: 'template' }>): string {
  const lits: string[] = [];
  for (const s of p.segments) {
    if (s.kind !== 'literal') break;
    lits.push(s.text);
  }
  return '/' + lits.map((l) => l + '/').join('');
}

const pathOps: EntryOps<PathEntry> = {
  covers(B, A) {
    if (B.pat.kind === 'any') return true;
    const aFold = A.fold && hasLetters(A.pat);
    if (aFold && !B.fold) return false;
    const a = B.fold ? lowerPattern(A.pat) : A.pat;
    const b = B.fold ? lowerPattern(B.pat) : B.pat;
    switch (a.kind) {
      case 'any':
        return false;
      case 'exact':
        return matchPathPattern(b, a.path);
      case 'prefix':
        return b.kind === 'prefix' && a.prefix.startsWith(b.prefix);
      case 'suffix':
        return b.kind === 'suffix' && a.suffix.endsWith(b.suffix);
      case 'template': {
        if (b.kind === 'prefix') return templateLead(a).startsWith(b.prefix);
        if (b.kind === 'suffix') {
          const last = a.segments[a.segments.length - 1];
          return last.kind === 'literal' && last.text.endsWith(b.suffix);
        }
        if (b.kind !== 'template') return false;
        for (let i = 0; ; i++) {
          const [x, y] = [a.segments[i], b.segments[i]];
          if (y === undefined) return x === undefined;
          if (y.kind === 'rest') return x !== undefined; // {**} needs the '/' a further segment brings
          if (x === undefined || x.kind === 'rest') return false;
          if (y.kind === 'one') continue; // a literal or {*} is one non-empty segment
          if (x.kind !== 'literal' || x.text !== y.text) return false;
        }
      }
    }
    return false;
  },
  disjoint(A, B) {
    const fold = A.fold || B.fold;
    const a = fold ? lowerPattern(A.pat) : A.pat;
    const b = fold ? lowerPattern(B.pat) : B.pat;
    if (a.kind === 'any' || b.kind === 'any') return false;
    if (a.kind === 'exact') return !matchPathPattern(b, a.path);
    if (b.kind === 'exact') return !matchPathPattern(a, b.path);
    const startsEither = (x: string, y: string) => x.startsWith(y) || y.startsWith(x);
    if (a.kind === 'prefix' && b.kind === 'prefix') return !startsEither(a.prefix, b.prefix);
    if (a.kind === 'suffix' && b.kind === 'suffix') return !(a.suffix.endsWith(b.suffix) || b.suffix.endsWith(a.suffix));
    if (a.kind === 'prefix' && b.kind === 'template') return !startsEither(a.prefix, templateLead(b));
    if (b.kind === 'prefix' && a.kind === 'template') return !startsEither(b.prefix, templateLead(a));
    const suffixVsTemplate = (s: string, t: Extract<PathPattern, { kind: 'template' }>) => {
      const last = t.segments[t.segments.length - 1];
      return last.kind === 'literal' && !last.text.endsWith(s);
    };
    if (a.kind === 'suffix' && b.kind === 'template') return suffixVsTemplate(a.suffix, b);
    if (b.kind === 'suffix' && a.kind === 'template') return suffixVsTemplate(b.suffix, a);
    if (a.kind === 'template' && b.kind === 'template') {
      for (let i = 0; ; i++) {
        const [x, y] = [a.segments[i], b.segments[i]];
        if (x === undefined && y === undefined) return false;
        if (x === undefined || y === undefined) return true; // one ends, the other needs more
        if (x.kind === 'rest' || y.kind === 'rest') return false;
        if (x.kind === 'literal' && y.kind === 'literal' && x.text !== y.text) return true;
      }
    }
    return false;
  },
  full: (B) => B.pat.kind === 'any',
};

const hostOps: EntryOps<HostPattern> = {
  covers(b, a) {
    if (b.kind === 'exact') return a.kind === 'exact' && a.name === b.name;
    const under = (n: string) => n.endsWith('.' + b.base);
    return a.kind === 'exact' ? under(a.name) : a.base === b.base || under(a.base);
  },
  disjoint(a, b) {
    if (a.kind === 'exact' && b.kind === 'exact') return a.name !== b.name;
    if (a.kind === 'exact') return !a.name.endsWith('.' + (b as { base: string }).base);
    if (b.kind === 'exact') return !b.name.endsWith('.' + a.base);
    return !(a.base === b.base || a.base.endsWith('.' + b.base) || b.base.endsWith('.' + a.base));
  },
  full: () => false,
};

const cidrOps: EntryOps<Cidr> = {
  covers: (b, a) => cidrContains(b, a),
  disjoint: (a, b) => !cidrContains(a, b) && !cidrContains(b, a),
  full: (b) => b.bits === 0,
};

// ---- a rule as dimensions -------------------------------------------------------------------

interface RuleSets {
  rule: NormalizedRule;
  identity: Dim<FromEntry>;
  methods: Dim<string | number>;
  paths: Dim<PathEntry>;
  /** Egress targets: names and IP literals are separate universes. `none` = cannot be one. */
  names: Dim<HostPattern> & { none: boolean };
  ips: Dim<Cidr> & { none: boolean };
  ports: Dim<string | number>;
}

function ok<T>(r: T | { error: string }): T {
  if (typeof r === 'object' && r !== null && 'error' in r) throw new Error(`analyze: invalid entry (${r.error}); validate first`);
  return r as T;
}

function ruleSets(rule: NormalizedRule): RuleSets {
  const map = <T, E>(list: T[] | undefined, f: (x: T) => E) => (list === undefined ? undefined : list.map(f));
  return {
    rule,
    identity: { pos: map(rule.from, (e) => ok(parseFromEntry(e))), neg: map(rule.notFrom, (e) => ok(parseFromEntry(e))) },
    methods: { pos: rule.methods, neg: rule.notMethods },
    paths: {
      pos: map(rule.paths, (p) => ({ pat: ok(parsePathPattern(p)), fold: pathFold(rule.action, 'paths') })),
      neg: map(rule.notPaths, (p) => ({ pat: ok(parsePathPattern(p)), fold: pathFold(rule.action, 'notPaths') })),
    },
    names: { pos: map(rule.hosts, (h) => ok(parseHostPattern(h))), neg: map(rule.notHosts, (h) => ok(parseHostPattern(h))), none: rule.cidrs !== undefined },
    ips: { pos: map(rule.cidrs, (c) => ok(parseCidr(c))), neg: map(rule.notCidrs, (c) => ok(parseCidr(c))), none: rule.hosts !== undefined },
    ports: { pos: rule.ports, neg: rule.notPorts },
  };
}

class SetLogic {
  readonly id: EntryOps<FromEntry>;

  constructor(readonly role: Role, trustDomain: string) {
    this.id = identityOps(trustDomain);
  }

  private namesEmpty(x: RuleSets['names']): boolean {
    return x.none || dimEmpty(hostOps, x);
  }

  private ipsEmpty(x: RuleSets['ips']): boolean {
    return x.none || dimEmpty(cidrOps, x);
  }

  /** Why the rule matches nothing, or null. */
  emptyReason(r: RuleSets): string | null {
    if (dimEmpty(this.id, r.identity)) return 'every identity in `from` is also excluded by `notFrom`';
    if (this.role === 'inbound') {
      if (dimEmpty(valueOps, r.methods)) return 'every method in `methods` is also in `notMethods`';
      if (dimEmpty(pathOps, r.paths)) return (r.paths.neg ?? []).some((n) => n.pat.kind === 'any') ? '`notPaths` excludes every path' : 'every path in `paths` is also excluded by `notPaths`';
      return null;
    }
    if (dimEmpty(valueOps, r.ports)) return 'every port in `ports` is also in `notPorts`';
    if (r.rule.hosts !== undefined && r.rule.cidrs !== undefined) return 'it has both `hosts` and `cidrs`, but a target is either a name or an IP address (use two rules)';
    if (this.namesEmpty(r.names) && this.ipsEmpty(r.ips)) {
      return r.rule.hosts !== undefined ? 'every host in `hosts` is also excluded by `notHosts`' : 'every network in `cidrs` is also excluded by `notCidrs`';
    }
    return null;
  }

  subset(a: RuleSets, b: RuleSets): boolean {
    if (!dimSubset(this.id, a.identity, b.identity)) return false;
    if (this.role === 'inbound') return dimSubset(valueOps, a.methods, b.methods) && dimSubset(pathOps, a.paths, b.paths);
    if (!dimSubset(valueOps, a.ports, b.ports)) return false;
    const namesOk = this.namesEmpty(a.names) || (!b.names.none && dimSubset(hostOps, a.names, b.names));
    const ipsOk = this.ipsEmpty(a.ips) || (!b.ips.none && dimSubset(cidrOps, a.ips, b.ips));
    return namesOk && ipsOk;
  }

  disjoint(a: RuleSets, b: RuleSets): boolean {
    if (dimDisjoint(this.id, a.identity, b.identity)) return true;
    if (this.role === 'inbound') return dimDisjoint(valueOps, a.methods, b.methods) || dimDisjoint(pathOps, a.paths, b.paths);
    if (dimDisjoint(valueOps, a.ports, b.ports)) return true;
    const namesApart = this.namesEmpty(a.names) || this.namesEmpty(b.names) || dimDisjoint(hostOps, a.names, b.names);
    const ipsApart = this.ipsEmpty(a.ips) || this.ipsEmpty(b.ips) || dimDisjoint(cidrOps, a.ips, b.ips);
    return namesApart && ipsApart;
  }

  sameMatchers(a: NormalizedRule, b: NormalizedRule): boolean {
    const fields: MatcherField[] = this.role === 'inbound'
      ? ['from', 'notFrom', 'methods', 'notMethods', 'paths', 'notPaths']
      : ['from', 'notFrom', 'hosts', 'notHosts', 'ports', 'notPorts', 'cidrs', 'notCidrs'];
    return fields.every((f) => dimEqual(a[f] as unknown[] | undefined, b[f] as unknown[] | undefined));
  }
}

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
  const q = (s: string) => JSON.stringify(s);

  if (policy.mode === 'audit') warn('global-audit', 'mode', 'the whole policy is in audit mode: nothing is enforced, every deny is only logged and counted as a would-deny');
  if (!policy.inbound && !policy.egress) warn('no-sections', '(document)', 'the policy has neither an inbound nor an egress section: no filter can use it');

  const td = policy.trustDomain;
  for (const [i, id] of policy.identity.trustedProxies.entries()) {
    if (trustDomainOf(id) !== td) warn('foreign-identity', `identity.trustedProxies[${i}]`, `${q(id)} is outside the trust domain ${td}`);
  }
  if (policy.identity.id !== undefined && trustDomainOf(policy.identity.id) !== td) {
    warn('foreign-identity', 'identity.id', `${q(policy.identity.id)} is outside the trust domain ${td}`);
  }

  for (const section of [policy.inbound, policy.egress]) if (section) analyzeSection(policy, section, warn);
  return sortDiagnostics(out);
}

type Warn = (code: WarningCode, path: string, message: string, part?: 'key' | 'value') => void;

function analyzeSection(policy: NormalizedPolicy, section: NormalizedSection, warn: Warn): void {
  const role = section.role;
  const logic = new SetLogic(role, policy.trustDomain);
  const td = policy.trustDomain;
  const q = (s: string) => JSON.stringify(s);
  const ref = (r: NormalizedRule) => `${r.mode === 'audit' ? 'audit ' : ''}${r.action} rule ${q(r.name)} (${r.path})`;
  const sets = section.rules.map(ruleSets);

  // entries: outside the trust domain, redundant within their list, over-broad hosts
  for (const r of section.rules) {
    for (const field of ['from', 'notFrom'] as const) {
      r[field]?.forEach((e, k) => {
        const p = ok(parseFromEntry(e));
        if (p.kind !== 'any' && trustDomainOf(p.kind === 'exact' ? p.id : p.prefix) !== td) {
          warn('foreign-identity', `${r.path}.${field}[${k}]`, `${q(e)} is outside the trust domain ${td}: it matches only identities of that trust domain, because it names them`);
        }
      });
    }
    const s = sets[r.index];
    const lists: Array<[MatcherField, unknown[] | undefined, EntryOps<any>]> = [
      ['from', s.identity.pos, logic.id], ['notFrom', s.identity.neg, logic.id],
      ['methods', s.methods.pos, valueOps], ['notMethods', s.methods.neg, valueOps],
      ['paths', s.paths.pos, pathOps], ['notPaths', s.paths.neg, pathOps],
      ['hosts', s.names.pos, hostOps], ['notHosts', s.names.neg, hostOps],
      ['ports', s.ports.pos, valueOps], ['notPorts', s.ports.neg, valueOps],
      ['cidrs', s.ips.pos, cidrOps], ['notCidrs', s.ips.neg, cidrOps],
    ];
    for (const [field, list, ops] of lists) {
      if (!list) continue;
      const raw = r[field] as unknown[];
      list.forEach((a, k) => {
        const by = list.findIndex((b, j) => j !== k && ops.covers(b, a) && (!ops.covers(a, b) || j < k));
        if (by >= 0) {
          const same = JSON.stringify(raw[by]) === JSON.stringify(raw[k]);
          warn('duplicate-entry', `${r.path}.${field}[${k}]`, same ? `${JSON.stringify(raw[k])} is listed twice` : `${JSON.stringify(raw[k])} is already covered by ${JSON.stringify(raw[by])}`);
        }
      });
    }
    if (r.action === 'allow' && r.mode === 'enforce') {
      r.hosts?.forEach((h, k) => {
        if (/^\*\.[^.]+$/.test(h)) warn('broad-host', `${r.path}.hosts[${k}]`, `${q(h)} allows every name under the top-level domain ${q(h.slice(2))}`);
      });
    }
  }

  // rules that match nothing
  const empty = sets.map((s) => logic.emptyReason(s));
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
    const dup = live.find((o) => o.index < r.index && logic.sameMatchers(o, r));
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
    const shadow = denies.find((d) => logic.subset(sets[r.index], sets[d.index]));
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
      const first = enforcedAllow.find((a) => a.index < r.index && logic.subset(sets[r.index], sets[a.index]));
      if (first) {
        warn('unreachable', r.path, `rule ${q(r.name)} is unreachable: the earlier ${ref(first)} allows every request it matches first`);
        continue;
      }
      for (const d of enforcedDeny) {
        if (!logic.disjoint(sets[r.index], sets[d.index])) {
          warn('allow-deny-overlap', r.path, `rule ${q(r.name)} overlaps ${ref(d)}: requests matching both are denied`);
        }
      }
    }
  }

  // over-broad enforced allow rules
  for (const r of live) {
    if (r.action !== 'allow' || r.mode !== 'enforce') continue;
    if (r.from === undefined && section.default === 'deny' && policy.identity.from !== 'local') {
      warn('unauthenticated-allow', r.path, `rule ${q(r.name)} has no \`from\`: it admits unauthenticated callers too`);
    }
    const star = r.from?.indexOf('*') ?? -1;
    if (star >= 0) {
      const unlimited = role === 'inbound'
        ? r.paths === undefined || r.paths.some((p) => ok(parsePathPattern(p)).kind === 'any')
        : r.hosts === undefined && r.cidrs === undefined;
      if (unlimited) {
        const what = role === 'inbound' ? 'call any path' : 'reach any destination';
        warn('broad-identity', `${r.path}.from[${star}]`, `rule ${q(r.name)} lets any identity of ${td} ${what}`);
      }
    }
  }
}
