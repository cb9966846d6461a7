/**
 * Reads a scenario file: checks every field (unknown ones are errors), resolves the policy (a path
 * relative to the scenario or an inline mapping) and compiles it with harness/policy.
 * Errors are `FILE:LINE:COL: message`, all of them, not just the first.
 *
 * Unpinned requests are warnings (`strict`: errors): a deny must say why it is denied (`rule:`
 * when meshgate decides, `status:` when it is refused before the filter), an allow which rule
 * lets it through — otherwise a crash or the wrong rule could pass for the expected outcome.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node, type YAMLMap } from 'yaml';
import { compilePolicy, compilePolicyFile } from '../policy/compile';
import { parseIpv4Strict } from '../policy/ip';
import { GUARD_POLICY } from '../envoy/address-guard';
import type { BadCertKind, FirstFlight, Protocol, ProtocolPin, Scenario, ScenarioRequest } from './types';
import { rawAsH2 } from './targets/raw-as-h2';
import { loadAuthorities, loadCertificates } from './certificates';
import { REFUSAL_LABELS } from './labels';
import { nearest } from '../policy/did-you-mean';

export class ScenarioError extends Error {
  constructor(readonly messages: string[]) {
    super(messages.join('\n'));
    this.name = 'ScenarioError';
  }
}

const TOP_KEYS = new Set(['name', 'role', 'policy', 'identities', 'requests', 'description', 'authorities', 'certificates', 'protocol', 'dns']);
const REQUEST_KEYS = new Set([
  'name', 'as', 'cert', 'method', 'path', 'headers', 'raw', 'expect', 'status', 'rule', 'reason',
  'host', 'port', 'connect', 'scheme', 'rbac', 'source', 'why', 'protocol', 'h2headers', 'h2', 'tls', 'inner', 'guard',
]);
/** Fields of `tls:` (a connection's first flight) and of `inner:` (a CONNECT tunnel's). */
const TLS_KEYS = new Set(['sni', 'ech', 'raw', 'alpn', 'padTo', 'fragment']);
const INNER_KEYS = new Set(['sni', 'ech', 'raw']);
/** Request fields that describe an HTTP request, which a `tls:` connection does not send. */
const HTTP_ONLY = ['method', 'path', 'headers', 'raw', 'connect', 'scheme', 'h2headers', 'protocol', 'inner'] as const;
/** The largest TLS record fragment (RFC 8446 §5.1). */
const MAX_FRAGMENT = 16384;
const PIN_KEYS = new Set(['expect', 'status', 'rule', 'reason', 'why']);
const PROTOCOLS: Protocol[] = ['http1', 'h2'];
const BAD_CERTS: BadCertKind[] = ['expired', 'foreign-ca', 'two-uri-sans', 'non-spiffe-uri', 'no-uri-san'];

export interface LoadOptions {
  /** Unpinned requests are errors, not warnings (the project's own suites load strict). */
  strict?: boolean;
  /** The file's text, already read (stdin: `file` names it in messages; a policy path is then
   *  relative to the working directory); undefined: read `file`. */
  text?: string;
}

