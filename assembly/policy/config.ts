// Plugin configuration → compiled Policy (docs/internals.md §1; docs/design.md §3.1).
//
//   const r = compilePolicy(ptr, len, ROLE_INBOUND);   // config time: allocates freely
//   if (r.policy === null) for (e of r.errors) logError(e);   // then fail proxy_on_configure
//   r.digest                                            // digest.ts: sha256 hex of the canonical form, always set
//
// The whole document is validated (both `inbound` and `egress`, so both filters agree on what is
// valid); only the section of `role` is compiled, and it must be present. ALL problems are
// collected, one string each, shaped `<json.field.path>: <message>` or
// `<json.field.path>: <message>: <value as JSON>`, e.g.
//   inbound.rules[2].from[0]: trust domain has a character outside [a-z0-9._-]: "spiffe://Example.ORG/x"
// A JSON syntax error is a single `json: <message> at byte <offset>`.
//
// Tables are built only when there are no errors, in two passes: validate everything (pass 1,
// collecting per-rule field nodes), then build the role's rule tables in the policy arena
// (pass 2). Field rules:
// - top level: trustDomain (required), mode (enforce|audit), federatesWith, identity, inbound, egress.
// - federatesWith: trust domain names (non-empty list, no duplicates, not trustDomain itself).
//   Every SPIFFE ID the document names (from/notFrom entries other than `*`, trustedProxies, id)
//   must be of trustDomain or of a federatesWith domain (checked once trustDomain is valid).
// - identity: from (peer-certificate|xfcc|local), trustedProxies (exact IDs; required non-empty
//   with xfcc, forbidden otherwise), id (exact ID; required with local, forbidden otherwise).
//   For a network filter (`connection`: meshgate_egress_sni) a source that reads request
//   headers (xfcc) is refused: a TCP connection has none.
// - inbound/egress: default (deny|allow), rules (list).
// - rule: name (required, [A-Za-z0-9_-]{1,64}, unique in its section), action (allow|deny),
//   mode (enforce|audit), egress only: tunnel (tls|any: what a CONNECT tunnel the rule allows may
//   carry, egress/tunnel.ts) and privateAddresses (allow rules only: CIDRs checked like `cidrs`
//   entries, for Envoy's post-resolution guard; the filter does not use them), and the role's
//   matcher fields; every list non-empty; unknown keys are errors (a field or option of the other
//   role says so).

import { JsonDoc, parseJson, J_STRING, J_ARRAY, J_OBJECT, jsonKindName } from "../util/json";
import { policyDigest } from "./digest";
import { StrBuf } from "../util/strbuf";
import { validateSpiffeId, validateTrustDomain, spiffeCodeMessage, SPIFFE_OK, SCHEME_LEN, trustDomainEnd } from "../spiffe/id";
import { IDENTITY_SOURCES, SourceKind } from "../spiffe/sources";
import { TrustDomains } from "../spiffe/domains";
import { bytesEqual } from "../util/bytes";
import { StringList } from "./field";
import { Policy, Rule, ROLE_INBOUND, ROLE_EGRESS, roleName, ACTION_ALLOW, ACTION_DENY } from "./policy";
import { F_COUNT, fieldOf, fieldCode, fieldInRole, isNegation } from "./fields";

export class CompileResult {
  /** The compiled policy, or null when there were errors. */
  policy: Policy | null = null;
  errors: string[] = [];
  /** The policy digest (digest.ts): sha256 of the canonical form, or of the bytes when not JSON. */
  digest: string = "";
}

const MAX_QUOTED: i32 = 256;

class RuleDesc {
  index: i32 = 0;
  nameNode: i32 = -1;
  action: i32 = ACTION_ALLOW;
  audit: bool = false;
  tunnelAny: bool = false;
  fields: StaticArray<i32> = new StaticArray<i32>(F_COUNT);
  constructor() { for (let f = 0; f < F_COUNT; f++) this.fields[f] = -1; }
}

