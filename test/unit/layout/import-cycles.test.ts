/**
 * No import cycles in the TypeScript harness, the bench or the AssemblyScript sources: each
 * folder's files import one way, so a file can be read (and tested) without its importers.
 * Reads relative imports as text (`import … from './x'`, `export … from './x'`, `import('./x')`)
 * and searches the graph for a cycle; a failure names every file of one cycle.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

const repo = path.resolve(__dirname, '../../..');
const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s*['"](\.{1,2}\/[^'"]+)['"]|import\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g;

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...sources(p));
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

function resolve(from: string, spec: string): string | null {
  const base = path.resolve(path.dirname(from), spec);
  for (const c of [base, `${base}.ts`, path.join(base, 'index.ts')]) {
    if (fs.existsSync(c) && fs.statSync(c).isFile()) return c;
  }
  return null;
}

function graph(dirs: string[]): Map<string, string[]> {
  const g = new Map<string, string[]>();
  for (const f of dirs.flatMap((d) => sources(path.join(repo, d)))) {
    const text = fs.readFileSync(f, 'utf8');
    const deps: string[] = [];
    for (const m of text.matchAll(IMPORT)) {
      // `import type` never creates a runtime edge, but a type cycle still couples files: keep it.
      const target = resolve(f, m[1] ?? m[2]);
      if (target) deps.push(target);
    }
    g.set(f, deps);
  }
  return g;
}

/** One cycle (its files, the first repeated at the end), or null. */
function findCycle(g: Map<string, string[]>): string[] | null {
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (f: string): string[] | null => {
    state.set(f, 'open');
    stack.push(f);
    for (const d of g.get(f) ?? []) {
      if (state.get(d) === 'open') return [...stack.slice(stack.indexOf(d)), d];
      if (!state.has(d)) {
        const c = visit(d);
        if (c) return c;
      }
    }
    stack.pop();
    state.set(f, 'done');
    return null;
  };
  for (const f of g.keys()) {
    if (state.has(f)) continue;
    const c = visit(f);
    if (c) return c;
  }
  return null;
}

test.each(['harness', 'bench', 'assembly'])('%s/ has no import cycle', (dir) => {
  const g = graph([dir]);
  expect(g.size).toBeGreaterThan(5);
  expect(findCycle(g)?.map((f) => path.relative(repo, f)) ?? null).toBeNull();
});

test('the cycle finder finds a cycle that exists', () => {
  const g = new Map([['a', ['b']], ['b', ['c']], ['c', ['a']], ['d', ['a']]]);
  expect(findCycle(g)).toEqual(['a', 'b', 'c', 'a']);
  expect(findCycle(new Map([['a', ['b']], ['b', []]]))).toBeNull();
});
