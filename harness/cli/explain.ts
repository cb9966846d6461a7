/**
 * `meshgate explain --policy p.yaml`: why one request gets its decision, traced by the compiled
 * module (harness/rollout/explain.ts). The request comes from flags, or from one access-log record
 * (`--record '<json line>'`, `--record -` for stdin). `--format json` prints the Explanation.
 */
import { CommanderError, Option, type Command } from 'commander';
import { sharedTestkit } from '../engine/testkit';
import { explainRequest, formatExplanation, type ExplainRequest, type Role } from '../rollout/explain';
import { requestOfRecord } from '../rollout/explain-record';
import { compileOrReport, EXIT_USAGE, FORMATS, STDIN, readStdin, type Format, type Io } from './io';
import { addRequestFlags, type RequestFlags } from './request-flags';

export interface ExplainFlags extends RequestFlags {
  policy: string;
  role?: Role;
  sni?: string;
  record?: string;
  format: Format;
}

function usage(message: string): CommanderError {
  return new CommanderError(EXIT_USAGE, 'meshgate.explain', message);
}

export function registerExplain(program: Command, io: Io): Command {
  const cmd = program
    .command('explain')
    .description('trace one request through the compiled module: every rule in evaluation order, every field, the deciding rule and why')
    .requiredOption('--policy <file>', 'policy YAML file (- reads it from stdin)')
    .addOption(new Option('--role <role>', 'which filter (a record may say it)').choices(['inbound', 'egress']));
  return addRequestFlags(cmd, "the direct peer's SPIFFE ID (omit: no client certificate)")
    .option('--sni <name>', 'egress: a TLS passthrough connection with this server name (the SNI filter)')
    .option('--record <json>', 'one access-log record (a JSON line; - reads it from stdin) instead of the request flags')
    .addOption(new Option('--format <format>', 'text lines, or one JSON document').choices(FORMATS).default('text'))
    .action((o: ExplainFlags) => {
      if (o.policy === STDIN && o.record === STDIN) throw usage('--policy and --record cannot both read stdin');
      const compiled = compileOrReport(o.policy, io);
      let request: ExplainRequest;
      let logged: { decision?: string; rule?: string; policy?: string } = {};
      if (o.record !== undefined) {
        const text = o.record === STDIN ? readStdin(io).trim().split('\n')[0] : o.record;
        try {
          ({ request, logged } = requestOfRecord(text, o.role));
        } catch (e) {
          throw usage(`--record: ${(e as Error).message}`);
        }
      } else {
        if (!o.role) throw usage('--role is required (or give --record)');
        if (o.role === 'egress' && !o.host && !o.sni) throw usage('egress: --host or --sni is required');
        request = { role: o.role, peer: o.identity ?? null, xfcc: o.xfcc, method: o.method, path: o.path, host: o.host ?? o.sni, port: o.port, connect: Boolean(o.connect), scheme: o.scheme, sni: o.sni };
      }
      const e = explainRequest(sharedTestkit(), compiled, request);
      if (o.format === 'json') {
        io.out(JSON.stringify({ ...e, ...(o.record !== undefined ? { logged } : {}) }, null, 2));
        return;
      }
      for (const l of formatExplanation(e)) io.out(l);
      if (o.record !== undefined && (logged.decision !== undefined || logged.rule !== undefined)) {
        const same = logged.decision === e.decision && logged.rule === e.rule;
        const other = logged.policy !== undefined && logged.policy !== e.policy ? ` under policy ${logged.policy}` : '';
        io.out('');
        io.out(`record   the proxy logged ${logged.decision ?? '?'} rule=${logged.rule ?? '?'}${other}: ${same ? 'the same' : 'DIFFERENT from this policy'}`);
      }
    });
}
