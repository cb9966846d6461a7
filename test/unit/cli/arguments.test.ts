/**
 * `meshgate` argument parsing in process: the real command tree (harness/cli/program.ts) with
 * every action replaced by a recorder, so a parse shows exactly the arguments and options a
 * command would receive, and a bad command line shows the error commander reports — nothing is
 * compiled, rendered or run, and no process is spawned. The commands' own work is covered by
 * test/e2e/cli.test.ts through the real bin.
 */
import { Command, CommanderError } from 'commander';
import { buildProgram } from '../../../harness/cli/program';
import { main } from '../../../harness/cli';
import { EXIT_USAGE } from '../../../harness/cli/io';
import { packagePath } from '../../../harness/cli/package-paths';

/** The module a command loads by default: the package's, wherever the CLI runs from. */
const WASM = packagePath('build/meshgate.wasm');

interface Parsed {
  command: string;
  args: unknown[];
  options: Record<string, unknown>;
}

/** Leaf commands by their full name (`render envoy`), with their parents' names. */
function leaves(cmd: Command, prefix = ''): [string, Command][] {
  return cmd.commands.flatMap((c) => {
    const name = `${prefix}${c.name()}`;
    return c.commands.length ? leaves(c, `${name} `) : [[name, c] as [string, Command]];
  });
}

/** Parses argv with the real declarations; resolves with what the action would have received. */
async function parse(argv: string[]): Promise<Parsed> {
  const lines: string[] = [];
  const program = buildProgram({ out: (s) => lines.push(s), err: (s) => lines.push(s) });
  let parsed: Parsed | undefined;
  for (const [name, cmd] of leaves(program)) {
    cmd.action((...a: unknown[]) => {
      const self = a.at(-1) as Command;
      parsed = { command: name, args: a.slice(0, -2), options: { ...self.opts() } };
    });
  }
  await program.parseAsync(argv, { from: 'user' });
  if (!parsed) throw new Error(`no command ran: ${lines.join('\n')}`);
  return parsed;
}

/** The commander error a bad command line raises (its code), and what was printed. */
async function refused(argv: string[]): Promise<{ code: string; printed: string }> {
  const lines: string[] = [];
  const program = buildProgram({ out: (s) => lines.push(s), err: (s) => lines.push(s) });
  for (const [, cmd] of leaves(program)) cmd.action(() => undefined);
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) return { code: e.code, printed: lines.join('\n') };
    throw e;
  }
  throw new Error(`accepted: ${argv.join(' ')}`);
}

describe('meshgate command tree', () => {
  it('has one leaf per command module', () => {
    const program = buildProgram({ out: () => undefined, err: () => undefined });
    expect(leaves(program).map(([n]) => n).sort()).toEqual(['diff', 'eval', 'explain', 'learn', 'package oci', 'render envoy', 'render istio', 'render rbac', 'replay', 'stats', 'test', 'validate']);
  });
});

