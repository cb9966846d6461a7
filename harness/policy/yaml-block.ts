/**
 * A fast reader for the plain block YAML policies are written in: block mappings and sequences,
 * one `key: value` or `- item` per line, plain and quoted one-line scalars, one-line flow lists of
 * scalars, comments. It returns the same JSON value and the same node positions the yaml package
 * gives source.ts (test/unit/policy/validate-yaml-block.test.ts holds them equal), about ten times
 * faster — the yaml package's lexer alone is most of `meshgate validate` on a 20,000-rule policy.
 *
 * Anything else — anchors, aliases, tags, block scalars, flow mappings, multi-line scalars,
 * several documents, quoted keys, escapes other than `\"` and `\\`, numbers other than decimal
 * integers, an empty value, a duplicate key, any indentation it cannot place — returns undefined,
 * and source.ts reads the text with the yaml package, which also reports every error with its
 * position. So this reader never reports an error of its own.
 */
/** 1-based, as source.ts's SourcePosition (declared here too: source.ts imports this file). */
interface SourcePosition {
  line: number;
  col: number;
}

export interface BlockYaml {
  value: unknown;
  /** Formatted JSON path (source.ts formatPath) → the value's position, and its key's for members. */
  where: Map<string, { value: SourcePosition; key?: SourcePosition }>;
}

interface Line {
  /** 1-based line number. */
  n: number;
  indent: number;
  /** The line after its indentation, without a trailing comment or spaces. */
  text: string;
}

/** Thrown inside the reader when the text leaves the subset; caught by parseBlockYaml. */
class OutsideSubset extends Error {}
const outside = (): never => {
  throw new OutsideSubset();
};

const KEY = /^([A-Za-z0-9_][A-Za-z0-9_.\/-]*):(?: +|$)/;
const NULLS = new Set(['~', 'null', 'Null', 'NULL']);
const BOOLS = new Map([
  ['true', true],
  ['True', true],
  ['TRUE', true],
  ['false', false],
  ['False', false],
  ['FALSE', false],
]);

/** Splits the text into content lines; undefined when a line is outside the subset on its own. */
function contentLines(text: string): Line[] {
  const out: Line[] = [];
  const raw = text.split('\n');
  for (let i = 0; i < raw.length; i++) {
    let s = raw[i];
    if (s.endsWith('\r')) s = s.slice(0, -1);
    let indent = 0;
    while (indent < s.length && s.charCodeAt(indent) === 0x20) indent++;
    if (indent === s.length) continue;
    if (s.charCodeAt(indent) === 0x09) outside(); // a tab: the yaml package explains it
    if (s.charCodeAt(indent) === 0x23) continue; // a comment line
    const body = stripComment(s.slice(indent));
    if (body === '---' || body === '...' || body.startsWith('--- ') || body.startsWith('%')) outside();
    out.push({ n: i + 1, indent, text: body });
  }
  return out;
}

/** Removes a trailing comment (` #` outside quotes) and trailing spaces. */
function stripComment(s: string): string {
  let quote = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (quote !== 0) {
      if (c === quote) quote = 0;
      else if (c === 0x5c && quote === 0x22) i++;
    } else if (c === 0x22 || c === 0x27) {
      // quotes open a scalar only at a value's start; elsewhere they are text
      const prev = i === 0 ? 0x20 : s.charCodeAt(i - 1);
      if (prev === 0x20 || prev === 0x5b || prev === 0x2c) quote = c;
    } else if (c === 0x23 && i > 0 && (s.charCodeAt(i - 1) === 0x20 || s.charCodeAt(i - 1) === 0x09)) return s.slice(0, i).trimEnd();
  }
  if (quote !== 0) outside(); // an unclosed quote: the yaml package reports it
  return s.trimEnd();
}

