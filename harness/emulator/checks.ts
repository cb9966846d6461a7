/**
 * What proxy-wasm-cpp-host checks before it runs anything in a module: every import is a host
 * function it has, with that signature; every export it looks up has the signature it requires;
 * an ABI 0.2.x marker, an allocator (`malloc` preferred over `proxy_on_memory_allocate`) and a
 * memory are exported. A module failing one of these does not load, in Envoy and here.
 */
import { readModuleShape, sigText, ModuleFormatError, type ModuleShape } from './module';
import { ENV_IMPORTS, EXPORT_SIGNATURES, WASI_IMPORTS, WASI_MODULES } from './signatures';

export type WasmLoadErrorCode =
  | 'bad_module'
  | 'missing_import'
  | 'import_type_mismatch'
  | 'unsupported_import'
  | 'bad_export_signature'
  | 'missing_abi_version'
  | 'unsupported_abi_version'
  | 'missing_allocator'
  | 'missing_memory'
  | 'start_failed';

/** Why a module did not load; `code` is stable, the message follows cpp-host's wording. */
export class WasmLoadError extends Error {
  constructor(
    readonly code: WasmLoadErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'WasmLoadError';
  }
}

export interface CheckedModule {
  shape: ModuleShape;
  exportNames: Set<string>;
  /** The export the host calls to hand bytes to the guest. */
  allocator: 'malloc' | 'proxy_on_memory_allocate';
}

/** Reads the module's imports and exports and checks them like cpp-host. Throws WasmLoadError. */
export function checkModule(bytes: Uint8Array): CheckedModule {
  let shape: ModuleShape;
  try {
    shape = readModuleShape(bytes);
  } catch (e) {
    if (e instanceof ModuleFormatError) throw new WasmLoadError('bad_module', `Failed to load Wasm module: ${e.message}`);
    throw e;
  }
  checkImports(shape);
  checkExportSignatures(shape);
  const names = new Set(shape.exports.map((e) => e.name));
  if (!names.has('proxy_abi_version_0_2_1') && !names.has('proxy_abi_version_0_2_0')) {
    if (names.has('proxy_abi_version_0_1_0')) throw new WasmLoadError('unsupported_abi_version', 'Proxy-Wasm ABI 0.1.0 is not emulated (0.2.x only)');
    throw new WasmLoadError('missing_abi_version', 'Missing or unknown Proxy-Wasm ABI version');
  }
  const allocator = names.has('malloc') ? 'malloc' : names.has('proxy_on_memory_allocate') ? 'proxy_on_memory_allocate' : undefined;
  if (!allocator) throw new WasmLoadError('missing_allocator', 'Wasm module is missing malloc function');
  if (!shape.exports.some((e) => e.kind === 'memory')) throw new WasmLoadError('missing_memory', 'Wasm module exports no memory');
  return { shape, exportNames: names, allocator };
}

function checkImports(shape: ModuleShape): void {
  for (const imp of shape.imports) {
    if (imp.kind !== 'function') {
      throw new WasmLoadError('unsupported_import', `Failed to load Wasm module due to an unsupported import: ${imp.module}.${imp.name} is a ${imp.kind} (only functions are provided)`);
    }
    const table = imp.module === 'env' ? ENV_IMPORTS : (WASI_MODULES as readonly string[]).includes(imp.module) ? WASI_IMPORTS : undefined;
    const want = table?.[imp.name];
    if (!want) throw new WasmLoadError('missing_import', `Failed to load Wasm module due to a missing import: ${imp.module}.${imp.name}`);
    if (sigText(want) !== sigText(imp.sig!)) {
      throw new WasmLoadError('import_type_mismatch', `Failed to load Wasm module due to an import type mismatch: ${imp.module}.${imp.name}: module ${sigText(imp.sig!)}, host ${sigText(want)}`);
    }
  }
}

function checkExportSignatures(shape: ModuleShape): void {
  for (const exp of shape.exports) {
    const want = EXPORT_SIGNATURES[exp.name];
    if (want && (exp.kind !== 'function' || sigText(want) !== sigText(exp.sig!))) {
      throw new WasmLoadError('bad_export_signature', `Bad function signature for: ${exp.name} (module ${exp.sig ? sigText(exp.sig) : exp.kind}, expected ${sigText(want)})`);
    }
  }
}