export function loadScenario(file: string, options: LoadOptions = {}): Scenario {
  const text = options.text ?? fs.readFileSync(file, 'utf8');
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false });
  const errors: string[] = [];
  const at = (node: Node | null | undefined): string => {
    const offset = node?.range?.[0] ?? 0;
    const { line, col } = lines.linePos(offset);
    return `${file}:${line}:${col}`;
  };
  for (const e of doc.errors) {
    const { line, col } = lines.linePos(e.pos[0]);
    errors.push(`${file}:${line}:${col}: ${e.message.split('\n')[0]}`);
  }
  if (errors.length) throw new ScenarioError(errors);
  const root = doc.contents;
  if (!isMap(root)) throw new ScenarioError([`${at(root)}: a scenario is a mapping`]);

  const get = (map: YAMLMap, key: string): Node | undefined => map.get(key, true) as Node | undefined;
  for (const pair of root.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : '?';
    if (!TOP_KEYS.has(key)) errors.push(`${at(pair.key as Node)}: unknown field "${key}"`);
  }
  const str = (node: Node | undefined, what: string, required = true): string | undefined => {
    if (node === undefined) {
      if (required) errors.push(`${at(root)}: missing field "${what}"`);
      return undefined;
    }
    if (!isScalar(node) || typeof node.value !== 'string') {
      errors.push(`${at(node)}: ${what} must be a string`);
      return undefined;
    }
    return node.value;
  };

  const name = str(get(root, 'name'), 'name') ?? path.basename(file);
  const roleNode = get(root, 'role');
  const role = str(roleNode, 'role');
  if (role !== undefined && role !== 'inbound' && role !== 'egress') {
    errors.push(`${at(roleNode)}: role must be "inbound" or "egress", not "${role}"`);
  }

  const protocolNode = get(root, 'protocol');
  const protocol = (str(protocolNode, 'protocol', false) ?? 'http1') as Protocol;
  if (!PROTOCOLS.includes(protocol)) errors.push(`${at(protocolNode)}: protocol must be "http1" or "h2", not "${protocol}"`);

  const identities: Record<string, string> = {};
  const idNode = get(root, 'identities');
  if (idNode !== undefined) {
    if (!isMap(idNode)) errors.push(`${at(idNode)}: identities must map names to SPIFFE IDs`);
    else {
      for (const pair of idNode.items) {
        const k = isScalar(pair.key) ? String(pair.key.value) : '';
        const v = pair.value as Node;
        if (k === 'none') errors.push(`${at(pair.key as Node)}: "none" is reserved (no client certificate)`);
        if (!isScalar(v) || typeof v.value !== 'string') errors.push(`${at(v)}: identity "${k}" must be a SPIFFE ID string`);
        else identities[k] = v.value;
      }
    }
  }

  // The policy: a path relative to the scenario file, or an inline mapping.
  let compiled: ReturnType<typeof compilePolicy> | undefined;
  let policyFile: string | undefined;
  const policyNode = get(root, 'policy');
  if (policyNode === undefined) errors.push(`${at(root)}: missing field "policy"`);
  else if (isScalar(policyNode) && typeof policyNode.value === 'string') {
    policyFile = path.resolve(path.dirname(file), policyNode.value);
    if (!fs.existsSync(policyFile)) errors.push(`${at(policyNode)}: policy file not found: ${policyFile}`);
    else compiled = compilePolicyFile(policyFile);
  } else if (isMap(policyNode)) {
    compiled = compilePolicy(policyNode, file, lines);
  } else errors.push(`${at(policyNode)}: policy must be a file path or a mapping`);
  if (compiled && !compiled.ok) {
    errors.push(...compiled.errors.map((e) => `${e.file}:${e.line}:${e.col}: ${e.message}`));
  }

  // Trust domains: the policy's own and its federatesWith (a plain list; the policy compiler checks it).
  const federated = compiled?.policy ? (compiled.policy as { federatesWith?: unknown }).federatesWith : undefined;
  const federatesWith = Array.isArray(federated) ? federated.filter((td): td is string => typeof td === 'string') : [];
  const trustDomains = compiled?.normalized ? [compiled.normalized.trustDomain, ...federatesWith] : federatesWith;
  const authorities = loadAuthorities(get(root, 'authorities'), trustDomains, at, errors);
  // Issuers are checked only against a policy that compiled (else its errors say enough).
  const issuers = compiled?.ok ? [...trustDomains, ...Object.keys(authorities)] : undefined;
  const certificates = loadCertificates(get(root, 'certificates'), issuers, [...BAD_CERTS, 'none'], at, errors);
  if (role === 'egress' && Object.keys(certificates).length > 0) errors.push(`${at(get(root, 'certificates'))}: certificates: described certificates are for inbound scenarios`);

  const requests: ScenarioRequest[] = [];
  const warnings: string[] = [];
  const reqNode = get(root, 'requests');
  if (!isSeq(reqNode) || reqNode.items.length === 0) {
    errors.push(`${at(reqNode ?? root)}: requests must be a non-empty list`);
  } else {
    // What a `rule:` pin may name: a rule of the role's section, or a label the filter refuses with.
    const rules = compiled?.ok && (role === 'inbound' || role === 'egress') ? (compiled.normalized![role]?.rules ?? []).map((r) => r.name) : undefined;
    reqNode.items.forEach((item, i) => {
      const r = loadRequest(item as Node, i, identities, declaredNames(get(root, 'certificates')), role === 'egress', at, errors);
      if (rules !== undefined && isMap(item)) checkRuleNames(item, i, rules, role!, at, errors);
      if (!r) return;
      requests.push(r);
      const unpinned = unpinnedMessage(r) ?? (r.h2 && unpinnedMessage(pinned(r, r.h2)));
      if (unpinned) (options.strict ? errors : warnings).push(`${r.where}: requests[${i}]: ${options.strict ? '' : 'warning: '}${unpinned}`);
    });
  }

  const dns = loadDnsAnswers(get(root, 'dns'), role === 'egress', at, errors);

  const connections = requests.filter((r) => r.tls !== undefined).length;
  if (connections > 0 && role !== 'egress') errors.push(`${at(reqNode)}: tls: connections are egress requests (role: egress)`);
  else if (connections > 0 && connections < requests.length) {
    errors.push(`${at(reqNode)}: requests: either every request is a connection (tls:) or none is: one file runs against one listener (a TLS passthrough one for tls:)`);
  }

  if (errors.length) throw new ScenarioError(errors);
  return {
    file,
    name,
    role: role as Scenario['role'],
    policyJson: compiled!.json,
    policyDigest12: compiled!.digest12,
    ...(policyFile !== undefined ? { policyFile } : {}),
    policy: compiled!.policy!,
    normalized: compiled!.normalized!,
    identities,
    federatesWith,
    authorities,
    certificates,
    ...(dns !== undefined ? { dns } : {}),
    connections: connections > 0,
    protocol,
    requests,
    warnings,
  };
}

