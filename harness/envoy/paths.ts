/** Where the repository and its cache live, found from this file so that ts-jest and dist/ agree. */
import * as fs from 'node:fs';
import * as path from 'node:path';

let cachedRoot: string | undefined;

/** The directory holding meshgate's package.json (walks up from this module). */
export function repoRoot(): string {
  if (cachedRoot) return cachedRoot;
  let dir = __dirname;
  for (;;) {
    const pkg = path.join(dir, 'package.json');
    if (fs.existsSync(pkg)) {
      try {
        if (JSON.parse(fs.readFileSync(pkg, 'utf8')).name === 'meshgate') return (cachedRoot = dir);
      } catch {
        // not ours; keep walking
      }
    }
    const parent = path.dirname(dir);
    if (parent === dir) return (cachedRoot = process.cwd());
    dir = parent;
  }
}

/** `<repo>/.cache`, where func-e and the Envoy wheel venv are installed. */
export function cacheDir(): string {
  return path.join(repoRoot(), '.cache');
}

/** Searches PATH for an executable file named `name`. */
export function whichSync(name: string, envPath = process.env.PATH ?? ''): string | undefined {
  for (const dir of envPath.split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

export function isExecutable(file: string): boolean {
  try {
    const st = fs.statSync(file);
    if (!st.isFile()) return false;
    fs.accessSync(file, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
