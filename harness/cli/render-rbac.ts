/** `meshgate render rbac <policy>`: the inbound policy as Envoy RBAC HTTP filters (harness/policy/rbac.ts). */
import type { Command } from 'commander';
import { stringify } from 'yaml';
import { renderRbac } from '../policy/rbac';
import { compileOrReport, type Io } from './io';

export function registerRenderRbac(render: Command, io: Io): Command {
  return render
    .command('rbac')
    .description('print the inbound policy as Envoy RBAC HTTP filters (what RBAC cannot express is listed on stderr)')
    .argument('<policy>', 'policy YAML file')
    .action((file: string) => {
      const compiled = compileOrReport(file, io);
      const out = renderRbac(compiled.normalized!);
      for (const u of out.unsupported) io.err(`not expressible in RBAC: ${u}`);
      io.out(stringify(out.filters));
    });
}
