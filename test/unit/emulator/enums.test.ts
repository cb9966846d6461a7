/**
 * The guest's enumerations (assembly/proxywasm/enums.ts) and the emulator's
 * (harness/emulator/enums.ts) must carry the same members with the same numbers: both follow the
 * Proxy-Wasm spec, and a drift on either side would make the emulator lie.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ENUMS } from '../../../harness/emulator/enums';
import { ROOT } from './fixtures';

/** Reads `export enum Name { Member = number, ... }` blocks from the AssemblyScript source. */
function parseAssemblyScriptEnums(source: string): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  for (const m of source.matchAll(/export enum (\w+) \{([^}]*)\}/g)) {
    const members: Record<string, number> = {};
    for (const line of m[2].split('\n')) {
      const t = line.replace(/\/\/.*$/, '').trim();
      if (!t) continue;
      const mm = /^(\w+) = (\d+),?$/.exec(t);
      if (!mm) throw new Error(`enums.ts: enum ${m[1]}: cannot read member line "${t}" (keep one "Name = number," per line)`);
      members[mm[1]] = Number(mm[2]);
    }
    out[m[1]] = members;
  }
  return out;
}

const guest = parseAssemblyScriptEnums(fs.readFileSync(path.join(ROOT, 'assembly/proxywasm/enums.ts'), 'utf8'));

test('both sides define the same enumerations', () => {
  expect(Object.keys(guest).sort()).toEqual(Object.keys(ENUMS).sort());
});

test.each(Object.keys(ENUMS))('%s: same members, same numbers', (name) => {
  expect(guest[name]).toEqual({ ...ENUMS[name as keyof typeof ENUMS] });
});

test('spec numbers that matter most are where the spec puts them', () => {
  expect(guest.WasmResult).toMatchObject({ Ok: 0, NotFound: 1, BadArgument: 2, InvalidMemoryAccess: 6, Unimplemented: 12 });
  expect(guest.BufferType.PluginConfiguration).toBe(7);
  expect(guest.MapType.HttpResponseHeaders).toBe(2);
  expect(guest.LogLevel.Critical).toBe(5);
});