/**
 * A `rule:` pin (the request's own, and its `h2:` pin's) must name a rule of the policy's section
 * for the scenario's role, or a refusal label (labels.ts): a misspelled name could otherwise only
 * ever fail, or — worse — never be compared when the request is refused before the filter.
 */
function checkRuleNames(node: YAMLMap, index: number, rules: string[], role: string, at: (n: Node | null | undefined) => string, errors: string[]): void {
  for (const [field, path] of [['rule', ['rule']], ['h2.rule', ['h2', 'rule']]] as const) {
    const value = node.getIn(path, true) as Node | undefined;
    if (!isScalar(value) || typeof value.value !== 'string') continue;
    const name = value.value;
    if (rules.includes(name) || REFUSAL_LABELS.includes(name)) continue;
    const near = nearest(name, [...rules, ...REFUSAL_LABELS]);
    const hint = near !== undefined ? `did you mean "${near}"?` : `the policy's ${role} rules: ${rules.length ? rules.join(', ') : 'none'}; or default, or a refusal reason (non_canonical_path, bad_host, tunnel_sni_mismatch, …)`;
    errors.push(`${at(value)}: requests[${index}].${field}: "${name}" is no ${role} rule of the policy and no refusal label: ${hint}`);
  }
}

/** `dns:` — name → IPv4 address the harness DNS server answers instead of the fake internet's. */
function loadDnsAnswers(node: Node | undefined, egress: boolean, at: (n: Node | undefined) => string, errors: string[]): Record<string, string> | undefined {
  if (node === undefined) return undefined;
  if (!egress) {
    errors.push(`${at(node)}: dns: answers are for egress scenarios`);
    return undefined;
  }
  if (!isMap(node)) {
    errors.push(`${at(node)}: dns: must map names to IPv4 addresses (e.g. metadata.example: 169.254.169.254)`);
    return undefined;
  }
  const out: Record<string, string> = {};
  for (const pair of node.items) {
    const k = isScalar(pair.key) ? String(pair.key.value) : '';
    const v = pair.value as Node | undefined;
    if (!/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/.test(k)) errors.push(`${at(pair.key as Node)}: dns: "${k}" is not a lower-case host name`);
    else if (!isScalar(v) || typeof v.value !== 'string' || parseIpv4Strict(v.value) === null) errors.push(`${at(v ?? (pair.key as Node))}: dns: ${k} must answer an IPv4 address (a.b.c.d)`);
    else out[k] = v.value;
  }
  return out;
}

function declaredNames(node: Node | undefined): string[] {
  const names = isMap(node) ? node.items.map((p) => (isScalar(p.key) ? String(p.key.value) : '')) : [];
  return names.filter((n) => !BAD_CERTS.includes(n as BadCertKind));
}

