/**
 * The Envoy configurations the benchmark compares, one Envoy process each (`--concurrency 1`).
 *
 * Every variant of a shape has the same listener: TLS requiring a client certificate, an HTTP
 * connection manager with the same settings (no request ids, path normalization as in
 * envoy/inbound.yaml, no access log, default stats), and a `direct_response` 200 route, so no
 * upstream adds noise. Variants differ only in the HTTP filters before the router:
 *
 *   none          no authorization filter
 *   rbac-classic  Envoy RBAC, policies/principals as Istio writes them (bench/rbac.ts)
 *   rbac-matcher  Envoy RBAC through the unified matcher, URI SAN exact-match map (bench/rbac.ts)
 *   wasm-null     build/bench-null.wasm: returns Continue (the VM floor)
 *   wasm-fetch    build/bench-fetch.wasm: reads identity, method, path; decides nothing (the crossing floor)
 *   meshgate      build/meshgate.wasm with the policy
 *   native-null, meshgate-native   the same as Envoy dynamic modules (bench/native-variants.ts)
 *
 * Shapes:
 *   mtls    identity from the peer certificate: 8 connections, each with its own client SVID from the
 *           policy (spread over the list).
 *   xfcc    identity from a trusted XFCC: 8 connections with the edge gateway's SVID (the trusted
 *           proxy), each request carrying `By=<gateway>;URI=<caller>` for one of 64 callers spread
 *           over the list; HCM forward_client_cert_details FORWARD_ONLY. XFCC identity needs an mTLS
 *           peer: over plain HTTP there is no peer certificate, so the direct peer could never be a
 *           trusted proxy and every request would be denied — that would measure the deny path, not
 *           the policy. RBAC cannot express XFCC identity (renderRbac refuses it), so the native
 *           variants are absent from this shape.
 *   egress  meshgate_egress (N host entries) against none; mTLS callers under one namespace, requests
 *           naming hosts spread over the list.
 */
import * as path from 'node:path';
import type { ConnectionOptions } from 'node:tls';
import { bootstrap, directResponseRoute, httpListener, wasmFilter, type Json } from '../harness/envoy/bootstrap';
import { normalizePolicy } from '../harness/policy/model';
import type { ConnectionSpec } from './loadgen';
import {
  egressPolicy, egressRequests, EGRESS_CALLER_NS, GATEWAY_ID, hostAt, identityAt, inboundPolicy, inboundRequests,
  requestBytes, spreadPositions,
} from './policies';
import { renderRbacClassic, renderRbacMatcher } from './rbac';
import { nativeVariantFilters } from './native-variants';

export type Shape = 'mtls' | 'xfcc' | 'egress';
export type VariantKind = 'none' | 'rbac-classic' | 'rbac-matcher' | 'wasm-null' | 'wasm-fetch' | 'meshgate' | 'native-null' | 'meshgate-native';
export const VARIANT_KINDS: readonly VariantKind[] = ['none', 'rbac-classic', 'rbac-matcher', 'wasm-null', 'wasm-fetch', 'meshgate', 'native-null', 'meshgate-native'];
export const SHAPES: readonly Shape[] = ['mtls', 'xfcc', 'egress'];

export interface VariantDef {
  /** `<shape>/<kind>` or `<shape>/<kind>/<size>`. */
  id: string;
  shape: Shape;
  kind: VariantKind;
  /** Identities (inbound) or host entries (egress) in the policy; null for size-free variants. */
  size: number | null;
  bootstrap: Json;
  connections: ConnectionSpec[];
  /** A request the variant must answer 403 (proof that it enforces); null when it decides nothing. */
  denyProbe: Buffer | null;
  /** Bytes of the plugin configuration / RBAC config, for the report. */
  configBytes: number;
}

export interface BenchPki {
  caPem: string;
  caFile: string;
  serverCertFile: string;
  serverKeyFile: string;
  /** Client certificate (chain PEM) and key for a SPIFFE ID, minted on demand. */
  client(id: string): Promise<{ cert: string; key: string }>;
}

export interface WasmFiles {
  meshgate: string;
  null: string;
  fetch: string;
}

export const CONNECTIONS = 8;
const XFCC_CALLERS = 64;
const EGRESS_HOSTS_PER_CONN = 8;

function listenerBootstrap(pki: BenchPki, httpFilters: Json[], hcmExtra: Json = {}): Json {
  return bootstrap({
    listeners: [
      httpListener({
        name: 'bench',
        statPrefix: 'bench',
        tls: { certFile: pki.serverCertFile, keyFile: pki.serverKeyFile, caFile: pki.caFile, requireClientCertificate: true },
        routes: [directResponseRoute(200)],
        httpFilters,
        hcm: {
          generate_request_id: false,
          normalize_path: true,
          merge_slashes: true,
          path_with_escaped_slashes_action: 'REJECT_REQUEST',
          ...hcmExtra,
        },
      }),
    ],
  });
}

function tlsFor(pki: BenchPki, c: { cert: string; key: string }): ConnectionOptions {
  return { ca: pki.caPem, cert: c.cert, key: c.key };
}

