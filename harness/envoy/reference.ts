/**
 * The reference configs in envoy/ are what users run with `func-e run -c`; tests load the very
 * same files and patch only what differs per run: ports (all moved to 0 = free), certificate and
 * module paths, the plugin configuration, the upstream address and the DNS resolver. Everything
 * else (TLS settings, path normalization, filter order, failure policy, access log) is tested as
 * written. Patches find their target by name and fail loudly if the file's shape changed.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';
import { spiffeValidationContext, type Json } from './bootstrap';
import { usesSpiffeValidator } from '../pki/handshake';
import type { TrustBundleFile } from '../pki/pki';
import { repoRoot } from './paths';
import { addressGuardRules, grantsOf, GUARD_STAT_PREFIX, type AddressGuardOptions } from './address-guard';

export type Role = 'inbound' | 'egress' | 'egress-sidecar' | 'egress-sni-sidecar' | 'egress-sni-gateway';

/** Every role that resolves external names (a dynamic forward proxy with its own DNS cache). */
export const EGRESS_ROLES = ['egress', 'egress-sidecar', 'egress-sni-sidecar', 'egress-sni-gateway'] as const satisfies readonly Role[];

/** Roles whose filter is the network filter meshgate_egress_sni (TLS passthrough by SNI). */
export const SNI_ROLES = ['egress-sni-sidecar', 'egress-sni-gateway'] as const satisfies readonly Role[];

export function isSniRole(role: Role): role is (typeof SNI_ROLES)[number] {
  return (SNI_ROLES as readonly Role[]).includes(role);
}

export function referenceConfigPath(role: Role): string {
  return path.join(repoRoot(), 'envoy', `${role}.yaml`);
}

/** Parses envoy/<role>.yaml into plain data (anchors resolved: each use gets its own copy). */
export function loadReferenceConfig(role: Role): Json {
  return JSON.parse(JSON.stringify(parse(fs.readFileSync(referenceConfigPath(role), 'utf8'), { merge: true }))) as Json;
}

export interface CertPaths {
  /** The trust bundle (CA certificate) clients are validated against. */
  caFile: string;
  /** This proxy's own certificate chain and key. */
  certFile: string;
  keyFile: string;
}

/** An Envoy socket address: an IP literal and a port. */
export interface SocketAddress {
  address: string;
  port: number;
}

export interface ReferencePatch {
  wasmFile: string;
  /** The plugin configuration: the compiled policy JSON. */
  policyJson: string;
  certs: CertPaths;
  /**
   * One bundle per trusted trust domain (own first). With more than one, client certificates are
   * validated by Envoy's SPIFFE validator (each domain's CA vouches only for its own IDs) instead
   * of `trusted_ca` = `certs.caFile`.
   */
  trustBundles?: TrustBundleFile[];
  /** Inbound: the service behind the sidecar (127.0.0.1:port). */
  upstreamPort?: number;
  /** Inbound: the service behind the proxy as address and port (wins over upstreamPort). */
  upstream?: SocketAddress;
  /** The file's one listener moved to this address and port (not with sniListeners). */
  listen?: SocketAddress;
  /** The admin interface's address and port (with keepPorts; tests get their own admin). */
  admin?: SocketAddress;
  /** Egress: the resolver the dynamic forward proxy asks (127.0.0.1:port, UDP). */
  dnsPort?: number;
  /** Egress: the resolver as `{address, port}` (wins over dnsPort). Without either, the reference
   *  configs keep the system resolver. */
  dns?: { address: string; port: number };
  /**
   * SNI roles: instead of the file's one listener, one copy per port, bound to address:port (the
   * port a workload connects to is the port judged and dialed). Copies are named `<name>_<port>`.
   */
  sniListeners?: { address: string; ports: number[] };
  /** Inbound with identity.from = xfcc: forward the trusted proxy's header unchanged. */
  xfccFromTrustedProxy?: boolean;
  /** Trust bundle for the TLS the egress gateway originates (default: certs.caFile). */
  upstreamCaFile?: string;
  /**
   * Egress: addresses the post-resolution guard treats as public although they are loopback or
   * private — only the harness's fake external services on 127.0.0.1/32. Never for users.
   */
  treatAsPublic?: string[];
  /** Override PluginConfig.name (stat and log prefix). */
  pluginName?: string;
  /** Keep the file's fixed ports and admin block (a bootstrap for people, not for tests). */
  keepPorts?: boolean;
}

