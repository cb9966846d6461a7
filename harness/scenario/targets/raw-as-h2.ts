/**
 * A `raw:` request (exact HTTP/1.1 bytes) as the h2 header list that asks for the same thing, so
 * the scenario suites can send it over both protocols (run.ts forProtocol). Only a plain request
 * translates: `METHOD TARGET HTTP/1.1`, header lines, the empty line, nothing after it. Its list is
 * `:method`, `:scheme: https`, `:authority` (the Host value), `:path` (the target byte for byte,
 * whatever bytes it holds: the h2 codec judges them), then the other fields, names lower-cased
 * (RFC 9113 §8.2, §8.3.1). Anything whose meaning is HTTP/1-specific stays HTTP/1.1 only, saying why.
 */
export type RawAsH2 = { ok: true; headers: [string, string][] } | { ok: false; why: string };

/** RFC 9110 token. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Fields that are about the HTTP/1.1 connection or framing: h2 has no equivalent (RFC 9113 §8.2.2). */
const CONNECTION_SPECIFIC = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te']);
const VERSION = ' HTTP/1.1';

export function rawAsH2(raw: string): RawAsH2 {
  const no = (why: string): RawAsH2 => ({ ok: false, why });
  const end = raw.indexOf('\r\n\r\n');
  if (end < 0) return no('the head does not end with an empty line');
  if (end + 4 !== raw.length) return no('bytes after the head (a body or a second request)');
  const [line, ...lines] = raw.slice(0, end).split('\r\n');
  const sp = line.indexOf(' ');
  if (sp <= 0 || !line.endsWith(VERSION)) return no('not an HTTP/1.1 request line');
  const method = line.slice(0, sp);
  const target = line.slice(sp + 1, line.length - VERSION.length);
  if (!TOKEN.test(method) || /[ \r\n]/.test(target) || target === '') return no('a malformed request line');
  if (method !== method.toUpperCase()) return no('a method not in upper case (the HTTP/1 codec refuses it, h2 passes it)');
  if (method === 'CONNECT' || !target.startsWith('/')) return no('a target not in origin form (absolute, authority or asterisk form)');
  const fields: [string, string][] = [];
  for (const l of lines) {
    if (/^[ \t]/.test(l)) return no('an obs-folded header line');
    const c = l.indexOf(':');
    const name = l.slice(0, c).toLowerCase();
    if (c <= 0 || !TOKEN.test(name)) return no('a malformed header line');
    if (CONNECTION_SPECIFIC.has(name)) return no(`a connection-specific field (${name})`);
    const value = l.slice(c + 1).replace(/^[ \t]+|[ \t]+$/g, '');
    if (name === 'content-length' && value !== '0') return no('a content-length announcing a body');
    fields.push([name, value]);
  }
  const hosts = fields.filter(([k]) => k === 'host');
  if (hosts.length !== 1) return no(hosts.length === 0 ? 'no Host' : 'several Host lines');
  return {
    ok: true,
    headers: [[':method', method], [':scheme', 'https'], [':authority', hosts[0][1]], [':path', target], ...fields.filter(([k]) => k !== 'host')],
  };
}