class Compiler {
  errors: string[] = [];
  quoteBuf: StrBuf = new StrBuf(512);
  // what pass 1 learned
  tdNode: i32 = -1;
  auditMode: bool = false;
  /** Index of the identity source in IDENTITY_SOURCES, and its option's node (-1: none). */
  idSource: i32 = 0;
  idOptionNode: i32 = -1;
  sectionFound: bool = false;
  defaultAllow: bool = false;
  rules: RuleDesc[] = [];
  /** Valid, distinct `federatesWith` entries (nodes). */
  federated: i32[] = [];
  /** Valid SPIFFE IDs the document names, not (yet) known to be of trustDomain: their trust
   *  domain must be trustDomain or federated. Node, its list's path (namedLists) and index
   *  (-1: not a list entry); paths are built only for an error (a list may have 100k entries). */
  namedIds: i32[] = [];
  namedIdList: i32[] = [];
  namedIdIndex: i32[] = [];
  namedLists: string[] = [];

  /** role: the section compiled; connection: for a network filter (no request headers). */
  constructor(public doc: JsonDoc, public role: i32, public connection: bool) {}

  err(path: string, msg: string): void { this.errors.push(path + ": " + msg); }

  errV(path: string, msg: string, node: i32): void { this.errors.push(path + ": " + msg + ": " + this.quote(node)); }

  quote(node: i32): string {
    const doc = this.doc;
    if (doc.kind(node) != J_STRING) return doc.raw(node);
    const b = this.quoteBuf.clear();
    const n = doc.strLen(node);
    b.json(doc.strPtr(node), n < MAX_QUOTED ? n : MAX_QUOTED);
    if (n > MAX_QUOTED) b.str("...");
    return b.toString();
  }

  kindErr(path: string, want: string, node: i32): void {
    this.err(path, "must be " + want + ", got " + jsonKindName(this.doc.kind(node)));
  }

  isString(node: i32, path: string): bool {
    if (this.doc.kind(node) == J_STRING) return true;
    this.kindErr(path, "a string", node);
    return false;
  }

  /** A non-empty list; reports type and emptiness problems. */
  isList(node: i32, path: string): bool {
    const doc = this.doc;
    if (doc.kind(node) != J_ARRAY) { this.kindErr(path, "a list", node); return false; }
    if (doc.count(node) == 0) { this.err(path, "must not be empty"); return false; }
    return true;
  }

  /** Value of a string field among the given choices: its index, or -1 (error reported). */
  choice(node: i32, path: string, choices: string[]): i32 {
    if (!this.isString(node, path)) return -1;
    const s = this.doc.str(node);
    const i = choices.indexOf(s);
    if (i >= 0) return i;
    let opts = "";
    for (let k = 0; k < choices.length; k++) {
      if (k > 0) opts += k == choices.length - 1 ? " or " : ", ";
      opts += "\"" + choices[k] + "\"";
    }
    this.errV(path, "must be " + opts, node);
    return -1;
  }

  // ---- pass 1 -------------------------------------------------------------------------------

  document(): void {
    const doc = this.doc;
    if (doc.kind(0) != J_OBJECT) { this.kindErr("(document)", "an object", 0); return; }
    let c = 1;
    const n = doc.count(0);
    for (let k = 0; k < n; k++) {
      const v = c + 1;
      const key = doc.str(c);
      if (key == "trustDomain") this.trustDomain(v);
      else if (key == "mode") { const m = this.choice(v, "mode", ["enforce", "audit"]); this.auditMode = m == 1; }
      else if (key == "federatesWith") this.federatesWith(v);
      else if (key == "identity") this.identity(v);
      else if (key == "inbound") this.section(v, ROLE_INBOUND);
      else if (key == "egress") this.section(v, ROLE_EGRESS);
      else this.err(key, "unknown field");
      c = doc.next(v);
    }
    if (this.tdNode < 0 && doc.member(0, "trustDomain") < 0) this.err("trustDomain", "required");
    if (this.tdNode >= 0) this.namedTrustDomains();
    const rn = roleName(this.role);
    if (doc.member(0, rn) < 0) this.err(rn, "required by the meshgate_" + rn + " filter");
  }