/** A plain scalar's value under the YAML 1.2 core schema (only the unambiguous cases). */
function plain(s: string): unknown {
  if (NULLS.has(s)) return null;
  const b = BOOLS.get(s);
  if (b !== undefined) return b;
  if (/^[-+]?[0-9]+$/.test(s)) {
    const v = Number(s);
    return Number.isSafeInteger(v) ? v : outside();
  }
  // the core schema's other numbers (floats, .inf, .nan, octal, hex): left to the yaml package
  if (/^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$|^[-+]?\.(?:inf|Inf|INF)$|^\.(?:nan|NaN|NAN)$|^0o[0-7]+$|^0x[0-9a-fA-F]+$/.test(s)) outside();
  if (/^[-?:,[\]{}#&*!|>'"%@`]/.test(s) && !/^-[^ ]/.test(s) && !/^[?:][^ ]/.test(s)) outside();
  if (/: |:$| #|\t/.test(s)) outside();
  return s;
}

/** A one-line scalar or flow list at `col` (0-based) of line `n`; records positions. */
function scalarOrFlow(s: string, n: number, col: number, path: string, key: SourcePosition | undefined, where: BlockYaml['where']): unknown {
  where.set(path, { value: { line: n, col: col + 1 }, key });
  const c = s.charCodeAt(0);
  if (c === 0x22 || c === 0x27) return quoted(s, c);
  if (c !== 0x5b) return plain(s);
  if (s.charCodeAt(s.length - 1) !== 0x5d) outside();
  const items: unknown[] = [];
  let i = 1;
  const end = s.length - 1;
  const skip = () => {
    while (i < end && s.charCodeAt(i) === 0x20) i++;
  };
  skip();
  if (i === end) return items;
  for (;;) {
    skip();
    const start = i;
    let item: string;
    const q = s.charCodeAt(i);
    if (q === 0x22 || q === 0x27) {
      i++;
      for (;;) {
        while (i < end && s.charCodeAt(i) !== q) i += s.charCodeAt(i) === 0x5c && q === 0x22 ? 2 : 1;
        if (i >= end) outside();
        i++;
        if (q === 0x22 || s.charCodeAt(i) !== 0x27) break;
        i++; // '' inside a single-quoted scalar
      }
      item = s.slice(start, i);
    } else {
      while (i < end && s.charCodeAt(i) !== 0x2c) i++;
      item = s.slice(start, i).trimEnd();
      if (item === '' || /[[\]{}]/.test(item)) outside();
    }
    items.push(scalarOrFlow(item, n, col + start, `${path === '(document)' ? '' : path}[${items.length}]`, undefined, where));
    skip();
    if (i === end) return items;
    if (s.charCodeAt(i) !== 0x2c) outside();
    i++;
    skip();
    if (i === end) outside(); // a trailing comma: leave the fine print to the yaml package
  }
}

/** A whole quoted scalar (the line's rest must be exactly it). */
function quoted(s: string, q: number): string {
  if (s.length < 2 || s.charCodeAt(s.length - 1) !== q) outside();
  const inner = s.slice(1, -1);
  if (q === 0x27) {
    if (/'(?!')/.test(inner.replace(/''/g, ''))) outside();
    return inner.replace(/''/g, "'");
  }
  let out = '';
  for (let i = 0; i < inner.length; i++) {
    const c = inner[i];
    if (c === '"') outside();
    if (c !== '\\') {
      out += c;
      continue;
    }
    const next = inner[++i];
    if (next !== '"' && next !== '\\') outside();
    out += next;
  }
  return out;
}

/**
 * Reads the text, or returns undefined when it is outside the subset (then the yaml package
 * reads it, and reports its errors).
 */
export function parseBlockYaml(text: string): BlockYaml | undefined {
  const where: BlockYaml['where'] = new Map();
  try {
    const lines = contentLines(text);
    if (lines.length === 0 || lines[0].indent !== 0) return undefined;
    let at = 0;

    const child = (p: string, k: string) => (p === '(document)' ? k : `${p}.${k}`);

    /** A block node whose first line is lines[at], indented `indent`. */
    const block = (indent: number, path: string, key: SourcePosition | undefined): unknown => {
      const first = lines[at];
      return first.text === '-' || first.text.startsWith('- ') ? sequence(indent, path, key) : mapping(indent, path, key, first.text, indent);
    };

    /**
     * A block mapping at column `indent`; its first key may sit inside a sequence item's line
     * (`- name: a`: `text` is the item's rest, at column `col`).
     */
    const mapping = (indent: number, path: string, key: SourcePosition | undefined, text: string, col: number): Record<string, unknown> => {
      const out: Record<string, unknown> = {};
      where.set(path, { value: { line: lines[at].n, col: col + 1 }, key });
      for (;;) {
        const line = lines[at];
        const m = KEY.exec(text);
        if (!m) outside();
        const name = m![1];
        if (Object.prototype.hasOwnProperty.call(out, name)) outside(); // the yaml path reports duplicates
        const kAt = { line: line.n, col: col + 1 };
        const rest = text.slice(m![0].length);
        const p = child(path, name);
        let v: unknown;
        at++;
        if (rest !== '') {
          v = scalarOrFlow(rest, line.n, col + m![0].length, p, kAt, where);
          if (at < lines.length && lines[at].indent > indent) outside(); // a multi-line scalar
        } else if (at < lines.length && lines[at].indent > indent) {
          v = block(lines[at].indent, p, kAt);
        } else if (at < lines.length && lines[at].indent === indent && (lines[at].text === '-' || lines[at].text.startsWith('- '))) {
          v = sequence(indent, p, kAt); // a sequence at its key's own column
        } else outside(); // an empty value: the yaml package gives its position
        Object.defineProperty(out, name, { value: v, enumerable: true, writable: true, configurable: true });
        if (at >= lines.length || lines[at].indent < indent) return out;
        if (lines[at].indent > indent) outside();
        text = lines[at].text;
        col = indent;
        if (text === '-' || text.startsWith('- ')) {
          // a compact sequence ended and its parent mapping goes on: only where the parent is at this column
          return out;
        }
      }
    };

    /** A block sequence whose dashes are at column `indent`. */
    const sequence = (indent: number, path: string, key: SourcePosition | undefined): unknown[] => {
      const out: unknown[] = [];
      where.set(path, { value: { line: lines[at].n, col: indent + 1 }, key });
      while (at < lines.length && lines[at].indent === indent && (lines[at].text === '-' || lines[at].text.startsWith('- '))) {
        const line = lines[at];
        const after = line.text.slice(1);
        const item = after.trimStart();
        if (item === '') outside();
        const col = indent + 1 + (after.length - item.length);
        const p = `${path === '(document)' ? '' : path}[${out.length}]`;
        if (KEY.test(item)) out.push(mapping(col, p, undefined, item, col));
        else {
          if (item.startsWith('- ')) outside(); // a sequence in a sequence item
          out.push(scalarOrFlow(item, line.n, col, p, undefined, where));
          at++;
          if (at < lines.length && lines[at].indent > indent) outside();
        }
      }
      if (at < lines.length && lines[at].indent > indent) outside();
      return out;
    };

    const value = block(0, '(document)', undefined);
    if (at !== lines.length) return undefined;
    return { value, where };
  } catch (e) {
    if (e instanceof OutsideSubset) return undefined;
    throw e;
  }
}
