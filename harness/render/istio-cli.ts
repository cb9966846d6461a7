/** Adapts `meshgate render istio` flags to harness/render/istio.ts. */
import { renderWasmPlugin, parseSelector, type RenderIstioOptions, type IstioApi, type IstioRole } from './istio';

export interface IstioCliOptions {
  role: string;
  url: string;
  policyJson: string;
  selector?: string[];
  wasm: string;
  ociLayout?: string;
  name?: string;
  namespace?: string;
  api: string;
}

export function renderIstioCli(o: IstioCliOptions): string {
  const opts: RenderIstioOptions = {
    role: o.role as IstioRole,
    policyJson: o.policyJson,
    url: o.url,
    wasmFile: o.url.startsWith('oci://') ? undefined : o.wasm,
    ociLayout: o.ociLayout,
    selector: o.selector && o.selector.length ? parseSelector(o.selector) : undefined,
    name: o.name,
    namespace: o.namespace,
    api: o.api as IstioApi,
  };
  return renderWasmPlugin(opts);
}