describe('parsed options', () => {
  it.each<[string, string[], Parsed]>([
    ['validate, several files', ['validate', 'a.yaml', 'b.yaml', '--strict'], { command: 'validate', args: [['a.yaml', 'b.yaml']], options: { strict: true } }],
    [
      'render envoy defaults',
      ['render', 'envoy', 'p.yaml', '--role', 'egress-sidecar', '--out', 'o'],
      { command: 'render envoy', args: ['p.yaml'], options: { role: 'egress-sidecar', out: 'o', wasm: WASM, runtime: 'wasm', nativeLibrary: packagePath('build/libmeshgate.so') } },
    ],
    [
      'render istio: variadic selector, default api',
      ['render', 'istio', 'p.yaml', '--role', 'inbound', '--url', 'oci://r/m:1', '--namespace', 'ns', '--selector', 'app=a', 'tier=b', '--oci-layout', 'L'],
      {
        command: 'render istio',
        args: ['p.yaml'],
        options: { role: 'inbound', url: 'oci://r/m:1', namespace: 'ns', selector: ['app=a', 'tier=b'], ociLayout: 'L', wasm: WASM, api: 'wasmplugin' },
      },
    ],
    ['render rbac', ['render', 'rbac', 'p.yaml'], { command: 'render rbac', args: ['p.yaml'], options: {} }],
    ['package oci defaults', ['package', 'oci', '--out', 'o'], { command: 'package oci', args: [], options: { out: 'o', wasm: WASM, tag: '0.1.0' } }],
    [
      'eval: the port is a number',
      ['eval', 'p.yaml', '--role', 'egress', '--host', 'h', '--port', '8443', '--connect', '--json'],
      { command: 'eval', args: ['p.yaml'], options: { role: 'egress', host: 'h', port: 8443, connect: true, json: true, method: 'GET', path: '/', scheme: 'https', format: 'text' } },
    ],
    [
      'eval: --format json, the policy from stdin',
      ['eval', '-', '--role', 'inbound', '--format', 'json'],
      { command: 'eval', args: ['-'], options: { role: 'inbound', method: 'GET', path: '/', scheme: 'https', format: 'json' } },
    ],
    ['test defaults to the emulator and text', ['test', 's.yaml'], { command: 'test', args: [['s.yaml']], options: { target: 'emulator', format: 'text' } }],
    [
      'test for CI: JSON on stdout, JUnit to a file, a scenario from stdin',
      ['test', '-', '--format', 'json', '--junit', 'out.xml'],
      { command: 'test', args: [['-']], options: { target: 'emulator', format: 'json', junit: 'out.xml' } },
    ],
    [
      'test on both with coverage',
      ['test', 's.yaml', 't.yaml', '--target', 'both', '--require-coverage'],
      { command: 'test', args: [['s.yaml', 't.yaml']], options: { target: 'both', requireCoverage: true, format: 'text' } },
    ],
  ])('%s', async (_name, argv, want) => {
    expect(await parse(argv)).toEqual(want);
  });
});

describe('refused command lines', () => {
  it.each<[string, string[], string, RegExp]>([
    ['unknown command', ['frobnicate'], 'commander.unknownCommand', /unknown command 'frobnicate'/],
    ['unknown option', ['validate', 'p.yaml', '--strcit'], 'commander.unknownOption', /unknown option '--strcit'/],
    ['missing argument', ['validate'], 'commander.missingArgument', /missing required argument 'policy'/],
    ['role outside the choices', ['eval', 'p.yaml', '--role', 'sideways'], 'commander.invalidArgument', /Allowed choices are inbound, egress/],
    ['egress-sidecar is no eval role', ['eval', 'p.yaml', '--role', 'egress-sidecar', '--host', 'h'], 'commander.invalidArgument', /--role <role>/],
    ['mandatory --role', ['render', 'envoy', 'p.yaml', '--out', 'o'], 'commander.missingMandatoryOptionValue', /required option '--role <role>' not specified/],
    ['mandatory --out', ['package', 'oci'], 'commander.missingMandatoryOptionValue', /required option '--out <dir>' not specified/],
    ['an option without its value', ['render', 'istio', 'p.yaml', '--role', 'egress', '--url'], 'commander.optionMissingArgument', /option '--url <url>' argument missing/],
    ['unknown target', ['test', 's.yaml', '--target', 'staging'], 'commander.invalidArgument', /Allowed choices are emulator, envoy, both/],
    ['unknown format', ['test', 's.yaml', '--format', 'xml'], 'commander.invalidArgument', /Allowed choices are text, json/],
    ['extra argument', ['render', 'rbac', 'a.yaml', 'b.yaml'], 'commander.excessArguments', /too many arguments/],
  ])('%s', async (_name, argv, code, message) => {
    const r = await refused(argv);
    expect(r.code).toBe(code);
    expect(r.printed).toMatch(message);
  });

  it('main() turns each of them into exit 2, without running anything', async () => {
    const err: string[] = [];
    expect(await main(['test', 's.yaml', '--target', 'staging'], { out: () => undefined, err: (s) => err.push(s) })).toBe(EXIT_USAGE);
    expect(err.join('\n')).toMatch(/Allowed choices are emulator, envoy, both/);
    expect(await main([], { out: () => undefined, err: () => undefined })).toBe(EXIT_USAGE);
  });
});
