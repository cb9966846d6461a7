// Test entry point: `npx asc assembly/testkit.ts --target testkit` → build/testkit.wasm.
// Exposes the pure components (util/, spiffe/, policy/) to the jest tests in test/unit/wasm/.
// Not part of the filter module.
//
// Protocol: the host copies inputs in with `tk_alloc(len)` (free with `tk_free`); every tk_*
// function that produces text writes UTF-8 into one output buffer and returns its byte length;
// read it at `tk_out_ptr()` (the pointer may move between calls). Lengths < 0 mean "absent".
// Structured results are JSON; decisions are compact lines:
//   <allow|deny|audit_deny> rule=<name|default|reason> nearest=<name|-> field=<field|-> audit=<name:allow|deny,...|->
// The only import is env.proxy_log (from the abort handler).

import "./proxywasm/abort";
import { StrBuf } from "./util/strbuf";
import { parseJson, JsonDoc, J_NULL, J_TRUE, J_FALSE, J_NUMBER, J_STRING, J_ARRAY, J_OBJECT } from "./util/json";
import { sha256Hex } from "./util/sha256";
import { hash64, hash64Fold, hashPrefixes } from "./util/bytes";
import { Arena } from "./util/arena";
import { ByteTable } from "./util/bytetable";
import { validateSpiffeId, validateTrustDomain, spiffeCodeName } from "./spiffe/id";
import { XfccSummary, parseXfcc, XFCC_MAX_VALUES } from "./spiffe/xfcc";
import { PeerCertificate, x509CodeName, X509_OK, X509_MAX_URIS } from "./spiffe/x509";
import { Identity, identityReasonName, ID_NO_PEER_CERTIFICATE } from "./spiffe/identity";
import { CertificatePeer } from "./spiffe/sources";
import { compilePolicy } from "./policy/config";
import { Policy, ROLE_EGRESS, ROLE_INBOUND, ACTION_DENY, roleName } from "./policy/policy";
import { FIELDS, fieldName } from "./policy/fields";
import { RequestFacts } from "./policy/facts";
import { Evaluation } from "./policy/evaluation";
import { writeRuleLabel, writeFilterState, writeDebugLine } from "./filter/report";
import { canonicalPathLength, parsePathPattern, PathSet, PathFacts, PathPattern } from "./policy/path";
import { EgressTarget, targetReasonName, formatIp, hostPatternError, HostSet, CidrSet, CidrEntry, parseCidr } from "./policy/host";
import {
  Decision, decideInbound, decideEgress, decideSni, decisionName, invalidReasonName, MAX_AUDIT, BY_DEFAULT, BY_INVALID,
  BY_RULE, DECISION_ALLOW, DECISION_DENY, REASON_NOT_TLS, REASON_CLIENT_HELLO_TOO_LARGE,
} from "./policy/decide";
import { TunnelCheck, judgeTunnel, TUNNEL_PASS, TUNNEL_NEED_MORE } from "./egress/tunnel";
import { ClientHelloReader, helloStatusName } from "./tls/client-hello";
import { helloRefusal } from "./egress/sni-facts";

const out = new StrBuf(4096);
const identity = new Identity();
const ev = new Evaluation(new RequestFacts(identity));
const decision = new Decision();
const xfcc = new XfccSummary();
const cert = new PeerCertificate();
const certPeer = new CertificatePeer();
let policy: Policy | null = null;

function done(): i32 { return out.len; }

export function tk_alloc(len: i32): usize { return heap.alloc(len > 0 ? <usize>len : 1); }
export function tk_free(ptr: usize): void { heap.free(ptr); }
export function tk_out_ptr(): usize { return out.ptr; }

/** A fingerprint of where fresh heap blocks of several sizes would be placed. Unchanged across
 *  code that allocated nothing (managed objects come from the same TLSF heap, and garbage keeps
 *  its block until a GC cycle completes); used to check that the hot path allocates nothing. */
