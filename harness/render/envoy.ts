/**
 * `meshgate render envoy`: the reference config of a role (envoy/<role>.yaml) with the policy,
 * the module path and certificates filled in — a bootstrap people run with `func-e run -c`.
 * Ports stay as documented in the reference file; egress roles resolve names through the system resolver
 * unless `--dns IP:PORT` names a DNS server. Without `--certs`, a demo CA and the proxy's
 * SVID are minted into DIR/certs, plus one client SVID per exact identity the policy names, so
 * the curl commands in the README work out of the box.
 *
 * A policy with `federatesWith` trusts those trust domains too: the listener then validates
 * client certificates with Envoy's SPIFFE validator, one bundle per trust domain (the demo PKI
 * mints a CA for each; with `--certs`, DIR/bundle-<trust domain>.pem is each federated one's).
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { stringify } from 'yaml';
import { renderReference, type Role } from '../envoy/reference';
import { TestPki, type TrustBundleFile } from '../pki/pki';
import type { CompileResult } from '../policy/compile';

export interface RenderEnvoyOptions {
  role: Role;
  compiled: CompileResult;
  outDir: string;
  wasmFile: string;
  /** A directory with ca.pem, proxy.pem (chain) and proxy-key.pem (and bundle-<td>.pem per federated trust domain) to use instead of demo ones. */
  certsDir?: string;
  /** Egress roles: the DNS server to ask, `IP:PORT` (`[IPv6]:PORT`); default the system resolver. */
  dns?: string;
}

/**
 * Parses `--dns IP:PORT` / `[IPv6]:PORT`. c-ares takes socket addresses, so the host must be an
 * IP literal (a name would need a resolver of its own).
 */
export function parseDnsAddress(text: string): { address: string; port: number } {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([0-9.]+)):([0-9]{1,5})$/.exec(text);
  const address = m ? (m[1] ?? m[2]) : '';
  const port = m ? Number(m[3]) : 0;
  if (!m || net.isIP(address) === 0 || port < 1 || port > 65535) {
    throw new Error(`--dns ${JSON.stringify(text)}: expected IP:PORT or [IPv6]:PORT of a DNS server (UDP), e.g. 10.0.0.10:53`);
  }
  return { address, port };
}

const PROXY_IDENTITY: Record<Role, string> = {
  inbound: 'ns/shop/sa/billing',
  egress: 'ns/egress/sa/gateway',
  'egress-sidecar': 'ns/shop/sa/billing',
  'egress-sni-sidecar': 'ns/shop/sa/billing',
  'egress-sni-gateway': 'ns/egress/sa/gateway',
};

export async function renderEnvoy(o: RenderEnvoyOptions): Promise<{ bootstrap: string; files: string[] }> {
  if (o.dns !== undefined && o.role === 'inbound') throw new Error('--dns: only egress roles resolve names');
  const dns = o.dns === undefined ? undefined : parseDnsAddress(o.dns);
  const policy = o.compiled.policy as { trustDomain: string; federatesWith?: string[]; inbound?: { rules?: { from?: string[] }[] }; egress?: { rules?: { from?: string[] }[] }; identity?: { from?: string } };
  fs.mkdirSync(o.outDir, { recursive: true });
  const files: string[] = [];
  const federated = policy.federatesWith ?? [];
  let certs: { caFile: string; certFile: string; keyFile: string };
  let trustBundles: TrustBundleFile[];
  if (o.certsDir) {
    certs = { caFile: path.resolve(o.certsDir, 'ca.pem'), certFile: path.resolve(o.certsDir, 'proxy.pem'), keyFile: path.resolve(o.certsDir, 'proxy-key.pem') };
    trustBundles = [{ trustDomain: policy.trustDomain, file: certs.caFile }, ...federated.map((td) => ({ trustDomain: td, file: path.resolve(o.certsDir!, `bundle-${td}.pem`) }))];
    for (const f of [...Object.values(certs), ...trustBundles.map((b) => b.file)]) if (!fs.existsSync(f)) throw new Error(`--certs: ${f} does not exist`);
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
    const own = (await ca.mintSvid(`spiffe://${policy.trustDomain}/${PROXY_IDENTITY[o.role]}`, { dnsNames: ['localhost'] })).writeTo(dir, 'proxy');
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
  });
  const out = path.join(o.outDir, 'envoy.yaml');
  fs.writeFileSync(out, `# Rendered by \`meshgate render envoy --role ${o.role}\` from envoy/${o.role}.yaml; policy ${o.compiled.digest12}.\n` + stringify(bootstrap));
  files.unshift(out);
  return { bootstrap: out, files };
}
