/**
 * `meshgate`: a thin shell over the harness's programmatic API (harness/policy, harness/scenario,
 * harness/render, harness/package, harness/emulator). The commands are in harness/cli/; exit
 * codes in harness/cli/io.ts.
 */
import { CommanderError } from 'commander';
import { buildProgram } from './cli/program';
import { EXIT_OK, EXIT_PROBLEM, EXIT_USAGE, Exit, type Io } from './cli/io';

/** Commander errors it has already explained on stderr (with the help that follows them). */
const REPORTED_BY_COMMANDER = new Set([
  'commander.unknownCommand',
  'commander.missingMandatoryOptionValue',
  'commander.invalidArgument',
  'commander.missingArgument',
  'commander.unknownOption',
  'commander.optionMissingArgument',
  'commander.excessArguments',
  'commander.help',
]);

/** Runs the CLI; resolves with the exit code (never calls process.exit). */
export async function main(argv: string[], io: Io = { out: (s) => console.log(s), err: (s) => console.error(s) }): Promise<number> {
  const program = buildProgram(io);
  if (argv.length === 0) {
    program.outputHelp();
    return EXIT_USAGE;
  }
  try {
    await program.parseAsync(argv, { from: 'user' });
    return EXIT_OK;
  } catch (e) {
    if (e instanceof Exit) return e.code;
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.exitCode === 0) return EXIT_OK;
      if (!REPORTED_BY_COMMANDER.has(e.code)) io.err(e.message);
      return EXIT_USAGE;
    }
    io.err(`meshgate: ${(e as Error).message}`);
    return EXIT_PROBLEM;
  }
}