export function tk_alloc_probe(): u32 {
  // static data only: the probe itself must not allocate managed objects
  const sizes = memory.data<i32>([8, 16, 24, 32, 40, 48, 64, 80, 96, 128, 192, 256, 512, 1024, 2048, 4096]);
  const blocks = memory.data(16 * 4);
  let h: u32 = 2166136261;
  for (let i = 0; i < 16; i++) {
    const p = heap.alloc(<usize>load<i32>(sizes + (<usize>i << 2)));
    store<usize>(blocks + (<usize>i << 2), p);
    h = (h ^ <u32>p) * 16777619;
  }
  for (let i = 15; i >= 0; i--) heap.free(load<usize>(blocks + (<usize>i << 2)));
  return h;
}

// ---- util -----------------------------------------------------------------------------------

export function tk_sha256(ptr: usize, len: i32): i32 {
  out.clear().str(sha256Hex(ptr, len));
  return done();
}

export function tk_hash(ptr: usize, len: i32, fold: bool): u64 {
  return fold ? hash64Fold(ptr, len) : hash64(ptr, len);
}

/** 1 if hashPrefixes agrees with hash64 on every '/'-prefix at or after `from`. */
export function tk_hash_prefixes_agree(ptr: usize, len: i32, from: i32, fold: bool): i32 {
  const lens = heap.alloc(4 * 4096);
  const hashes = heap.alloc(8 * 4096);
  const n = hashPrefixes(ptr, len, from, 0x2F, fold, lens, hashes, 4096);
  let ok = 1;
  let k = 0;
  for (let i = from; i < len; i++) {
    if (load<u8>(ptr + <usize>i) != 0x2F) continue;
    if (k >= n || load<i32>(lens + (<usize>k << 2)) != i + 1) { ok = 0; break; }
    const want = fold ? hash64Fold(ptr, i + 1) : hash64(ptr, i + 1);
    if (load<u64>(hashes + (<usize>k << 3)) != want) { ok = 0; break; }
    k++;
  }
  if (k != n) ok = 0;
  heap.free(lens);
  heap.free(hashes);
  return ok;
}

/** Builds a ByteTable from `n` NUL-separated keys at ptr (fold as given), then looks every key
 *  up by value. Writes JSON {"inserted":n,"found":[value per key...],"dups":k}. */
export function tk_bytetable(ptr: usize, len: i32, fold: bool, probePtr: usize, probeLen: i32): i32 {
  const arena = new Arena();
  const t = ByteTable.create(arena, 4, fold);
  let s = 0, idx = 0, dups = 0;
  for (let i = 0; i <= len; i++) {
    if (i < len && load<u8>(ptr + <usize>i) != 0) continue;
    if (t.insert(arena, ptr + <usize>s, i - s, <u32>idx) >= 0) dups++;
    idx++;
    s = i + 1;
  }
  out.clear().str("{\"keys\":").int(idx).str(",\"dups\":").int(dups).str(",\"count\":").int(t.count).str(",\"probe\":[");
  s = 0;
  let first = true;
  for (let i = 0; i <= probeLen; i++) {
    if (i < probeLen && load<u8>(probePtr + <usize>i) != 0) continue;
    if (!first) out.byte(0x2C);
    first = false;
    out.int(t.get(probePtr + <usize>s, i - s));
    s = i + 1;
  }
  out.str("]}");
  arena.dispose();
  return done();
}

function writeJsonNode(doc: JsonDoc, i: i32): void {
  const k = doc.kind(i);
  if (k == J_NULL) out.str("null");
  else if (k == J_TRUE) out.str("true");
  else if (k == J_FALSE) out.str("false");
  else if (k == J_NUMBER) out.bytes(doc.numPtr(i), doc.numLen(i));
  else if (k == J_STRING) out.json(doc.strPtr(i), doc.strLen(i));
  else if (k == J_ARRAY) {
    out.byte(0x5B);
    let c = i + 1;
    for (let n = 0; n < doc.count(i); n++) {
      if (n > 0) out.byte(0x2C);
      writeJsonNode(doc, c);
      c = doc.next(c);
    }
    out.byte(0x5D);
  } else {
    out.byte(0x7B);
    let c = i + 1;
    for (let n = 0; n < doc.count(i); n++) {
      if (n > 0) out.byte(0x2C);
      writeJsonNode(doc, c);
      out.byte(0x3A);
      writeJsonNode(doc, c + 1);
      c = doc.next(c + 1);
    }
    out.byte(0x7D);
  }
}