function fail(role: string, what: string): never {
  throw new Error(`envoy/${role}.yaml: ${what} — the reference config changed shape; update harness/envoy/reference.ts`);
}

function asArray(v: unknown, role: string, what: string): Json[] {
  if (!Array.isArray(v)) fail(role, `${what} is not a list`);
  return v as Json[];
}

/** All HTTP filters of the first HCM of every listener that has one. */
export function httpFilters(cfg: Json, role = 'config'): Json[] {
  const out: Json[] = [];
  for (const l of listeners(cfg, role)) {
    const hcm = findHcm(l, role);
    if (hcm) out.push(...asArray(hcm.http_filters, role, 'http_filters'));
  }
  return out;
}

function listeners(cfg: Json, role: string): Json[] {
  const sr = cfg.static_resources as Json | undefined;
  if (!sr) fail(role, 'no static_resources');
  return asArray(sr.listeners, role, 'static_resources.listeners');
}

function clusters(cfg: Json, role: string): Json[] {
  return asArray((cfg.static_resources as Json).clusters, role, 'static_resources.clusters');
}

function findHcm(listener: Json, role: string): Json | undefined {
  for (const chain of asArray(listener.filter_chains, role, 'filter_chains')) {
    for (const f of asArray(chain.filters, role, 'filters')) {
      if (f.name === 'envoy.filters.network.http_connection_manager') return f.typed_config as Json;
    }
  }
  return undefined;
}

export function hcmOf(listener: Json, role = 'config'): Json {
  return findHcm(listener, role) ?? fail(role, `listener ${String(listener.name)} has no http_connection_manager`);
}

/** All network filters of every filter chain of every listener, in order. */
export function networkFilters(cfg: Json, role = 'config'): Json[] {
  const out: Json[] = [];
  for (const l of listeners(cfg, role)) {
    for (const chain of asArray(l.filter_chains, role, 'filter_chains')) out.push(...asArray(chain.filters, role, 'filters'));
  }
  return out;
}

/** The root id of the CONNECT tunnels' exit on the internal listener: no policy, no configuration. */
export const TUNNEL_EXIT_ROOT_ID = 'meshgate_tunnel_exit';
/** The CONNECT route's cluster, the internal listener's name; meshgate_egress writes the exit's line
 *  only for this cluster (assembly/egress/tunnel-release.ts). */
export const TUNNEL_EXIT_CLUSTER = 'tunnel_exit';

/** The PluginConfig of the (first) meshgate policy filter: the network one, or the HTTP one. */
export function wasmPluginConfig(cfg: Json, role = 'config'): Json {
  return wasmPluginConfigs(cfg, role).find((c) => c.root_id !== TUNNEL_EXIT_ROOT_ID) ?? fail(role, 'no meshgate policy filter');
}

/**
 * Every meshgate PluginConfig: the network filters first (one per listener copy for the SNI roles;
 * the tunnel exit on the internal listener), then the HTTP ones.
 */
export function wasmPluginConfigs(cfg: Json, role = 'config'): Json[] {
  const found = [
    ...networkFilters(cfg, role).filter((x) => x.name === 'envoy.filters.network.wasm'),
    ...httpFilters(cfg, role).filter((x) => x.name === 'envoy.filters.http.wasm'),
  ];
  if (!found.length) fail(role, 'no envoy.filters.http.wasm or envoy.filters.network.wasm filter');
  return found.map((f) => (f.typed_config as Json).config as Json);
}

/** Envoy internal listeners (`internal_listener`) have no socket address: only Envoy reaches them. */
export function isInternalListener(listener: Json): boolean {
  return listener.internal_listener !== undefined;
}

