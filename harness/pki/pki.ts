/**
 * The certificate authorities of one test: one CA per trust domain the proxy trusts (the policy's
 * own and every federated one), named by its trust domain, plus any further authorities a test
 * declares (an outsider CA claiming a trusted domain's name, a third domain's CA). The bundles
 * are what the proxy is configured with: the certificates of the trusted CAs, one PEM per trust
 * domain. Untrusted authorities sign certificates but appear in no bundle.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TestCa, type CertificateSpec, type MintedCert } from './ca';

export interface AuthoritySpec {
  trustDomain: string;
  /** In its trust domain's bundle (the proxy trusts what it signs for that domain). */
  trusted: boolean;
}

/** A trust domain's bundle as the proxy reads it. */
export interface TrustBundleFile {
  trustDomain: string;
  file: string;
}

export class TestPki {
  private constructor(
    /** The policy's own trust domain (its CA is `authority(ownTrustDomain)`). */
    readonly ownTrustDomain: string,
    private readonly authorities: Map<string, { ca: TestCa; trusted: boolean; implicit: boolean }>,
  ) {}

  /**
   * `trustDomains`: the own one first, then the federated ones — each gets a trusted CA named by
   * the trust domain. `extra`: further authorities by name (a name may not be a trust domain's).
   * `own`: reuse this CA for the own trust domain.
   */
  static async create(o: { trustDomains: string[]; extra?: Record<string, AuthoritySpec>; own?: TestCa }): Promise<TestPki> {
    const [ownTd] = o.trustDomains;
    if (ownTd === undefined) throw new Error('TestPki: at least the own trust domain is needed');
    const authorities = new Map<string, { ca: TestCa; trusted: boolean; implicit: boolean }>();
    for (const td of new Set(o.trustDomains)) {
      const ca = td === ownTd && o.own ? o.own : await TestCa.create({ trustDomain: td });
      authorities.set(td, { ca, trusted: true, implicit: true });
    }
    for (const [name, spec] of Object.entries(o.extra ?? {})) {
      if (authorities.has(name)) throw new Error(`TestPki: authority "${name}" is already the CA of trust domain ${name}`);
      authorities.set(name, { ca: await TestCa.create({ trustDomain: spec.trustDomain, commonName: `meshgate test CA ${name}` }), trusted: spec.trusted, implicit: false });
    }
    return new TestPki(ownTd, authorities);
  }

  /** The CA named `name` (a trust domain for the implicit ones). */
  authority(name: string): TestCa {
    const a = this.authorities.get(name);
    if (!a) throw new Error(`TestPki: no authority "${name}" (known: ${[...this.authorities.keys()].join(', ')})`);
    return a.ca;
  }

  /** The CA of the own trust domain. */
  get own(): TestCa {
    return this.authority(this.ownTrustDomain);
  }

  /** The CA that mints an SVID for `spiffeId`: its trust domain's (own or federated), else the own CA. */
  issuerOf(spiffeId: string): TestCa {
    const td = /^spiffe:\/\/([^/]+)/.exec(spiffeId)?.[1];
    return td !== undefined && this.authorities.get(td)?.implicit ? this.authority(td) : this.own;
  }

  /** Trusted CA certificates by trust domain, own trust domain first. */
  bundles(): Map<string, string[]> {
    const out = new Map<string, string[]>([[this.ownTrustDomain, []]]);
    for (const { ca, trusted } of this.authorities.values()) {
      if (!trusted) continue;
      out.set(ca.trustDomain, [...(out.get(ca.trustDomain) ?? []), ca.certPem]);
    }
    return out;
  }

  /** Writes `bundle-<trust domain>.pem` per trust domain into `dir`. */
  writeBundles(dir: string): TrustBundleFile[] {
    fs.mkdirSync(dir, { recursive: true });
    return [...this.bundles()].map(([trustDomain, pems]) => {
      const file = path.join(dir, `bundle-${trustDomain}.pem`);
      fs.writeFileSync(file, pems.join(''));
      return { trustDomain, file };
    });
  }
}

/** A certificate a scenario describes: the spec, who signs it, or a CA's own certificate. */
export interface CertificateDescription extends CertificateSpec {
  /** The authority that signs it (a trust domain or a declared authority); default: the own CA. */
  issuer?: string;
  /** Present this authority's own CA certificate and key instead of minting a leaf. */
  authorityCertificate?: string;
}

/** Mints `d` with the authorities of `pki`. */
export function mintDescribed(pki: TestPki, d: CertificateDescription): Promise<MintedCert> {
  if (d.authorityCertificate !== undefined) return Promise.resolve(pki.authority(d.authorityCertificate).asPresented());
  const { issuer, authorityCertificate: _unused, ...spec } = d;
  return (issuer === undefined ? pki.own : pki.authority(issuer)).issue(spec);
}
