/**
 * Small builders for Envoy bootstrap pieces, as typed data (never text). Each returns a plain
 * object in the proto3 JSON shape Envoy's YAML/JSON loader accepts; compose them, or patch objects
 * loaded from the reference configs in envoy/.
 *
 * Everything binds to 127.0.0.1 and defaults to port 0; read bound ports back with
 * `EnvoyProcess.listenerPort(name)`.
 */

export type Json = Record<string, unknown>;

const T = {
  hcm: 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
  router: 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router',
  wasm: 'type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm',
  stringValue: 'type.googleapis.com/google.protobuf.StringValue',
  downstreamTls: 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext',
  upstreamTls: 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
  fileAccessLog: 'type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog',
  spiffeValidator: 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.SPIFFECertValidatorConfig',
} as const;

/** `envoy.config.core.v3.Address` with a socket address. */
export function socketAddress(address = '127.0.0.1', port = 0): Json {
  return { socket_address: { address, port_value: port } };
}

/** The admin block; port 0 by default (EnvoyProcess reads the bound port from --admin-address-path). */
export function adminBlock(port = 0, address = '127.0.0.1'): Json {
  return { address: socketAddress(address, port) };
}

export interface DownstreamTlsOptions {
  /** This listener's certificate chain and key (PEM files). */
  certFile: string;
  keyFile: string;
  /** Trust bundle for client certificates; when absent, client certificates are not requested. */
  caFile?: string;
  /** Refuse the handshake without a client certificate (default false: optional, but validated if sent). */
  requireClientCertificate?: boolean;
}

/**
 * A `validation_context` with Envoy's SPIFFE certificate validator: one trust bundle per trust
 * domain; a peer certificate is checked against the bundle of its first URI SAN's trust domain
 * only, so one domain's CA cannot vouch for another domain's IDs (harness/pki/handshake.ts lists
 * what else it does and does not check).
 */
export function spiffeValidationContext(bundles: { trustDomain: string; file: string }[]): Json {
  return {
    custom_validator_config: {
      name: 'envoy.tls.cert_validator.spiffe',
      typed_config: {
        '@type': T.spiffeValidator,
        trust_domains: bundles.map((b) => ({ name: b.trustDomain, trust_bundle: { filename: b.file } })),
      },
    },
  };
}

/** A listener `transport_socket` terminating TLS, optionally validating client certificates. */
export function downstreamTls(o: DownstreamTlsOptions): Json {
  const common: Json = {
    tls_certificates: [{ certificate_chain: { filename: o.certFile }, private_key: { filename: o.keyFile } }],
  };
  if (o.caFile) common.validation_context = { trusted_ca: { filename: o.caFile } };
  return {
    name: 'envoy.transport_sockets.tls',
    typed_config: { '@type': T.downstreamTls, require_client_certificate: o.requireClientCertificate ?? false, common_tls_context: common },
  };
}

export interface UpstreamTlsOptions {
  /** SNI sent to the upstream. */
  sni?: string;
  /** Trust bundle for the upstream's certificate; when absent the upstream is not verified. */
  caFile?: string;
  /** Client certificate presented upstream (mTLS). */
  certFile?: string;
  keyFile?: string;
}

/** A cluster `transport_socket` originating TLS. */
export function upstreamTls(o: UpstreamTlsOptions = {}): Json {
  const common: Json = {};
  if (o.certFile && o.keyFile) {
    common.tls_certificates = [{ certificate_chain: { filename: o.certFile }, private_key: { filename: o.keyFile } }];
  }
  if (o.caFile) common.validation_context = { trusted_ca: { filename: o.caFile } };
  const cfg: Json = { '@type': T.upstreamTls, common_tls_context: common };
  if (o.sni) cfg.sni = o.sni;
  return { name: 'envoy.transport_sockets.tls', typed_config: cfg };
}

/** A route answering locally with `status` and `body`. */
export function directResponseRoute(status = 200, body = '', prefix = '/'): Json {
  const route: Json = { match: { prefix }, direct_response: { status } };
  if (body) (route.direct_response as Json).body = { inline_string: body };
  return route;
}

/** A route forwarding requests under `prefix` to `cluster`. */
export function clusterRoute(cluster: string, prefix = '/', timeout = '5s'): Json {
  return { match: { prefix }, route: { cluster, timeout } };
}

/** A route configuration with one virtual host for all domains. */
export function routeConfig(routes: Json[], name = 'local'): Json {
  return { name, virtual_hosts: [{ name, domains: ['*'], routes }] };
}