/** The variants of one shape, for the given policy sizes. */
export async function buildVariants(shape: Shape, sizes: number[], pki: BenchPki, wasm: WasmFiles): Promise<VariantDef[]> {
  const out: VariantDef[] = [];
  const refSize = Math.min(...sizes);

  if (shape === 'egress') {
    const conns = async (n: number): Promise<ConnectionSpec[]> => {
      const hosts = spreadPositions(n, CONNECTIONS * EGRESS_HOSTS_PER_CONN).map(hostAt);
      const specs: ConnectionSpec[] = [];
      for (let k = 0; k < CONNECTIONS; k++) {
        const mine = hosts.filter((_, i) => i % CONNECTIONS === k);
        specs.push({ tls: tlsFor(pki, await pki.client(`${EGRESS_CALLER_NS}/sa/caller-${k}`)), requests: egressRequests(mine.length ? mine : [hosts[0]]) });
      }
      return specs;
    };
    const deny = requestBytes('GET', '/v1/ping', 'not-listed.example.net');
    out.push({ id: 'egress/none', shape, kind: 'none', size: null, bootstrap: listenerBootstrap(pki, []), connections: await conns(refSize), denyProbe: null, configBytes: 0 });
    for (const n of sizes) {
      const json = JSON.stringify(egressPolicy(n));
      const filter = wasmFilter({ pluginName: 'meshgate_egress', rootId: 'meshgate_egress', wasmFile: wasm.meshgate, configuration: json });
      out.push({ id: `egress/meshgate/${n}`, shape, kind: 'meshgate', size: n, bootstrap: listenerBootstrap(pki, [filter]), connections: await conns(n), denyProbe: deny, configBytes: json.length });
    }
    return out;
  }

  const xfcc = shape === 'xfcc';
  const hcmExtra: Json = xfcc ? { forward_client_cert_details: 'FORWARD_ONLY' } : {};
  const conns = async (n: number): Promise<ConnectionSpec[]> => {
    const specs: ConnectionSpec[] = [];
    if (xfcc) {
      const callers = spreadPositions(n, XFCC_CALLERS).map(identityAt);
      const gw = tlsFor(pki, await pki.client(GATEWAY_ID));
      for (let k = 0; k < CONNECTIONS; k++) {
        const mine = callers.filter((_, i) => i % CONNECTIONS === k);
        specs.push({ tls: gw, requests: inboundRequests(mine.length ? mine : [callers[k % callers.length]]) });
      }
    } else {
      const positions = spreadPositions(n, CONNECTIONS);
      for (let k = 0; k < CONNECTIONS; k++) {
        specs.push({ tls: tlsFor(pki, await pki.client(identityAt(positions[k % positions.length]))), requests: inboundRequests() });
      }
    }
    return specs;
  };
  const deny = xfcc
    ? requestBytes('GET', '/admin', 'bench', { 'x-forwarded-client-cert': `By=${GATEWAY_ID};URI=${identityAt(0)}` })
    : requestBytes('GET', '/admin', 'bench');
  const source = xfcc ? 'xfcc' : 'peer-certificate';
  const refConfig = JSON.stringify(inboundPolicy(refSize, source));
  const add = async (kind: VariantKind, size: number | null, filters: Json[], configBytes: number) => {
    out.push({
      id: size === null ? `${shape}/${kind}` : `${shape}/${kind}/${size}`,
      shape,
      kind,
      size,
      bootstrap: listenerBootstrap(pki, filters, hcmExtra),
      connections: await conns(size ?? refSize),
      denyProbe: kind === 'none' || kind === 'wasm-null' || kind === 'wasm-fetch' || kind === 'native-null' ? null : deny,
      configBytes,
    });
  };
  await add('none', null, [], 0);
  await add('wasm-null', null, [wasmFilter({ pluginName: 'bench_null', rootId: 'bench_null', wasmFile: wasm.null, configuration: '' })], 0);
  // wasm-fetch ignores its configuration (it reads the same headers for every identity source).
  await add('wasm-fetch', null, [wasmFilter({ pluginName: 'bench_fetch', rootId: 'bench_fetch', wasmFile: wasm.fetch, configuration: refConfig })], refConfig.length);
  const native = nativeVariantFilters();
  if (native) await add('native-null', null, native.null, 0);
  for (const n of sizes) {
    const doc = inboundPolicy(n, source);
    const json = JSON.stringify(doc);
    if (!xfcc) {
      const normalized = normalizePolicy(doc);
      const classic = renderRbacClassic(normalized);
      await add('rbac-classic', n, classic as unknown as Json[], JSON.stringify(classic).length);
      const matcher = renderRbacMatcher(normalized);
      await add('rbac-matcher', n, [matcher as unknown as Json], JSON.stringify(matcher).length);
    }
    await add('meshgate', n, [wasmFilter({ pluginName: 'meshgate_inbound', rootId: 'meshgate_inbound', wasmFile: wasm.meshgate, configuration: json })], json.length);
    if (native) await add('meshgate-native', n, native.meshgate(json), json.length);
  }
  return out;
}

/** Default locations of the modules under test. */
export function defaultWasmFiles(root: string): WasmFiles {
  return {
    meshgate: path.join(root, 'build', 'meshgate.wasm'),
    null: path.join(root, 'build', 'bench-null.wasm'),
    fetch: path.join(root, 'build', 'bench-fetch.wasm'),
  };
}
