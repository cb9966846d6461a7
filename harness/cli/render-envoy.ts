/**
 * `meshgate render envoy <policy>`: a runnable Envoy bootstrap with its certificates
 * (harness/render/envoy.ts), for the Wasm filter or, with `--runtime native`, the dynamic module.
 */
import { Option, type Command } from 'commander';
import { renderEnvoy, RUNTIMES, type RenderedEnvoy, type Runtime } from '../render/envoy';
import { PINNED_ENVOY_VERSION } from '../envoy/locate';
import { NATIVE_ENVOY_MINOR } from '../native/build';
import { KEPT_WASM_REASON } from '../native/config';
import type { Role } from '../envoy/reference';
import { compileOrReport, type Io } from './io';

const ROLES: Role[] = ['inbound', 'egress', 'egress-sidecar', 'egress-sni-sidecar', 'egress-sni-gateway'];

export interface RenderEnvoyFlags {
  role: Role;
  out: string;
  wasm: string;
  runtime: Runtime;
  nativeLibrary: string;
  certs?: string;
  cert?: string;
  key?: string;
  ca?: string;
  dns?: string;
  listen?: string;
  upstream?: string;
  admin?: string;
  serverName?: string[];
  proxyId?: string;
  sds?: string;
  sdsSvid?: string;
  sdsBundle?: string;
  service?: string;
}

export function registerRenderEnvoy(render: Command, io: Io): Command {
  return render
    .command('envoy')
    .description('write a runnable Envoy bootstrap (func-e run -c DIR/envoy.yaml) with its certificates')
    .argument('<policy>', 'policy YAML file')
    .addOption(new Option('--role <role>', 'which filter').choices(ROLES).makeOptionMandatory())
    .requiredOption('--out <dir>', 'output directory')
    .option('--wasm <path>', 'the module to load', 'build/meshgate.wasm')
    .addOption(
      new Option('--runtime <runtime>', `how Envoy runs meshgate: wasm (its Wasm filter, any Envoy with V8) or native (the dynamic module --native-library, built by npm run build:native for Envoy ${NATIVE_ENVOY_MINOR} only)`)
        .choices(RUNTIMES)
        .default('wasm'),
    )
    .option('--native-library <path>', `with --runtime native: the dynamic module (Envoy ${NATIVE_ENVOY_MINOR} only)`, 'build/libmeshgate.so')
    .option('--listen <ip:port>', 'the listener address (default: the reference config\'s, e.g. 127.0.0.1:10443 inbound)')
    .option('--upstream <ip:port>', 'inbound: the service behind the proxy (default 127.0.0.1:8081)')
    .option('--admin <ip:port>', 'the Envoy admin interface (default: the reference config\'s, 127.0.0.1:990x)')
    .option('--certs <dir>', 'use existing ca.pem, proxy.pem, proxy-key.pem (and bundle-<trust domain>.pem per federatesWith entry) from DIR instead of minting demo ones')
    .option('--cert <file>', 'the proxy\'s certificate chain (PEM; with --key and --ca, instead of --certs)')
    .option('--key <file>', 'the proxy\'s private key (PEM)')
    .option('--ca <file>', 'the trust bundle clients are verified against (PEM)')
    .option('--server-name <name...>', 'minted demo certificates: DNS names of the proxy\'s certificate (default localhost)')
    .option('--proxy-id <spiffe-id>', 'minted demo certificates: the proxy\'s SPIFFE ID (default: the policy\'s identity.id, or the demo\'s)')
    .option('--sds <socket>', 'inbound: certificate and trust bundle from an SDS server on this unix socket (the SPIRE agent\'s socket_path) instead of files')
    .option('--sds-svid <name>', 'with --sds: the secret of the proxy\'s SVID (SPIRE: "default" or the SVID\'s SPIFFE ID)')
    .option('--sds-bundle <name>', 'with --sds: the secret of the trust bundle (SPIRE: "ROOTCA" or spiffe://<trust domain>; default ALL with federatesWith)')
    .option('--service <name>', 'inbound: the name of the service behind the proxy, for its cluster and stats (default: the last segment of the proxy\'s SPIFFE ID)')
    .option('--dns <ip:port>', 'egress roles: the DNS server Envoy asks (default: the system resolver, /etc/resolv.conf)')
    .action(async (file: string, o: RenderEnvoyFlags, cmd: Command) => {
      const compiled = compileOrReport(file, io);
      // the package default is for --runtime native; a path typed with the Wasm runtime is a mistake
      const libraryGiven = cmd.getOptionValueSource('nativeLibrary') === 'cli';
      const written = await renderEnvoy({
        role: o.role,
        compiled,
        outDir: o.out,
        wasmFile: o.wasm,
        runtime: o.runtime,
        nativeLibrary: o.runtime === 'native' || libraryGiven ? o.nativeLibrary : undefined,
        certsDir: o.certs,
        certFile: o.cert,
        keyFile: o.key,
        caFile: o.ca,
        dns: o.dns,
        listen: o.listen,
        upstream: o.upstream,
        admin: o.admin,
        serverNames: o.serverName,
        proxyId: o.proxyId,
        sds: o.sds,
        sdsSvid: o.sdsSvid,
        sdsBundle: o.sdsBundle,
        service: o.service,
      });
      for (const f of written.files) io.out(f);
      for (const line of nativeNotes(written, o)) io.out(line);
      io.out(`run it: ${written.native ? `ENVOY_VERSION=${PINNED_ENVOY_VERSION} ` : ''}func-e run -c ${written.bootstrap}`);
    });
}

/**
 * What a native bootstrap needs people to know. The config names the library by its absolute
 * path (dynamic_module_config.module.local.filename), so Envoy needs no
 * ENVOY_DYNAMIC_MODULES_SEARCH_PATH; but the library implements one Envoy minor version's
 * dynamic-module ABI, and a bare `func-e run` would fetch the latest Envoy: the run line pins it.
 */
function nativeNotes(written: RenderedEnvoy, o: RenderEnvoyFlags): string[] {
  const n = written.native;
  if (!n) return [];
  const lines = [`native: ${n.library} is built for Envoy ${NATIVE_ENVOY_MINOR} only (its dynamic-module ABI); run it with Envoy ${NATIVE_ENVOY_MINOR}`];
  if (n.keptWasm > 0) lines.push(`note: --role ${o.role} keeps its Wasm filter (${o.wasm}): ${KEPT_WASM_REASON}`);
  return lines;
}