/** {"ok":true,"value":<the document re-serialized>} or {"ok":false,"error":..,"offset":n}. */
export function tk_json(ptr: usize, len: i32, maxDepth: i32): i32 {
  const doc = parseJson(ptr, len, maxDepth);
  out.clear();
  if (doc.error !== null) {
    out.str("{\"ok\":false,\"error\":").jsonStr(doc.error!).str(",\"offset\":").int(doc.errorOffset).str("}");
  } else {
    out.str("{\"ok\":true,\"value\":");
    writeJsonNode(doc, 0);
    out.str("}");
  }
  return done();
}

// ---- spiffe ---------------------------------------------------------------------------------

export function tk_spiffe_validate(ptr: usize, len: i32): i32 {
  out.clear().str(spiffeCodeName(validateSpiffeId(ptr, len)));
  return done();
}

export function tk_trust_domain_validate(ptr: usize, len: i32): i32 {
  out.clear().str(spiffeCodeName(validateTrustDomain(ptr, len)));
  return done();
}

function xfccValue(p: usize, n: i32, quoted: bool): void {
  if (!quoted) { out.json(p, n); return; }
  // decode \" and \\ (other backslashes stay)
  const tmp = new StrBuf(n + 1);
  for (let i = 0; i < n; i++) {
    const c = <u32>load<u8>(p + <usize>i);
    if (c == 0x5C && i + 1 < n) {
      const d = <u32>load<u8>(p + <usize>(i + 1));
      if (d == 0x22 || d == 0x5C) { tmp.byte(d); i++; continue; }
    }
    tmp.byte(c);
  }
  out.json(tmp.ptr, tmp.len);
}

/** {"ok":true,"elements":n,"by":[..],"uri":[..],"byCount":n,"uriCount":n} or {"ok":false,...}. */
export function tk_xfcc(ptr: usize, len: i32): i32 {
  out.clear();
  if (!parseXfcc(ptr, len, xfcc)) {
    out.str("{\"ok\":false,\"error\":").jsonStr(xfcc.error).str(",\"offset\":").int(xfcc.errorOffset).str("}");
    return done();
  }
  out.str("{\"ok\":true,\"elements\":").int(xfcc.elements).str(",\"byCount\":").int(xfcc.byCount);
  out.str(",\"uriCount\":").int(xfcc.uriCount).str(",\"by\":[");
  const nb = xfcc.byCount < XFCC_MAX_VALUES ? xfcc.byCount : XFCC_MAX_VALUES;
  for (let k = 0; k < nb; k++) { if (k > 0) out.byte(0x2C); xfccValue(xfcc.byPtr[k], xfcc.byLen[k], xfcc.byQuoted[k]); }
  out.str("],\"uri\":[");
  const nu = xfcc.uriCount < XFCC_MAX_VALUES ? xfcc.uriCount : XFCC_MAX_VALUES;
  for (let k = 0; k < nu; k++) { if (k > 0) out.byte(0x2C); xfccValue(xfcc.uriPtr[k], xfcc.uriLen[k], xfcc.uriQuoted[k]); }
  out.str("]}");
  return done();
}

/** {"ok":true,"count":n,"uris":[..],"ca":bool,"keyUsage":bits|null,"clientAuth":bool|null} or
 *  {"ok":false,"error":"bad_der"} (keyUsage: KU_* bits; null = extension absent). */
export function tk_x509(ptr: usize, len: i32): i32 {
  out.clear();
  const err = cert.parse(ptr, len);
  if (err != X509_OK) { out.str("{\"ok\":false,\"error\":\"").str(x509CodeName(err)).str("\"}"); return done(); }
  out.str("{\"ok\":true,\"count\":").int(cert.uriCount).str(",\"uris\":[");
  const n = cert.uriCount < X509_MAX_URIS ? cert.uriCount : X509_MAX_URIS;
  for (let k = 0; k < n; k++) { if (k > 0) out.byte(0x2C); out.json(cert.uriPtr[k], cert.uriLen[k]); }
  out.str("],\"ca\":").str(cert.isCa ? "true" : "false").str(",\"keyUsage\":");
  if (cert.hasKeyUsage) out.int(<i32>cert.keyUsage); else out.str("null");
  out.str(",\"clientAuth\":").str(!cert.hasExtKeyUsage ? "null" : cert.clientAuth ? "true" : "false");
  out.str("}");
  return done();
}

