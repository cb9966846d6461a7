/**
 * Security property (issue 17, item 9): a path meshgate accepts as canonical is one Envoy would
 * not rewrite. The filter judges `:path` as Envoy hands it over, and denies what is not canonical
 * (docs/internals.md §2) because a path Envoy or the upstream would still rewrite can name
 * another resource than the one the rules saw. So every path the wasm parser
 * (`tk_path_canonical`, build/testkit.wasm) accepts must be a fixed point of the reference
 * listener's normalization (test/support/envoy-path.ts: normalize_path, merge_slashes,
 * path_with_escaped_slashes_action REJECT_REQUEST) — or be refused by Envoy outright (400: an
 * encoded NUL, a '#' in the query), which no filter and no upstream ever sees.
 *
 * The bytes " < > ` { } | ^, which Envoy percent-encodes, are not canonical in either language
 * (found by this property: the parser accepted them before).
 */
import fc from 'fast-check';
import { loadTestkit } from '../wasm/testkit';
import { ENVOY_ESCAPED_BYTES, envoyNormalizedTarget } from '../../support/envoy-path';
import { expectShare, mutatedFrom, params, reportFuzz, tally, timeoutFor } from './gen';

const tk = loadTestkit();
reportFuzz('test/unit/fuzz/envoy-path.test.ts');

// Pieces of a path segment, mostly pchar (canonical); then the bytes Envoy encodes, escapes it
// keeps (%20, %22, %3B, UTF-8), and the tricky ones: escapes it decodes or refuses (%41, %2e,
// %2F, %00), dots, ';' parameters.
const PCHAR = ['a', 'B', 'z', '0', '9', '-', '.', '_', '~', '!', '$', '&', "'", '(', ')', '*', '+', ',', '=', ':', '@', ';', '[', ']'];
const KEPT_ESCAPES = ['%20', '%22', '%3B', '%3b', '%C3%A9', '%e9', '%25'];
const TRICKY = ['%00', '%41', '%2e', '%2F', '..', '.', 'x;y=1', ';'];
const piece = fc.oneof(
  { weight: 30, arbitrary: fc.constantFrom(...PCHAR) },
  { weight: 1, arbitrary: fc.constantFrom(...ENVOY_ESCAPED_BYTES) },
  { weight: 3, arbitrary: fc.constantFrom(...KEPT_ESCAPES) },
  { weight: 1, arbitrary: fc.constantFrom(...TRICKY) },
);
const QUERY_PIECES = ['x', '=', '&', '/..', '/./', '//', '%2F', '%41', '"', '#', '?', ';'];

const segment = fc.array(piece, { minLength: 1, maxLength: 4 }).map((a) => a.join(''));
const query = fc.array(fc.constantFrom(...QUERY_PIECES), { maxLength: 4 }).map((a) => `?${a.join('')}`);
/** Paths built from segments: mostly canonical, often with a byte Envoy treats specially. */
const built = fc
  .tuple(fc.array(segment, { minLength: 1, maxLength: 5 }), fc.boolean(), fc.option(query, { nil: '' }))
  .map(([segs, slash, q]) => `/${segs.join('/')}${slash ? '/' : ''}${q}`);
const target = fc.oneof({ weight: 4, arbitrary: built }, { weight: 1, arbitrary: mutatedFrom(built, `/.;%2eEfF0${ENVOY_ESCAPED_BYTES}`, 4) });

const NAME = 'canonical path unchanged by Envoy';

it('a path the wasm parser accepts as canonical is left unchanged by Envoy (or refused with 400)', () => {
  fc.assert(
    fc.property(target, (p) => {
      if (tk.num('tk_path_canonical', p) < 0) {
        tally(NAME, 'not canonical');
        return;
      }
      const seen = envoyNormalizedTarget(p);
      if (!seen.ok) {
        tally(NAME, `canonical, refused by Envoy (${seen.reason})`);
        return;
      }
      if (seen.path === p) {
        tally(NAME, 'canonical, unchanged');
        return;
      }
      expect({ path: p, envoy: seen.path }).toEqual({ path: p, envoy: p });
    }),
    params(),
  );
  expectShare(NAME, 'canonical, unchanged', 0.3);
}, timeoutFor());

it('the model encodes what Envoy 1.40 was seen to encode, and nothing else', () => {
  expect(envoyNormalizedTarget('/a"b/<c>`{d}|^[e]\'?q="<')).toEqual({ ok: true, path: '/a%22b/%3Cc%3E%60%7Bd%7D%7C%5E[e]\'?q="<' });
  expect(envoyNormalizedTarget('/a/../b%41/%2e/c')).toEqual({ ok: true, path: '/bA/c' });
  expect(envoyNormalizedTarget('/a%00')).toEqual({ ok: false, status: 400, reason: 'escaped_slash_or_nul' });
});
