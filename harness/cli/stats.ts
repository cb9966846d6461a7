/**
 * `meshgate stats <admin URL | saved /stats file> --policy p.yaml`: rules never hit, audit
 * rules' would-deny counts and the default's count, from the filter's own counters
 * (harness/rollout/stats.ts). `-` reads the saved stats from stdin; `--format json` too.
 */
import * as fs from 'node:fs';
import { Option, type Command } from 'commander';
import { formatStats, parseStats, policyStats } from '../rollout/stats';
import { compileOrReport, FORMATS, STDIN, readStdin, type Format, type Io } from './io';

export interface StatsFlags {
  policy: string;
  format: Format;
}

/** The admin server's `/stats` (an http(s) URL, with or without the path), or a saved copy. */
async function readStats(source: string, io: Io): Promise<string> {
  if (source === STDIN) return readStdin(io);
  if (/^https?:\/\//.test(source)) {
    const url = new URL(source);
    if (url.pathname === '/' || url.pathname === '') url.pathname = '/stats';
    const res = await fetch(url);
    if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
    return res.text();
  }
  try {
    return fs.readFileSync(source, 'utf8');
  } catch (e) {
    throw new Error(`cannot read ${source}: ${(e as Error).message}`);
  }
}

export function registerStats(program: Command, io: Io): Command {
  return program
    .command('stats')
    .description("rules never hit, audit rules' would-deny counts and default decisions, from the filter's counters")
    .argument('<source>', "Envoy's admin URL (http://127.0.0.1:9901), or a saved /stats file (- reads stdin)")
    .requiredOption('--policy <file>', 'the policy the proxy enforces (YAML file)')
    .addOption(new Option('--format <format>', 'text lines, or one JSON document').choices(FORMATS).default('text'))
    .action(async (source: string, o: StatsFlags) => {
      const compiled = compileOrReport(o.policy, io);
      const filters = policyStats(compiled, parseStats(await readStats(source, io)));
      if (o.format === 'json') io.out(JSON.stringify({ policy: compiled.digest12, filters }, null, 2));
      else for (const l of formatStats(filters)) io.out(l);
    });
}
