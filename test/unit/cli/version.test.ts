import * as fs from 'node:fs';
import * as path from 'node:path';
import { main } from '../../../harness/cli';
import { EXIT_OK } from '../../../harness/cli/io';
import { buildProgram } from '../../../harness/cli/program';

const version = (JSON.parse(fs.readFileSync(path.join(__dirname, '../../../package.json'), 'utf8')) as { version: string }).version;

test.each([['--version'], ['-V']])('meshgate %s prints the package version and exits 0', async (flag) => {
  const out: string[] = [];
  expect(await main([flag], { out: (s) => out.push(s), err: (s) => out.push(s) })).toBe(EXIT_OK);
  expect(out).toEqual([version]);
});

test('package oci tags the image with the version by default (the tag the README pushes)', () => {
  const program = buildProgram({ out: () => undefined, err: () => undefined });
  const oci = program.commands.find((c) => c.name() === 'package')!.commands.find((c) => c.name() === 'oci')!;
  expect(oci.options.find((o) => o.long === '--tag')!.defaultValue).toBe(version);
});
