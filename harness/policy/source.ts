/**
 * Policy source: YAML text (or an already-parsed YAML node, e.g. a policy written inline in a
 * scenario file) → the plain JSON value the filter will see, plus the source position of every
 * node, so that any JSON field path (`inbound.rules[2].from[0]`) maps to `FILE:LINE:COL`.
 *
 * The YAML is read as YAML 1.2 (core schema: `on`/`yes` are strings). Refused, with positions:
 * syntax errors, several documents in one file, duplicate keys, anchors and aliases (a policy is
 * read by people deciding who may call what; every rule should be spelled out where it applies),
 * explicit tags (`!!str 5`: quote instead), keys that are not scalars, numbers JSON cannot carry
 * (`.inf`, `.nan`) and strings that are not valid Unicode (lone surrogates from `"\ud800"`).
 */
import * as fs from 'node:fs';
import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Node, type YAMLError } from 'yaml';
import type { Diagnostic } from './diagnostics';
import { indentationFault } from './yaml-indentation';
import { parseBlockYaml } from './yaml-block';

export type PathSegment = string | number;

export interface SourcePosition {
  line: number;
  col: number;
}

interface Located {
  value: SourcePosition;
  key?: SourcePosition;
}

/** `["inbound","rules",2,"from",0]` → `inbound.rules[2].from[0]`; `[]` → `(document)`. */
export function formatPath(segments: readonly PathSegment[]): string {
  let out = '';
  for (const s of segments) {
    if (typeof s === 'number') out += `[${s}]`;
    else out += out === '' ? s : `.${s}`;
  }
  return out === '' ? '(document)' : out;
}

/** The parent of a formatted path (`inbound.rules[2].from[0]` → `inbound.rules[2].from`). */
export function parentPath(path: string): string {
  const m = /^(.*)(\[\d+\]|\.[^.[\]]*)$/.exec(path);
  if (m && m[1] !== '') return m[1];
  return '(document)';
}

export class PolicySource {
  constructor(
    /** The file positions refer to. */
    readonly file: string,
    /** The document as a plain JSON value (objects keep document key order). */
    readonly value: unknown,
    /** Problems reading the YAML itself; the value is not meaningful when there are any. */
    readonly errors: Diagnostic[],
    /** False for a plain object given without YAML: positions are then 0:0. */
    readonly hasPositions: boolean,
    private readonly where: ReadonlyMap<string, Located> = new Map(),
  ) {}

  /**
   * The position of a JSON path: its value (default), or its key for a mapping member. A path
   * that does not exist (a missing required field) falls back to its nearest existing ancestor.
   */
  locate(path: string, part: 'value' | 'key' = 'value'): SourcePosition {
    for (let p = path; ; p = parentPath(p)) {
      const loc = this.where.get(p);
      if (loc) return (part === 'key' && p === path && loc.key) || loc.value;
      if (p === '(document)') return this.hasPositions ? { line: 1, col: 1 } : { line: 0, col: 0 };
    }
  }

  /** A diagnostic at a path. */
  diagnostic(path: string, message: string, part: 'value' | 'key' = 'value'): Diagnostic {
    const { line, col } = this.locate(path, part);
    return { file: this.file, line, col, path, message: `${path}: ${message}` };
  }
}

/** Reads and parses a policy file. I/O errors are thrown (the caller reports a missing file). */
export function readPolicySource(file: string): PolicySource {
  return parsePolicySource(fs.readFileSync(file, 'utf8'), file);
}

/**
 * Parses policy YAML text: plain block YAML with the fast reader (yaml-block.ts), anything else —
 * and every text with an error — with the yaml package.
 */
export function parsePolicySource(text: string, file: string): PolicySource {
  const fast = parseBlockYaml(text);
  if (fast) return new PolicySource(file, fast.value, [], true, fast.where);
  return parsePolicySourceWithYaml(text, file);
}

/** Parses policy YAML text with the yaml package (all of YAML 1.2; errors with positions). */
export function parsePolicySourceWithYaml(text: string, file: string): PolicySource {
  const lines = new LineCounter();
  const doc = parseDocument(text, {
    lineCounter: lines,
    version: '1.2',
    schema: 'core',
    merge: false,
    uniqueKeys: false, // duplicates are found below, with the field path in the message
    prettyErrors: false,
  });
  const errors: Diagnostic[] = [];
  const fault = doc.errors.some(isIndentationSymptom) ? indentationFault(text) : undefined;
  if (fault) {
    // The parser's indentation errors are its confusion about this fault: one message, at the fault.
    errors.push({ file, line: fault.line, col: fault.col, path: '', message: `YAML: ${fault.message}` });
  }
  for (const e of [...doc.errors, ...doc.warnings]) {
    if (fault && isIndentationSymptom(e)) continue;
    const { line, col } = lines.linePos(e.pos[0]);
    const text = e.code === 'MULTIPLE_DOCS' ? 'a policy file holds one YAML document' : e.message.split('\n')[0];
    errors.push({ file, line, col, path: '', message: `YAML: ${text}` });
  }
  if (errors.length > 0) return new PolicySource(file, null, errors, true);
  return sourceFromNode(doc.contents as Node | null, file, lines);
}

/** Parser errors that an indentation slip or an unclosed flow list produces somewhere after it. */
function isIndentationSymptom(e: YAMLError): boolean {
  if (e.code === 'MISSING_CHAR') return /^Sequence item without/.test(e.message);
  return ['BAD_INDENT', 'BLOCK_AS_IMPLICIT_KEY', 'MULTILINE_IMPLICIT_KEY', 'UNEXPECTED_TOKEN'].includes(e.code);
}

