/**
 * The bytes of a scenario's `tls:` or `inner:` first flight (types.ts FirstFlight), the same on
 * every target: a ClientHello from harness/tls/client-hello.ts, or the `raw` bytes. The Envoy
 * targets send a plain hello (a name or none, nothing else) through a real TLS client instead, so
 * an allowed connection completes a handshake with the external service; `handshakeName` says
 * which name that client sends ('' = none), and the emulator judges the hello such a client sends.
 */
import { isIP } from 'node:net';
import { clientHello } from '../tls/client-hello';
import type { FirstFlight } from './types';

/** The server name the flight carries: its own `sni`, else the request's host; null = none. */
export function flightSni(f: FirstFlight, host: string | undefined): string | null {
  if (f.sni !== undefined) return f.sni;
  return host ?? null;
}

/** `raw` as bytes: `hex:` then hex digits, or the text's bytes (latin1: one byte per character). */
export function rawBytes(raw: string): Buffer {
  if (raw.startsWith('hex:')) return Buffer.from(raw.slice(4).replace(/\s+/g, ''), 'hex');
  return Buffer.from(raw, 'latin1');
}

/** The name a real TLS client would send for this flight, or undefined when the flight is not
 *  one a real client sends as written (raw bytes, ECH, ALPN, padding, a chosen record size; an
 *  empty, non-printable-ASCII or IP-literal name). */
export function handshakeName(f: FirstFlight, host: string | undefined): string | undefined {
  if (f.raw !== undefined || f.ech || f.alpn || f.padTo !== undefined || f.fragment !== undefined) return undefined;
  const sni = flightSni(f, host);
  if (sni === null) return '';
  // Node's client cannot send an empty entry, cuts a name at a NUL (C string), sends UTF-8 for
  // non-ASCII, and will stop sending IP literals (DEP0123): those go as built bytes.
  if (sni === '' || !/^[\x20-\x7e]+$/.test(sni) || isIP(sni.replace(/^\[|\]$/g, '')) !== 0) return undefined;
  return sni;
}

/** The bytes the workload sends first. */
export function flightBytes(f: FirstFlight, host: string | undefined): Buffer {
  if (f.raw !== undefined) return rawBytes(f.raw);
  return clientHello({ sni: flightSni(f, host), ech: f.ech, alpn: f.alpn, padTo: f.padTo, maxFragment: f.fragment });
}

/** What reaches the proxy: a real client's hello carries just the name (the filter reads nothing
 *  else of it), anything else is flightBytes. */
export function wireBytes(f: FirstFlight, host: string | undefined): Buffer {
  const name = handshakeName(f, host);
  return name !== undefined ? clientHello({ sni: name === '' ? null : name }) : flightBytes(f, host);
}

/** A CONNECT tunnel without `inner:` carries the workload's own TLS client for the host, which
 *  sends the host as SNI — except an IP literal, which TLS clients send no SNI for (RFC 6066 §3). */
export function defaultTunnelFlight(host: string | undefined): FirstFlight {
  const bare = (host ?? '').replace(/^\[|\]$/g, '');
  return { sni: host === undefined || isIP(bare) !== 0 ? null : host };
}
