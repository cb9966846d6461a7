/**
 * Security property (issue 17, item 9): a forged x-forwarded-client-cert never yields another
 * identity. The identity decision of build/testkit.wasm (`tk_identity_resolve`, policy
 * `identity: {from: xfcc, trustedProxies: [PROXY]}`) is given the direct peer's certificate and
 * an XFCC header; the attacker writes whatever they can:
 *
 * - as the direct peer (any certificate but the trusted proxy's, or none), the whole header:
 *   the caller is the direct peer itself, exactly as without the header (its XFCC is ignored);
 * - through the trusted proxy (test/support/xfcc-envoy.ts: SANITIZE_SET or APPEND_FORWARD;
 *   Cert / Subject / URI enabled or not), their own incoming header (APPEND_FORWARD) and the
 *   common name of their certificate — escaped as Envoy escapes the Subject, or raw, the worst
 *   case where nothing is escaped. Their certificate's SANs are the CA's choice: one SPIFFE ID,
 *   none, or two. The caller is then either unauthenticated or authenticated as the one URI SAN
 *   of their own certificate, never as anything the attacker wrote.
 * Not covered: `dns` in the proxy's set_current_client_cert_details with a CA that signs
 * attacker-chosen DNS SANs — Envoy writes DNS values unescaped, so a DNS SAN
 * "x,By=<proxy>;URI=<victim>" appends a complete element of its own (reported with issue 17).
 */
import fc from 'fast-check';
import { loadTestkit } from '../wasm/testkit';
import { mintPem, urlEncode } from '../wasm/certs';
import { envoyXfccElement, forwardXfcc, rfc2253Escape, type ForwardMode } from '../../support/xfcc-envoy';
import { expectShare, mutated, params, reportFuzz, tally, timeoutFor } from './gen';

const tk = loadTestkit();
reportFuzz('test/unit/fuzz/xfcc-forgery.test.ts');

const TD = 'example.org';
const PROXY = `spiffe://${TD}/ns/gw/sa/gw`;
const ATTACKER = `spiffe://${TD}/ns/evil/sa/attacker`;
const VICTIM = `spiffe://${TD}/ns/shop/sa/store`;
const HASH = '468ed33be74eee6556d90c0149c1309e9ba61d6425303443c0748a02dd8de688';

/** Direct peers that are not the trusted proxy, by name (null: no certificate). */
const UNTRUSTED_PEERS: Record<string, string[] | null> = {
  'attacker SVID': [ATTACKER],
  'proxy ID plus another URI SAN': [PROXY, ATTACKER],
  'below the proxy ID': [`${PROXY}/x`],
  'proxy path in another trust domain': ['spiffe://other.org/ns/gw/sa/gw'],
  'proxy ID with a trailing slash': [`${PROXY}/`],
  'no URI SAN': [],
  'no certificate': null,
};
/** The attacker's own certificate's URI SANs, as issued by the CA. */
const ISSUED_URIS: string[][] = [[ATTACKER], [], [ATTACKER, `spiffe://${TD}/ns/evil/sa/second`]];

const certs: Record<string, string | null> = {};
beforeAll(async () => {
  const r = tk.compile('inbound', { trustDomain: TD, identity: { from: 'xfcc', trustedProxies: [PROXY] }, inbound: { rules: [] } });
  expect(r.errors).toEqual([]);
  const pem = (uris: string[]) => mintPem(uris.length ? { uris } : { dns: ['only-dns.example'] });
  certs.proxy = urlEncode(await pem([PROXY]));
  for (const [name, uris] of Object.entries(UNTRUSTED_PEERS)) certs[name] = uris === null ? null : urlEncode(await pem(uris));
});

// What an attacker puts in a header or a common name: forged elements naming the proxy and the
// victim, and the bytes that move element, pair and quote boundaries.
const FORGED = [
  `By=${PROXY};URI=${VICTIM}`,
  `By=${PROXY};Hash=${HASH};Subject="CN=x";URI=${VICTIM}`,
  `URI=${VICTIM}`,
  `By=${PROXY};URI="${VICTIM}"`,
  `uri=${VICTIM};BY=${PROXY}`,
];
const PIECES = [...FORGED, ',', ';', '"', '\\', '=', ' ', '\t', '\\"', '"";', ',By=', ';URI=', 'CN=x', 'a'];
const attackerText = fc.oneof(
  { weight: 3, arbitrary: fc.array(fc.constantFrom(...PIECES), { maxLength: 6 }).map((a) => a.join('')) },
  { weight: 1, arbitrary: mutated(FORGED, `${PIECES.join('')}spiffe:/.`, 6) },
);

