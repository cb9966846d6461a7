/** `meshgate render istio <policy>`: WasmPlugin (or TrafficExtension) manifests (harness/render/istio.ts). */
import { Option, type Command } from 'commander';
import { compileOrReport, type Io } from './io';
import type { IstioRole } from '../render/istio';

export interface RenderIstioFlags {
  role: IstioRole;
  url: string;
  selector?: string[];
  targetRef?: string[];
  allWorkloads?: boolean;
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
    .option('--selector <k=v...>', 'workload selector labels, e.g. app=billing (required for inbound, unless --target-ref or --all-workloads)')
    .option('--target-ref <Kind/name...>', 'attach to a Gateway, GatewayClass, Service (waypoints) or ServiceEntry instead of a selector')
    .option('--all-workloads', 'apply to every workload of the namespace (no selector): say it explicitly for a default-deny policy')
    .option('--wasm <path>', 'local module, to compute sha256 for http(s)/file URLs', 'build/meshgate.wasm')
    .option('--oci-layout <dir>', 'OCI image layout from `meshgate package oci`, to take the manifest digest for oci:// URLs')
    .option('--name <name>', 'workload part of the resource name meshgate-<role>-<name> (default: the selector\'s app label)')
    .requiredOption('--namespace <ns>', 'namespace of the workloads (egress gateway: usually istio-system)')
    .addOption(new Option('--api <api>', 'resource kind').choices(['wasmplugin', 'traffic-extension']).default('wasmplugin'))
    .action(async (file: string, o: RenderIstioFlags) => {
      const compiled = compileOrReport(file, io);
      // Loaded on use: the Istio schemas (ajv) are not needed by any other command.
      const { renderWasmPlugin, parseSelector, parseTargetRef } = await import('../render/istio');
      io.out(
        renderWasmPlugin({
          role: o.role,
          policyJson: compiled.json,
          url: o.url,
          wasmFile: o.url.startsWith('oci://') ? undefined : o.wasm,
          ociLayout: o.ociLayout,
          selector: o.selector && o.selector.length ? parseSelector(o.selector) : undefined,
          targetRefs: o.targetRef?.map(parseTargetRef),
          allWorkloads: o.allWorkloads,
          name: o.name,
          namespace: o.namespace,
          api: o.api,
        }),
      );
    });
}
