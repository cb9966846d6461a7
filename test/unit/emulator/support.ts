/**
 * Reading the probe fixture's log lines (test/fixtures/probe.ts logs `probe <callback> <command>
 * => <result>` per command and `probe cb <callback> id=<id>` per callback).
 */
import type { ProxyWasmVm } from '../../../harness/emulator/vm';

// test/e2e/emulator-differential.test.ts builds the probe through this module.
export { fixtureWasm } from './fixtures';

/** The probe fixture's result lines: `probe <callback> <command> => <result>`. */
export function probeResults(vm: ProxyWasmVm): { callback: string; command: string; result: string }[] {
  const out: { callback: string; command: string; result: string }[] = [];
  for (const l of vm.logs) {
    const m = /^probe (\S+) (.*?) => (.*)$/s.exec(l.message);
    if (m) out.push({ callback: m[1], command: m[2], result: m[3] });
  }
  return out;
}

/** The result of the last `command` the probe ran (in `callback`, if given). */
export function probeResult(vm: ProxyWasmVm, command: string, callback?: string): string | undefined {
  return probeResults(vm)
    .filter((r) => r.command === command && (callback === undefined || r.callback === callback))
    .at(-1)?.result;
}

/** The callbacks the probe saw, in order, as `<callback> id=<id>` (its debug trace). */
export function probeTrace(vm: ProxyWasmVm): string[] {
  return vm.logs.map((l) => /^probe cb (\S+) id=(\d+)/.exec(l.message)).filter((m): m is RegExpExecArray => m !== null).map((m) => `${m[1]} id=${m[2]}`);
}
