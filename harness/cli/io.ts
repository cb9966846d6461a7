/**
 * What every `meshgate` command shares: where it prints, how it ends, what it reads (a file, or
 * `-` for stdin), and the policy it compiles.
 */
import * as fs from 'node:fs';
import { compilePolicyFile, compilePolicyText, type CompileResult } from '../policy/compile';
import { formatDiagnostic } from '../policy/diagnostics';

/**
 * The exit codes of every command — the one table (README "Exit codes"; test/unit/cli/exit-codes.test.ts
 * holds every command to it):
 *   0  ok: the command did its work and found nothing wrong (a deny from `eval` is an answer, not a problem)
 *   1  problem: an invalid or unreadable policy or scenario, a failed or bypassed request, a rule
 *      never exercised under --require-coverage, a warning under --strict, or any other error
 *      the command reports (`meshgate: <message>` on stderr)
 *   2  usage: unknown command or option, a value outside its choices, a missing argument or option
 */
export const EXIT = { ok: 0, problem: 1, usage: 2 } as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export const EXIT_OK = EXIT.ok;
export const EXIT_PROBLEM = EXIT.problem;
export const EXIT_USAGE = EXIT.usage;

/** The file name `-` stands for: standard input. */
export const STDIN = '-';
/** How stdin is named in messages (FILE:LINE:COL). */
export const STDIN_NAME = '<stdin>';

/** Where a command prints: one line per call, without the trailing newline; and its stdin. */
export interface Io {
  out: (line: string) => void;
  err: (line: string) => void;
  /** Standard input, read whole (default: file descriptor 0). */
  stdin?: () => string;
}

/** Thrown by a command to end with this exit code (main() turns it into its result). */
export class Exit extends Error {
  constructor(readonly code: ExitCode) {
    super(`exit ${code}`);
  }
}

/** Standard input as the command's Io gives it. */
export function readStdin(io: Io): string {
  return io.stdin ? io.stdin() : fs.readFileSync(0, 'utf8');
}

/** The compiled policy (from `file`, or stdin for `-`), or every error printed and exit 1. */
export function compileOrReport(file: string, io: Io): CompileResult {
  const r = file === STDIN ? compilePolicyText(readStdin(io), STDIN_NAME) : compilePolicyFile(file);
  if (!r.ok) {
    for (const e of r.errors) io.err(formatDiagnostic(e));
    throw new Exit(EXIT_PROBLEM);
  }
  return r;
}

/** `--format`: what a command prints on stdout. */
export type Format = 'text' | 'json';
export const FORMATS: Format[] = ['text', 'json'];