/** Returns a patched copy of envoy/<role>.yaml ready for EnvoyProcess.start(). */
export function renderReference(role: Role, p: ReferencePatch): Json {
  const cfg = loadReferenceConfig(role);
  if (!p.keepPorts) delete cfg.admin; // the harness adds its own admin on a free port
  else if (p.admin) cfg.admin = { ...(cfg.admin as Json), address: socketAddress(p.admin) };
  if (p.sniListeners) copyListenerPerPort(cfg, role, p.sniListeners);
  if (p.listen) {
    const list = listeners(cfg, role).filter((l) => !isInternalListener(l));
    if (list.length !== 1) fail(role, `expected one listener to move to ${p.listen.address}:${p.listen.port}, found ${list.length}`);
    list[0].address = socketAddress(p.listen);
  }
  for (const l of listeners(cfg, role)) {
    if (isInternalListener(l)) continue;
    const sa = ((l.address as Json | undefined)?.socket_address as Json) ?? fail(role, 'listener without socket_address');
    if (!p.keepPorts && !p.sniListeners && !p.listen) sa.port_value = 0;
    for (const chain of asArray(l.filter_chains, role, 'filter_chains')) {
      const ts = chain.transport_socket as Json | undefined;
      if (!ts) continue;
      const ctx = (ts.typed_config as Json).common_tls_context as Json;
      ctx.tls_certificates = [{ certificate_chain: { filename: p.certs.certFile }, private_key: { filename: p.certs.keyFile } }];
      if (p.trustBundles && usesSpiffeValidator(p.trustBundles.length)) ctx.validation_context = spiffeValidationContext(p.trustBundles);
      else (ctx.validation_context as Json).trusted_ca = { filename: p.certs.caFile };
    }
    if (p.xfccFromTrustedProxy) {
      const hcm = hcmOf(l, role);
      // The trusted proxy's element must arrive as the last one: forward, do not append.
      hcm.forward_client_cert_details = 'FORWARD_ONLY';
      delete hcm.set_current_client_cert_details;
    }
  }

  for (const plugin of wasmPluginConfigs(cfg, role)) {
    (plugin.vm_config as Json).code = { local: { filename: p.wasmFile } };
    if (plugin.root_id === TUNNEL_EXIT_ROOT_ID) continue; // the exit takes no policy
    plugin.configuration = { '@type': 'type.googleapis.com/google.protobuf.StringValue', value: p.policyJson };
    if (p.pluginName) plugin.name = p.pluginName;
  }

  if ((EGRESS_ROLES as readonly Role[]).includes(role)) {
    setAddressGuard(cfg, role, { grants: grantsOf(p.policyJson), treatAsPublic: p.treatAsPublic });
  }

  for (const c of clusters(cfg, role)) {
    if (c.type === 'STATIC' && (p.upstream !== undefined || p.upstreamPort !== undefined)) {
      const eps = ((c.load_assignment as Json).endpoints as Json[])[0].lb_endpoints as Json[];
      const endpoint = eps[0].endpoint as Json;
      if (p.upstream) endpoint.address = socketAddress(p.upstream);
      else ((endpoint.address as Json).socket_address as Json).port_value = p.upstreamPort;
    }
    const ts = c.transport_socket as Json | undefined;
    if (ts) {
      const ctx = (ts.typed_config as Json).common_tls_context as Json;
      (ctx.validation_context as Json).trusted_ca = { filename: p.upstreamCaFile ?? p.certs.caFile };
    }
  }
  const dns = p.dns ?? (p.dnsPort !== undefined ? { address: '127.0.0.1', port: p.dnsPort } : undefined);
  if (dns) setResolver(cfg, role, dns);
  return cfg;
}

function socketAddress(a: SocketAddress): Json {
  return { socket_address: { address: a.address, port_value: a.port } };
}

/** The guard's rules follow the policy: one more RBAC policy per rule with `privateAddresses`. */
function setAddressGuard(cfg: Json, role: string, o: AddressGuardOptions): void {
  const guards = [...httpFilters(cfg, role), ...networkFilters(cfg, role)].filter((f) => {
    const t = f.typed_config as Json | undefined;
    return String(f.name).endsWith('.rbac') && (t?.rules_stat_prefix ?? t?.stat_prefix) === GUARD_STAT_PREFIX;
  });
  if (guards.length === 0) fail(role, `no address guard (an RBAC filter with stat prefix ${GUARD_STAT_PREFIX}) after the forward proxy`);
  for (const g of guards) (g.typed_config as Json).rules = addressGuardRules(o);
}