/** Why a request's expectation could be met by accident, or undefined when it is pinned. */
function unpinnedMessage(r: ScenarioRequest): string | undefined {
  if (r.rule !== undefined) return undefined;
  if (r.expect === 'allow') return 'an allow must pin the rule that lets it through (rule: …)';
  if (r.status !== undefined) return undefined;
  return 'a deny must pin why: rule: <rule or reason> when meshgate denies it, status: <code> when it is refused before the filter (0: no response — the TLS handshake refused, or the h2 stream reset)';
}

/** The request with a protocol's pin applied: status and rule both from the pin, expect and
 *  reason from it when given (types.ts ProtocolPin). */
export function pinned(r: ScenarioRequest, pin: ProtocolPin): ScenarioRequest {
  return { ...r, expect: pin.expect ?? r.expect, status: pin.status, rule: pin.rule, reason: pin.reason ?? r.reason, h2: undefined };
}

/** Checks an `h2:` pin; undefined when absent or wrong (each problem through `fail`). */
function loadPin(value: unknown, base: { expect: unknown; misplaced: string | undefined }, fail: (message: string) => void): ProtocolPin | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    fail('must be a mapping of expect, status, rule, reason and why');
    return undefined;
  }
  const pin = value as Record<string, unknown>;
  const problems: string[] = [];
  for (const k of Object.keys(pin)) if (!PIN_KEYS.has(k)) problems.push(`unknown field "${k}"`);
  if (pin.expect !== undefined && pin.expect !== 'allow' && pin.expect !== 'deny') problems.push('expect must be "allow" or "deny"');
  if (pin.status !== undefined && !Number.isInteger(pin.status)) problems.push('status must be an HTTP status code');
  for (const k of ['rule', 'reason'] as const) if (pin[k] !== undefined && typeof pin[k] !== 'string') problems.push(`${k} must be a string`);
  if (typeof pin.why !== 'string' || pin.why === '') problems.push('why is required: what differs on the h2 path');
  if (pin.status === undefined && pin.rule === undefined && pin.expect === undefined && pin.reason === undefined) problems.push('pins nothing');
  if (base.expect === 'deny' && pin.expect === 'allow') problems.push('cannot turn a deny into an allow: an h2 request that gets through where HTTP/1.1 is denied is a bypass, not a pin');
  if (base.misplaced !== undefined) problems.push(base.misplaced);
  for (const p of problems) fail(p);
  return problems.length ? undefined : (pin as unknown as ProtocolPin);
}

/** Checks a `tls:` or `inner:` mapping; undefined when absent or wrong (each problem through `fail`). */
function loadFirstFlight(value: unknown, keys: Set<string>, fail: (message: string) => void): FirstFlight | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    fail(`must be a mapping of ${[...keys].join(', ')}`);
    return undefined;
  }
  const f = value as Record<string, unknown>;
  const problems: string[] = [];
  for (const k of Object.keys(f)) if (!keys.has(k)) problems.push(`unknown field "${k}" (one of ${[...keys].join(', ')})`);
  if (f.sni !== undefined && f.sni !== null && typeof f.sni !== 'string') problems.push('sni must be a string, or null for no server_name extension');
  if (f.ech !== undefined && f.ech !== true) problems.push('ech must be true (or absent)');
  if (f.raw !== undefined) {
    if (typeof f.raw !== 'string' || f.raw === '') problems.push('raw must be a non-empty string: text, or hex: followed by hex digits');
    else if (f.raw.startsWith('hex:') && !/^([0-9a-fA-F]{2}\s*)+$/.test(f.raw.slice(4).trim())) problems.push('raw: hex: must be followed by pairs of hex digits');
    for (const k of ['sni', 'ech', 'alpn', 'padTo', 'fragment']) if (f[k] !== undefined) problems.push(`raw bytes are sent as they are: not with ${k}`);
  }
  if (f.alpn !== undefined && !(Array.isArray(f.alpn) && f.alpn.length > 0 && f.alpn.every((p) => typeof p === 'string' && p !== ''))) problems.push('alpn must be a non-empty list of protocol names');
  if (f.padTo !== undefined && !(Number.isInteger(f.padTo) && (f.padTo as number) > 0 && (f.padTo as number) <= 1 << 20)) problems.push('padTo must be a byte count 1..1048576');
  if (f.fragment !== undefined && !(Number.isInteger(f.fragment) && (f.fragment as number) > 0 && (f.fragment as number) <= MAX_FRAGMENT)) problems.push(`fragment must be a record size 1..${MAX_FRAGMENT}`);
  for (const p of problems) fail(p);
  return problems.length ? undefined : (f as FirstFlight);
}

