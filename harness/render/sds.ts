/**
 * `render envoy --sds SOCKET`: the listener's certificate and trust bundle come from an SDS
 * server on a unix socket instead of files — the SPIRE agent's Envoy SDS, which it serves on its
 * Workload API socket (spiffe.io, "SPIRE Agent Configuration Reference", SDS configuration).
 * SPIRE names the secrets: the workload's X.509-SVID is `default` (its `default_svid_name`) or
 * the SVID's SPIFFE ID; the bundle of its own trust domain is `ROOTCA` (`default_bundle_name`) or
 * `spiffe://<trust domain>`; all bundles, federated ones included, are `ALL`
 * (`default_all_bundles_name`, served as a SPIFFE validator). Envoy fetches both over gRPC on the
 * stream SecretDiscoveryService/StreamSecrets, keeps the listener warming until they arrive, and
 * takes rotated ones without a restart.
 */
import type { Json } from '../envoy/bootstrap';

/** SPIRE's default secret names (agent `sds` block). */
export const SPIRE_SVID_NAME = 'default';
export const SPIRE_BUNDLE_NAME = 'ROOTCA';
export const SPIRE_ALL_BUNDLES_NAME = 'ALL';

/** The cluster that reaches the SDS server (the name is ours; SPIRE's examples use `spire_agent`). */
export const SDS_CLUSTER = 'spire_agent';

export interface SdsSource {
  /** The SDS server's unix socket, an absolute path (SPIRE: its agent `socket_path`). */
  socketPath: string;
  /** The secret holding this proxy's certificate and key. */
  svidName: string;
  /** The secret holding the trust bundle callers' certificates are validated against. */
  bundleName: string;
  /** Envoy's node id and cluster, which an SDS client must send (SPIRE identifies the workload by
   *  the socket's peer process, not by these; they show in its logs). */
  node: string;
}

/** A ConfigSource for Envoy: this secret comes from the SDS cluster, gRPC, xDS v3. */
function sdsSecretConfig(name: string): Json {
  return {
    name,
    sds_config: {
      resource_api_version: 'V3',
      api_config_source: {
        api_type: 'GRPC',
        transport_api_version: 'V3',
        grpc_services: [{ envoy_grpc: { cluster_name: SDS_CLUSTER } }],
      },
    },
  };
}

/** The cluster of the SDS server: HTTP/2 (gRPC) to a unix socket. */
function sdsCluster(socketPath: string): Json {
  return {
    name: SDS_CLUSTER,
    type: 'STATIC',
    connect_timeout: '2s',
    typed_extension_protocol_options: {
      'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
        '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
        explicit_http_config: { http2_protocol_options: {} },
      },
    },
    load_assignment: {
      cluster_name: SDS_CLUSTER,
      endpoints: [{ lb_endpoints: [{ endpoint: { address: { pipe: { path: socketPath } } } }] }],
    },
  };
}

/**
 * Rewrites every listener's TLS context to take its certificate and validation context from SDS,
 * and adds the SDS cluster. Returns how many TLS contexts it changed (0 = the role terminates no
 * TLS, which the caller reports).
 */
export function useSdsCertificates(cfg: Json, sds: SdsSource): number {
  const resources = cfg.static_resources as Json;
  let changed = 0;
  for (const l of resources.listeners as Json[]) {
    for (const chain of l.filter_chains as Json[]) {
      const ts = chain.transport_socket as Json | undefined;
      if (!ts) continue;
      const ctx = (ts.typed_config as Json).common_tls_context as Json;
      delete ctx.tls_certificates;
      delete ctx.validation_context;
      ctx.tls_certificate_sds_secret_configs = [sdsSecretConfig(sds.svidName)];
      ctx.validation_context_sds_secret_config = sdsSecretConfig(sds.bundleName);
      changed++;
    }
  }
  if (changed > 0) {
    (resources.clusters as Json[]).push(sdsCluster(sds.socketPath));
    cfg.node = { id: sds.node, cluster: sds.node, ...(cfg.node as Json | undefined) };
  }
  return changed;
}
