/**
 * The `authorities:` and `certificates:` sections of a scenario file (load.ts reads the rest):
 *
 *   authorities:                         # besides one trusted CA per trust domain (the policy's
 *     rogue: {trustDomain: example.org}  # own and its federatesWith), named by the trust domain
 *     third: {trustDomain: third.example, trusted: true}   # trusted: its bundle is configured
 *   certificates:
 *     attacker-first:
 *       sans: [{uri: "spiffe://example.org/ns/web/sa/frontend"}, {uri: "spiffe://example.org/ns/shop/sa/store"}]
 *     serverauth-only: {sans: [{uri: …}], eku: [serverAuth]}
 *     partner-claims-own: {sans: [{uri: …}], issuer: partner.example}
 *     root-as-leaf: {authorityCertificate: example.org}
 *
 * A description names only what differs from an X.509-SVID (harness/pki/ca.ts CertificateSpec):
 * sans (in order: uri, dns, ip, email), cn ('' = none), eku, keyUsage ([] = no extension), ca
 * (true/false, null = no basicConstraints), notBefore/notAfter (`-2d`, `+1h`, `30m` relative to
 * load time, or an ISO date), selfSigned, issuer (an authority), authorityCertificate (present
 * that CA's own certificate). Errors are `FILE:LINE:COL: …`, all of them.
 */
import { isMap, isScalar, isSeq, type Node, type YAMLMap } from 'yaml';
import { EXT_KEY_USAGES, KEY_USAGES, type SanSpec } from '../pki/ca';
import type { AuthoritySpec, CertificateDescription } from '../pki/pki';

type At = (node: Node | null | undefined) => string;

const AUTHORITY_KEYS = new Set(['trustDomain', 'trusted']);
const CERT_KEYS = new Set(['sans', 'cn', 'eku', 'keyUsage', 'ca', 'notBefore', 'notAfter', 'selfSigned', 'issuer', 'authorityCertificate']);
const SAN_KINDS = ['uri', 'dns', 'ip', 'email'] as const;
const TRUST_DOMAIN = /^[a-z0-9._-]+$/;
const UNIT_MS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000 };

function entries(node: Node, what: string, at: At, errors: string[]): [string, Node, Node][] {
  if (!isMap(node)) {
    errors.push(`${at(node)}: ${what} must be a mapping`);
    return [];
  }
  return (node as YAMLMap).items.map((p) => [isScalar(p.key) ? String(p.key.value) : '?', p.key as Node, p.value as Node]);
}

/** `authorities:` → name → spec. `reserved` are the implicit CAs' names (the trust domains). */
export function loadAuthorities(node: Node | undefined, reserved: string[], at: At, errors: string[]): Record<string, AuthoritySpec> {
  const out: Record<string, AuthoritySpec> = {};
  if (node === undefined) return out;
  for (const [name, keyNode, value] of entries(node, 'authorities', at, errors)) {
    if (reserved.includes(name)) {
      errors.push(`${at(keyNode)}: authorities.${name}: already the CA of trust domain ${name} (the policy's own or federated)`);
      continue;
    }
    const fields = entries(value, `authorities.${name}`, at, errors);
    for (const [k, kn] of fields) if (!AUTHORITY_KEYS.has(k)) errors.push(`${at(kn)}: authorities.${name}: unknown field "${k}"`);
    const td = fields.find(([k]) => k === 'trustDomain')?.[2];
    const trusted = fields.find(([k]) => k === 'trusted')?.[2];
    if (!td || !isScalar(td) || typeof td.value !== 'string' || !TRUST_DOMAIN.test(td.value)) {
      errors.push(`${at(td ?? value)}: authorities.${name}.trustDomain: required, a trust domain name ([a-z0-9._-]+)`);
      continue;
    }
    if (trusted !== undefined && !(isScalar(trusted) && typeof trusted.value === 'boolean')) {
      errors.push(`${at(trusted)}: authorities.${name}.trusted: must be true or false`);
      continue;
    }
    out[name] = { trustDomain: td.value, trusted: trusted ? (trusted as { value: boolean }).value : false };
  }
  return out;
}

/** `certificates:` → name → description. `authorities`: every name an issuer may take (undefined: unchecked). */
export function loadCertificates(node: Node | undefined, authorities: string[] | undefined, reserved: string[], at: At, errors: string[], now = Date.now()): Record<string, CertificateDescription> {
  const out: Record<string, CertificateDescription> = {};
  if (node === undefined) return out;
  for (const [name, keyNode, value] of entries(node, 'certificates', at, errors)) {
    if (reserved.includes(name)) {
      errors.push(`${at(keyNode)}: certificates.${name}: the name of a built-in certificate (${reserved.join(', ')})`);
      continue;
    }
    const d = loadDescription(`certificates.${name}`, value, authorities, at, errors, now);
    if (d) out[name] = d;
  }
  return out;
}

