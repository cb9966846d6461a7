/**
 * `meshgate render envoy`: the reference config of a role (envoy/<role>.yaml) with the policy,
 * the module path and certificates filled in — a bootstrap people run with `func-e run -c`.
 * What the reference file fixes for the demo can be set for the user's own service: the listener
 * (`listen`), the inbound service behind the proxy (`upstream`), the admin interface (`admin`),
 * the DNS server of egress roles (`dns`; default the system resolver), the certificates
 * (`certsDir`, or `certFile` + `keyFile` + `caFile`), and for minted demo certificates the proxy's
 * SPIFFE ID (`proxyId`) and DNS names (`serverNames`). Unset, each stays as the reference file
 * documents it. Without certificates, a demo CA and the proxy's SVID are minted into DIR/certs,
 * plus one client SVID per exact identity the policy names, so the curl commands in the README
 * work out of the box.
 *
 * The policy's identity source is checked against the role's listener first
 * (harness/render/identity-roles.ts): a combination that cannot work is an error, not a bootstrap.
 *
 * With `runtime: 'native'` every meshgate Wasm filter becomes the native dynamic module
 * (harness/native/config.ts toNative, the library `nativeLibrary`, refused when missing or stale),
 * except the SNI gateway's (keepsWasm): the result says how many of each.
 *
 * A policy with `federatesWith` trusts those trust domains too: the listener then validates
 * client certificates with Envoy's SPIFFE validator, one bundle per trust domain (the demo PKI
 * mints a CA for each; with `--certs`, DIR/bundle-<trust domain>.pem is each federated one's).
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { stringify } from 'yaml';
import { renderReference, type Role, type SocketAddress } from '../envoy/reference';
import type { IdentitySource } from '../policy/model';
import { spiffeErrorMessage, validateSpiffeId } from '../policy/spiffe';
import { identitySourceProblem } from './identity-roles';
import { nameLocalService, serviceNameOf, spiffeIdOf } from './local-service';
import { SPIRE_ALL_BUNDLES_NAME, SPIRE_BUNDLE_NAME, SPIRE_SVID_NAME, useSdsCertificates } from './sds';
import { TestPki, type TrustBundleFile } from '../pki/pki';
import { nativeLibraryPath, requireNativeLibrary, toNative, type NativeReplacement } from '../native/config';
import type { CompileResult } from '../policy/compile';

/** How Envoy runs meshgate: its Wasm filter (V8), or the native dynamic module (Envoy 1.40 only). */
export type Runtime = 'wasm' | 'native';
export const RUNTIMES: Runtime[] = ['wasm', 'native'];

export interface RenderEnvoyOptions {
  role: Role;
  compiled: CompileResult;
  outDir: string;
  wasmFile: string;
  /** Default `wasm`. */
  runtime?: Runtime;
  /** With runtime `native`: the dynamic module; default the package's build/libmeshgate.so. */
  nativeLibrary?: string;
  /** A directory with ca.pem, proxy.pem (chain) and proxy-key.pem (and bundle-<td>.pem per federated trust domain) to use instead of demo ones. */
  certsDir?: string;
  /** The proxy's certificate chain, key and the trust bundle, as files (all three, instead of certsDir). */
  certFile?: string;
  keyFile?: string;
  caFile?: string;
  /** Egress roles: the DNS server to ask, `IP:PORT` (`[IPv6]:PORT`); default the system resolver. */
  dns?: string;
  /** The listener's `IP:PORT`; default the reference file's. */
  listen?: string;
  /** Inbound: the service behind the proxy, `IP:PORT`; default the reference file's 127.0.0.1:8081. */
  upstream?: string;
  /** The admin interface's `IP:PORT`; default the reference file's (127.0.0.1:990x). */
  admin?: string;
  /** Minted certificates only: DNS names of the proxy's certificate (default `localhost`). */
  serverNames?: string[];
  /** Minted certificates only: the proxy's SPIFFE ID (default the policy's `identity.id` for local, else the demo's). */
  proxyId?: string;
  /** Inbound: certificates from an SDS server on this unix socket (the SPIRE agent's) instead of files. */
  sds?: string;
  /** With `sds`: the secret names of the proxy's SVID and of the trust bundle (SPIRE's `default` and `ROOTCA`; `ALL` with federatesWith). */
  sdsSvid?: string;
  sdsBundle?: string;
  /** Inbound: the name of the service behind the proxy (its cluster, route and virtual host); default the last segment of the proxy's SPIFFE ID. */
  service?: string;
}

