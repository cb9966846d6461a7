/**
 * X.509-SVID leaf rules of the filter (assembly/spiffe/svid.ts): every certificate shape of
 * test/vectors/svid.json, minted here, as the direct peer under identity.from peer-certificate;
 * the parsed facts (tk_x509) and the caller (tk_identity_resolve). The TypeScript twin is held to
 * the same vectors in test/unit/policy/svid.test.ts.
 */
import { loadTestkit, vectors } from './testkit';
import { mintShape, urlEncode, type LeafShape } from './certs';

const tk = loadTestkit();
interface LeafCase extends LeafShape { name: string; identity: string | null; reason: string }
const v = vectors<{ leaves: LeafCase[] }>('svid.json');

const KU_BITS: Record<string, number> = { digitalSignature: 0x8000, keyEncipherment: 0x2000, keyAgreement: 0x0800, keyCertSign: 0x0400, cRLSign: 0x0200 };

beforeAll(() => {
  const r = tk.compile('inbound', { trustDomain: 'td', federatesWith: ['partner.example'], inbound: { rules: [] } });
  expect(r.errors).toEqual([]);
});

describe('svid.json leaves', () => {
  it.each(v.leaves.map((c) => [c.name, c] as const))('%s', async (_n, c) => {
    const pem = urlEncode(await mintShape(c));
    expect(tk.json('tk_x509', pem)).toEqual({
      ok: true,
      count: c.uris.length,
      uris: c.uris,
      ca: c.basicConstraints?.ca ?? false,
      keyUsage: c.keyUsage ? c.keyUsage.reduce((bits, k) => bits | KU_BITS[k], 0) : null,
      clientAuth: c.extKeyUsage ? c.extKeyUsage.includes('clientAuth') : null,
    });
    const got = tk.json('tk_identity_resolve', pem, null);
    expect(got).toEqual(c.identity === null ? { authenticated: false, reason: c.reason } : { authenticated: true, id: c.identity, reason: 'ok' });
  });
});

describe('malformed extensions', () => {
  it('a second basicConstraints, keyUsage or extKeyUsage is malformed (RFC 5280 §4.2)', async () => {
    const base = { uris: ['spiffe://td/ns/a/sa/a'], basicConstraints: { ca: false }, keyUsage: ['digitalSignature'], extKeyUsage: ['clientAuth'] } as LeafShape;
    const der = Buffer.from((await mintShape(base)).replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
    // each extension's OID bytes 55 1D xx: rename one of the others into it, keeping lengths
    for (const [from, to] of [[0x0f, 0x13], [0x25, 0x0f], [0x13, 0x25]]) {
      const d = Buffer.from(der);
      const at = d.indexOf(Buffer.from([0x06, 0x03, 0x55, 0x1d, from]));
      expect(at).toBeGreaterThan(0);
      d[at + 4] = to;
      const pem = '-----BEGIN CERTIFICATE-----\n' + d.toString('base64') + '\n-----END CERTIFICATE-----\n';
      expect(tk.json('tk_x509', pem)).toEqual({ ok: false, error: 'bad_der' });
      expect(tk.json('tk_identity_resolve', pem, null)).toEqual({ authenticated: false, reason: 'malformed_peer_certificate' });
    }
  });
});