function writeIdentity(): void {
  out.str("{\"authenticated\":").str(identity.authenticated ? "true" : "false");
  if (identity.authenticated) out.str(",\"id\":").json(identity.ptr, identity.len);
  out.str(",\"reason\":\"").str(identityReasonName(identity.reason)).str("\"}");
}

/** Sets the identity used by the decide functions: a SPIFFE ID (validated), or len < 0 for an
 *  unauthenticated caller (reason no_peer_certificate). Writes the identity JSON. */
export function tk_identity_set(ptr: usize, len: i32): i32 {
  if (len < 0) identity.fail(ID_NO_PEER_CERTIFICATE);
  else identity.setId(ptr, len);
  out.clear();
  writeIdentity();
  return done();
}

/** Resolves the identity with the last compiled policy's `identity` section. */
export function tk_identity_resolve(certPtr: usize, certLen: i32, xfccPtr: usize, xfccLen: i32): i32 {
  out.clear();
  const p = policy;
  if (p === null) { out.str("{\"error\":\"no policy\"}"); return done(); }
  certPeer.set(certPtr, certLen);
  identity.copyFrom(p.identity!.caller(certPeer, xfccPtr, xfccLen));
  writeIdentity();
  return done();
}

// ---- policy ---------------------------------------------------------------------------------

/** Compiles (role 0 inbound, 1 egress, 2 egress for the network filter meshgate_egress_sni) and
 *  keeps the policy for the decide functions (the previous one is disposed).
 *  {"ok":bool,"digest":..,"errors":[..],"rules":n,...}. */
export function tk_compile(role: i32, ptr: usize, len: i32): i32 {
  const r = compilePolicy(ptr, len, role >= 1 ? ROLE_EGRESS : ROLE_INBOUND, role == 2);
  const old = policy;
  if (old !== null) old.dispose();
  policy = r.policy;
  out.clear().str("{\"ok\":").str(r.policy !== null ? "true" : "false");
  out.str(",\"digest\":\"").str(r.digest).str("\",\"errors\":[");
  for (let i = 0; i < r.errors.length; i++) { if (i > 0) out.byte(0x2C); out.jsonStr(r.errors[i]); }
  out.str("]");
  const p = r.policy;
  if (p !== null) {
    out.str(",\"rules\":").int(p.ruleCount).str(",\"deny\":").int(p.denyCount);
    out.str(",\"allow\":").int(p.allowCount).str(",\"audit\":").int(p.auditCount);
    out.str(",\"arenaBytes\":").int(<i64>p.arena.bytes);
  }
  out.str("}");
  return done();
}

/** Disposes the kept policy. */
export function tk_policy_dispose(): void {
  const p = policy;
  if (p !== null) p.dispose();
  policy = null;
}

function writeDecision(p: Policy): void {
  const d = decision;
  out.clear().str(decisionName(d.decision)).str(" rule=");
  writeRuleLabel(p, d, out);
  out.str(" nearest=");
  if (d.by == BY_DEFAULT && d.nearestRule >= 0) {
    const r = p.rule(d.nearestRule);
    out.bytes(r.namePtr, r.nameLen).str(" field=").str(fieldName(d.nearestField));
  } else out.str("- field=-");
  out.str(" audit=");
  if (d.auditCount == 0) out.byte(0x2D);
  const n = d.auditCount < MAX_AUDIT ? d.auditCount : MAX_AUDIT;
  for (let k = 0; k < n; k++) {
    if (k > 0) out.byte(0x2C);
    const i = d.auditRule(k);
    const r = p.rule(i);
    out.bytes(r.namePtr, r.nameLen).byte(0x3A).str(r.action == ACTION_DENY ? "deny" : "allow");
  }
}

export function tk_decide_inbound(methodPtr: usize, methodLen: i32, pathPtr: usize, pathLen: i32): i32 {
  const p = policy;
  if (p === null) { out.clear().str("no policy"); return done(); }
  ev.facts.setInbound(methodPtr, methodLen, pathPtr, pathLen);
  decideInbound(p, ev, decision);
  writeDecision(p);
  return done();
}

