/**
 * The SNI filter's reading of a connection's first bytes (assembly/tls/client-hello.ts,
 * egress/sni-facts.ts, then decideSni) against test/vectors/client-hello.json: the name it judges,
 * the refusal label, or that it waits for more bytes. Then the 64 KiB cap with full-size hellos
 * built here (too big for the vector file).
 */
import { clientHello } from '../../../harness/tls/client-hello';
import { loadTestkit, vectors } from './testkit';

const tk = loadTestkit();
interface Hello { name: string; how: string; hex: string; end?: boolean; sni?: string; refusal?: string; wait?: true }
const v = vectors<{ hellos: Hello[] }>('client-hello.json');
const PORT = 443;

/** Everything allowed (`default`), so a valid name is judged and only refusals deny. */
beforeAll(() => {
  expect(tk.compile('egress-sni', { trustDomain: 'example.org', identity: { from: 'local', id: 'spiffe://example.org/me' }, egress: { default: 'allow' } }).ok).toBe(true);
});

/** What the filter concludes from `bytes` (`end`: the peer closed after them). */
function conclude(bytes: Buffer, end: boolean): { sni?: string; refusal?: string; wait?: true } {
  const r = tk.json<{ status: string; wait?: true; refusal?: string; sni?: string; decision?: string }>('tk_client_hello', bytes, !end, PORT);
  if (r.wait) return { wait: true };
  if (r.refusal) return { refusal: r.refusal };
  expect(r.decision).toBe('allow rule=default');
  return { sni: r.sni };
}

describe('client-hello.json', () => {
  it('covers every refusal label of the SNI filter, a judged name and waiting', () => {
    const seen = new Set(v.hellos.map((h) => h.refusal ?? (h.sni !== undefined ? 'sni' : 'wait')));
    expect([...seen].sort()).toEqual(['bad_sni', 'client_hello_too_large', 'ech', 'malformed_client_hello', 'no_sni', 'not_tls', 'sni', 'wait']);
  });

  it.each(v.hellos.map((h) => [h.name, h] as const))('%s', (_n, h) => {
    const want = h.wait ? { wait: true } : h.refusal !== undefined ? { refusal: h.refusal } : { sni: h.sni };
    expect(conclude(Buffer.from(h.hex, 'hex'), h.end === true)).toEqual(want);
  });

  it('a hello that waits for more bytes is refused as malformed once the peer closes', () => {
    for (const h of v.hellos.filter((x) => x.wait)) {
      const bytes = Buffer.from(h.hex, 'hex');
      expect([h.name, conclude(bytes, true)]).toEqual([h.name, { refusal: bytes.length === 0 ? 'not_tls' : 'malformed_client_hello' }]);
    }
  });
});

describe('the 64 KiB cap (the TLS inspector\'s largest max_client_hello_size)', () => {
  it('a hello of exactly 64 KiB is read, split over records', () => {
    const at = clientHello({ sni: 'api.stripe.com', padTo: 65536 });
    expect(at.length).toBe(65536 + 4 * 5); // four 16 KiB records
    expect(conclude(at, false)).toEqual({ sni: 'api.stripe.com' });
  });

  it('one byte more is client_hello_too_large, as soon as the handshake header says so', () => {
    const over = clientHello({ sni: 'api.stripe.com', padTo: 65537 });
    expect(conclude(over, false)).toEqual({ refusal: 'client_hello_too_large' });
    expect(conclude(over.subarray(0, 9), false)).toEqual({ refusal: 'client_hello_too_large' });
  });

  it('a hello that arrives in many small records still fits (record headers are not counted)', () => {
    expect(conclude(clientHello({ sni: 'api.stripe.com', padTo: 8192, maxFragment: 32 }), false)).toEqual({ sni: 'api.stripe.com' });
  });
});
