/**
 * Diagnostics: what `meshgate validate` prints, one per problem, `FILE:LINE:COL: message`.
 *
 * `message` starts with the JSON field path (`inbound.rules[2].from[0]: ...`), the same words the
 * filter logs when `proxy_on_configure` rejects the configuration. Positions are 1-based; a
 * diagnostic about a plain object (no YAML source) has line and col 0 and prints as
 * `FILE: message`.
 */

export interface Diagnostic {
  file: string;
  line: number;
  col: number;
  /** The JSON field path the message is about ("" for YAML-level problems, `(document)`). */
  path: string;
  /** The whole message, path first. */
  message: string;
  /** A suggestion for the fix, printed after the message (`did you mean "methods"?`). */
  hint?: string;
}

export type WarningCode =
  | 'shadowed-by-deny'
  | 'unreachable'
  | 'allow-deny-overlap'
  | 'duplicate-rule'
  | 'duplicate-entry'
  | 'broad-identity'
  | 'broad-host'
  | 'unauthenticated-allow'
  | 'never-matches'
  | 'inert-option'
  | 'literal-parameter'
  | 'global-audit'
  | 'no-sections';

/** A static-analysis finding (analyze.ts): never an error, the policy is valid. */
export interface Warning extends Diagnostic {
  /** Stable code, for suppressions and tests. */
  code: WarningCode;
}

export function formatDiagnostic(d: Diagnostic): string {
  const message = d.hint !== undefined ? `${d.message} (${d.hint})` : d.message;
  return d.line > 0 ? `${d.file}:${d.line}:${d.col}: ${message}` : `${d.file}: ${message}`;
}

export function formatWarning(w: Warning): string {
  const where = w.line > 0 ? `${w.file}:${w.line}:${w.col}` : w.file;
  const message = w.hint !== undefined ? `${w.message} (${w.hint})` : w.message;
  return `${where}: warning: ${message} [${w.code}]`;
}

/** Sorts by file, line, column; stable, so problems at one position keep their order. */
export function sortDiagnostics<T extends Diagnostic>(list: T[]): T[] {
  return list
    .map((d, i) => ({ d, i }))
    .sort((a, b) => (a.d.file < b.d.file ? -1 : a.d.file > b.d.file ? 1 : 0) || a.d.line - b.d.line || a.d.col - b.d.col || a.i - b.i)
    .map((x) => x.d);
}

/**
 * A value as it appears in messages, exactly as the filter writes it: a string as a JSON string
 * literal of at most 256 UTF-8 bytes (then `...`), with `"` and `\` escaped and control bytes and
 * 0x7F as `\u00XX`; anything else as its JSON text.
 */
export function quoteValue(v: unknown): string {
  if (typeof v !== 'string') return JSON.stringify(v) ?? String(v);
  const bytes = Buffer.from(v, 'utf8');
  const MAX = 256;
  const n = Math.min(bytes.length, MAX);
  let out = '"';
  for (let i = 0; i < n; i++) {
    const c = bytes[i];
    if (c === 0x22 || c === 0x5c) out += '\\' + String.fromCharCode(c);
    else if (c < 0x20 || c === 0x7f) out += '\\u00' + c.toString(16).padStart(2, '0');
    else if (c < 0x80) out += String.fromCharCode(c);
    else {
      const l = utf8SeqLen(bytes, i, n);
      if (l === 0) out += '\\u00' + c.toString(16).padStart(2, '0');
      else {
        out += bytes.subarray(i, i + l).toString('utf8');
        i += l - 1;
      }
    }
  }
  out += '"';
  if (bytes.length > MAX) out += '...';
  return out;
}

/** Length of the valid UTF-8 sequence at b[i] within b[..end), or 0. */
function utf8SeqLen(b: Uint8Array, i: number, end: number): number {
  const c0 = b[i];
  const cont = (k: number) => i + k < end && (b[i + k] & 0xc0) === 0x80;
  if (c0 >= 0xc2 && c0 <= 0xdf) return cont(1) ? 2 : 0;
  if (c0 >= 0xe0 && c0 <= 0xef) {
    if (!cont(1) || !cont(2)) return 0;
    if (c0 === 0xe0 && b[i + 1] < 0xa0) return 0;
    if (c0 === 0xed && b[i + 1] >= 0xa0) return 0;
    return 3;
  }
  if (c0 >= 0xf0 && c0 <= 0xf4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0;
    if (c0 === 0xf0 && b[i + 1] < 0x90) return 0;
    if (c0 === 0xf4 && b[i + 1] >= 0x90) return 0;
    return 4;
  }
  return 0;
}