type Resolved = { authenticated: boolean; id?: string; reason: string };
const resolve = (cert: string | null, xfcc: string | null): Resolved => tk.json<Resolved>('tk_identity_resolve', cert, xfcc);

describe('a forged XFCC never yields another identity', () => {
  it('from a direct peer that is not a trusted proxy: the peer itself, never what the header says', () => {
    const NAME = 'xfcc from an untrusted peer';
    const itself = Object.fromEntries(Object.keys(UNTRUSTED_PEERS).map((peer) => [peer, resolve(certs[peer], null)]));
    fc.assert(
      fc.property(fc.constantFrom(...Object.keys(UNTRUSTED_PEERS)), fc.option(attackerText, { nil: null }), (peer, xfcc) => {
        const got = resolve(certs[peer], xfcc);
        tally(NAME, got.authenticated ? (got.id === ATTACKER ? 'the attacker itself' : `authenticated as ${got.id}`) : got.reason);
        expect({ peer, xfcc, got }).toEqual({ peer, xfcc, got: itself[peer] });
        if (got.authenticated) expect(got.id).not.toBe(VICTIM);
      }),
      params(),
    );
    // the attacker's own SVID is the only one of the peers above that is an identity of the policy
    expect(itself['attacker SVID']).toEqual({ authenticated: true, id: ATTACKER, reason: 'ok' });
    expectShare(NAME, 'the attacker itself', 0.05);
  }, timeoutFor());

  it('through the trusted proxy: unauthenticated, or the one URI SAN of the caller\'s own certificate', () => {
    const NAME = 'xfcc through the trusted proxy';
    const arb = fc.record({
      mode: fc.constantFrom<ForwardMode>('SANITIZE_SET', 'APPEND_FORWARD'),
      incoming: fc.option(attackerText, { nil: undefined, freq: 2 }),
      uris: fc.oneof({ weight: 3, arbitrary: fc.constant(ISSUED_URIS[0]) }, { weight: 2, arbitrary: fc.constantFrom(...ISSUED_URIS) }),
      commonName: attackerText,
      subject: fc.constantFrom('escaped', 'escaped', 'raw', 'off'),
      uri: fc.oneof({ weight: 3, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
      cert: fc.boolean(),
    });
    fc.assert(
      fc.property(arb, (c) => {
        // Envoy always escapes the Subject; a raw one is the worst case, only with URI enabled
        // (without a URI pair of its own, a raw Subject could write one: not what Envoy does).
        const subject = c.subject === 'off' || (c.subject === 'raw' && !c.uri) ? undefined
          : `O=meshgate test,CN=${c.subject === 'raw' ? c.commonName : rfc2253Escape(c.commonName)}`;
        const element = envoyXfccElement(PROXY, HASH, {
          cert: c.cert ? '-----BEGIN%20CERTIFICATE-----%0AMIIB%0A-----END%20CERTIFICATE-----%0A' : undefined,
          subject,
          uris: c.uri ? c.uris : undefined,
        });
        const xfcc = forwardXfcc(c.mode, c.incoming, element);
        const got = resolve(certs.proxy, xfcc);
        const own = c.uri && c.uris.length === 1 ? c.uris[0] : null;
        tally(NAME, got.authenticated ? (got.id === own ? 'authenticated as the own URI SAN' : `authenticated as ${got.id}`) : got.reason);
        if (got.authenticated) expect({ xfcc, id: got.id }).toEqual({ xfcc, id: own });
        // Liveness: an honest element (Envoy's escaping, nothing in front of it) is believed.
        if (own !== null && c.subject !== 'raw' && (c.mode === 'SANITIZE_SET' || !c.incoming)) {
          expect({ xfcc, got }).toEqual({ xfcc, got: { authenticated: true, id: own, reason: 'ok' } });
        }
      }),
      params(),
    );
    expectShare(NAME, 'authenticated as the own URI SAN', 0.2);
  }, timeoutFor());
});
