/** `meshgate render istio <policy>`: WasmPlugin (or TrafficExtension) manifests (harness/render/istio.ts). */
import { Option, type Command } from 'commander';
import { compileOrReport, type Io } from './io';
import type { IstioRole } from '../render/istio';

export interface RenderIstioFlags {
  role: IstioRole;
  url: string;
  selector?: string[];
  wasm: string;
  ociLayout?: string;
  name?: string;
  namespace?: string;
  api: 'wasmplugin' | 'traffic-extension';
}

export function registerRenderIstio(render: Command, io: Io): Command {
  return render
    .command('istio')
    .description('print WasmPlugin (or TrafficExtension) manifests for the policy')
    .argument('<policy>', 'policy YAML file')
    .addOption(new Option('--role <role>', 'which filter (egress-sni: the TLS passthrough network filter, type NETWORK)').choices(['inbound', 'egress', 'egress-sni']).makeOptionMandatory())
    .requiredOption('--url <url>', 'where Istio fetches the module: oci://…, https://…, file://…')
    .option('--selector <k=v...>', 'workload selector labels')
    .option('--wasm <path>', 'local module, to compute sha256 for http(s)/file URLs', 'build/meshgate.wasm')
    .option('--oci-layout <dir>', 'OCI image layout from `meshgate package oci`, to take the manifest digest for oci:// URLs')
    .option('--name <name>', 'resource name')
    .option('--namespace <ns>', 'resource namespace')
    .addOption(new Option('--api <api>', 'resource kind').choices(['wasmplugin', 'traffic-extension']).default('wasmplugin'))
    .action(async (file: string, o: RenderIstioFlags) => {
      const compiled = compileOrReport(file, io);
      // Loaded on use: the Istio schemas (ajv) are not needed by any other command.
      const { renderWasmPlugin, parseSelector } = await import('../render/istio');
      io.out(
        renderWasmPlugin({
          role: o.role,
          policyJson: compiled.json,
          url: o.url,
          wasmFile: o.url.startsWith('oci://') ? undefined : o.wasm,
          ociLayout: o.ociLayout,
          selector: o.selector && o.selector.length ? parseSelector(o.selector) : undefined,
          name: o.name,
          namespace: o.namespace,
          api: o.api,
        }),
      );
    });
}
