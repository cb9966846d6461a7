/**
 * The package's native libraries for tests and the bench: build/libmeshgate.so and
 * build/libmeshgate_null.so as they are, or built first (`npm run build:native`'s work: installs
 * wasm2c into .cache/wabt, needs a C compiler) when either is missing or the first is older than
 * build/meshgate.wasm. Separate from config.ts, which build.ts imports.
 */
import * as fs from 'node:fs';
import { buildNative, nullLibraryPath } from './build';
import { requireNativeLibrary } from './config';

/** The library, and whether this call built it. */
export async function ensureNativeLibraries(): Promise<{ library: string; built: boolean }> {
  try {
    const library = requireNativeLibrary();
    if (fs.existsSync(nullLibraryPath())) return { library, built: false };
  } catch {
    // missing or stale: built below
  }
  return { library: (await buildNative()).library, built: true };
}
