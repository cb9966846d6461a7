/**
 * What every stack shares: client TLS options per caller (an SVID minted once per SPIFFE ID and
 * defect, or a certificate a scenario describes, minted once per name) and the JSON access log
 * the reference configs write to Envoy's stdout.
 */
import type { EnvoyProcess } from '../envoy/process';
import type { BadCertKind, MintedCert, TestCa } from '../pki/ca';
import { mintDescribed, type CertificateDescription, type TestPki } from '../pki/pki';
import type { ClientTls } from '../services/client';

export class CallerCertificates {
  private readonly cache = new Map<string, Promise<ClientTls>>();

  /** `pki`: SVIDs of a trust domain it holds a trusted CA for come from that CA (a partner's from the partner's). */
  constructor(
    private readonly ca: TestCa,
    private readonly pki?: TestPki,
  ) {}

  /** TLS options presenting the certificate `d` describes (minted once per `name`, by `pki`'s authorities). */
  described(pki: TestPki, name: string, d: CertificateDescription): Promise<ClientTls> {
    return this.cached(`described|${name}`, async () => this.presenting(await mintDescribed(pki, d)));
  }

  /** `null` = no client certificate; else an SVID for the ID, or a certificate with `defect` claiming it. */
  tls(spiffeId: string | null, defect?: BadCertKind): Promise<ClientTls> {
    return this.cached(`${spiffeId ?? 'none'}|${defect ?? ''}`, async () => {
      if (spiffeId === null) return { ca: this.ca.certPem, checkServerName: false };
      const issuer = this.pki?.issuerOf(spiffeId) ?? this.ca;
      return this.presenting(defect ? await issuer.mintBad(defect, spiffeId) : await issuer.mintSvid(spiffeId));
    });
  }

  private presenting(cert: MintedCert): ClientTls {
    return { ca: this.ca.certPem, cert: cert.chainPem, key: cert.keyPem, checkServerName: false };
  }

  private cached(key: string, mint: () => Promise<ClientTls>): Promise<ClientTls> {
    let tls = this.cache.get(key);
    if (!tls) {
      tls = mint();
      this.cache.set(key, tls);
    }
    return tls;
  }
}

/**
 * Access-log entries so far: the reference configs log one JSON object per line to stdout. Envoy
 * flushes that file in chunks that may end inside a line, so only complete lines (ended by a
 * newline) count; the rest arrives with the next flush. A complete line that is not JSON throws.
 */
export function accessLogEntries(envoy: EnvoyProcess): Record<string, string>[] {
  const lines = envoy.stdout().split('\n');
  lines.pop(); // after the last newline: empty, or a line still being written
  return lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, string>);
}