  trustDomain(v: i32): void {
    if (!this.isString(v, "trustDomain")) return;
    const code = validateTrustDomain(this.doc.strPtr(v), this.doc.strLen(v));
    if (code != SPIFFE_OK) { this.errV("trustDomain", spiffeCodeMessage(code), v); return; }
    this.tdNode = v;
  }

  /** `federatesWith`: a non-empty list of distinct trust domain names. */
  federatesWith(v: i32): void {
    const doc = this.doc;
    if (!this.isList(v, "federatesWith")) return;
    let e = v + 1;
    for (let i = 0; i < doc.count(v); i++) {
      const path = "federatesWith[" + i.toString() + "]";
      if (this.isString(e, path)) {
        const code = validateTrustDomain(doc.strPtr(e), doc.strLen(e));
        if (code != SPIFFE_OK) this.errV(path, spiffeCodeMessage(code), e);
        else {
          let j = 0;
          while (j < this.federated.length && !this.sameString(this.federated[j], e)) j++;
          if (j < this.federated.length) {
            this.errV(path, "duplicate trust domain (also federatesWith[" + this.federatedIndex(v, this.federated[j]).toString() + "])", e);
          } else this.federated.push(e);
        }
      }
      e = doc.next(e);
    }
  }

  sameString(a: i32, b: i32): bool {
    const doc = this.doc;
    return bytesEqual(doc.strPtr(a), doc.strLen(a), doc.strPtr(b), doc.strLen(b));
  }

  /** Index of entry node `node` in list `list`. */
  federatedIndex(list: i32, node: i32): i32 {
    let e = list + 1;
    for (let i = 0; i < this.doc.count(list); i++) {
      if (e == node) return i;
      e = this.doc.next(e);
    }
    return -1;
  }

  /** Entry `index` (-1: the value itself) of the list at `listPath` is a SPIFFE ID (or a `from`
   *  prefix): checked against the trust domains once the document is read, unless it is of
   *  trustDomain (known when trustDomain came first). */
  namesId(node: i32, listPath: string, index: i32): void {
    const doc = this.doc;
    const p = doc.strPtr(node);
    if (this.tdNode >= 0 && bytesEqual(p + <usize>SCHEME_LEN, trustDomainEnd(p, doc.strLen(node)) - SCHEME_LEN, doc.strPtr(this.tdNode), doc.strLen(this.tdNode))) return;
    const lists = this.namedLists;
    if (lists.length == 0 || lists[lists.length - 1] != listPath) lists.push(listPath);
    this.namedIds.push(node);
    this.namedIdList.push(lists.length - 1);
    this.namedIdIndex.push(index);
  }

  /** federatesWith must not repeat trustDomain; every named ID must be of a known trust domain. */
  namedTrustDomains(): void {
    const doc = this.doc;
    const own = this.tdNode;
    const known = new Array<i32>();
    known.push(own);
    const fedList = doc.member(0, "federatesWith");
    for (let k = 0; k < this.federated.length; k++) {
      const f = this.federated[k];
      if (this.sameString(f, own)) this.errV("federatesWith[" + this.federatedIndex(fedList, f).toString() + "]", "is the policy's own trustDomain", f);
      else known.push(f);
    }
    for (let k = 0; k < this.namedIds.length; k++) {
      const node = this.namedIds[k];
      const p = doc.strPtr(node);
      const tdLen = trustDomainEnd(p, doc.strLen(node)) - SCHEME_LEN;
      let j = 0;
      while (j < known.length && !bytesEqual(p + <usize>SCHEME_LEN, tdLen, doc.strPtr(known[j]), doc.strLen(known[j]))) j++;
      if (j == known.length) {
        const td = String.UTF8.decodeUnsafe(p + <usize>SCHEME_LEN, <usize>tdLen);
        const i = this.namedIdIndex[k];
        const path = this.namedLists[this.namedIdList[k]] + (i >= 0 ? "[" + i.toString() + "]" : "");
        this.errV(path, "trust domain is neither trustDomain nor in federatesWith (add \"" + td + "\" to federatesWith)", node);
      }
    }
  }

