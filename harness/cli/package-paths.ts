/**
 * The CLI works from any directory: a default that names a file of the meshgate package (the
 * module `build/meshgate.wasm`) is resolved from the package the CLI runs from, never from the
 * working directory. A path the user types is theirs: relative to where they are.
 */
import * as path from 'node:path';
import type { Command } from 'commander';
import { repoRoot } from '../envoy/paths';

/** Package-relative paths the commands use as defaults. */
const PACKAGE_FILES = ['build/'];

/** `rel` inside the meshgate package. */
export function packagePath(rel: string): string {
  return path.join(repoRoot(), rel);
}

/** Every option default of the tree that names a package file, made absolute (in place). */
export function resolvePackageDefaults(cmd: Command): void {
  for (const o of cmd.options) {
    if (typeof o.defaultValue !== 'string' || !PACKAGE_FILES.some((p) => (o.defaultValue as string).startsWith(p))) continue;
    const file = packagePath(o.defaultValue);
    o.default(file);
    // commander copied the default into the command's values when the option was added
    if (cmd.getOptionValueSource(o.attributeName()) === 'default') cmd.setOptionValueWithSource(o.attributeName(), file, 'default');
  }
  for (const sub of cmd.commands) resolvePackageDefaults(sub);
}