export interface WasmFilterOptions {
  /** `PluginConfig.name`: log prefix and `wasm.<name>.` stat prefix. */
  pluginName: string;
  /** Selects the root context inside the module (`meshgate_inbound` / `meshgate_egress`). */
  rootId: string;
  /** Path of the .wasm module. */
  wasmFile: string;
  /** Plugin configuration, handed to `proxy_on_configure` as raw bytes (a `StringValue`). */
  configuration: string;
  vmId?: string;
  /** Default FAIL_CLOSED: a VM that failed refuses requests. */
  failurePolicy?: 'FAIL_CLOSED' | 'FAIL_OPEN' | 'FAIL_RELOAD';
}

/** The `envoy.filters.http.wasm` HTTP filter entry (v8 runtime, local file). */
export function wasmFilter(o: WasmFilterOptions): Json {
  return {
    name: 'envoy.filters.http.wasm',
    typed_config: {
      '@type': T.wasm,
      config: {
        name: o.pluginName,
        root_id: o.rootId,
        failure_policy: o.failurePolicy ?? 'FAIL_CLOSED',
        configuration: { '@type': T.stringValue, value: o.configuration },
        vm_config: {
          vm_id: o.vmId ?? o.pluginName,
          runtime: 'envoy.wasm.runtime.v8',
          code: { local: { filename: o.wasmFile } },
        },
      },
    },
  };
}

/** The terminal router HTTP filter. */
export function routerFilter(): Json {
  return { name: 'envoy.filters.http.router', typed_config: { '@type': T.router } };
}

/** An access log entry writing one `format` line per request to `path` (remember the trailing \n). */
export function fileAccessLog(path: string, format: string): Json {
  return {
    name: 'envoy.access_loggers.file',
    typed_config: { '@type': T.fileAccessLog, path, log_format: { text_format_source: { inline_string: format } } },
  };
}

export interface HttpListenerOptions {
  name: string;
  port?: number;
  address?: string;
  /** HCM `stat_prefix` (stats `http.<prefix>.*`); default: the listener name. */
  statPrefix?: string;
  /** Downstream TLS; plaintext when absent. */
  tls?: DownstreamTlsOptions;
  /** Routes of the single virtual host (see directResponseRoute / clusterRoute). */
  routes: Json[];
  /** HTTP filters before the router (the router is appended). */
  httpFilters?: Json[];
  accessLogs?: Json[];
  /** Further HttpConnectionManager fields, merged last (e.g. normalize_path, forward_client_cert_details). */
  hcm?: Json;
}

/** A listener with one filter chain: optional TLS, then an HTTP connection manager. */
export function httpListener(o: HttpListenerOptions): Json {
  const hcm: Json = {
    '@type': T.hcm,
    stat_prefix: o.statPrefix ?? o.name,
    route_config: routeConfig(o.routes, o.name),
    http_filters: [...(o.httpFilters ?? []), routerFilter()],
  };
  if (o.accessLogs?.length) hcm.access_log = o.accessLogs;
  Object.assign(hcm, o.hcm ?? {});
  const chain: Json = { filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: hcm }] };
  if (o.tls) chain.transport_socket = downstreamTls(o.tls);
  return { name: o.name, address: socketAddress(o.address ?? '127.0.0.1', o.port ?? 0), filter_chains: [chain] };
}

export interface StaticClusterOptions {
  name: string;
  port: number;
  address?: string;
  tls?: UpstreamTlsOptions;
  connectTimeout?: string;
}

/** A STATIC cluster with one endpoint (127.0.0.1 by default). */
export function staticCluster(o: StaticClusterOptions): Json {
  const cluster: Json = {
    name: o.name,
    type: 'STATIC',
    connect_timeout: o.connectTimeout ?? '2s',
    load_assignment: {
      cluster_name: o.name,
      endpoints: [{ lb_endpoints: [{ endpoint: { address: socketAddress(o.address ?? '127.0.0.1', o.port) } }] }],
    },
  };
  if (o.tls) cluster.transport_socket = upstreamTls(o.tls);
  return cluster;
}

/** A complete bootstrap: admin on 127.0.0.1:0 unless given. */
export function bootstrap(o: { listeners?: Json[]; clusters?: Json[]; admin?: Json }): Json {
  return {
    admin: o.admin ?? adminBlock(),
    static_resources: { listeners: o.listeners ?? [], clusters: o.clusters ?? [] },
  };
}
