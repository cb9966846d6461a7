/** `meshgate render envoy <policy>`: a runnable Envoy bootstrap with its certificates (harness/render/envoy.ts). */
import { Option, type Command } from 'commander';
import { renderEnvoy } from '../render/envoy';
import type { Role } from '../envoy/reference';

const ROLES: Role[] = ['inbound', 'egress', 'egress-sidecar', 'egress-sni-sidecar', 'egress-sni-gateway'];
import { compileOrReport, type Io } from './io';

export interface RenderEnvoyFlags {
  role: Role;
  out: string;
  wasm: string;
  certs?: string;
  dns?: string;
}

export function registerRenderEnvoy(render: Command, io: Io): Command {
  return render
    .command('envoy')
    .description('write a runnable Envoy bootstrap (func-e run -c DIR/envoy.yaml) with its certificates')
    .argument('<policy>', 'policy YAML file')
    .addOption(new Option('--role <role>', 'which filter').choices(ROLES).makeOptionMandatory())
    .requiredOption('--out <dir>', 'output directory')
    .option('--wasm <path>', 'the module to load', 'build/meshgate.wasm')
    .option('--certs <dir>', 'use existing ca.pem, proxy.pem, proxy-key.pem (and bundle-<trust domain>.pem per federatesWith entry) from DIR instead of minting demo ones')
    .option('--dns <ip:port>', 'egress roles: the DNS server Envoy asks (default: the system resolver, /etc/resolv.conf)')
    .action(async (file: string, o: RenderEnvoyFlags) => {
      const compiled = compileOrReport(file, io);
      const written = await renderEnvoy({ role: o.role, compiled, outDir: o.out, wasmFile: o.wasm, certsDir: o.certs, dns: o.dns });
      for (const f of written.files) io.out(f);
      io.out(`run it: func-e run -c ${written.bootstrap}`);
    });
}
