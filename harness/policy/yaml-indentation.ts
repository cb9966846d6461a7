/**
 * Where a YAML indentation mistake really is. The yaml parser reports an indentation slip where
 * its confusion surfaces — `Sequence item without - indicator` at column 1 of the next line,
 * `Nested mappings are not allowed in compact mappings` on the line above, a flow list not closed
 * reported lines later — so source.ts asks this scan, only after the parser failed with one of
 * those errors, for the first line whose indentation fits no open block, or the flow bracket that
 * is never closed. A best effort over lines: block scalars (`|`, `>`) and multi-line flow
 * collections are stepped over; anything it cannot place is left to the parser's own message.
 */

export interface YamlFault {
  /** 1-based, the position of the fault itself. */
  line: number;
  col: number;
  message: string;
}

/** An open block: the column its keys or dashes start at (0-based) and its latest line. */
interface Level {
  col: number;
  line: number;
}

/** Strips a trailing comment (a `#` after a space, outside quotes) and trailing spaces. */
function content(line: string): string {
  let quote = '';
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quote) {
      if (c === quote) quote = '';
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '#' && (i === 0 || line[i - 1] === ' ')) return line.slice(0, i).trimEnd();
  }
  return line.trimEnd();
}

/** Open-minus-closed flow brackets in a line (outside quotes), and where the first unclosed one is. */
function flowBalance(text: string, from: number): { depth: number; openAt: number } {
  let depth = 0;
  let openAt = -1;
  let quote = '';
  for (let i = from; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === quote) quote = '';
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '[' || c === '{') {
      if (depth === 0) openAt = i;
      depth++;
    } else if (c === ']' || c === '}') depth--;
  }
  return { depth, openAt };
}

/** The first indentation fault of YAML text, or undefined when its lines fit their blocks. */
export function indentationFault(text: string): YamlFault | undefined {
  const lines = text.split(/\r?\n/);
  const levels: Level[] = [];
  let opens = false; // the previous line ended in `key:` or `-`: a deeper block may start
  let scalarAbove = -1; // inside a block scalar: lines indented more than this column belong to it
  let flow: { line: number; col: number; owner: number; depth: number; bracket: string } | undefined;
  const top = () => levels[levels.length - 1];

  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i];
    const body = content(raw);
    const trimmed = body.trimStart();
    if (trimmed === '') continue;
    const col = body.length - trimmed.length;
    if (scalarAbove >= 0) {
      if (col > scalarAbove) continue;
      scalarAbove = -1;
    }
    if (flow) {
      if (col <= flow.owner) return unclosed(flow);
      flow.depth += flowBalance(body, 0).depth;
      if (flow.depth <= 0) flow = undefined;
      continue;
    }
    if (/^\t/.test(raw.slice(col)) || /\t/.test(raw.slice(0, col))) return undefined; // the parser says it well
    if (trimmed === '---' || trimmed === '...') {
      levels.length = 0;
      opens = false;
      continue;
    }
    const dash = /^-( |$)/.test(trimmed);
    if (opens && (levels.length === 0 || col > top().col)) levels.push({ col, line: i });
    else if (opens && dash && col === top().col) {
      // a sequence at its key's own column (`rules:` then `- name: a`): legal YAML
    } else {
      let popped: Level | undefined;
      while (levels.length > 0 && top().col > col) popped = levels.pop();
      if (levels.length === 0 && col === 0) levels.push({ col, line: i });
      else if (levels.length === 0 || top().col !== col) return misplaced(lines, i, col, top(), popped);
      else top().line = i; // messages show the nearest line of a block
    }
    // What this line opens: the mapping inside `- key: value`, a nested block, a scalar, a flow.
    let rest = trimmed;
    let restCol = col;
    if (dash) {
      const after = trimmed.slice(1);
      const pad = after.length - after.trimStart().length;
      rest = after.trimStart();
      restCol = col + 1 + pad;
      if (rest !== '' && /^[^\s"'[{][^:]*:( |$)|^["'][^"']*["']:( |$)/.test(rest)) levels.push({ col: restCol, line: i });
    }
    opens = rest === '' || /:$/.test(rest);
    const value = /:\s+(.*)$/.exec(rest)?.[1] ?? (/^[[{]/.test(rest) ? rest : '');
    if (/^[|>][-+0-9]*$/.test(value)) scalarAbove = top()?.col ?? col;
    const fb = flowBalance(body, body.length - value.length);
    if (fb.depth > 0) flow = { line: i, col: fb.openAt, owner: top()?.col ?? col, depth: fb.depth, bracket: body[fb.openAt] };
  }
  return flow ? unclosed(flow) : undefined;
}

function unclosed(flow: { line: number; col: number; bracket: string }): YamlFault {
  const close = flow.bracket === '[' ? ']' : '}';
  return { line: flow.line + 1, col: flow.col + 1, message: `this "${flow.bracket}" is never closed: add "${close}" where the list ends` };
}

/**
 * A line at a column no open block has: between a deeper block it left (`popped`) and the
 * enclosing one, or deeper than a line that already has its value.
 */
function misplaced(lines: string[], i: number, col: number, enclosing: Level | undefined, popped: Level | undefined): YamlFault {
  const show = (l: Level) => `column ${l.col + 1} like line ${l.line + 1} ("${content(lines[l.line]).trim()}")`;
  const at = { line: i + 1, col: col + 1 };
  if (enclosing === undefined) return { ...at, message: 'bad indentation: the top level starts at column 1' };
  if (popped === undefined) {
    return { ...at, message: `bad indentation: indented more than line ${enclosing.line + 1} ("${content(lines[enclosing.line]).trim()}"), which already has its value; indent it to ${show(enclosing)}` };
  }
  return { ...at, message: `bad indentation: column ${col + 1} lines up with no block; indent it to ${show(popped)}, or to ${show(enclosing)}` };
}
