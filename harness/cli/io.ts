/**
 * What every `meshgate` command shares: where it prints, how it ends, and the policy it reads.
 *
 * Exit codes: 0 success; 1 the command ran and found a problem (invalid policy, failed scenario;
 * a deny from `eval` is NOT a problem: it exits 0); 2 usage errors (unknown command, bad flags,
 * unreadable input that is not the thing being judged).
 */
import { compilePolicyFile, type CompileResult } from '../policy/compile';
import { formatDiagnostic } from '../policy/diagnostics';

export const EXIT_OK = 0;
export const EXIT_PROBLEM = 1;
export const EXIT_USAGE = 2;

/** Where a command prints: one line per call, without the trailing newline. */
export interface Io {
  out: (line: string) => void;
  err: (line: string) => void;
}

/** Thrown by a command to end with this exit code (main() turns it into its result). */
export class Exit extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

/** The compiled policy, or every error printed and exit 1. */
export function compileOrReport(file: string, io: Io): CompileResult {
  const r = compilePolicyFile(file);
  if (!r.ok) {
    for (const e of r.errors) io.err(formatDiagnostic(e));
    throw new Exit(EXIT_PROBLEM);
  }
  return r;
}
