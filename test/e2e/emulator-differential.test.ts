/**
 * The emulator against real Envoy 1.40 (harness/differential/emulator-vs-envoy.ts): the probe module
 * (test/fixtures/probe.ts, a filter that makes the binding's host calls on command and logs each
 * result) serves the same requests in both hosts. Every result line, every callback the host
 * made, and the final status and response details must be the same: this is what backs the
 * emulator's claim to behave like Envoy (header maps per phase, replace semantics, local replies
 * through the filter's own response callbacks, configuration buffers, properties, filter state,
 * metrics).
 */
import { differential, PROBE_CASES, type DifferentialCase } from '../../harness/differential/emulator-vs-envoy';
import { fixtureWasm } from '../unit/emulator/support';

let cases: DifferentialCase[] = [];

beforeAll(async () => {
  cases = await differential({ wasmFile: fixtureWasm('probe') });
}, 180_000);

describe('the probe module in Envoy 1.40 and in the emulator', () => {
  it('ran every case in both hosts, each with results to compare', () => {
    expect(cases).toHaveLength(PROBE_CASES.length);
    for (const c of cases) {
      expect(c.envoy.length).toBeGreaterThan(0);
      expect(c.envoyStatus).not.toBe('');
    }
  });

  it.each(PROBE_CASES.map((c, i) => [i, Object.values(c).join(' | ').slice(0, 90)] as const))('case %i: same host-call results and callbacks (%s)', (i) => {
    expect(cases[i].emulator).toEqual(cases[i].envoy);
  });

  it.each(PROBE_CASES.map((_, i) => [i] as const))('case %i: same status and response details', (i) => {
    expect(cases[i].emulatorStatus).toBe(cases[i].envoyStatus);
  });
});
