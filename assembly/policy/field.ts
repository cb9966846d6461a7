// A rule's match field (`from`, `paths`, ...), declared once as a MatchField: fields.ts lists one
// per kind, and config.ts (validate, compile) and decide.ts (match) are driven from that list, the
// way Envoy RBAC drives every permission through `Matcher::matches()`. At request time decide.ts
// and trace.ts reach the matchers through fields.ts `fieldMatches` (a dispatch on the field code
// the compiler can inline, not a virtual call); `matches` below gives the same answers.
//
// Each field has a negated twin (`paths` / `notPaths`) with the same entries and the same compiled
// matcher; the twin matches when the list does not. Field codes: table index * 2, + 1 for the
// twin. A rule's fields are evaluated, and the first failing one reported, in code order.

import { Arena } from "../util/arena";
import { JsonDoc, J_STRING } from "../util/json";
import { ROLE_EGRESS, ROLE_INBOUND } from "./policy";
import { Evaluation } from "./evaluation";

/** `roles` bits of a MatchField. */
export const IN_INBOUND: i32 = 1 << ROLE_INBOUND;
export const IN_EGRESS: i32 = 1 << ROLE_EGRESS;
export const IN_BOTH: i32 = IN_INBOUND | IN_EGRESS;

export abstract class MatchField {
  /**
   * name / negation: the rule keys; roles: IN_* bits of the filters that have the field;
   * entryKind: the JSON kind of a list entry (J_STRING or J_NUMBER).
   */
  constructor(
    public readonly name: string,
    public readonly negation: string,
    public readonly roles: i32,
    public readonly entryKind: i32 = J_STRING,
  ) {}

  /** Configure time: null when list entry `node` (of entryKind) is valid, else the message. */
  abstract entryError(doc: JsonDoc, node: i32): string | null;

  /**
   * Configure time: compiles a validated, non-empty list into its matcher in the arena; returns
   * the matcher's address. `deny`: the rule denies; `negated`: compiled for the twin.
   */
  abstract compile(arena: Arena, doc: JsonDoc, list: i32, deny: bool, negated: bool): usize;

  /**
   * Request time, allocation-free: whether the request matches the list (the twin's caller
   * negates the answer). `negated` says which of the two lists `matcher` is.
   */
  abstract matches(matcher: usize, negated: bool, ev: Evaluation): bool;
}

/** A field whose entries are strings: validated and compiled from their bytes. */
export abstract class StringField extends MatchField {
  /** null when the entry bytes [p, p+n) are valid, else the message. */
  abstract entryBytesError(p: usize, n: i32): string | null;

  /** Compiles the validated entries into a matcher in the arena; returns its address. */
  abstract build(arena: Arena, entries: StringList, deny: bool, negated: bool): usize;

  entryError(doc: JsonDoc, node: i32): string | null {
    return this.entryBytesError(doc.strPtr(node), doc.strLen(node));
  }

  compile(arena: Arena, doc: JsonDoc, list: i32, deny: bool, negated: bool): usize {
    return this.build(arena, StringList.of(doc, list), deny, negated);
  }
}

/** The byte views of a validated list of strings (configure time). */
export class StringList {
  readonly ptrs: usize[] = [];
  readonly lens: i32[] = [];

  /** The strings of list node `list`. */
  static of(doc: JsonDoc, list: i32): StringList {
    const l = new StringList();
    let e = list + 1;
    for (let i = 0; i < doc.count(list); i++) {
      l.add(doc.strPtr(e), doc.strLen(e));
      e = doc.next(e);
    }
    return l;
  }

  add(ptr: usize, len: i32): void {
    this.ptrs.push(ptr);
    this.lens.push(len);
  }
}
