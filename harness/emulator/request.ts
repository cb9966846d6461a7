/**
 * A request as Envoy hands it to an HTTP filter, for the emulator's callers (eval, the scenario
 * target, the unit tests, the bench): the header map the HTTP connection manager built and the
 * connection properties the filter can read.
 *
 * - Pseudo-headers in Envoy's order (:authority, :path, :method, :scheme; a CONNECT has no
 *   :path), then the client's headers, then what the HCM adds: `x-forwarded-proto` (the
 *   listener's scheme, unless the client sent one) and, when given, `x-request-id`.
 * - `connection.id` when given (Envoy always has one; tests leave it out to show the filter
 *   copes).
 * - With a client certificate (mTLS): `connection.mtls` true, `connection.peer_certificate`
 *   (the PEM, URL-encoded, as Envoy serves it) and `connection.uri_san_peer_certificate` (the
 *   first URI SAN, absent when there is none). Without one none of these exist.
 */
import { X509Certificate } from 'node:crypto';
import type { Pairs } from './pairs';
import type { PropertyValue } from './state';

/** A client certificate as Envoy exposes it: computed once, presented on every request of a connection. */
export interface PeerCertificate {
  /** URL-encoded PEM: the value of `connection.peer_certificate`. */
  encodedPem: string;
  /** URI SANs in certificate order; the first is `connection.uri_san_peer_certificate`. */
  uriSans: string[];
}

export function peerCertificate(pem: string): PeerCertificate {
  const san = new X509Certificate(pem).subjectAltName ?? '';
  const uriSans = san.split(', ').filter((s) => s.startsWith('URI:')).map((s) => s.slice('URI:'.length));
  return { encodedPem: encodeURIComponent(pem), uriSans };
}

export interface EnvoyRequest {
  method: string;
  /** :path (normalized as the listener does); omitted for CONNECT. */
  path?: string;
  authority: string;
  /** :scheme, and the x-forwarded-proto the HCM adds. */
  scheme: string;
  /** The client's other headers (lower-case names), after the pseudo-headers. */
  headers?: Pairs;
  /** `connection.id` (omitted: the property is absent). */
  connectionId?: bigint;
  /** The verified client certificate (omitted: plain text, no TLS connection properties). */
  peer?: PeerCertificate;
  /** The x-request-id Envoy generates (omitted: none, e.g. where results are compared with Envoy's). */
  requestId?: string;
}

/** The `newHttpStream` options that present `r` the way Envoy does. */
export function presentRequest(r: EnvoyRequest): { requestHeaders: Pairs; properties: Record<string, PropertyValue> } {
  const headers = r.headers ?? [];
  const requestHeaders: Pairs = [[':authority', r.authority]];
  if (r.path !== undefined) requestHeaders.push([':path', r.path]);
  requestHeaders.push([':method', r.method], [':scheme', r.scheme], ...headers);
  if (!headers.some(([k]) => k === 'x-forwarded-proto')) requestHeaders.push(['x-forwarded-proto', r.scheme]);
  if (r.requestId !== undefined) requestHeaders.push(['x-request-id', r.requestId]);

  return { requestHeaders, properties: connectionProperties(r) };
}

/** The connection's properties as Envoy serves them to HTTP and network filters alike. */
export function connectionProperties(c: { connectionId?: bigint; peer?: PeerCertificate }): Record<string, PropertyValue> {
  const properties: Record<string, PropertyValue> = {};
  if (c.connectionId !== undefined) properties['connection.id'] = c.connectionId;
  if (c.peer !== undefined) {
    properties['connection.mtls'] = true;
    properties['connection.peer_certificate'] = c.peer.encodedPem;
    if (c.peer.uriSans.length > 0) properties['connection.uri_san_peer_certificate'] = c.peer.uriSans[0];
  }
  return properties;
}
