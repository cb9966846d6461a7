/**
 * The fast block-YAML reader (harness/policy/yaml-block.ts) against the yaml package: for every
 * text it accepts, the same JSON value and the same position for every JSON path (what
 * `meshgate validate` prints); every text outside its subset is left to the yaml package
 * (undefined), errors included. Inputs: the repository's policies and fixtures, the bench's
 * generated policies, and hand-written edge cases.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { largePolicyYaml } from '../../../bench/validate-policies';
import { parsePolicySourceWithYaml } from '../../../harness/policy/source';
import { parseBlockYaml } from '../../../harness/policy/yaml-block';

const ROOT = path.resolve(__dirname, '..', '..', '..');

/** The yaml package's reading: value and positions as plain data, or undefined with errors. */
function byYaml(text: string) {
  const src = parsePolicySourceWithYaml(text, 'p.yaml');
  if (src.errors.length > 0) return undefined;
  const where = (src as unknown as { where: Map<string, unknown> }).where;
  return { value: src.value, where: Object.fromEntries(where) };
}

function byBlock(text: string) {
  const r = parseBlockYaml(text);
  return r && { value: r.value, where: Object.fromEntries(r.where) };
}

const repoYaml = execFileSync('git', ['ls-files', '*.yaml', '*.yml'], { cwd: ROOT, encoding: 'utf8' })
  .split('\n')
  .filter((f) => f !== '');

test.each(repoYaml)('%s: same value and positions, or left to the yaml package', (file) => {
  const text = fs.readFileSync(path.join(ROOT, file), 'utf8');
  const fast = byBlock(text);
  if (fast !== undefined) expect(fast).toEqual(byYaml(text));
});

test('the policies people write are read by the fast reader', () => {
  for (const file of ['examples/ledger/policy.yaml', 'examples/shop/policy.yaml', 'examples/shop/billing-sidecar.yaml']) {
    expect([file, parseBlockYaml(fs.readFileSync(path.join(ROOT, file), 'utf8')) !== undefined]).toEqual([file, true]);
  }
});

test.each([10, 300])('the bench\'s generated %d-rule policy: read fast, same as the yaml package', (n) => {
  const text = largePolicyYaml(n);
  const fast = byBlock(text);
  expect(fast).toBeDefined();
  expect(fast).toEqual(byYaml(text));
});

const SAME: [string, string][] = [
  ['compact sequences and comments', 'a: 1 # one\n# alone\nb:\n- x\n-   y\nc:\n  - k: v\n    l: [1, "two, three", \'it\'\'s\', -4, true, null, ~]\n  - "q \\" \\\\"\n'],
  ['scalars of the core schema', 'a: true\nb: False\nc: NULL\nd: 007\ne: -12\nf: +3\ng: 1_000\nh: 1.5.6\ni: 10.0.0.0/8\nj: spiffe://td/a\nk: /a/{*}\nl: "*.x"\nm: -x\nn: a:b\n'],
  ['CRLF line ends', 'a: 1\r\nb:\r\n  - x\r\n'],
  ['a root sequence', '- a\n- b: 1\n  c: 2\n'],
  ['keys with dots, slashes and dashes', 'a.b/c-d_e: 1\n__proto__: 2\n'],
  ['empty flow lists', 'a: []\nb: [ ]\n'],
];
test.each(SAME)('%s', (_, text) => {
  const fast = byBlock(text);
  expect(fast).toBeDefined();
  expect(fast).toEqual(byYaml(text));
});

const LEFT: [string, string][] = [
  ['an anchor', 'a: &x 1\n'],
  ['an alias', 'a: *x\n'],
  ['a tag', 'a: !!str 1\n'],
  ['a block scalar', 'a: |\n  x\n'],
  ['a flow mapping', 'a: {b: 1}\n'],
  ['a multi-line plain scalar', 'a: x\n  y\n'],
  ['an empty value', 'a:\nb: 1\n'],
  ['a duplicate key', 'a: 1\na: 2\n'],
  ['a quoted key', '"a": 1\n'],
  ['an escape', 'a: "\\u0041"\n'],
  ['a float', 'a: 1.5\n'],
  ['infinity', 'a: .inf\n'],
  ['hex', 'a: 0x1F\n'],
  ['an unsafe integer', 'a: 9007199254740993\n'],
  ['two documents', 'a: 1\n---\nb: 2\n'],
  ['a tab', 'a:\n\t- x\n'],
  ['bad indentation', 'a:\n  b: 1\n c: 2\n'],
  ['an unclosed quote', 'a: "x\n'],
  ['an unclosed flow list', 'a: [1, 2\n'],
  ['a trailing comma', 'a: [1, 2,]\n'],
  ['a nested mapping on one line', 'a: b: c\n'],
];
test.each(LEFT)('left to the yaml package: %s', (_, text) => {
  expect(parseBlockYaml(text)).toBeUndefined();
});