/** `sni=api.stripe.com ech`, `no SNI`, `raw "GET / …"` — for labels. */
export function describeFlight(f: FirstFlight, host?: string): string {
  if (f.raw !== undefined) return `raw ${JSON.stringify(f.raw.length > 24 ? `${f.raw.slice(0, 24)}…` : f.raw)}`;
  const sni = f.sni === null ? 'no SNI' : `sni=${f.sni ?? host}`;
  const extra = [f.ech ? 'ech' : '', f.padTo ? `padTo=${f.padTo}` : '', f.fragment ? `fragment=${f.fragment}` : '', f.alpn ? `alpn=${f.alpn.join(',')}` : ''].filter(Boolean);
  return [sni, ...extra].join(' ');
}

function loadRequest(
  node: Node,
  index: number,
  identities: Record<string, string>,
  /** Names under `certificates:`, valid or not (an invalid one has its own error). */
  certificates: string[],
  egress: boolean,
  at: (n: Node | null | undefined) => string,
  errors: string[],
): ScenarioRequest | undefined {
  const where = at(node);
  if (!isMap(node)) {
    errors.push(`${where}: requests[${index}] must be a mapping`);
    return undefined;
  }
  const fields: Record<string, unknown> = {};
  for (const pair of node.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : '?';
    if (!REQUEST_KEYS.has(key)) errors.push(`${at(pair.key as Node)}: requests[${index}]: unknown field "${key}"`);
    fields[key] = (pair.value as Node | null) === null ? null : (pair.value as Node).toJSON();
  }
  const fail = (field: string, message: string) => {
    const valueNode = node.get(field, true) as Node | undefined;
    errors.push(`${at(valueNode ?? node)}: requests[${index}].${field}: ${message}`);
  };
  // `cert:` names a built-in defect (presented for `as`) or a described certificate (no `as`: it
  // says whom it claims to be).
  const certName = fields.cert as string | undefined;
  const described = certName !== undefined && certificates.includes(certName) ? certName : undefined;
  const cert = described === undefined ? (certName as BadCertKind | undefined) : undefined;
  if (cert !== undefined && !BAD_CERTS.includes(cert)) fail('cert', `must be one of ${[...BAD_CERTS, ...certificates].join(', ')}`);
  const as = described !== undefined && fields.as === undefined ? `cert:${described}` : fields.as;
  if (described !== undefined && fields.as !== undefined) fail('as', `not with a described certificate: "${described}" says whom it claims to be`);
  else if (typeof as !== 'string') fail('as', 'required: an identity name or "none"');
  else if (described === undefined && as !== 'none' && !(as in identities)) fail('as', `unknown identity "${as}" (not in identities)`);
  const expect = fields.expect;
  if (expect !== 'allow' && expect !== 'deny') fail('expect', 'must be "allow" or "deny"');
  const headers = (fields.headers ?? {}) as Record<string, string>;
  if (typeof headers !== 'object' || Array.isArray(headers) || Object.values(headers).some((v) => typeof v !== 'string')) {
    fail('headers', 'must map header names to strings');
  }
  for (const k of ['method', 'path', 'raw', 'rule', 'reason', 'host', 'rbac', 'source', 'name', 'guard'] as const) {
    if (fields[k] !== undefined && typeof fields[k] !== 'string') fail(k, 'must be a string');
  }
  if (fields.status !== undefined && !Number.isInteger(fields.status)) fail('status', 'must be an HTTP status code');
  if (fields.port !== undefined && !(Number.isInteger(fields.port) && (fields.port as number) > 0 && (fields.port as number) < 65536)) {
    fail('port', 'must be an integer 1..65535');
  }
  if (fields.scheme !== undefined && fields.scheme !== 'http' && fields.scheme !== 'https') fail('scheme', 'must be "http" or "https"');
  const tls = loadFirstFlight(fields.tls, TLS_KEYS, (m) => fail('tls', m));
  const inner = loadFirstFlight(fields.inner, INNER_KEYS, (m) => fail('inner', m));
  if (fields.tls !== undefined) {
    for (const k of HTTP_ONLY) if (fields[k] !== undefined) fail(k, 'not with tls: a connection sends its first flight, not an HTTP request');
    if (fields.status !== undefined && fields.status !== 0) fail('status', 'a connection has no HTTP status: only 0 (closed before the filter decided, e.g. by the TLS inspector)');
    if (tls && fields.host === undefined && typeof tls.sni !== 'string') fail('host', 'a connection without an SNI name needs the host the workload dialed');
  } else if (egress && fields.host === undefined && fields.raw === undefined) fail('host', 'egress requests need a host (or raw bytes)');
  if (fields.inner !== undefined && fields.connect !== true) fail('inner', 'only with connect: true (the first bytes inside the tunnel)');
  const protocol = fields.protocol as Protocol | undefined;
  if (protocol !== undefined && !PROTOCOLS.includes(protocol)) fail('protocol', 'must be "http1" or "h2"');
  const h2headers = fields.h2headers as [string, string][] | undefined;
  if (h2headers !== undefined) {
    if (!Array.isArray(h2headers) || h2headers.some((f) => !Array.isArray(f) || f.length !== 2 || f.some((x) => typeof x !== 'string'))) {
      fail('h2headers', 'must be a list of [name, value] string pairs');
    }
    if (protocol === 'http1' || fields.raw !== undefined) fail('h2headers', 'is an h2 header list: not with protocol: http1 or raw');
    if (egress) fail('h2headers', 'egress requests are sent over HTTP/1.1 only');
  }
  if (fields.raw !== undefined && protocol === 'h2') fail('raw', 'raw bytes are HTTP/1.1: use h2headers for an h2 request');
  const rawOverH2 = typeof fields.raw === 'string' ? rawAsH2(fields.raw) : undefined;
  const h2 = loadPin(fields.h2, {
    expect,
    misplaced: egress ? 'the request never runs over h2: egress requests are sent over HTTP/1.1 only'
      : protocol === 'http1' ? 'the request never runs over h2: it says protocol: http1'
      : rawOverH2 && !rawOverH2.ok ? `the request never runs over h2: its raw bytes have no h2 form (${rawOverH2.why})`
      : protocol === 'h2' || h2headers !== undefined ? 'the request runs over h2 only: pin its own verdict'
      : undefined,
  }, (m) => fail('h2', m));

  const method = (fields.method as string | undefined) ?? (fields.connect ? 'CONNECT' : 'GET');
  const reqPath = (fields.path as string | undefined) ?? '/';
  const label =
    (fields.name as string | undefined) ??
    (tls !== undefined ? `TLS ${describeFlight(tls, fields.host as string | undefined)} to :${fields.port ?? 443}` : undefined) ??
    (fields.raw !== undefined
      ? `raw ${JSON.stringify(String(fields.raw).split('\r\n')[0])}`
      : Array.isArray(h2headers)
        ? `h2 ${JSON.stringify(h2headers.filter((f) => Array.isArray(f) && String(f[0]).startsWith(':')).map((f) => f[1]).join(' '))}`
        : egress
        ? `${method} ${fields.host}:${fields.port ?? ''}${fields.connect ? '' : reqPath}`
        : `${method} ${reqPath}`);
  return {
    where,
    label,
    as: as as string,
    cert,
    ...(described !== undefined ? { certificate: described } : {}),
    method,
    path: reqPath,
    headers,
    raw: fields.raw as string | undefined,
    h2headers,
    protocol,
    expect: expect as ScenarioRequest['expect'],
    status: fields.status as number | undefined,
    rule: fields.rule as string | undefined,
    reason: fields.reason as string | undefined,
    ...(fields.guard !== undefined ? { guard: fields.guard as string } : {}),
    host: fields.host as string | undefined,
    port: fields.port as number | undefined,
    connect: fields.connect === true,
    scheme: fields.scheme as ScenarioRequest['scheme'],
    ...(tls !== undefined ? { tls } : {}),
    ...(inner !== undefined ? { inner } : {}),
    rbac: fields.rbac as string | undefined,
    source: fields.source as string | undefined,
    ...(h2 !== undefined ? { h2 } : {}),
  };
}
