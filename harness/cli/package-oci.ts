/** `meshgate package oci`: the module as an OCI image layout Istio pulls (harness/package/oci.ts). */
import type { Command } from 'commander';
import type { Io } from './io';
import { packageVersion } from './version';

export interface PackageOciFlags {
  out: string;
  wasm: string;
  tag: string;
}

export function registerPackageOci(pkg: Command, io: Io): Command {
  return pkg
    .command('oci')
    .description('write an OCI image layout holding the module in the format Istio pulls (no Docker needed)')
    .requiredOption('--out <dir>', 'output directory (an OCI image layout)')
    .option('--wasm <path>', 'the module', 'build/meshgate.wasm')
    .option('--tag <tag>', 'image tag (default: the meshgate version, the tag the README pushes and renders)', packageVersion())
    .action(async (o: PackageOciFlags) => {
      const { packageOci } = await import('../package/oci');
      const r = packageOci({ wasmFile: o.wasm, outDir: o.out, tag: o.tag });
      io.out(`${o.out}: manifest ${r.manifestDigest}`);
      io.out(`push it (e.g. crane push ${o.out} REGISTRY/meshgate:${o.tag}) and use --url oci://REGISTRY/meshgate:${o.tag} with --oci-layout ${o.out}`);
    });
}
