/**
 * How an Envoy proxy writes x-forwarded-client-cert for the mTLS client it forwards
 * (HttpConnectionManager `forward_client_cert_details` + `set_current_client_cert_details`), for
 * the tests that play a trusted proxy. Observed with Envoy 1.40 (APPEND_FORWARD, subject, uri,
 * dns):
 * - the element is `By=<proxy URI SAN>;Hash=<sha256 hex>`, then `Cert="…"`, `Subject="…"`,
 *   one `URI=` per URI SAN (a bare `URI=` when there is none), one `DNS=` per DNS SAN — each only
 *   when enabled, joined by ';';
 * - the Subject is RFC 2253 text, with `, + " \ < > ;` backslash-escaped (`CN=a\"b\,c`);
 *   URI and DNS values are written as they are, unquoted and unescaped;
 * - APPEND_FORWARD appends the element to the client's own header after a ',' (no ',' when the
 *   client sent none); SANITIZE_SET replaces it.
 */
export type ForwardMode = 'SANITIZE_SET' | 'APPEND_FORWARD';

export interface ClientCertDetails {
  /** `Cert="<url-encoded PEM>"` (any stand-in text: a test never reads it back). */
  cert?: string;
  /** The Subject as Envoy writes it, inside the quotes. */
  subject?: string;
  /** URI SANs; undefined: `uri` not enabled. */
  uris?: string[];
  /** DNS SANs; undefined: `dns` not enabled. */
  dns?: string[];
}

/** RFC 2253 escaping of one attribute value, as Envoy's subject text has it (printable ASCII). */
export function rfc2253Escape(value: string): string {
  let out = value.replace(/[,+"\\<>;]/g, (c) => `\\${c}`);
  if (out.startsWith('#') || out.startsWith(' ')) out = `\\${out}`;
  if (out.endsWith(' ') && !out.endsWith('\\ ')) out = `${out.slice(0, -1)}\\ `;
  return out;
}

/** The element a proxy with URI SAN `by` appends for a client certificate with digest `hash`. */
export function envoyXfccElement(by: string, hash: string, d: ClientCertDetails): string {
  const parts = [`By=${by}`, `Hash=${hash}`];
  if (d.cert !== undefined) parts.push(`Cert="${d.cert}"`);
  if (d.subject !== undefined) parts.push(`Subject="${d.subject}"`);
  if (d.uris !== undefined) parts.push(...(d.uris.length ? d.uris.map((u) => `URI=${u}`) : ['URI=']));
  if (d.dns !== undefined) parts.push(...d.dns.map((n) => `DNS=${n}`));
  return parts.join(';');
}

/** The header the proxy forwards, given what the client sent (undefined: no header). */
export function forwardXfcc(mode: ForwardMode, incoming: string | undefined, element: string): string {
  return mode === 'APPEND_FORWARD' && incoming ? `${incoming},${element}` : element;
}