export function tk_decide_egress(authPtr: usize, authLen: i32, schemePtr: usize, schemeLen: i32, connect: bool): i32 {
  const p = policy;
  if (p === null) { out.clear().str("no policy"); return done(); }
  ev.facts.setEgress(authPtr, authLen, schemePtr, schemeLen, connect);
  decideEgress(p, ev, decision);
  writeDecision(p);
  return done();
}

let hello: ClientHelloReader | null = null; // 64 KiB: made on first use

/**
 * The SNI filter's facts and decision on a connection's first bytes (egress/sni-facts.ts, then
 * decideSni with the kept egress policy and `port`): `more` = more bytes may come (not end of
 * stream). {"status":<reader status>,"wait":true} | {..,"refusal":<label>} | {..,"sni":<judged
 * name>,"decision":<line>}.
 */
export function tk_client_hello(ptr: usize, len: i32, more: bool, port: i32): i32 {
  const p = policy;
  if (p === null) { out.clear().str("no policy"); return done(); }
  let h = hello;
  if (h === null) { h = new ClientHelloReader(); hello = h; }
  const status = h.read(ptr, len < 0 ? 0 : len);
  const refusal = helloRefusal(h, status, len < 0 ? 0 : len, more);
  out.clear().str("{\"status\":").jsonStr(helloStatusName(status));
  if (refusal < 0) { out.str(",\"wait\":true}"); return done(); }
  ev.facts.setServerName(refusal, h.sniPtr, h.sniLen, port);
  decideSni(p, ev, decision);
  if (decision.by == BY_INVALID) {
    out.str(",\"refusal\":").jsonStr(invalidReasonName(decision.reason)).byte(0x7D);
    return done();
  }
  const t = ev.facts.target;
  const line = new StrBuf(256);
  line.str(decisionName(decision.decision)).str(" rule=");
  writeRuleLabel(p, decision, line);
  out.str(",\"sni\":").json(t.name, t.nameLen).str(",\"decision\":").jsonStr(line.toString()).byte(0x7D);
  return done();
}

/** Re-decides the last inbound (or egress) request n times (facts already set); returns the
 *  decision code. For the allocation and memory-growth checks. */
export function tk_decide_loop(egress: bool, n: i32): i32 {
  const p = policy;
  if (p === null) return -1;
  for (let i = 0; i < n; i++) {
    if (egress) decideEgress(p, ev, decision); else decideInbound(p, ev, decision);
  }
  return decision.decision;
}

/** Like tk_decide_loop but also re-parses the request (facts.set) each time. */
export function tk_decide_full_loop(egress: bool, n: i32, aPtr: usize, aLen: i32, bPtr: usize, bLen: i32, connect: bool): i32 {
  const p = policy;
  if (p === null) return -1;
  for (let i = 0; i < n; i++) {
    if (egress) { ev.facts.setEgress(aPtr, aLen, bPtr, bLen, connect); decideEgress(p, ev, decision); }
    else { ev.facts.setInbound(aPtr, aLen, bPtr, bLen); decideInbound(p, ev, decision); }
  }
  return decision.decision;
}

/** The filter-state value and the debug line of the last decision, joined by "\n". */
export function tk_decision_lines(): i32 {
  const p = policy;
  out.clear();
  if (p === null) return done();
  writeFilterState(p, decision, identity, out);
  out.byte(0x0A);
  writeDebugLine(p, decision, identity, out);
  return done();
}

/** The positive match fields in table order, as JSON:
 *  [{"name":"from","negation":"notFrom","roles":["inbound","egress"]}, ...]. */
export function tk_policy_fields(): i32 {
  out.clear().byte(0x5B);
  for (let i = 0; i < FIELDS.length; i++) {
    const f = FIELDS[i];
    if (i > 0) out.byte(0x2C);
    out.str("{\"name\":").jsonStr(f.name).str(",\"negation\":").jsonStr(f.negation).str(",\"roles\":[");
    let first = true;
    for (let role = ROLE_INBOUND; role <= ROLE_EGRESS; role++) {
      if ((f.roles & (1 << role)) == 0) continue;
      if (!first) out.byte(0x2C);
      out.jsonStr(roleName(role));
      first = false;
    }
    out.str("]}");
  }
  out.byte(0x5D);
  return done();
}

