/**
 * URI SANs from `connection.peer_certificate` (assembly/spiffe/x509.ts): certificates minted with
 * a given SAN layout, every URL-encoding Envoy (or another writer) may use, and malformed input,
 * including random corruptions of real DER (the parser must report, never trap).
 */
import fc from 'fast-check';
import { loadTestkit } from './testkit';
import { mintPem, urlEncode, urlEncodeLight, derOf, pemOf } from './certs';

const tk = loadTestkit();
const uris = (input: string | Buffer) => tk.json('tk_x509', input);

const A = 'spiffe://td/ns/a/sa/a';
const B = 'spiffe://td/ns/b/sa/b';

describe('SAN layouts', () => {
  it.each([
    ['one URI SAN', { uris: [A] }, [A]],
    ['two URI SANs', { uris: [A, B] }, [A, B]],
    ['three URI SANs', { uris: [A, B, 'https://x.example/'] }, [A, B, 'https://x.example/']],
    ['DNS SANs then a URI', { dns: ['a.example', 'b.example'], uris: [A] }, [A]],
    ['DNS SAN only', { dns: ['a.example'] }, []],
    ['no SAN extension', { noSan: true }, []],
    ['non-SPIFFE URI', { uris: ['urn:x:y'] }, ['urn:x:y']],
  ] as const)('%s', async (_name, layout, want) => {
    const pem = await mintPem(layout as any);
    for (const enc of [urlEncode(pem), urlEncodeLight(pem), pem]) {
      expect(uris(enc)).toMatchObject({ ok: true, count: want.length, uris: want });
    }
  });

  it('reads only the first certificate of a chain', async () => {
    const chain = (await mintPem({ uris: [A] })) + (await mintPem({ uris: [B] }));
    expect(uris(urlEncode(chain))).toMatchObject({ ok: true, count: 1, uris: [A] });
  });

  it('counts beyond the stored views', async () => {
    const many = Array.from({ length: 12 }, (_, i) => `spiffe://td/n${i}`);
    const got = uris(urlEncode(await mintPem({ uris: many })));
    expect(got.count).toBe(12);
    expect(got.uris).toEqual(many.slice(0, 8));
  });
});

describe('malformed input', () => {
  let pem = '';
  beforeAll(async () => { pem = await mintPem({ uris: [A] }); });

  const cases: Array<[string, string, () => string]> = [
    ['empty', 'no_certificate', () => ''],
    ['no PEM block', 'no_certificate', () => 'hello'],
    ['a private key block', 'no_certificate', () => '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n'],
    ['bad percent escape', 'bad_pem', () => urlEncode(pem).replace('%0A', '%0G')],
    ['truncated percent escape', 'bad_pem', () => urlEncode(pem) + '%4'],
    ['no END line', 'bad_pem', () => pem.split('-----END')[0]],
    ['bad base64 character', 'bad_pem', () => pem.replace(/\n(.)/, '\n!')],
    ['data after padding', 'bad_pem', () => pemOf(Buffer.from([0x30, 0x00])).replace('MAA=', 'MA=A')],
    ['one stray base64 character', 'bad_pem', () => pemOf(derOf(pem)).replace('\n-----END', 'A\n-----END')],
    ['truncated DER', 'bad_der', () => pemOf(derOf(pem).subarray(0, 100))],
    ['empty DER', 'bad_der', () => pemOf(Buffer.alloc(0))],
    ['not a SEQUENCE', 'bad_der', () => pemOf(Buffer.from([0x04, 0x01, 0x00]))],
    ['indefinite length', 'bad_der', () => pemOf(Buffer.from([0x30, 0x80, 0x00, 0x00]))],
    ['length past the end', 'bad_der', () => pemOf(Buffer.from([0x30, 0x84, 0x7f, 0xff, 0xff, 0xff, 0x00]))],
    ['five length bytes', 'bad_der', () => pemOf(Buffer.from([0x30, 0x85, 0, 0, 0, 0, 1, 0]))],
    ['oversized input', 'too_large', () => 'A'.repeat(300 * 1024)],
  ];
  it.each(cases)('%s → %s', (_name, error, make) => {
    expect(uris(make())).toEqual({ ok: false, error });
  });

  it('two subjectAltName extensions are malformed', async () => {
    expect(uris(await mintPem({ uris: [A], duplicateSan: true }))).toEqual({ ok: false, error: 'bad_der' });
  });

  it('random corruptions of real DER never trap, and the parser recovers', async () => {
    const der = derOf(await mintPem({ uris: [A, B], dns: ['x.example'] }));
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(der.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
        fc.nat(der.length),
        (edits, cut) => {
          const d = Buffer.from(der);
          for (const [i, b] of edits) d[i] = b;
          const got = uris(pemOf(d.subarray(0, Math.max(cut, 1))));
          expect(typeof got.ok).toBe('boolean');
          if (got.ok) expect(got.count).toBeLessThanOrEqual(3);
        },
      ),
      { numRuns: 2000 },
    );
    expect(uris(pemOf(der))).toMatchObject({ ok: true, count: 2, uris: [A, B] });
  });
});
