/**
 * Envoy config for meshgate as a native dynamic module (build/libmeshgate.so, native/): the same
 * policy, root id and position in the filter chain as the Wasm filter it replaces.
 *
 * Each `envoy.filters.http.wasm` filter becomes two HTTP filters:
 *  1. `envoy.filters.http.set_filter_state` puts `%DOWNSTREAM_PEER_CERT%` (the URL-encoded PEM of
 *     the peer's leaf, exactly what the Wasm host serves as `connection.peer_certificate`) into
 *     filter state `meshgate.peer_certificate`. Envoy 1.40's HTTP dynamic-module ABI exposes only
 *     the FIRST URI SAN of the peer (attribute connection.uri_san_peer_certificate), which cannot
 *     enforce the multi-URI-SAN refusal or the X.509-SVID leaf rules; the whole leaf can.
 *  2. `envoy.filters.http.dynamic_modules` with the library, the root id as `filter_name` and the
 *     policy JSON as `filter_config` (a StringValue: handed to the module verbatim).
 * Each `envoy.filters.network.wasm` filter becomes the network forms of the same two
 * (`envoy.filters.network.set_filter_state` on the new connection, the network dynamic module),
 * except where keepsWasm() says the module could not see what it judges.
 * Counters then show in /stats as `dynamicmodulescustom.meshgate.*` (Envoy 1.40's fixed prefix
 * for dynamic-module metrics) instead of `wasmcustom.meshgate.*`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Json } from '../envoy/bootstrap';
import { repoRoot } from '../envoy/paths';
import { NativeBuildError } from './errors';

/** The library `npm run build:native` writes. */
export function nativeLibraryPath(): string {
  return path.join(repoRoot(), 'build', 'libmeshgate.so');
}

/** The library (default: the package's), or an error naming it and saying how to build it:
 *  missing, or older than the meshgate.wasm beside it (it would run an old policy engine). */
export function requireNativeLibrary(lib: string = nativeLibraryPath()): string {
  const wasm = path.join(path.dirname(lib), 'meshgate.wasm');
  const build = `run npm run build:native (in ${repoRoot()}; it writes ${nativeLibraryPath()})`;
  if (!fs.existsSync(lib)) throw new NativeBuildError('NATIVE_LIBRARY_MISSING', `${lib} is missing: ${build}`);
  if (fs.existsSync(wasm) && fs.statSync(wasm).mtimeMs > fs.statSync(lib).mtimeMs) {
    throw new NativeBuildError('NATIVE_LIBRARY_MISSING', `${lib} is older than ${wasm}: ${build}`);
  }
  return lib;
}

/** Filter state key the shim reads the peer certificate from (native/shim.h MG_PEER_CERTIFICATE_KEY). */
export const PEER_CERTIFICATE_KEY = 'meshgate.peer_certificate';

export interface NativeFilterOptions {
  /** The root id (meshgate_inbound, meshgate_egress, ...). */
  rootId: string;
  /** The plugin configuration: the compiled policy JSON. */
  policyJson: string;
  /** Default: nativeLibraryPath(). */
  library?: string;
}

/** Where each kind of filter takes the peer-certificate step and the module: config types, and
 *  the set_filter_state field that runs per request (HTTP) or per connection (network). */
const LEVELS = {
  http: {
    setFilterState: 'type.googleapis.com/envoy.extensions.filters.http.set_filter_state.v3.Config',
    when: 'on_request_headers',
    module: 'type.googleapis.com/envoy.extensions.filters.http.dynamic_modules.v3.DynamicModuleFilter',
  },
  network: {
    setFilterState: 'type.googleapis.com/envoy.extensions.filters.network.set_filter_state.v3.Config',
    when: 'on_new_connection',
    module: 'type.googleapis.com/envoy.extensions.filters.network.dynamic_modules.v3.DynamicModuleNetworkFilter',
  },
} as const;

function nativeFilters(level: keyof typeof LEVELS, o: NativeFilterOptions): Json[] {
  const l = LEVELS[level];
  return [
    {
      name: 'meshgate.peer_certificate',
      typed_config: {
        '@type': l.setFilterState,
        [l.when]: [
          {
            object_key: PEER_CERTIFICATE_KEY,
            factory_key: 'envoy.string',
            format_string: { text_format_source: { inline_string: '%DOWNSTREAM_PEER_CERT%' } },
          },
        ],
      },
    },
    {
      name: 'meshgate.native',
      typed_config: {
        '@type': l.module,
        dynamic_module_config: { module: { local: { filename: o.library ?? nativeLibraryPath() } } },
        filter_name: o.rootId,
        filter_config: { '@type': 'type.googleapis.com/google.protobuf.StringValue', value: o.policyJson },
      },
    },
  ];
}

