// The policy digest (docs/internals.md §1 "Policy digest"): lowercase hex sha256 of the
// configuration's canonical form, so that every serialization of one JSON value has one digest —
// Istio re-serializes `pluginConfig` (keys sorted, its own number and escape forms) and the
// digest a proxy logs must still equal what `meshgate validate` prints. The filter (config.ts)
// and the testkit (tk_policy_digest, used by the CLI) both compute it here.
//
// Canonical form of a parsed value, no whitespace anywhere:
// - object members sorted by the UTF-8 bytes of their decoded keys (= code point order; keys are
//   unique: the parser refuses duplicates);
// - strings: the decoded value, with only `"` and `\` escaped by a backslash and the bytes
//   0x00-0x1F and 0x7F as \u00xx (lower-case hex); every other character as its UTF-8 bytes;
// - numbers: an integer value of magnitude ≤ 2^53 as plain decimal digits (443, 443.0 and 4.43e2
//   are all `443`; -0 is `0`); any other number as written (only an invalid policy has one: the
//   numbers a policy takes are ports);
// - true, false, null as themselves; arrays keep their order.
// A document that is not JSON has no canonical form: its digest is over its bytes as they are.
//
//   policyDigest(ptr, len, doc)     // doc: parseJson(ptr, len)
//   writeCanonical(doc, 0, buf)     // the canonical bytes (tests, tk_policy_canonical)

import { JsonDoc, J_NULL, J_TRUE, J_FALSE, J_NUMBER, J_STRING, J_ARRAY } from "../util/json";
import { sha256Hex } from "../util/sha256";
import { StrBuf } from "../util/strbuf";

const MAX_EXACT: f64 = 9007199254740992; // 2^53

/** The digest of the configuration bytes [ptr, ptr+len), given their parse. */
export function policyDigest(ptr: usize, len: i32, doc: JsonDoc): string {
  if (doc.error !== null) return sha256Hex(ptr, len);
  const b = new StrBuf(len + 16);
  writeCanonical(doc, 0, b);
  return sha256Hex(b.ptr, b.len);
}

/** Appends the canonical form of node `i` to `b`. */
export function writeCanonical(doc: JsonDoc, i: i32, b: StrBuf): void {
  const k = doc.kind(i);
  if (k == J_NULL) b.str("null");
  else if (k == J_TRUE) b.str("true");
  else if (k == J_FALSE) b.str("false");
  else if (k == J_NUMBER) writeNumber(doc, i, b);
  else if (k == J_STRING) b.json(doc.strPtr(i), doc.strLen(i));
  else if (k == J_ARRAY) {
    b.byte(0x5B);
    let c = i + 1;
    for (let n = 0; n < doc.count(i); n++) {
      if (n > 0) b.byte(0x2C);
      writeCanonical(doc, c, b);
      c = doc.next(c);
    }
    b.byte(0x5D);
  } else {
    const keys = sortedKeys(doc, i);
    b.byte(0x7B);
    for (let n = 0; n < keys.length; n++) {
      if (n > 0) b.byte(0x2C);
      const key = unchecked(keys[n]);
      b.json(doc.strPtr(key), doc.strLen(key));
      b.byte(0x3A);
      writeCanonical(doc, key + 1, b);
    }
    b.byte(0x7D);
  }
}

function writeNumber(doc: JsonDoc, i: i32, b: StrBuf): void {
  const v = doc.num(i);
  if (v == Math.floor(v) && Math.abs(v) <= MAX_EXACT) b.int(<i64>v); // -0 → 0
  else b.bytes(doc.numPtr(i), doc.numLen(i));
}

/** The key nodes of object `obj`, sorted by their decoded bytes (insertion sort: objects of a
 *  policy have a handful of keys). */
function sortedKeys(doc: JsonDoc, obj: i32): i32[] {
  const keys = new Array<i32>();
  let c = obj + 1;
  for (let n = 0; n < doc.count(obj); n++) {
    keys.push(c);
    c = doc.next(c + 1);
  }
  for (let a = 1; a < keys.length; a++) {
    const key = keys[a];
    let j = a - 1;
    while (j >= 0 && compareBytes(doc, keys[j], key) > 0) {
      keys[j + 1] = keys[j];
      j--;
    }
    keys[j + 1] = key;
  }
  return keys;
}

function compareBytes(doc: JsonDoc, a: i32, b: i32): i32 {
  const pa = doc.strPtr(a), pb = doc.strPtr(b);
  const la = doc.strLen(a), lb = doc.strLen(b);
  const n = la < lb ? la : lb;
  for (let i = 0; i < n; i++) {
    const d = <i32>load<u8>(pa + <usize>i) - <i32>load<u8>(pb + <usize>i);
    if (d != 0) return d;
  }
  return la - lb;
}
