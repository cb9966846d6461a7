/**
 * The identity decision (assembly/spiffe/identity.ts) through a compiled policy's `identity`
 * section: peer-certificate (URI SAN layouts), xfcc (test/vectors/xfcc.json "identity") and local.
 */
import { loadTestkit, vectors } from './testkit';
import { mintPem, urlEncode } from './certs';

const tk = loadTestkit();
interface IdCase { name: string; trustedProxies: string[]; federatesWith?: string[]; peerUris: string[] | null; xfcc: string | null; identity: string | null; reason: string }
const v = vectors<{ identity: IdCase[] }>('xfcc.json');

const certFor = async (uris: string[] | null): Promise<string | null> =>
  uris === null ? null : urlEncode(await mintPem(uris.length ? { uris } : { dns: ['only-dns.example'] }));

function compileWith(identity: object, federatesWith?: string[]) {
  const r = tk.compile('inbound', { trustDomain: 'td', ...(federatesWith ? { federatesWith } : {}), identity, inbound: { rules: [] } });
  expect(r.errors).toEqual([]);
}

const expectIdentity = (got: any, id: string | null, reason: string) => {
  if (id === null) expect(got).toEqual({ authenticated: false, reason });
  else expect(got).toEqual({ authenticated: true, id, reason: 'ok' });
};

describe('peer-certificate', () => {
  beforeAll(() => compileWith({ from: 'peer-certificate' }));
  it.each([
    ['one SPIFFE URI SAN', ['spiffe://td/ns/a/sa/a'], 'spiffe://td/ns/a/sa/a', 'ok'],
    ['other trust domain', ['spiffe://other.org/x'], null, 'foreign_trust_domain'],
    ['root ID', ['spiffe://td'], null, 'svid_root_id'],
    ['two URI SANs', ['spiffe://td/ns/a/sa/a', 'spiffe://td/ns/b/sa/b'], null, 'multiple_uri_sans'],
    ['SPIFFE + https URI SANs', ['spiffe://td/ns/a/sa/a', 'https://a.example/'], null, 'multiple_uri_sans'],
    ['no URI SAN', [], null, 'no_uri_san'],
    ['non-SPIFFE URI SAN', ['https://a.example/'], null, 'invalid_spiffe_id'],
    ['invalid SPIFFE ID', ['spiffe://TD/x'], null, 'invalid_spiffe_id'],
    ['trailing slash', ['spiffe://td/x/'], null, 'invalid_spiffe_id'],
    ['no certificate', null, null, 'no_peer_certificate'],
  ] as const)('%s', async (_n, uris, id, reason) => {
    const cert = await certFor(uris as any);
    expectIdentity(tk.json('tk_identity_resolve', cert, null), id, reason);
  });

  it('an empty property is no certificate; garbage is malformed', () => {
    expectIdentity(tk.json('tk_identity_resolve', '', null), null, 'no_peer_certificate');
    expectIdentity(tk.json('tk_identity_resolve', '-----BEGIN%20CERTIFICATE-----%0A!!!%0A-----END%20CERTIFICATE-----', null), null, 'malformed_peer_certificate');
  });

  it('ignores x-forwarded-client-cert', async () => {
    const cert = await certFor(['spiffe://td/ns/a/sa/a']);
    expectIdentity(tk.json('tk_identity_resolve', cert, 'By=spiffe://td/gw;URI=spiffe://td/ns/admin'), 'spiffe://td/ns/a/sa/a', 'ok');
  });
});

describe('xfcc (xfcc.json identity)', () => {
  it.each(v.identity.map((c) => [c.name, c] as const))('%s', async (_n, c) => {
    compileWith({ from: 'xfcc', trustedProxies: c.trustedProxies }, c.federatesWith);
    const cert = await certFor(c.peerUris);
    expectIdentity(tk.json('tk_identity_resolve', cert, c.xfcc), c.identity, c.reason);
  });
});

describe('local', () => {
  it('is the configured ID, whatever the connection carries', async () => {
    compileWith({ from: 'local', id: 'spiffe://td/ns/shop/sa/billing' });
    expectIdentity(tk.json('tk_identity_resolve', null, null), 'spiffe://td/ns/shop/sa/billing', 'ok');
    const cert = await certFor(['spiffe://td/ns/other']);
    expectIdentity(tk.json('tk_identity_resolve', cert, 'By=x;URI=spiffe://td/y'), 'spiffe://td/ns/shop/sa/billing', 'ok');
  });
});
