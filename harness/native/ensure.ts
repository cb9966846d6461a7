/**
 * The package's native library for tests that need it: build/libmeshgate.so as it is, or built
 * first (`npm run build:native`'s work: installs wasm2c into .cache/wabt, needs a C compiler) when
 * it is missing or older than build/meshgate.wasm. Separate from config.ts, which build.ts imports.
 */
import { buildNative } from './build';
import { requireNativeLibrary } from './config';

export async function ensureNativeLibrary(): Promise<string> {
  try {
    return requireNativeLibrary();
  } catch {
    return (await buildNative()).library;
  }
}
