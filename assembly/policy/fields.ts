// The match fields of a rule, in evaluation order: the one list config.ts and decide.ts are driven
// from (docs/internals.md §1 for the entry syntax, §2 for the matching). To add a field: write its
// matcher (entries, compiled set, match against RequestFacts), add its request facts to
// facts.ts (and the role's facts reader if it needs a host read), then add a MatchField subclass
// here and put it in FIELDS. Appending keeps the codes, and so the evaluation order, of the others.

import { Arena } from "../util/arena";
import { Rule } from "./policy";
import { JsonDoc, J_NUMBER } from "../util/json";
import { VERDICT_RULES, VERDICT_FROM, VERDICT_NOT_FROM } from "../spiffe/identity";
import { MatchField, StringField, StringList, IN_BOTH, IN_INBOUND, IN_EGRESS } from "./field";
import { Evaluation } from "./evaluation";
import { FromEntry, parseFromEntry, IdSet, MethodSet, PortSet, methodError } from "./matchers";
import { PathPattern, parsePathPattern, PathSet } from "./path";
import { CidrEntry, parseCidr, hostPatternError, HostSet, CidrSet } from "./host";

/** `from`: SPIFFE IDs, `*` or segment prefixes. The first VERDICT_RULES rules' answers are
 *  remembered in the Identity (a connection's cached peer keeps them across requests). */
class FromField extends StringField {
  constructor() { super("from", "notFrom", IN_BOTH); }

  entryBytesError(p: usize, n: i32): string | null { return parseFromEntry(p, n, new FromEntry()).error; }

  build(arena: Arena, l: StringList, deny: bool, negated: bool): usize {
    const kinds = new Array<i32>(l.ptrs.length);
    const keyLens = new Array<i32>(l.ptrs.length);
    const e = new FromEntry();
    for (let i = 0; i < l.ptrs.length; i++) {
      parseFromEntry(l.ptrs[i], l.lens[i], e);
      kinds[i] = e.kind;
      keyLens[i] = e.keyLen;
    }
    return changetype<usize>(IdSet.build(arena, kinds, l.ptrs, keyLens));
  }

  matches(matcher: usize, negated: bool, ev: Evaluation): bool { return fromMatches(matcher, negated, ev); }
}

// The request-time matchers of the fields, as plain functions: `fieldMatches` below calls them
// directly (no virtual dispatch on the hot path) and the MatchField subclasses delegate to them.

// @ts-ignore: decorator
@inline
function fromMatches(matcher: usize, negated: bool, ev: Evaluation): bool {
  const set = changetype<IdSet>(matcher);
  const id = ev.facts.identity;
  const i = ev.rule;
  if (i >= VERDICT_RULES) return set.match(id, ev.inTrustDomain);
  const list = negated ? VERDICT_NOT_FROM : VERDICT_FROM;
  const known = id.recalled(list, i);
  if (known >= 0) return known != 0;
  const m = set.match(id, ev.inTrustDomain);
  id.remember(list, i, m);
  return m;
}

/** `methods`: [A-Z]{1,32}, byte-exact. */
class MethodField extends StringField {
  constructor() { super("methods", "notMethods", IN_INBOUND); }

  entryBytesError(p: usize, n: i32): string | null { return methodError(p, n); }

  build(arena: Arena, l: StringList, deny: bool, negated: bool): usize {
    return changetype<usize>(MethodSet.build(arena, l.ptrs, l.lens));
  }

  matches(matcher: usize, negated: bool, ev: Evaluation): bool {
    return methodMatches(matcher, ev);
  }
}

/** `paths`: exact, segment prefix, suffix, templates (path.ts). */
class PathField extends StringField {
  constructor() { super("paths", "notPaths", IN_INBOUND); }

  entryBytesError(p: usize, n: i32): string | null { return parsePathPattern(p, n).error; }

  build(arena: Arena, l: StringList, deny: bool, negated: bool): usize {
    const pats = new Array<PathPattern>(l.ptrs.length);
    for (let i = 0; i < l.ptrs.length; i++) pats[i] = parsePathPattern(l.ptrs[i], l.lens[i]);
    return changetype<usize>(PathSet.build(arena, pathFold(deny, negated), pats, l.ptrs, l.lens));
  }

  matches(matcher: usize, negated: bool, ev: Evaluation): bool {
    return pathMatches(matcher, ev);
  }
}

/**
 * Whether a path list is matched ASCII-case-insensitively. internals §2: byte-exact for allow
 * rules, case-insensitive for deny rules, so that a case variant never slips past a deny nor gains
 * access. For the negated field the safe direction flips: `notPaths` of a deny rule is byte-exact
 * (an exception to a deny must not widen to case variants) and `notPaths` of an allow rule is
 * case-insensitive (an exclusion from an allow covers every case variant).
 */
export function pathFold(deny: bool, negated: bool): bool {
  return deny != negated;
}

/** `hosts`: DNS names or `*.` + name; never matches an IP literal. */
class HostField extends StringField {
  constructor() { super("hosts", "notHosts", IN_EGRESS); }

  entryBytesError(p: usize, n: i32): string | null { return hostPatternError(p, n); }

  build(arena: Arena, l: StringList, deny: bool, negated: bool): usize {
    return changetype<usize>(HostSet.build(arena, l.ptrs, l.lens));
  }

