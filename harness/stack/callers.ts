/**
 * What every stack shares: client TLS options per caller (an SVID minted once per SPIFFE ID and
 * defect) and the JSON access log the reference configs write to Envoy's stdout.
 */
import type { EnvoyProcess } from '../envoy/process';
import type { BadCertKind, TestCa } from '../pki/ca';
import type { ClientTls } from '../services/client';

export class CallerCertificates {
  private readonly cache = new Map<string, Promise<ClientTls>>();

  constructor(private readonly ca: TestCa) {}

  /** `null` = no client certificate; else an SVID for the ID, or a certificate with `defect` claiming it. */
  tls(spiffeId: string | null, defect?: BadCertKind): Promise<ClientTls> {
    const key = `${spiffeId ?? 'none'}|${defect ?? ''}`;
    let tls = this.cache.get(key);
    if (!tls) {
      tls = (async () => {
        if (spiffeId === null) return { ca: this.ca.certPem, checkServerName: false };
        const cert = defect ? await this.ca.mintBad(defect, spiffeId) : await this.ca.mintSvid(spiffeId);
        return { ca: this.ca.certPem, cert: cert.chainPem, key: cert.keyPem, checkServerName: false };
      })();
      this.cache.set(key, tls);
    }
    return tls;
  }
}

/** Access-log entries so far: the reference configs log one JSON object per line to stdout. */
export function accessLogEntries(envoy: EnvoyProcess): Record<string, string>[] {
  return envoy
    .stdout()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, string>);
}
