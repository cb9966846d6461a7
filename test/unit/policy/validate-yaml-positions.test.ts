/**
 * YAML mistakes in a policy are reported as `FILE:LINE:COL: message` at the fault itself — the
 * mis-indented line, the tab, the second key, the opening quote or bracket left unclosed — not
 * where the parser's confusion surfaced (harness/policy/yaml-indentation.ts), and one message per
 * fault.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { main } from '../../../harness/cli';
import { EXIT_PROBLEM } from '../../../harness/cli/io';
import { indentationFault } from '../../../harness/policy/yaml-indentation';

let dir: string;
beforeAll(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'validate-yaml-positions-'))));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const RULE = ['trustDomain: example.org', 'inbound:', '  rules:', '    - name: a'];

test.each<[string, string[], string[]]>([
  [
    'a key indented between two levels',
    [...RULE, '      from: ["spiffe://example.org/a"]', '     paths: ["/a"]'],
    ['6:6: YAML: bad indentation: column 6 lines up with no block; indent it to column 7 like line 5 ("from: ["spiffe://example.org/a"]"), or to column 5 like line 4 ("- name: a")'],
  ],
  [
    'a key indented under a key that has its value',
    ['trustDomain: example.org', 'inbound:', '  default: deny', '   rules: []'],
    ['4:4: YAML: bad indentation: indented more than line 3 ("default: deny"), which already has its value; indent it to column 3 like line 3 ("default: deny")'],
  ],
  ['a tab as indentation', [...RULE, '\tfrom: ["spiffe://example.org/a"]'], ['5:1: YAML: Tabs are not allowed as indentation']],
  [
    'a duplicate key',
    [...RULE, '      from: ["spiffe://example.org/a"]', '      from: ["spiffe://example.org/b"]'],
    ['6:7: inbound.rules[0].from: duplicate key (first at 5:7)'],
  ],
  ['an unclosed quote', ['trustDomain: example.org', 'inbound:', '  rules:', '    - name: "a', '      from: ["spiffe://example.org/a"]'], ['4:15: YAML: Missing closing "quote']],
  ['an unclosed flow list', [...RULE, '      paths: ["/a", "/b"', '    - name: b'], ['5:14: YAML: this "[" is never closed: add "]" where the list ends']],
])('%s', async (_, lines, expected) => {
  const file = path.join(dir, `${_.replace(/\W+/g, '-')}.yaml`);
  fs.writeFileSync(file, lines.join('\n') + '\n');
  const err: string[] = [];
  const code = await main(['validate', file], { out: () => undefined, err: (s) => err.push(s) });
  expect(code).toBe(EXIT_PROBLEM);
  expect(err).toEqual(expected.map((e) => `${file}:${e}`));
});

test('well-indented YAML has no fault: compact sequences, block scalars, comments, multi-line flow lists', () => {
  const text = [
    '# a policy',
    'trustDomain: example.org',
    'inbound:',
    '  rules:',
    '  - name: a            # a sequence at its key\'s column',
    '    from:',
    '    - "spiffe://example.org/a"',
    '    paths: [',
    '      "/a",',
    '      "/b"]',
    '  - name: b',
    '    description: |',
    '      text',
    '        more text',
    '    paths: ["/c"]',
    'egress:',
    '  rules: []',
  ].join('\n');
  expect(indentationFault(text)).toBeUndefined();
});