// ---- path / host pieces ---------------------------------------------------------------------

export function tk_path_canonical(ptr: usize, len: i32): i32 { return canonicalPathLength(ptr, len); }

/** {"valid":true,"kind":n} or {"valid":false,"error":".."}. */
export function tk_path_pattern(ptr: usize, len: i32): i32 {
  const r = parsePathPattern(ptr, len);
  out.clear();
  if (r.error !== null) out.str("{\"valid\":false,\"error\":").jsonStr(r.error!).str("}");
  else out.str("{\"valid\":true,\"kind\":").int(r.kind).str("}");
  return done();
}

const pf = new PathFacts();

/** 1 match, 0 no match, -1 invalid pattern, -2 non-canonical path. fold: deny-rule matching. */
export function tk_path_match(patPtr: usize, patLen: i32, pathPtr: usize, pathLen: i32, fold: bool): i32 {
  const pat = parsePathPattern(patPtr, patLen);
  if (pat.error !== null) return -1;
  if (!pf.set(pathPtr, pathLen)) return -2;
  const arena = new Arena();
  const pats: PathPattern[] = [pat];
  const s = PathSet.build(arena, fold, pats, [patPtr], [patLen]);
  const r = s.match(pf) ? 1 : 0;
  arena.dispose();
  return r;
}

const target = new EgressTarget();

/** {"ok":true,"name":..,"port":n} / {"ok":true,"ip":"..","port":n} / {"ok":false,"error":".."}. */
export function tk_target(aPtr: usize, aLen: i32, sPtr: usize, sLen: i32, connect: bool): i32 {
  out.clear();
  if (!target.parse(aPtr, aLen, sPtr, sLen, connect)) {
    out.str("{\"ok\":false,\"error\":\"").str(targetReasonName(target.reason)).str("\"}");
    return done();
  }
  out.str("{\"ok\":true,");
  if (target.isIp) { out.str("\"ip\":\""); formatIp(target.ip, out); out.str("\""); }
  else out.str("\"name\":").json(target.name, target.nameLen);
  out.str(",\"port\":").int(target.port).str("}");
  return done();
}

/** "" when the hosts entry is valid, else the message. */
export function tk_host_pattern(ptr: usize, len: i32): i32 {
  const e = hostPatternError(ptr, len);
  out.clear();
  if (e !== null) out.str(e);
  return done();
}

/** 1/0 whether the name (parsed as an http authority) matches the hosts pattern; -1 invalid
 *  pattern; -2 the name is not a valid target. */
export function tk_host_match(patPtr: usize, patLen: i32, namePtr: usize, nameLen: i32): i32 {
  if (hostPatternError(patPtr, patLen) !== null) return -1;
  const http = String.UTF8.encode("http");
  if (!target.parse(namePtr, nameLen, changetype<usize>(http), 4, false)) return -2;
  const arena = new Arena();
  const s = HostSet.build(arena, [patPtr], [patLen]);
  const r = s.match(target) ? 1 : 0;
  arena.dispose();
  return r;
}

/** "" when the cidrs entry is valid, else the message. */
export function tk_cidr(ptr: usize, len: i32): i32 {
  const e = parseCidr(ptr, len, new CidrEntry()).error;
  out.clear();
  if (e !== null) out.str(e);
  return done();
}

/** 1/0 whether the authority (parsed with scheme http) lies in the CIDR; -1 invalid CIDR; -2 the
 *  authority is not a valid target. */
export function tk_cidr_match(cPtr: usize, cLen: i32, aPtr: usize, aLen: i32): i32 {
  const c = parseCidr(cPtr, cLen, new CidrEntry());
  if (c.error !== null) return -1;
  const http = String.UTF8.encode("http");
  if (!target.parse(aPtr, aLen, changetype<usize>(http), 4, false)) return -2;
  const arena = new Arena();
  const s = CidrSet.build(arena, [c]);
  const r = s.match(target) ? 1 : 0;
  arena.dispose();
  return r;
}

/** Fails an assertion: the abort handler logs through env.proxy_log, then the VM traps. */
export function tk_trap(): void {
  assert(false, "testkit trap");
}

