/** `meshgate eval <policy>`: one request through the compiled filter in the emulator (harness/eval.ts);
 *  `-` reads the policy from stdin; `--format json` (or `--json`) prints the result as JSON. */
import { CommanderError, Option, type Command } from 'commander';
import { evalRequest } from '../eval';
import { compileOrReport, EXIT_USAGE, FORMATS, type Format, type Io } from './io';
import { addRequestFlags, type RequestFlags } from './request-flags';

export interface EvalFlags extends RequestFlags {
  role: 'inbound' | 'egress';
  json?: boolean;
  format: Format;
}

export function registerEval(program: Command, io: Io): Command {
  const cmd = program
    .command('eval')
    .description('run the compiled filter in the emulator on one request and print decision, rule and reason')
    .argument('<policy>', 'policy YAML file (- reads it from stdin)')
    .addOption(new Option('--role <role>', 'which filter').choices(['inbound', 'egress']).makeOptionMandatory());
  return addRequestFlags(cmd, 'caller SPIFFE ID (omit: no client certificate)')
    .addOption(new Option('--format <format>', 'text lines, or one JSON document').choices(FORMATS).default('text'))
    .option('--json', 'the same as --format json')
    .action(async (file: string, o: EvalFlags) => {
      const compiled = compileOrReport(file, io);
      if (o.role === 'egress' && !o.host) throw new CommanderError(EXIT_USAGE, 'meshgate.eval', 'egress: --host is required');
      const res = await evalRequest({
        compiled,
        role: o.role,
        identity: o.identity,
        method: o.method,
        path: o.path,
        host: o.host,
        port: o.port,
        connect: Boolean(o.connect),
        scheme: o.scheme,
        xfcc: o.xfcc,
      });
      if (o.json || o.format === 'json') {
        io.out(JSON.stringify(res, null, 2));
        return;
      }
      io.out(`decision: ${res.decision}`);
      io.out(`rule:     ${res.rule}`);
      io.out(`identity: ${res.identity}`);
      if (res.status) io.out(`response: ${res.status} ${res.details ?? ''}`.trimEnd());
      io.out(`why:      ${res.explanation}`);
    });
}