/** The HTTP filters that run meshgate natively in place of one Wasm HTTP filter. */
export function nativeHttpFilters(o: NativeFilterOptions): Json[] {
  return nativeFilters('http', o);
}

/** The network filters that run meshgate natively in place of one Wasm network filter: the same
 *  peer-certificate step (on the new connection) and the network module. */
export function nativeNetworkFilters(o: NativeFilterOptions): Json[] {
  return nativeFilters('network', o);
}

/** Root id and plugin configuration of a Wasm filter (HTTP or network); a filter without a
 *  configuration (the tunnel exit) gets an empty one, as the Wasm host hands it. */
function pluginOf(wasmFilter: Json): NativeFilterOptions {
  const plugin = (wasmFilter.typed_config as Json).config as Json;
  const configuration = plugin.configuration as Json | undefined;
  const rootId = plugin.root_id;
  if (typeof rootId !== 'string' || (configuration !== undefined && typeof configuration.value !== 'string')) {
    throw new Error(`native config: Wasm filter ${String(plugin.name)} has no root_id, or a configuration that is not a StringValue`);
  }
  return { rootId, policyJson: (configuration?.value as string | undefined) ?? '' };
}

/** The native filters for one Wasm filter of a rendered config: its root id and configuration. */
export function nativeFiltersFor(wasmFilter: Json, library?: string): Json[] {
  const o = { ...pluginOf(wasmFilter), library };
  return wasmFilter.name === 'envoy.filters.network.wasm' ? nativeNetworkFilters(o) : nativeHttpFilters(o);
}

/** Why keepsWasm keeps a filter, in one line for people (`render envoy --runtime native` prints it). */
export const KEPT_WASM_REASON =
  'its policy filter judges the caller\'s certificate on the mTLS hop, and Envoy\'s network dynamic-module ABI cannot hand the certificate over (docs/runtime.md, "Native runtime")';

/**
 * Whether a filter chain's Wasm filter stays Wasm: a NETWORK policy filter behind a downstream TLS
 * transport socket (the SNI gateway's mTLS hop). It judges the caller's certificate, and a
 * network dynamic module cannot get it: the network ABI exposes URI SANs, DNS SANs and the
 * subject but not the certificate, and `envoy.filters.network.set_filter_state` evaluates
 * `%DOWNSTREAM_PEER_CERT%` on the new connection, before the handshake has produced a peer. The
 * X.509-SVID leaf rules need the whole leaf, so that listener keeps the Wasm filter.
 */
export function keepsWasm(chain: Json, filter: Json): boolean {
  return filter.name === 'envoy.filters.network.wasm' && chain.transport_socket !== undefined;
}

const WASM_FILTERS = new Set(['envoy.filters.http.wasm', 'envoy.filters.network.wasm']);

/** What toNative did: filters replaced by the native module, Wasm filters kept (keepsWasm). */
export interface NativeReplacement {
  replaced: number;
  keptWasm: number;
}

function replaceWasm(filters: Json[], library: string | undefined, keep: (f: Json) => boolean, n: NativeReplacement): Json[] {
  return filters.flatMap((f) => {
    if (!WASM_FILTERS.has(f.name as string)) return [f];
    if (keep(f)) {
      n.keptWasm++;
      return [f];
    }
    n.replaced++;
    return nativeFiltersFor(f, library);
  });
}

/**
 * Replaces meshgate's Wasm filters of a rendered config (in place) with their native equivalent:
 * the HTTP filters of every listener's HCM, and the network filters of every filter chain (the
 * SNI policy filter, the CONNECT tunnels' exit) except where keepsWasm says the module could not
 * see what it judges.
 */
export function toNative(cfg: Json, library?: string): NativeReplacement {
  const n: NativeReplacement = { replaced: 0, keptWasm: 0 };
  for (const l of (cfg.static_resources as Json).listeners as Json[]) {
    for (const chain of l.filter_chains as Json[]) {
      chain.filters = replaceWasm(chain.filters as Json[], library, (f) => keepsWasm(chain, f), n);
      for (const f of chain.filters as Json[]) {
        if (f.name !== 'envoy.filters.network.http_connection_manager') continue;
        const hcm = f.typed_config as Json;
        hcm.http_filters = replaceWasm(hcm.http_filters as Json[], library, () => false, n);
      }
    }
  }
  return n;
}
