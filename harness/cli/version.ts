/** The meshgate version: package.json's, read from the package the CLI runs from. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { repoRoot } from '../envoy/paths';

export function packageVersion(): string {
  const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot(), 'package.json'), 'utf8')) as { version?: string };
  if (!pkg.version) throw new Error(`${path.join(repoRoot(), 'package.json')}: no "version"`);
  return pkg.version;
}
