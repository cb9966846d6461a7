/**
 * x-forwarded-client-cert as the filter reads it (assembly/spiffe/xfcc.ts, test/vectors/xfcc.json
 * "parse"): elements separated by `,`, pairs by `;`, `key=value` with a token key (compared
 * case-insensitively) and a value that is either unquoted (no `"`, up to the next separator,
 * trailing blanks dropped) or quoted (a backslash before `"` or `\` is removed, other backslashes
 * kept; only blanks may follow the closing quote). Blanks before a key are skipped. Only the LAST
 * element matters to the identity decision: its `By` and `URI` values, in order.
 */
export interface XfccElement {
  /** Number of elements in the header. */
  elements: number;
  by: string[];
  uri: string[];
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]$/;
const isBlank = (c: string | undefined) => c === ' ' || c === '\t';

/** The last element of a header, or null when the header is malformed. */
export function parseXfcc(header: string): XfccElement | null {
  let pos = 0;
  let elements = 1;
  let by: string[] = [];
  let uri: string[] = [];
  for (;;) {
    while (isBlank(header[pos])) pos++;
    const keyStart = pos;
    while (pos < header.length && TOKEN.test(header[pos])) pos++;
    if (pos === keyStart || header[pos] !== '=') return null;
    const key = header.slice(keyStart, pos).toLowerCase();
    pos++;
    let value: string;
    if (header[pos] === '"') {
      const parts: string[] = [];
      pos++;
      while (header[pos] !== '"') {
        if (pos >= header.length) return null;
        if (header[pos] === '\\') {
          if (pos + 1 >= header.length) return null;
          const next = header[pos + 1];
          parts.push(next === '"' || next === '\\' ? next : `\\${next}`);
          pos += 2;
        } else parts.push(header[pos++]);
      }
      value = parts.join('');
      pos++;
      while (isBlank(header[pos])) pos++;
      if (pos < header.length && header[pos] !== ';' && header[pos] !== ',') return null;
    } else {
      const end = header.slice(pos).search(/[;,]/);
      const raw = end < 0 ? header.slice(pos) : header.slice(pos, pos + end);
      if (raw.includes('"')) return null;
      value = raw.replace(/[ \t]+$/, '');
      pos += raw.length;
    }
    if (key === 'by') by.push(value);
    if (key === 'uri') uri.push(value);
    if (pos >= header.length) return { elements, by, uri };
    if (header[pos] === ',') {
      elements++;
      by = [];
      uri = [];
    }
    pos++;
  }
}
