/**
 * Property-based fuzzing (issue 7, item 2) of the pure parsers in build/testkit.wasm against
 * their TypeScript twins: SPIFFE IDs, XFCC headers, egress authorities, canonical paths. Inputs
 * are valid seeds mutated toward the interesting space (gen.ts). Every property: no trap (a trap
 * throws out of the call) and the same answer as TypeScript. Runs per property:
 * MESHGATE_FUZZ_RUNS (default 2000); seed: MESHGATE_FUZZ_SEED or random, printed (gen.ts).
 */
import fc from 'fast-check';
import { loadTestkit } from '../wasm/testkit';
import { validateSpiffeId } from '../../../harness/policy/spiffe';
import { canonicalPath, parseAuthority } from '../../../harness/policy/patterns';
import { xfccModel } from '../../support/xfcc-model';
import { RUNS, count, mutated, params, reportFuzz, timeoutFor } from './gen';

const tk = loadTestkit();
reportFuzz('test/unit/fuzz/parsers.test.ts');

const LOWER = 'abcdefghijklmnopqrstuvwxyz';
const DIGITS = '0123456789';

describe('SPIFFE ID', () => {
  const seeds = [
    'spiffe://example.org/ns/shop/sa/store',
    'spiffe://td',
    'spiffe://a.b-c_d/x',
    'spiffe://example.org/a/b.c/-_/A.Z',
    `spiffe://${'t'.repeat(255)}/x`,
    `spiffe://td/${'p'.repeat(2048 - 'spiffe://td/'.length)}`,
  ];
  it('wasm and validateSpiffeId give the same code', () => {
    fc.assert(
      fc.property(mutated(seeds, `${LOWER}${DIGITS}._-/:ABCS`), (id) => {
        const wasm = tk.call('tk_spiffe_validate', id);
        const ts = validateSpiffeId(id) ?? 'ok';
        count('spiffe', ts === 'ok');
        expect({ id, wasm }).toEqual({ id, wasm: ts });
      }),
      params(),
    );
  }, timeoutFor());
});

describe('XFCC', () => {
  const seeds = [
    'By=spiffe://example.org/ns/shop/sa/api;Hash=abc123;URI=spiffe://example.org/ns/shop/sa/store',
    'By=spiffe://a/b;Hash=1;Subject="CN=store,O=shop";URI=spiffe://a/c,By=spiffe://a/gw;URI=spiffe://a/d',
    'uri="spiffe://a/x\\"y";by=spiffe://a/b',
    'Hash=00;URI=spiffe://td/a;URI=spiffe://td/b;DNS=store.local',
  ];
  it('wasm and the TypeScript model agree (ok, elements, by, uri)', () => {
    fc.assert(
      fc.property(mutated(seeds, `${LOWER}Hash=URIBy;,": \\/.\t`, 8), (h) => {
        const got = tk.json('tk_xfcc', h);
        const want = xfccModel(h);
        count('xfcc', want.ok);
        if (!want.ok) {
          expect({ h, ok: got.ok }).toEqual({ h, ok: false });
          return;
        }
        expect({ h, ok: got.ok, elements: got.elements, by: got.by, uri: got.uri, byCount: got.byCount, uriCount: got.uriCount }).toEqual({
          h, ok: true, elements: want.elements, by: want.by!.slice(0, 8), uri: want.uri!.slice(0, 8), byCount: want.by!.length, uriCount: want.uri!.length,
        });
      }),
      params(),
    );
  }, timeoutFor());
});

describe('egress authority', () => {
  const seeds = [
    'api.stripe.com', 'api.stripe.com:443', 'Example.COM.:8443', 'localhost:8080', 'a-b.c-d.e',
    '10.0.0.1:80', '0x7f.1:443', '127.1', '1.2.3.4.', '[::1]:8443', '[2001:db8::1]', '[::ffff:10.0.0.1]:443', '[fe80::1%25eth0]:80',
    `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}:1`,
  ];
  const scheme = fc.constantFrom('https', 'http', 'HTTPS', 'Http', 'ftp', '');
  it('wasm and parseAuthority agree (error code, or name/ip and port)', () => {
    fc.assert(
      fc.property(mutated(seeds, `${LOWER}${DIGITS}-.:[]xfABCDEF`), scheme, fc.boolean(), (a, s, connect) => {
        const got = tk.json('tk_target', a, s, connect);
        const ts = parseAuthority(a, { scheme: s, connect });
        const want = 'error' in ts ? { ok: false, error: ts.error } : 'name' in ts ? { ok: true, name: ts.name, port: ts.port } : { ok: true, ip: ts.ip, port: ts.port };
        count('authority', want.ok);
        expect({ a, s, connect, got }).toEqual({ a, s, connect, got: want });
      }),
      params(),
    );
  }, timeoutFor());
});

describe('canonical path', () => {
  const seeds = ['/', '/a/b', '/charges/123/receipt?x=1&y=/..', '/a%20b/c%2F', '/a;p=1/b', '/x/y/', '/%7e', '/a/./b', '/api/v1/{x}~!$&\'()*+,=:@'];
  it('wasm and canonicalPath agree', () => {
    fc.assert(
      fc.property(mutated(seeds, `${LOWER}AZ${DIGITS}-._~!$&'()*+,;=:@%/?2fF5cCe`), (p) => {
        const got = tk.num('tk_path_canonical', p);
        const ts = canonicalPath(p);
        count('path', ts !== null);
        expect({ p, got }).toEqual({ p, got: ts === null ? -1 : Buffer.byteLength(ts, 'utf8') });
      }),
      params(),
    );
  }, timeoutFor());
});

describe('raw bytes (not representable as TypeScript strings): no trap', () => {
  const bytes = fc.uint8Array({ maxLength: 96 });
  it.each(['tk_spiffe_validate', 'tk_xfcc', 'tk_path_canonical'])('%s', (fn) => {
    fc.assert(
      fc.property(bytes, (b) => {
        // tk_path_canonical returns a length, tk_spiffe_validate a code, tk_xfcc JSON
        const valid = fn === 'tk_path_canonical' ? tk.num(fn, Buffer.from(b)) >= 0
          : fn === 'tk_xfcc' ? tk.json(fn, Buffer.from(b)).ok === true
            : tk.call(fn, Buffer.from(b)) === 'ok';
        count(`bytes ${fn}`, valid);
      }),
      params(),
    );
  }, timeoutFor());
  it('tk_target', () => {
    fc.assert(
      fc.property(bytes, fc.boolean(), (b, connect) => {
        const r = tk.json('tk_target', Buffer.from(b), 'https', connect);
        expect(typeof r.ok).toBe('boolean');
        count('bytes tk_target', r.ok);
      }),
      params(),
    );
  }, timeoutFor());
});

it('runs per property', () => expect(RUNS).toBeGreaterThan(0));