  /** `identity`: `from` names a source of IDENTITY_SOURCES; each source's option is required
   *  with that source and refused with the others. */
  identity(v: i32): void {
    const doc = this.doc;
    if (doc.kind(v) != J_OBJECT) { this.kindErr("identity", "an object", v); return; }
    const kinds = IDENTITY_SOURCES;
    const names = new Array<string>(kinds.length);
    const options = new Array<i32>(kinds.length);
    for (let k = 0; k < kinds.length; k++) { names[k] = kinds[k].name; options[k] = -1; }
    let source = 0;
    let sourceOk = true;
    let c = v + 1;
    const n = doc.count(v);
    for (let m = 0; m < n; m++) {
      const f = c + 1;
      const key = doc.str(c);
      if (key == "from") {
        source = this.choice(f, "identity.from", names);
        if (source < 0) { sourceOk = false; source = 0; }
        else if (this.connection && kinds[source].readsHeaders) {
          this.errV("identity.from", "not available to a network filter (meshgate_egress_sni): a TCP connection has no request headers; use peer-certificate or local", f);
        }
      } else {
        let k = 0;
        while (k < kinds.length && (kinds[k].option.length == 0 || kinds[k].option != key)) k++;
        if (k == kinds.length) this.err("identity." + key, "unknown field");
        else { options[k] = f; this.sourceOption(kinds[k], f); }
      }
      c = doc.next(f);
    }
    if (sourceOk) {
      for (let k = 0; k < kinds.length; k++) {
        const o = kinds[k];
        if (o.option.length == 0) continue;
        const p = "identity." + o.option;
        if (k == source && options[k] < 0) this.err(p, "required with identity.from: " + o.name);
        if (k != source && options[k] >= 0) this.err(p, "only allowed with identity.from: " + o.name);
      }
    }
    this.idSource = source;
    this.idOptionNode = options[source];
  }

  /** Validates a source's option: one exact SPIFFE ID, or a non-empty list of them. */
  sourceOption(kind: SourceKind, v: i32): void {
    const doc = this.doc;
    const path = "identity." + kind.option;
    if (!kind.optionIsList) { this.spiffeId(v, path, -1); return; }
    if (!this.isList(v, path)) return;
    let e = v + 1;
    for (let i = 0; i < doc.count(v); i++) {
      this.spiffeId(e, path, i);
      e = doc.next(e);
    }
  }

  /** Entry `index` of the list at `listPath` (-1: the value at `listPath`) is an exact SPIFFE ID. */
  spiffeId(v: i32, listPath: string, index: i32): void {
    const path = index >= 0 ? listPath + "[" + index.toString() + "]" : listPath;
    if (!this.isString(v, path)) return;
    const code = validateSpiffeId(this.doc.strPtr(v), this.doc.strLen(v));
    if (code != SPIFFE_OK) this.errV(path, spiffeCodeMessage(code), v);
    else this.namesId(v, listPath, index);
  }

  section(v: i32, role: i32): void {
    const doc = this.doc;
    const rn = roleName(role);
    const mine = role == this.role;
    if (doc.kind(v) != J_OBJECT) { this.kindErr(rn, "an object", v); return; }
    if (mine) this.sectionFound = true;
    let c = v + 1;
    const n = doc.count(v);
    for (let k = 0; k < n; k++) {
      const f = c + 1;
      const key = doc.str(c);
      if (key == "default") {
        const m = this.choice(f, rn + ".default", ["deny", "allow"]);
        if (mine) this.defaultAllow = m == 1;
      } else if (key == "rules") {
        if (doc.kind(f) != J_ARRAY) this.kindErr(rn + ".rules", "a list", f);
        else this.ruleList(f, role, mine);
      } else {
        this.err(rn + "." + key, "unknown field");
      }
      c = doc.next(f);
    }
  }