function loadDescription(where: string, node: Node, authorities: string[] | undefined, at: At, errors: string[], now: number): CertificateDescription | undefined {
  const before = errors.length;
  const d: CertificateDescription = {};
  const fail = (n: Node, field: string, message: string) => errors.push(`${at(n)}: ${where}.${field}: ${message}`);
  const str = (n: Node, field: string): string | undefined => {
    if (isScalar(n) && typeof n.value === 'string') return n.value;
    fail(n, field, 'must be a string');
    return undefined;
  };
  const list = <T extends string>(n: Node, field: string, allowed: readonly T[]): T[] | undefined => {
    if (!isSeq(n)) return void fail(n, field, `must be a list of ${allowed.join(', ')}`);
    const items = n.items.map((i) => (isScalar(i) ? String(i.value) : ''));
    const bad = items.find((i) => !allowed.includes(i as T));
    if (bad !== undefined) return void fail(n, field, `"${bad}" is not one of ${allowed.join(', ')}`);
    return items as T[];
  };
  const authority = (n: Node, field: string): string | undefined => {
    const v = str(n, field);
    if (v !== undefined && authorities && !authorities.includes(v)) fail(n, field, `unknown authority "${v}" (known: ${authorities.join(', ')})`);
    return v;
  };
  for (const [k, kn, v] of entries(node, where, at, errors)) {
    switch (k) {
      case 'sans':
        d.sans = loadSans(where, v, at, errors);
        break;
      case 'cn':
        d.cn = str(v, k);
        break;
      case 'eku':
        d.eku = list(v, k, EXT_KEY_USAGES);
        break;
      case 'keyUsage':
        d.keyUsage = list(v, k, KEY_USAGES);
        break;
      case 'ca':
        if (isScalar(v) && (typeof v.value === 'boolean' || v.value === null)) d.ca = v.value as boolean | null;
        else fail(v, k, 'must be true, false or null (no basicConstraints)');
        break;
      case 'selfSigned':
        if (isScalar(v) && typeof v.value === 'boolean') d.selfSigned = v.value;
        else fail(v, k, 'must be true or false');
        break;
      case 'notBefore':
      case 'notAfter': {
        const t = time(v, now);
        if (t === undefined) fail(v, k, 'must be a time relative to now (-2d, +1h, 30m) or an ISO date');
        else d[k] = t;
        break;
      }
      case 'issuer':
        d.issuer = authority(v, k);
        break;
      case 'authorityCertificate':
        d.authorityCertificate = authority(v, k);
        break;
      default:
        errors.push(`${at(kn)}: ${where}: unknown field "${k}" (${[...CERT_KEYS].join(', ')})`);
    }
  }
  if (d.authorityCertificate !== undefined && Object.keys(d).length > 1) {
    errors.push(`${at(node)}: ${where}: authorityCertificate presents that CA's own certificate; it takes no other field`);
  }
  return errors.length === before ? d : undefined;
}

function loadSans(where: string, node: Node, at: At, errors: string[]): SanSpec[] | undefined {
  if (!isSeq(node)) {
    errors.push(`${at(node)}: ${where}.sans: must be a list like [{uri: …}, {dns: …}]`);
    return undefined;
  }
  const out: SanSpec[] = [];
  node.items.forEach((item, i) => {
    const pairs = isMap(item) ? item.items : [];
    const kind = pairs.length === 1 && isScalar(pairs[0].key) ? String(pairs[0].key.value) : '';
    const value = pairs[0]?.value as Node | undefined;
    if (!SAN_KINDS.includes(kind as (typeof SAN_KINDS)[number]) || !isScalar(value) || typeof value.value !== 'string') {
      errors.push(`${at(item as Node)}: ${where}.sans[${i}]: must be one of {uri: …}, {dns: …}, {ip: …}, {email: …}`);
      return;
    }
    out.push({ [kind]: value.value } as SanSpec);
  });
  return out;
}

/** `-2d`, `+1h`, `30m` (relative to `now`) or an ISO date. */
function time(node: Node, now: number): Date | undefined {
  if (!isScalar(node)) return undefined;
  const v = String(node.value);
  const rel = /^([+-]?)(\d+)([mhd])$/.exec(v);
  if (rel) return new Date(now + (rel[1] === '-' ? -1 : 1) * Number(rel[2]) * UNIT_MS[rel[3]]);
  const abs = node.value instanceof Date ? node.value : /^\d{4}-\d\d-\d\d/.test(v) ? new Date(v) : undefined;
  return abs && !Number.isNaN(abs.getTime()) ? abs : undefined;
}