// ---- replay ---------------------------------------------------------------------------------
// What `meshgate replay` needs besides tk_decide_inbound/egress: a TLS passthrough decision from
// a record's judged name (or refusal) and port, and the check of an allowed CONNECT's first
// tunnel bytes — both through the filter's own code (decideSni, judgeTunnel).

/** The hello refusal code (REASON_*) of a label the SNI filter records, or 0. */
function helloRefusalCode(ptr: usize, len: i32): i32 {
  if (len <= 0) return 0;
  const label = String.UTF8.decodeUnsafe(ptr, <usize>len);
  for (let r = REASON_NOT_TLS; r <= REASON_CLIENT_HELLO_TOO_LARGE; r++) {
    if (invalidReasonName(r) == label) return r;
  }
  return 0;
}

/**
 * decideSni on a recorded connection: `refusal` = the record's rule when it is a hello refusal
 * (not_tls, no_sni, ech, malformed_client_hello, client_hello_too_large; anything else is
 * ignored), else the judged `name` (as recorded) and the destination `port`. Writes the decision
 * line (the header's format).
 */
export function tk_decide_sni(refusalPtr: usize, refusalLen: i32, namePtr: usize, nameLen: i32, port: i32): i32 {
  const p = policy;
  if (p === null) { out.clear().str("no policy"); return done(); }
  const refusal = helloRefusalCode(refusalPtr, refusalLen);
  ev.facts.setServerName(refusal, namePtr, nameLen < 0 ? 0 : nameLen, port);
  decideSni(p, ev, decision);
  writeDecision(p);
  return done();
}

const tunnelCheck = new TunnelCheck();
const innerName = new EgressTarget();

/**
 * After tk_decide_egress on a CONNECT that was not denied: the filter's tunnel check on the first
 * tunnel bytes at ptr (`endOfStream`: no more came). Writes "pass", "wait" (an incomplete hello),
 * or the refusal label (tunnel_not_tls, ...); "no tunnel" when the last decision armed none.
 */
export function tk_decide_tunnel(ptr: usize, len: i32, endOfStream: bool): i32 {
  const p = policy;
  out.clear();
  if (p === null || !ev.facts.connect || decision.decision == DECISION_DENY) { out.str("no tunnel"); return done(); }
  const tunnelAny = decision.by == BY_RULE && decision.decision == DECISION_ALLOW && p.rule(decision.rule).tunnelAny;
  const t = ev.facts.target;
  tunnelCheck.arm(t, tunnelAny);
  let h = hello;
  if (h === null) { h = new ClientHelloReader(); hello = h; }
  const verdict = judgeTunnel(tunnelCheck, h, innerName, ptr, len < 0 ? 0 : len, endOfStream);
  tunnelCheck.disarm();
  if (verdict == TUNNEL_PASS) out.str("pass");
  else if (verdict == TUNNEL_NEED_MORE) out.str("wait");
  else out.str(invalidReasonName(verdict));
  return done();
}

/** Whether the kept policy is in global audit mode (a refusal is then audit_deny). */
export function tk_policy_audit_mode(): i32 {
  const p = policy;
  return p !== null && p.auditMode ? 1 : 0;
}

// ---- explain --------------------------------------------------------------------------------
// `meshgate explain` and `diff` (harness/rollout/): the canonical policy digest, the caller as the
// policy's identity source resolves it, and the decision's trace (policy/trace.ts).

import { policyDigest, writeCanonical } from "./policy/digest";
import { writeTrace } from "./policy/trace";
import { DirectPeer } from "./spiffe/sources";

/** The policy digest of a configuration (policy/digest.ts), as the filter computes it. */
export function tk_policy_digest(ptr: usize, len: i32): i32 {
  out.clear().str(policyDigest(ptr, len, parseJson(ptr, len)));
  return done();
}

/** {"ok":true,"canonical":"<the canonical form>"} or {"ok":false,"error":..}. */
export function tk_policy_canonical(ptr: usize, len: i32): i32 {
  const doc = parseJson(ptr, len);
  out.clear();
  if (doc.error !== null) { out.str("{\"ok\":false,\"error\":").jsonStr(doc.error!).str("}"); return done(); }
  const b = new StrBuf(len + 16);
  writeCanonical(doc, 0, b);
  out.str("{\"ok\":true,\"canonical\":").json(b.ptr, b.len).str("}");
  return done();
}