  ruleList(list: i32, role: i32, mine: bool): void {
    const doc = this.doc;
    const rn = roleName(role);
    const names = new Map<string, i32>();
    let e = list + 1;
    const n = doc.count(list);
    for (let i = 0; i < n; i++) {
      const path = rn + ".rules[" + i.toString() + "]";
      const d = this.rule(e, role, path);
      if (d !== null) {
        d.index = i;
        if (d.nameNode >= 0) {
          const name = doc.str(d.nameNode);
          if (names.has(name)) {
            this.errV(path + ".name", "duplicate rule name (also rules[" + names.get(name).toString() + "])", d.nameNode);
          } else names.set(name, i);
        }
        if (mine) this.rules.push(d);
      }
      e = doc.next(e);
    }
  }

  rule(v: i32, role: i32, path: string): RuleDesc | null {
    const doc = this.doc;
    if (doc.kind(v) != J_OBJECT) { this.kindErr(path, "an object", v); return null; }
    const d = new RuleDesc();
    let c = v + 1;
    const n = doc.count(v);
    let hasName = false;
    let hasPrivate = false;
    for (let k = 0; k < n; k++) {
      const f = c + 1;
      const key = doc.str(c);
      const fp = path + "." + key;
      if (key == "name") {
        hasName = true;
        if (this.isString(f, fp)) {
          if (ruleNameOk(doc.strPtr(f), doc.strLen(f))) d.nameNode = f;
          else this.errV(fp, "rule name must match [A-Za-z0-9_-]{1,64}", f);
        }
      } else if (key == "action") {
        d.action = this.choice(f, fp, ["allow", "deny"]) == 1 ? ACTION_DENY : ACTION_ALLOW;
      } else if (key == "mode") {
        d.audit = this.choice(f, fp, ["enforce", "audit"]) == 1;
      } else if (key == "tunnel" && role == ROLE_EGRESS) {
        d.tunnelAny = this.choice(f, fp, ["tls", "any"]) == 1;
      } else if (key == "privateAddresses" && role == ROLE_EGRESS) {
        // For the post-resolution guard Envoy runs (docs/design.md): validated like `cidrs`
        // entries, not used by the filter, which decides before anything is resolved.
        hasPrivate = true;
        this.field(fieldCode("cidrs"), f, fp);
      } else if (key == "tunnel" || key == "privateAddresses") {
        this.err(fp, "unknown field (" + key + " is an egress rule option)");
      } else {
        const code = fieldCode(key);
        if (code < 0) { this.err(fp, "unknown field"); }
        else if (!fieldInRole(code, role)) {
          this.err(fp, "unknown field (" + key + " is " + (role == ROLE_INBOUND ? "an egress" : "an inbound") + " field)");
        } else {
          d.fields[code] = f;
          this.field(code, f, fp);
        }
      }
      c = doc.next(f);
    }
    if (!hasName) this.err(path + ".name", "required");
    if (hasPrivate && d.action == ACTION_DENY) {
      this.err(path + ".privateAddresses", "only allowed on allow rules (the networks the names this rule allows may resolve to)");
    }
    return d;
  }

  /** Validates one matcher list (field code `code`). */
  field(code: i32, list: i32, path: string): void {
    const doc = this.doc;
    if (!this.isList(list, path)) return;
    const spec = fieldOf(code);
    const identities = spec.name == "from";
    let e = list + 1;
    const n = doc.count(list);
    for (let i = 0; i < n; i++) {
      const p = path + "[" + i.toString() + "]";
      if (doc.kind(e) != spec.entryKind) this.kindErr(p, jsonKindName(spec.entryKind), e);
      else {
        const msg = spec.entryError(doc, e);
        if (msg !== null) this.errV(p, msg, e);
        else if (identities && !(doc.strLen(e) == 1 && load<u8>(doc.strPtr(e)) == 0x2A)) this.namesId(e, path, i);
      }
      e = doc.next(e);
    }
  }

  // ---- pass 2 -------------------------------------------------------------------------------

