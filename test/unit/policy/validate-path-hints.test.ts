/**
 * `meshgate validate` on `paths` written in another router's syntax: the filter's own message
 * (an error for `*` inside a path and for `{id}`; a warning for `:id`, which is legal and matches
 * only itself), and a hint apart from it saying what to write instead — as the field hints do.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { main } from '../../../harness/cli';
import { EXIT_OK, EXIT_PROBLEM } from '../../../harness/cli/io';
import { pathPatternHint } from '../../../harness/policy/patterns';

let dir: string;
beforeAll(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'validate-path-hints-'))));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Validates a one-rule policy with these paths (line 6, column 15 is the first entry). */
async function validate(paths: string[], format: 'text' | 'json' = 'text') {
  const file = path.join(dir, `p${Math.random().toString(36).slice(2)}.yaml`);
  const text = ['trustDomain: ledger.example', 'inbound:', '  rules:', '    - name: api', '      from: ["spiffe://ledger.example/ns/ledger/sa/api"]', `      paths: [${paths.map((p) => JSON.stringify(p)).join(', ')}]`, ''].join('\n');
  fs.writeFileSync(file, text);
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(['validate', file, '--format', format], { out: (s) => out.push(s), err: (s) => err.push(s) });
  return { code, out, err, file };
}

test('"/accounts/*/balance" is an error with the hint to use {*}', async () => {
  const r = await validate(['/accounts/*/balance']);
  expect(r.code).toBe(EXIT_PROBLEM);
  expect(r.err).toEqual([
    `${r.file}:6:15: inbound.rules[0].paths[0]: '*' is only allowed alone, as the whole last segment ("/a/*") or as a leading suffix wildcard ("*.json"): "/accounts/*/balance" (use "{*}" for one segment, "{**}" or a final "/*" for the rest)`,
  ]);
});

test('"/accounts/:id" is legal, so a warning with its hint; --format json keeps the hint apart', async () => {
  const text = await validate(['/accounts/:id']);
  expect(text.code).toBe(EXIT_OK);
  expect(text.err).toEqual([`${text.file}:6:15: warning: inbound.rules[0].paths[0]: "/accounts/:id" matches only that literal text (":id" is a literal here; use "{*}" for one segment) [literal-parameter]`]);
  const json = await validate(['/accounts/:id'], 'json');
  expect(JSON.parse(json.out.join('\n')).files[0].warnings).toEqual([
    expect.objectContaining({ line: 6, col: 15, code: 'literal-parameter', message: 'inbound.rules[0].paths[0]: "/accounts/:id" matches only that literal text', hint: '":id" is a literal here; use "{*}" for one segment' }),
  ]);
});

test('the hint of each borrowed form, and none for meshgate\'s own', () => {
  expect(
    ['/a/*/b', '/a/**', '/a/:id/b', '/a/{id}', '/a/{*}/b', '/a/{**}', '/a/*', '*.json', '/a:b', '/a/:'].map((p) => [p, pathPatternHint(p)]),
  ).toEqual([
    ['/a/*/b', 'use "{*}" for one segment, "{**}" or a final "/*" for the rest'],
    ['/a/**', 'use "{**}" for any number of segments (last), or "{*}" for one'],
    ['/a/:id/b', '":id" is a literal here; use "{*}" for one segment'],
    ['/a/{id}', 'use "{*}" for one segment: named parameters like "{id}" do not exist here'],
    ['/a/{*}/b', undefined],
    ['/a/{**}', undefined],
    ['/a/*', undefined],
    ['*.json', undefined],
    ['/a:b', undefined],
    ['/a/:', undefined],
  ]);
});