/**
 * The SNI roles' single listener becomes one listener per port on `address`: the filter judges
 * the port the workload connected to (`destination.port`), so each external port needs its own.
 */
function copyListenerPerPort(cfg: Json, role: string, o: { address: string; ports: number[] }): void {
  const list = listeners(cfg, role);
  if (list.length !== 1) fail(role, `expected one listener to copy per port, found ${list.length}`);
  const [template] = list;
  (cfg.static_resources as Json).listeners = o.ports.map((port) => {
    const copy = JSON.parse(JSON.stringify(template)) as Json;
    copy.name = `${String(template.name)}_${port}`;
    copy.address = { socket_address: { address: o.address, port_value: port } };
    return copy;
  });
}

/**
 * Adds `resolvers` to every c-ares resolver config (the filter and the clusters share one DNS
 * cache config; anchors were expanded into copies). The reference files carry none — the system
 * resolver — so this is how tests reach the harness DNS server and `render envoy --dns` another.
 */
function setResolver(cfg: Json, role: string, dns: { address: string; port: number }): void {
  let found = 0;
  const visit = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(visit);
    else if (v && typeof v === 'object') {
      const o = v as Json;
      if (o.name === 'envoy.network.dns_resolver.cares') {
        const c = o.typed_config as Json;
        c.resolvers = [{ socket_address: { address: dns.address, port_value: dns.port } }];
        // Only this resolver, never the system's as well.
        c.use_resolvers_as_fallback = false;
        found++;
      }
      Object.values(o).forEach(visit);
    }
  };
  visit(cfg);
  if (found === 0) fail(role, 'no c-ares resolver to point at the given DNS server');
}

/** Every c-ares `resolvers` entry in the config, as `address:port` (empty: the system resolver). */
export function resolverAddresses(cfg: Json): string[] {
  const out: string[] = [];
  const visit = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(visit);
    else if (v && typeof v === 'object') {
      const o = v as Json;
      if (o.name === 'envoy.network.dns_resolver.cares') {
        for (const r of ((o.typed_config as Json).resolvers as Json[] | undefined) ?? []) {
          const sa = r.socket_address as Json;
          out.push(`${String(sa.address)}:${String(sa.port_value)}`);
        }
      }
      Object.values(o).forEach(visit);
    }
  };
  visit(cfg);
  return out;
}

/**
 * Settings that would let something after meshgate change where a request or connection goes:
 * host rewrites (`host_rewrite` covers _literal, _header, _path_regex), dynamic hosts from filter
 * state or headers, original-destination clusters and headers, per-connection cluster choice,
 * tunneling, insecure cluster options. The reference configs carry none (tests say so).
 */
export const DESTINATION_KNOBS = [
  'host_rewrite',
  'auto_host_rewrite',
  'allow_dynamic_host_from_filter_state',
  'override_auto_sni_header',
  'allow_insecure_cluster_options',
  'prefix_rewrite',
  'regex_rewrite',
  'internal_redirect_policy',
  'ORIGINAL_DST',
  'use_original_dst',
  'x-envoy-original-dst-host',
  'use_http_header',
  'set_filter_state',
  'envoy.tcp_proxy.cluster',
  'tunneling_config',
] as const;

/** The DESTINATION_KNOBS that occur anywhere in the config (as keys or values). */
export function destinationKnobs(cfg: Json): string[] {
  const text = JSON.stringify(cfg);
  return DESTINATION_KNOBS.filter((k) => text.includes(k));
}

/** Removes an HTTP filter by name from every listener (e.g. to see what Envoy does without meshgate). */
export function removeHttpFilter(cfg: Json, name: string): void {
  for (const l of listeners(cfg, 'config')) {
    const hcm = findHcm(l, 'config');
    if (!hcm) continue; // the tunnel exit (network filters only)
    hcm.http_filters = asArray(hcm.http_filters, 'config', 'http_filters').filter((f) => f.name !== name);
  }
}
