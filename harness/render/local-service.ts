/**
 * The inbound reference config names the service behind the proxy `billing` (the shop demo's):
 * its cluster, route configuration and virtual host — and with them Envoy's stats
 * (`cluster.billing.*`) and admin output. A bootstrap rendered for another service names them
 * after that service: `--service`, else the last segment of the proxy's SPIFFE ID (the workload's
 * service account under the Kubernetes convention `ns/<namespace>/sa/<account>`).
 */
import { X509Certificate } from 'node:crypto';
import * as fs from 'node:fs';
import type { Json } from '../envoy/bootstrap';

/** The name when the proxy's identity is unknown (SDS with SPIRE's `default` SVID name). */
export const UNNAMED_SERVICE = 'local_service';

/** The last path segment of a SPIFFE ID, in the characters a cluster name keeps readable. */
export function serviceNameOf(spiffeId: string | undefined): string {
  const last = spiffeId?.replace(/\/+$/, '').split('/').slice(3).pop();
  const name = last?.replace(/[^A-Za-z0-9_.-]/g, '_');
  return name || UNNAMED_SERVICE;
}

/** The URI SAN of the first certificate in a PEM chain (a SPIFFE ID), if it has one. */
export function spiffeIdOf(chainFile: string): string | undefined {
  try {
    const san = new X509Certificate(fs.readFileSync(chainFile)).subjectAltName ?? '';
    return /(?:^|, )URI:(spiffe:\/\/[^,]+)/.exec(san)?.[1];
  } catch {
    return undefined; // not a certificate Node can read: Envoy will say so when it loads it
  }
}

/**
 * Renames the one STATIC cluster (the local service) and everything that names it: the route
 * configuration, its virtual hosts and the routes that send to it.
 */
export function nameLocalService(cfg: Json, name: string): void {
  const resources = cfg.static_resources as Json;
  const local = (resources.clusters as Json[]).filter((c) => c.type === 'STATIC');
  if (local.length !== 1) throw new Error(`expected one STATIC cluster (the local service) to name ${name}, found ${local.length}`);
  const [cluster] = local;
  const old = String(cluster.name);
  cluster.name = name;
  (cluster.load_assignment as Json).cluster_name = name;
  const visit = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(visit);
    else if (v && typeof v === 'object') {
      const o = v as Json;
      const routes = o.route_config as Json | undefined;
      if (routes && routes.name === old) {
        routes.name = name;
        for (const vh of routes.virtual_hosts as Json[]) {
          if (vh.name === old) vh.name = name;
          for (const r of vh.routes as Json[]) {
            const action = r.route as Json | undefined;
            if (action?.cluster === old) action.cluster = name;
          }
        }
      }
      Object.values(o).forEach(visit);
    }
  };
  visit(resources.listeners);
}