/** A direct peer given by its SPIFFE ID (a valid X.509-SVID carrying it is presumed). */
class GivenPeer extends DirectPeer {
  readonly id: Identity = new Identity();
  identity(): Identity { return this.id; }
}
const givenPeer = new GivenPeer();

/** The caller, resolved by the kept policy's identity source: the direct peer's SPIFFE ID (len < 0:
 *  no client certificate) and the request's x-forwarded-client-cert (len < 0: absent). Sets the
 *  identity the decide and explain functions use; writes the identity JSON. */
export function tk_explain_caller(peerPtr: usize, peerLen: i32, xfccPtr: usize, xfccLen: i32): i32 {
  out.clear();
  const p = policy;
  if (p === null) { out.str("{\"error\":\"no policy\"}"); return done(); }
  if (peerLen < 0) givenPeer.id.fail(ID_NO_PEER_CERTIFICATE);
  else givenPeer.id.setId(peerPtr, peerLen);
  identity.copyFrom(p.identity!.caller(givenPeer, xfccPtr, xfccLen));
  writeIdentity();
  return done();
}

/** An unauthenticated caller for the reason named (a record's identity_reason); 0 when the name
 *  is not a reason (the identity is then no_peer_certificate). */
export function tk_explain_unauthenticated(ptr: usize, len: i32): i32 {
  const name = String.UTF8.decodeUnsafe(ptr, <usize>len);
  for (let code = 1; code < 64; code++) {
    if (identityReasonName(code) == name) { identity.fail(code); return 1; }
  }
  identity.fail(ID_NO_PEER_CERTIFICATE);
  return 0;
}

/** {"line":<the tk_decide_* line>,"identity":{..},"trace":{policy/trace.ts}} for the decision just
 *  made; the trace is refused ({"error":..}) when it does not describe that decision. */
function explained(p: Policy): i32 {
  writeDecision(p);
  const line = out.toString();
  const t = new StrBuf(1024);
  const consistent = writeTrace(p, ev, decision, t);
  out.clear().str("{\"line\":").jsonStr(line).str(",\"identity\":");
  writeIdentity();
  if (!consistent) out.str(",\"error\":\"the trace disagrees with the decision\"");
  out.str(",\"trace\":").bytes(t.ptr, t.len).byte(0x7D);
  return done();
}

export function tk_explain_inbound(methodPtr: usize, methodLen: i32, pathPtr: usize, pathLen: i32): i32 {
  const p = policy;
  if (p === null) { out.clear().str("{\"error\":\"no policy\"}"); return done(); }
  ev.facts.setInbound(methodPtr, methodLen, pathPtr, pathLen);
  decideInbound(p, ev, decision);
  return explained(p);
}

export function tk_explain_egress(authPtr: usize, authLen: i32, schemePtr: usize, schemeLen: i32, connect: bool): i32 {
  const p = policy;
  if (p === null) { out.clear().str("{\"error\":\"no policy\"}"); return done(); }
  ev.facts.setEgress(authPtr, authLen, schemePtr, schemeLen, connect);
  decideEgress(p, ev, decision);
  return explained(p);
}

/** A TLS passthrough connection judged by its server name (the SNI filter's facts without a
 *  refusal) and destination port. */
export function tk_explain_sni(namePtr: usize, nameLen: i32, port: i32): i32 {
  const p = policy;
  if (p === null) { out.clear().str("{\"error\":\"no policy\"}"); return done(); }
  ev.facts.setServerName(0, namePtr, nameLen, port);
  decideSni(p, ev, decision);
  return explained(p);
}

/** The decision line for a TLS passthrough connection's server name and port, no refusal (explain's check of
 *  tk_explain_sni; replay's tk_decide_sni takes a refusal label too). */
export function tk_decide_server_name(namePtr: usize, nameLen: i32, port: i32): i32 {
  const p = policy;
  if (p === null) { out.clear().str("no policy"); return done(); }
  ev.facts.setServerName(0, namePtr, nameLen, port);
  decideSni(p, ev, decision);
  writeDecision(p);
  return done();
}
