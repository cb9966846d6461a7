/** Option parsing and the entry of the small bench commands (decide-runs.js, lean-host.js). */

/** The value after `--<name>` on the command line, or `fallback`. */
export function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

/** Runs a command's main; an error is printed and exits 1. */
export function runMain(main: () => Promise<void>): void {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