/**
 * A policy given as an already-parsed YAML node (an inline mapping in a scenario file): positions
 * come from that file's LineCounter. Without one, positions are 0:0.
 */
export function sourceFromNode(node: Node | null, file: string, lines?: LineCounter): PolicySource {
  const errors: Diagnostic[] = [];
  const pos = (offset: number | undefined): SourcePosition =>
    lines && offset !== undefined ? lines.linePos(offset) : { line: 0, col: 0 };
  const where = new Map<string, Located>();
  const fail = (at: SourcePosition, path: string, message: string) =>
    errors.push({ file, line: at.line, col: at.col, path, message: path === '' ? message : `${path}: ${message}` });

  const convert = (n: Node | null, segs: PathSegment[], keyPos: SourcePosition | undefined, fallback: SourcePosition): unknown => {
    const path = formatPath(segs);
    const at = n?.range ? pos(n.range[0]) : fallback;
    if (!where.has(path)) where.set(path, { value: at, key: keyPos });
    if (n === null || n === undefined) return null;
    if (isAlias(n)) {
      fail(at, path, `aliases are not supported in a policy (*${n.source}): write the value out`);
      return null;
    }
    if (n.anchor) fail(at, path, `anchors are not supported in a policy (&${n.anchor})`);
    if (n.tag) fail(at, path, `explicit tags are not supported in a policy (${n.tag.replace(/^tag:yaml\.org,2002:/, '!!')}): quote strings instead`);
    if (isScalar(n)) {
      const v = n.value;
      if (v === null || typeof v === 'boolean' || typeof v === 'string') {
        if (typeof v === 'string' && !isWellFormed(v)) fail(at, path, 'string is not valid Unicode (a lone surrogate)');
        return v;
      }
      if (typeof v === 'number') {
        if (!Number.isFinite(v)) fail(at, path, `${String(n.source ?? v)} cannot be written as JSON`);
        return v;
      }
      fail(at, path, `unsupported YAML value (${typeof v})`);
      return null;
    }
    if (isSeq(n)) {
      return n.items.map((item, i) => convert(item as Node | null, [...segs, i], undefined, at));
    }
    if (isMap(n)) {
      const out: Record<string, unknown> = {};
      const seen = new Map<string, SourcePosition>();
      for (const pair of n.items) {
        if (!isPair(pair)) continue;
        const k = pair.key as Node | null;
        const kAt = k?.range ? pos(k.range[0]) : at;
        if (!isScalar(k) || (k.value !== null && typeof k.value === 'object')) {
          fail(kAt, path, 'mapping keys must be plain strings');
          continue;
        }
        if (k.anchor || k.tag) fail(kAt, path, 'mapping keys must be plain strings');
        const key = String(k.value);
        const childSegs = [...segs, key];
        const prev = seen.get(key);
        if (prev) {
          fail(kAt, formatPath(childSegs), `duplicate key (first at ${prev.line}:${prev.col})`);
          continue;
        }
        seen.set(key, kAt);
        const v = convert(pair.value as Node | null, childSegs, kAt, kAt);
        // defineProperty: a key such as "__proto__" stays an ordinary own property
        Object.defineProperty(out, key, { value: v, enumerable: true, writable: true, configurable: true });
      }
      return out;
    }
    fail(at, path, 'unsupported YAML node');
    return null;
  };

  const value = convert(node, [], undefined, lines ? { line: 1, col: 1 } : { line: 0, col: 0 });
  return new PolicySource(file, value, errors, lines !== undefined, where);
}

/**
 * A policy given as a plain value (JSON.parse output, an object built in code). Checked for
 * what JSON can carry; positions are 0:0.
 */
export function sourceFromValue(input: unknown, file: string): PolicySource {
  const errors: Diagnostic[] = [];
  const where = new Map<string, Located>();
  const convert = (v: unknown, segs: PathSegment[]): unknown => {
    const path = formatPath(segs);
    where.set(path, { value: { line: 0, col: 0 } });
    const fail = (message: string) => errors.push({ file, line: 0, col: 0, path, message: `${path}: ${message}` });
    if (v === null || typeof v === 'boolean') return v;
    if (typeof v === 'string') {
      if (!isWellFormed(v)) fail('string is not valid Unicode (a lone surrogate)');
      return v;
    }
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) fail(`${v} cannot be written as JSON`);
      return v;
    }
    if (Array.isArray(v)) return v.map((x, i) => convert(x, [...segs, i]));
    if (typeof v === 'object' && v !== null && (Object.getPrototypeOf(v) === Object.prototype || Object.getPrototypeOf(v) === null)) {
      const out: Record<string, unknown> = {};
      for (const key of Object.keys(v)) {
        Object.defineProperty(out, key, {
          value: convert((v as Record<string, unknown>)[key], [...segs, key]),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      }
      return out;
    }
    fail(`${typeof v} cannot be written as JSON`);
    return null;
  };
  const value = convert(input, []);
  return new PolicySource(file, value, errors, false, where);
}

/** No lone surrogates (String.prototype.isWellFormed is Node ≥ 20 but not in lib ES2022). */
function isWellFormed(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1);
      if (!(d >= 0xdc00 && d <= 0xdfff)) return false;
      i++;
    } else if (c >= 0xdc00 && c <= 0xdfff) return false;
  }
  return true;
}
