/**
 * The dynamic-module variants of the bench (issue 16), registered in bench/variants.ts:
 *
 *   native-null      build/libmeshgate_null.so: every hook returns Continue (the dynamic-module floor)
 *   meshgate-native  build/libmeshgate.so: build/meshgate.wasm through wasm2c, with the policy
 *                    (harness/native/config.ts: set_filter_state for the peer certificate + the module)
 *
 * Both libraries come from `npm run build:native`; the bench builds them when missing or stale
 * (harness/native/ensure.ts), and when that fails (no C compiler, wasm2c not installable) the variants
 * are left out and the report says why (the rest of the bench needs no C compiler).
 */
import * as fs from 'node:fs';
import type { Json } from '../harness/envoy/bootstrap';
import { nativeHttpFilters, nativeLibraryPath } from '../harness/native/config';
import { nullLibraryPath } from '../harness/native/build';
import { ensureNativeLibraries } from '../harness/native/ensure';

/** What the bench did about the native libraries: built them, or why the variants are left out. */
export interface NativeLibraries {
  built: boolean;
  problem?: string;
}

/** Builds both libraries when missing or stale; a failure is reported, not thrown. */
export async function prepareNativeLibraries(log: (s: string) => void): Promise<NativeLibraries> {
  try {
    const { built } = await ensureNativeLibraries();
    if (built) log('native: built build/libmeshgate.so and build/libmeshgate_null.so (npm run build:native)');
    return { built };
  } catch (e) {
    return { built: false, problem: (e as Error).message };
  }
}

export interface NativeVariantFilters {
  /** The HTTP filters of native-null. */
  null: Json[];
  /** The HTTP filters of meshgate-native for a policy. */
  meshgate(policyJson: string): Json[];
}

/** The native variants' filters, or null when the libraries have not been built. */
export function nativeVariantFilters(): NativeVariantFilters | null {
  const library = nativeLibraryPath();
  const nullLibrary = nullLibraryPath();
  if (!fs.existsSync(library) || !fs.existsSync(nullLibrary)) return null;
  const dynamicModule = nativeHttpFilters({ rootId: 'bench_null', policyJson: '', library: nullLibrary }).filter((f) => f.name === 'meshgate.native');
  return {
    null: dynamicModule,
    meshgate: (policyJson) => nativeHttpFilters({ rootId: 'meshgate_inbound', policyJson, library }),
  };
}