  build(policy: Policy): void {
    const doc = this.doc;
    const arena = policy.arena;
    policy.role = this.role;
    policy.auditMode = this.auditMode;
    policy.defaultAllow = this.defaultAllow;
    policy.tdLen = doc.strLen(this.tdNode);
    policy.tdPtr = arena.dup(doc.strPtr(this.tdNode), policy.tdLen);
    const kind = IDENTITY_SOURCES[this.idSource];
    const o = this.idOptionNode;
    let ids = new StringList();
    if (o >= 0 && kind.optionIsList) ids = StringList.of(doc, o);
    else if (o >= 0) ids.add(doc.strPtr(o), doc.strLen(o));
    const source = kind.create(arena, ids.ptrs, ids.lens);
    const tdPtrs: usize[] = [policy.tdPtr];
    const tdLens: i32[] = [policy.tdLen];
    for (let k = 0; k < this.federated.length; k++) {
      const f = this.federated[k];
      tdLens.push(doc.strLen(f));
      tdPtrs.push(arena.dup(doc.strPtr(f), doc.strLen(f)));
    }
    source.domains = new TrustDomains(tdPtrs, tdLens);
    policy.identity = source;

    const n = this.rules.length;
    policy.ruleCount = n;
    policy.rules = arena.alloc((n > 0 ? <usize>n : 1) * 4);
    let nd = 0, na = 0, nu = 0;
    for (let i = 0; i < n; i++) {
      const d = this.rules[i];
      if (d.audit) nu++; else if (d.action == ACTION_DENY) nd++; else na++;
    }
    policy.denyRules = arena.alloc((nd > 0 ? <usize>nd : 1) * 4);
    policy.allowRules = arena.alloc((na > 0 ? <usize>na : 1) * 4);
    policy.auditRules = arena.alloc((nu > 0 ? <usize>nu : 1) * 4);
    for (let i = 0; i < n; i++) {
      const d = this.rules[i];
      const r = Rule.create(arena, F_COUNT);
      store<u32>(policy.rules + (<usize>i << 2), <u32>changetype<usize>(r));
      r.action = d.action;
      r.audit = d.audit;
      r.tunnelAny = d.tunnelAny;
      r.nameLen = doc.strLen(d.nameNode);
      r.namePtr = arena.dup(doc.strPtr(d.nameNode), r.nameLen);
      for (let f = 0; f < F_COUNT; f++) {
        const node = d.fields[f];
        if (node >= 0) r.setMatcher(f, fieldOf(f).compile(arena, doc, node, d.action == ACTION_DENY, isNegation(f)));
      }
      if (d.audit) { store<i32>(policy.auditRules + (<usize>policy.auditCount << 2), i); policy.auditCount++; }
      else if (d.action == ACTION_DENY) { store<i32>(policy.denyRules + (<usize>policy.denyCount << 2), i); policy.denyCount++; }
      else { store<i32>(policy.allowRules + (<usize>policy.allowCount << 2), i); policy.allowCount++; }
    }
  }
}

function ruleNameOk(p: usize, n: i32): bool {
  if (n < 1 || n > 64) return false;
  for (let i = 0; i < n; i++) {
    const c = <u32>load<u8>(p + <usize>i);
    if (!((c | 0x20) - 0x61 < 26 || c - 0x30 < 10 || c == 0x5F || c == 0x2D)) return false;
  }
  return true;
}

/** Parses, validates and compiles the plugin configuration for `role` (ROLE_INBOUND/EGRESS);
 *  `connection`: for a network filter (meshgate_egress_sni), which has no request headers. */
export function compilePolicy(ptr: usize, len: i32, role: i32, connection: bool = false): CompileResult {
  const res = new CompileResult();
  const doc = parseJson(ptr, len);
  res.digest = policyDigest(ptr, len, doc);
  if (doc.error !== null) {
    res.errors.push("json: " + doc.error! + " at byte " + doc.errorOffset.toString());
    return res;
  }
  const c = new Compiler(doc, role, connection);
  c.document();
  res.errors = c.errors;
  if (c.errors.length > 0) return res;
  const p = new Policy();
  p.digest = res.digest;
  p.digest12 = res.digest.substring(0, 12);
  c.build(p);
  res.policy = p;
  return res;
}