  matches(matcher: usize, negated: bool, ev: Evaluation): bool {
    return hostMatches(matcher, ev);
  }
}

/** `ports`: integers 1..65535. */
class PortField extends MatchField {
  constructor() { super("ports", "notPorts", IN_EGRESS, J_NUMBER); }

  entryError(doc: JsonDoc, node: i32): string | null {
    return portOf(doc, node) < 0 ? "port must be an integer 1..65535" : null;
  }

  compile(arena: Arena, doc: JsonDoc, list: i32, deny: bool, negated: bool): usize {
    const ports = new Array<i32>();
    let e = list + 1;
    for (let i = 0; i < doc.count(list); i++) { ports.push(portOf(doc, e)); e = doc.next(e); }
    return changetype<usize>(PortSet.build(arena, ports));
  }

  matches(matcher: usize, negated: bool, ev: Evaluation): bool {
    return portMatches(matcher, ev);
  }
}

/** The port value of a number node, or -1 when not an integer in 1..65535. */
function portOf(doc: JsonDoc, node: i32): i32 {
  const v = doc.num(node);
  if (!(v >= 1 && v <= 65535) || v != Math.floor(v)) return -1;
  return <i32>v;
}

/** `cidrs`: IPv4 / IPv6 prefixes; never matches a name. */
class CidrField extends StringField {
  constructor() { super("cidrs", "notCidrs", IN_EGRESS); }

  entryBytesError(p: usize, n: i32): string | null { return parseCidr(p, n, new CidrEntry()).error; }

  build(arena: Arena, l: StringList, deny: bool, negated: bool): usize {
    const cidrs = new Array<CidrEntry>(l.ptrs.length);
    for (let i = 0; i < l.ptrs.length; i++) cidrs[i] = parseCidr(l.ptrs[i], l.lens[i], new CidrEntry());
    return changetype<usize>(CidrSet.build(arena, cidrs));
  }

  matches(matcher: usize, negated: bool, ev: Evaluation): bool {
    return cidrMatches(matcher, ev);
  }
}

// @ts-ignore: decorator
@inline
function methodMatches(matcher: usize, ev: Evaluation): bool { return changetype<MethodSet>(matcher).match(ev.facts.method); }
// @ts-ignore: decorator
@inline
function pathMatches(matcher: usize, ev: Evaluation): bool { return changetype<PathSet>(matcher).match(ev.facts.path); }
// @ts-ignore: decorator
@inline
function hostMatches(matcher: usize, ev: Evaluation): bool { return changetype<HostSet>(matcher).match(ev.facts.target); }
// @ts-ignore: decorator
@inline
function portMatches(matcher: usize, ev: Evaluation): bool { return changetype<PortSet>(matcher).match(ev.facts.target.port); }
// @ts-ignore: decorator
@inline
function cidrMatches(matcher: usize, ev: Evaluation): bool { return changetype<CidrSet>(matcher).match(ev.facts.target); }

/** Every match field, in evaluation order (field code = index * 2, + 1 for the negation). */
export const FIELDS: StaticArray<MatchField> = [
  new FromField(), new MethodField(), new PathField(), new HostField(), new PortField(), new CidrField(),
];

/** Number of field codes (each field and its negation). */
export const F_COUNT: i32 = FIELDS.length * 2;

/** The field of code `code`. */
// @ts-ignore: decorator
@inline
export function fieldOf(code: i32): MatchField { return unchecked(FIELDS[code >> 1]); }

/**
 * Request time: whether field `code` of rule `r` matches the request (a negation: its list does
 * not); ev.rule must be the rule's index. The same answer as fieldOf(code).matches, negation
 * applied, but dispatched on the code (a jump table the compiler sees through, no virtual call).
 * decide.ts and trace.ts both ask this, so the trace agrees with the decision by construction.
 */
// @ts-ignore: decorator
@inline
export function fieldMatches(r: Rule, code: i32, ev: Evaluation): bool {
  const neg = isNegation(code);
  const m = r.matcher(code);
  let yes = false;
  switch (code >> 1) {
    case 0: yes = fromMatches(m, neg, ev); break;
    case 1: yes = methodMatches(m, ev); break;
    case 2: yes = pathMatches(m, ev); break;
    case 3: yes = hostMatches(m, ev); break;
    case 4: yes = portMatches(m, ev); break;
    case 5: yes = cidrMatches(m, ev); break;
    default: yes = fieldOf(code).matches(m, neg, ev); // a field appended to FIELDS without a case
  }
  return yes != neg;
}

/** Whether code `code` is a negation (`notPaths`, ...). */
// @ts-ignore: decorator
@inline
export function isNegation(code: i32): bool { return (code & 1) != 0; }

/** The rule key of a field code ("-" for none). */
export function fieldName(code: i32): string {
  if (code < 0 || code >= F_COUNT) return "-";
  const f = fieldOf(code);
  return isNegation(code) ? f.negation : f.name;
}

/** The field code of a rule key, or -1. */
export function fieldCode(key: string): i32 {
  for (let i = 0; i < FIELDS.length; i++) {
    const f = unchecked(FIELDS[i]);
    if (f.name == key) return i * 2;
    if (f.negation == key) return i * 2 + 1;
  }
  return -1;
}

/** Whether field code `code` exists for the role (ROLE_*). */
export function fieldInRole(code: i32, role: i32): bool {
  return (fieldOf(code).roles & (1 << role)) != 0;
}
