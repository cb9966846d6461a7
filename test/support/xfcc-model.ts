/**
 * The TypeScript model of the XFCC grammar of assembly/spiffe/xfcc.ts (the harness has no XFCC
 * parser of its own: Envoy produces the header). The model test/unit/wasm/xfcc.test.ts uses,
 * which checks it against every vector of test/vectors/xfcc.json; shared by that test and
 * the fuzzers.
 */
export interface XfccModel { ok: boolean; elements?: number; by?: string[]; uri?: string[] }

const TCHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/;

export function xfccModel(h: string): XfccModel {
  const elements: Array<Array<[string, string]>> = [[]];
  let i = 0;
  const fail = { ok: false };
  for (;;) {
    while (h[i] === ' ' || h[i] === '\t') i++;
    let k = i;
    while (k < h.length && TCHAR.test(h[k])) k++;
    const key = h.slice(i, k);
    if (key.length === 0 || h[k] !== '=') return fail;
    i = k + 1;
    let value = '';
    if (h[i] === '"') {
      let j = i + 1;
      for (;;) {
        if (j >= h.length) return fail;
        if (h[j] === '"') break;
        if (h[j] === '\\') {
          if (j + 1 >= h.length) return fail;
          value += h[j + 1] === '"' || h[j + 1] === '\\' ? h[j + 1] : h[j] + h[j + 1];
          j += 2;
          continue;
        }
        value += h[j++];
      }
      i = j + 1;
      while (h[i] === ' ' || h[i] === '\t') i++;
      if (i < h.length && h[i] !== ';' && h[i] !== ',') return fail;
    } else {
      let j = i;
      while (j < h.length && h[j] !== ';' && h[j] !== ',') {
        if (h[j] === '"') return fail;
        j++;
      }
      value = h.slice(i, j).replace(/[ \t]+$/, '');
      i = j;
    }
    elements[elements.length - 1].push([key.toLowerCase(), value]);
    if (i >= h.length) break;
    if (h[i] === ',') elements.push([]);
    i++;
  }
  const last = elements[elements.length - 1];
  return {
    ok: true,
    elements: elements.length,
    by: last.filter(([k]) => k === 'by').map(([, x]) => x),
    uri: last.filter(([k]) => k === 'uri').map(([, x]) => x),
  };
}