/**
 * Parses a socket address flag, `IP:PORT` or `[IPv6]:PORT`. Envoy's socket addresses (and
 * c-ares's resolvers) take IP literals, not names.
 */
export function parseSocketAddress(flag: string, text: string, example: string): SocketAddress {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([0-9.]+)):([0-9]{1,5})$/.exec(text);
  const address = m ? (m[1] ?? m[2]) : '';
  const port = m ? Number(m[3]) : 0;
  if (!m || net.isIP(address) === 0 || port < 1 || port > 65535) {
    throw new Error(`${flag} ${JSON.stringify(text)}: expected IP:PORT or [IPv6]:PORT, e.g. ${example}`);
  }
  return { address, port };
}

/**
 * Parses `--dns IP:PORT` / `[IPv6]:PORT`. c-ares takes socket addresses, so the host must be an
 * IP literal (a name would need a resolver of its own).
 */
export function parseDnsAddress(text: string): SocketAddress {
  return parseSocketAddress('--dns', text, '10.0.0.10:53 (a DNS server, UDP)');
}

const PROXY_IDENTITY: Record<Role, string> = {
  inbound: 'ns/shop/sa/billing',
  egress: 'ns/egress/sa/gateway',
  'egress-sidecar': 'ns/shop/sa/billing',
  'egress-sni-sidecar': 'ns/shop/sa/billing',
  'egress-sni-gateway': 'ns/egress/sa/gateway',
};

type RenderedPolicy = {
  trustDomain: string;
  federatesWith?: string[];
  inbound?: { rules?: { from?: string[] }[] };
  egress?: { rules?: { from?: string[] }[] };
  identity?: { from?: IdentitySource; id?: string };
};

/** Every problem with the options (flag by flag), before anything is written. */
function optionProblems(o: RenderEnvoyOptions, policy: RenderedPolicy): string[] {
  const out: string[] = [];
  const identity = identitySourceProblem(o.role, o.role, policy.identity?.from ?? 'peer-certificate');
  if (identity) out.push(identity);
  if (o.nativeLibrary !== undefined && o.runtime !== 'native') out.push('--native-library: only with --runtime native');
  if (o.dns !== undefined && o.role === 'inbound') out.push('--dns: only egress roles resolve names');
  if (o.upstream !== undefined && o.role !== 'inbound') out.push(`--upstream: only the inbound role forwards to a local service; --role ${o.role} dials the destination it judged`);
  const files = { '--cert': o.certFile, '--key': o.keyFile, '--ca': o.caFile };
  const given = Object.entries(files).filter(([, v]) => v !== undefined).map(([k]) => k);
  if (given.length > 0 && o.certsDir !== undefined) out.push(`--certs and ${given.join('/')}: give the directory or the files, not both`);
  else if (given.length > 0 && given.length < 3) out.push(`${given.join(', ')} without ${Object.keys(files).filter((k) => !given.includes(k)).join(', ')}: --cert, --key and --ca go together`);
  if (given.length > 0 && (policy.federatesWith ?? []).length > 0) out.push('--cert/--key/--ca: a policy with federatesWith needs one bundle per trust domain; use --certs DIR with bundle-<trust domain>.pem');
  const ownCerts = given.length > 0 || o.certsDir !== undefined;
  if (o.sds !== undefined) {
    if (o.role !== 'inbound') out.push(`--sds: only the inbound role for now; --role ${o.role} also verifies upstream certificates with a CA file SPIRE does not serve`);
    if (ownCerts) out.push('--sds and --certs/--cert: certificates come from the SDS server or from files, not both');
    if (!path.isAbsolute(o.sds)) out.push(`--sds ${JSON.stringify(o.sds)}: give the unix socket's absolute path (Envoy resolves it from its own working directory), e.g. /run/spire/sockets/agent.sock`);
  } else if (o.sdsSvid !== undefined || o.sdsBundle !== undefined) out.push('--sds-svid/--sds-bundle: secret names need --sds SOCKET');
  if (o.sds !== undefined && o.serverNames?.length) out.push('--server-name: with --sds the certificate is the SDS server\'s as it is');
  if (o.sds !== undefined && o.proxyId !== undefined) out.push('--proxy-id: with --sds the certificate is the SDS server\'s as it is');
  if (o.service !== undefined && o.role !== 'inbound') out.push(`--service: only the inbound role forwards to a named local service`);
  if (o.service !== undefined && !/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(o.service)) out.push(`--service ${JSON.stringify(o.service)}: letters, digits, '_', '.', '-' (it names an Envoy cluster and its stats)`);
  if (ownCerts && o.serverNames?.length) out.push('--server-name: names go into minted certificates only; with --certs/--cert the certificate is yours as it is');
  if (ownCerts && o.proxyId !== undefined) out.push('--proxy-id: the ID goes into a minted certificate only; with --certs/--cert the certificate is yours as it is');
  if (o.proxyId !== undefined) {
    const code = validateSpiffeId(o.proxyId);
    if (code) out.push(`--proxy-id ${JSON.stringify(o.proxyId)}: ${spiffeErrorMessage(code)}`);
    else if (!o.proxyId.startsWith(`spiffe://${policy.trustDomain}/`)) out.push(`--proxy-id ${JSON.stringify(o.proxyId)}: must be in the policy's trust domain ${policy.trustDomain} (the demo CA mints only those)`);
  }
  for (const name of o.serverNames ?? []) {
    if (!/^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/i.test(name) || name.length > 253) out.push(`--server-name ${JSON.stringify(name)}: not a DNS name`);
  }
  return out;
}

