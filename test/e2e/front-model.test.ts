/**
 * Pins harness/scenario/front.ts (the emulator target's model of the reference HCM) to what real
 * Envoy does: the inbound reference config, minus the wasm filter, in front of a recording
 * upstream; each raw request target must be rejected with the same status or arrive with exactly
 * the path the model predicts.
 */
import { parseRawResponse, rawRequest } from '../../harness/services/client';
import { normalizeRequestPath } from '../../harness/scenario/front';
import { InboundStack } from '../../harness/stack/inbound';

const TARGETS = [
  '/charges', '//charges', '/charges/../admin', '/a/./b', '/%2e%2e/admin', '/a/%2e%2e/admin', '/ch%61rges',
  '/a%2Fb', '/a%2fb', '/a%5cb', '/a\\b', '/a#frag', '/a?x=../..', '/a/b/..', '/%7euser', '/a%20b', '/A/../..',
  '/..', '/a/%2E/b', '/a;x/../b', '/a%00b', '/caf%C3%A9', '/a%zz', '/a%', '/a/b/', '/a/b/.', '/charges///x//',
  '/CHARGES', '/charges%2F..%2Fadmin', '/./admin', '/admin/.', '/a/.%2e/b',
  // bytes Envoy percent-encodes in the path (never in the query), and ones it leaves alone
  '/a"b', '/a<b>', '/a`b', '/a{b}', '/a|b', '/a^b', '/a[b]', "/a'b", '/a?q="<>',
];

describe('front model vs Envoy (normalize_path, merge_slashes, REJECT escaped slashes)', () => {
  let stack: InboundStack;

  beforeAll(async () => {
    // No wasm filter: the policy is never read; wasm:info = Envoy's default log level.
    stack = await InboundStack.start({ policyJson: '{}', trustDomain: 'example.org', replaceWasmWith: [], componentLogLevel: 'wasm:info' });
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it.each(TARGETS)('%s', async (target) => {
    const { upstream } = stack;
    upstream.clear();
    const text = await rawRequest({
      port: stack.port,
      tls: await stack.clientTls(null),
      bytes: `GET ${target} HTTP/1.1\r\nHost: billing\r\nConnection: close\r\n\r\n`,
    });
    const res = parseRawResponse(text);
    const model = normalizeRequestPath(target);
    const seen = upstream.received();
    if (model.ok) {
      expect(res.status).toBe(200);
      expect(seen.map((r) => r.path)).toEqual([model.path]);
    } else {
      expect(res.status).toBe(model.status);
      expect(seen).toHaveLength(0);
    }
  });
});