/** Parses an address flag, recording its problem instead of throwing. */
function addressOf(flag: string, text: string | undefined, example: string, problems: string[]): SocketAddress | undefined {
  if (text === undefined) return undefined;
  try {
    return parseSocketAddress(flag, text, example);
  } catch (e) {
    problems.push((e as Error).message);
    return undefined;
  }
}

/** What renderEnvoy wrote; `native` with runtime native: the library and what toNative replaced. */
export interface RenderedEnvoy {
  bootstrap: string;
  files: string[];
  native?: NativeReplacement & { library: string };
}

export async function renderEnvoy(o: RenderEnvoyOptions): Promise<RenderedEnvoy> {
  const policy = o.compiled.policy as RenderedPolicy;
  const problems = optionProblems(o, policy);
  const dns = addressOf('--dns', o.dns, '10.0.0.10:53 (a DNS server, UDP)', problems);
  const listen = addressOf('--listen', o.listen, '0.0.0.0:15006', problems);
  const upstream = addressOf('--upstream', o.upstream, '127.0.0.1:8080', problems);
  const admin = addressOf('--admin', o.admin, '127.0.0.1:15000', problems);
  if (problems.length) throw new Error(problems.join('\n'));
  const library = o.runtime === 'native' ? requireNativeLibrary(path.resolve(o.nativeLibrary ?? nativeLibraryPath())) : undefined;
  fs.mkdirSync(o.outDir, { recursive: true });
  const files: string[] = [];
  const federated = policy.federatesWith ?? [];
  let certs: { caFile: string; certFile: string; keyFile: string };
  let trustBundles: TrustBundleFile[];
  let proxyId: string | undefined;
  if (o.sds !== undefined) {
    // Placeholders only: useSdsCertificates below replaces every place they would go.
    certs = { caFile: '', certFile: '', keyFile: '' };
    trustBundles = [];
    proxyId = o.sdsSvid?.startsWith('spiffe://') ? o.sdsSvid : undefined;
  } else if (o.certFile !== undefined && o.keyFile !== undefined && o.caFile !== undefined) {
    certs = { caFile: path.resolve(o.caFile), certFile: path.resolve(o.certFile), keyFile: path.resolve(o.keyFile) };
    trustBundles = [{ trustDomain: policy.trustDomain, file: certs.caFile }];
    const missing = (['--cert', '--key', '--ca'] as const).map((flag, i) => [flag, [certs.certFile, certs.keyFile, certs.caFile][i]]).filter(([, f]) => !fs.existsSync(f));
    if (missing.length) throw new Error(missing.map(([flag, f]) => `${flag}: ${f} does not exist`).join('\n'));
    proxyId = spiffeIdOf(certs.certFile);
  } else if (o.certsDir) {
    certs = { caFile: path.resolve(o.certsDir, 'ca.pem'), certFile: path.resolve(o.certsDir, 'proxy.pem'), keyFile: path.resolve(o.certsDir, 'proxy-key.pem') };
    trustBundles = [{ trustDomain: policy.trustDomain, file: certs.caFile }, ...federated.map((td) => ({ trustDomain: td, file: path.resolve(o.certsDir!, `bundle-${td}.pem`) }))];
    for (const f of [...Object.values(certs), ...trustBundles.map((b) => b.file)]) if (!fs.existsSync(f)) throw new Error(`--certs: ${f} does not exist`);
    proxyId = spiffeIdOf(certs.certFile);
  } else {
    const dir = path.resolve(o.outDir, 'certs');
    const pki = await TestPki.create({ trustDomains: [policy.trustDomain, ...federated] });
    const ca = pki.own;
    const { caFile } = ca.writeTo(dir, 'ca');
    fs.writeFileSync(path.join(dir, 'ca-key.pem'), ca.keyPem, { mode: 0o600 });
    trustBundles = [{ trustDomain: policy.trustDomain, file: caFile }];
    for (const td of federated) {
      const partner = pki.authority(td);
      const { caFile: file } = partner.writeTo(dir, `bundle-${td}`);
      fs.writeFileSync(path.join(dir, `bundle-${td}-key.pem`), partner.keyPem, { mode: 0o600 });
      trustBundles.push({ trustDomain: td, file });
      files.push(file);
    }
    proxyId = o.proxyId ?? (policy.identity?.from === 'local' && policy.identity.id ? policy.identity.id : `spiffe://${policy.trustDomain}/${PROXY_IDENTITY[o.role]}`);
    const serverNames = o.serverNames?.length ? o.serverNames : ['localhost'];
    const own = (await ca.mintSvid(proxyId, { dnsNames: serverNames })).writeTo(dir, 'proxy');
    certs = { caFile, certFile: own.chainFile, keyFile: own.keyFile };
    files.push(caFile, own.chainFile, own.keyFile);
    const section = o.role === 'inbound' ? policy.inbound : policy.egress;
    const ids = new Set((section?.rules ?? []).flatMap((r) => r.from ?? []).filter((id) => id.startsWith('spiffe://') && !id.endsWith('/*')));
    for (const id of ids) {
      const name = id.split('/').pop()!;
      // Each named client's SVID comes from its own trust domain's CA (a federated one for partner IDs).
      const td = /^spiffe:\/\/([^/]+)\//.exec(id)?.[1] ?? policy.trustDomain;
      const issuer = federated.includes(td) ? pki.authority(td) : ca;
      const c = (await issuer.mintSvid(id)).writeTo(dir, `client-${name}`);
      files.push(c.chainFile, c.keyFile);
    }
  }
  const bootstrap = renderReference(o.role, {
    wasmFile: path.resolve(o.wasmFile),
    policyJson: o.compiled.json,
    certs,
    trustBundles,
    keepPorts: true,
    xfccFromTrustedProxy: policy.identity?.from === 'xfcc',
    dns,
    listen,
    upstream,
    admin,
  });
  const service = o.service ?? serviceNameOf(proxyId);
  if (o.role === 'inbound') nameLocalService(bootstrap, service);
  if (o.sds !== undefined) {
    const federates = federated.length > 0;
    useSdsCertificates(bootstrap, {
      node: service,
      socketPath: o.sds,
      svidName: o.sdsSvid ?? SPIRE_SVID_NAME,
      bundleName: o.sdsBundle ?? (federates ? SPIRE_ALL_BUNDLES_NAME : SPIRE_BUNDLE_NAME),
    });
  }
  const native = library === undefined ? undefined : { library, ...toNative(bootstrap, library) };
  const out = path.join(o.outDir, 'envoy.yaml');
  const command = `meshgate render envoy --role ${o.role}${native ? ' --runtime native' : ''}`;
  fs.writeFileSync(out, `# Rendered by \`${command}\` from envoy/${o.role}.yaml; policy ${o.compiled.digest12}.\n` + stringify(bootstrap));
  files.unshift(out);
  return { bootstrap: out, files, native };
}
