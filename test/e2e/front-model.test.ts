/**
 * Pins harness/scenario/front.ts (the emulator target's model of the reference HCM and its codecs)
 * to what real Envoy does: the inbound reference config, minus the wasm filter, in front of a
 * recording upstream. Each request must be refused with the status the model predicts (0: the h2
 * stream or connection closed without a response), or arrive with exactly the path and authority
 * the model predicts.
 */
import * as http from 'node:http';
import { parseRawResponse, rawRequest, type ClientTls } from '../../harness/services/client';
import { h2Request, H2ResetError } from '../../harness/services/h2client';
import { h2Codec, hcmFront, MAX_REQUEST_HEADERS_BYTES, normalizeRequestPath, type CodecResult } from '../../harness/scenario/front';
import { inboundHttp1Codec } from '../../harness/scenario/targets/emulator';
import type { ScenarioRequest } from '../../harness/scenario/types';
import { InboundStack } from '../../harness/stack/inbound';

const TARGETS = [
  '/charges', '//charges', '/charges/../admin', '/a/./b', '/%2e%2e/admin', '/a/%2e%2e/admin', '/ch%61rges',
  '/a%2Fb', '/a%2fb', '/a%5cb', '/a\\b', '/a#frag', '/a?x=../..', '/a/b/..', '/%7euser', '/a%20b', '/A/../..',
  '/..', '/a/%2E/b', '/a;x/../b', '/a%00b', '/caf%C3%A9', '/a%zz', '/a%', '/a/b/', '/a/b/.', '/charges///x//',
  '/CHARGES', '/charges%2F..%2Fadmin', '/./admin', '/admin/.', '/a/.%2e/b',
  // bytes Envoy percent-encodes in the path (never in the query), and ones it leaves alone
  '/a"b', '/a<b>', '/a`b', '/a{b}', '/a|b', '/a^b', '/a[b]', "/a'b", '/a?q="<>',
];

let stack: InboundStack;
let tls: ClientTls;

beforeAll(async () => {
  // No wasm filter: the policy is never read; wasm:info = Envoy's default log level.
  stack = await InboundStack.start({ policyJson: '{}', trustDomain: 'example.org', replaceWasmWith: [], componentLogLevel: 'wasm:info' });
  tls = await stack.clientTls(null);
});

afterAll(async () => {
  await stack?.stop();
});

/** Status, and what the upstream received: path and Host (Envoy's :authority). */
interface Seen {
  status: number;
  received: { path: string; authority: string | undefined }[];
}

async function sendRaw(bytes: string): Promise<Seen> {
  stack.upstream.clear();
  const res = parseRawResponse(await rawRequest({ port: stack.port, tls, bytes }));
  return { status: res.status, received: stack.upstream.received().map((r) => ({ path: r.path, authority: r.headers.host })) };
}

async function sendH2(headers: [string, string][]): Promise<Seen> {
  stack.upstream.clear();
  let status: number;
  try {
    status = (await h2Request({ port: stack.port, tls, headers })).status;
  } catch (e) {
    if (!(e instanceof H2ResetError)) throw e;
    status = 0;
  }
  return { status, received: stack.upstream.received().map((r) => ({ path: r.path, authority: r.headers.host })) };
}

/** What the model predicts; the upstream is Node's HTTP/1 parser, which answers a method it does
 *  not know (`get` over h2) with 400 (as the emulator target models it). */
function predicted(front: CodecResult): Seen {
  if (!front.ok) return { status: front.status, received: [] };
  if (!http.METHODS.includes(front.request.method)) return { status: 400, received: [] };
  return { status: 200, received: [{ path: front.request.target ?? '', authority: front.request.authority }] };
}

function raw(bytes: string): ScenarioRequest {
  return { where: '-', label: '-', as: 'none', method: 'GET', path: '/', headers: {}, raw: bytes, expect: 'allow' };
}

describe('front model vs Envoy (normalize_path, merge_slashes, REJECT escaped slashes)', () => {
  it.each(TARGETS)('%s', async (target) => {
    const seen = await sendRaw(`GET ${target} HTTP/1.1\r\nHost: billing\r\nConnection: close\r\n\r\n`);
    const model = normalizeRequestPath(target);
    if (model.ok) {
      expect(seen.status).toBe(200);
      expect(seen.received.map((r) => r.path)).toEqual([model.path]);
    } else {
      expect(seen.status).toBe(model.status);
      expect(seen.received).toHaveLength(0);
    }
  });
});

describe('HTTP/1 codec vs Envoy: request line forms and methods', () => {
  const LINES = [
    'GET http://billing/charges HTTP/1.1\r\nHost: billing',
    'GET http://billing/charges HTTP/1.1\r\nHost: evil',
    'GET HTTP://billing/charges/../admin HTTP/1.1\r\nHost: billing',
    'GET https://billing:8443/charges?x HTTP/1.1',
    'GET http://u@billing/charges HTTP/1.1\r\nHost: billing',
    'GET http://billing HTTP/1.1\r\nHost: billing',
    'GET http://billing?x HTTP/1.1\r\nHost: billing',
    'GET ftp://billing/charges HTTP/1.1\r\nHost: billing',
    'GET http:///charges HTTP/1.1\r\nHost: billing',
    'GET http://billing:0/charges HTTP/1.1\r\nHost: billing',
    'GET http://billing/a%2Fb HTTP/1.1\r\nHost: billing',
    'post /charges HTTP/1.1\r\nHost: billing',
    'Get /charges HTTP/1.1\r\nHost: billing',
    'OPTIONS * HTTP/1.1\r\nHost: billing',
  ];
  it.each(LINES)('%j', async (head) => {
    const bytes = `${head}\r\nConnection: close\r\n\r\n`;
    expect(await sendRaw(bytes)).toEqual(predicted(hcmFront(inboundHttp1Codec(raw(bytes)), 'http1')));
  });
});

describe('request-header limit vs Envoy (max_request_headers_kb: 60)', () => {
  /** A request head of exactly `bytes` bytes, padded in the path. */
  const headOf = (bytes: number, tail = 'Host: billing\r\n\r\n') => {
    const fixed = `GET / HTTP/1.1\r\n${tail}`.length;
    return `GET /${'a'.repeat(bytes - fixed)} HTTP/1.1\r\n${tail}`;
  };
  /** An h2 header list whose names and values add up to exactly `bytes`. */
  const listOf = (bytes: number, extra: [string, string][] = []): [string, string][] => {
    const fixed: [string, string][] = [[':method', 'GET'], [':scheme', 'https'], [':authority', 'billing']];
    const used = [...fixed, ...extra, [':path', '/']].reduce((n, [k, v]) => n + k.length + v.length, 0);
    return [...fixed, [':path', `/${'a'.repeat(bytes - used)}`], ...extra];
  };
  const LIMIT = MAX_REQUEST_HEADERS_BYTES;

  it.each([
    ['a head of exactly 60 KiB', headOf(LIMIT)],
    ['one byte more', headOf(LIMIT + 1)],
    ['one byte more, in a header value', headOf(LIMIT + 1, `Host: billing\r\nx-a: ${'b'.repeat(100)}\r\n\r\n`)],
    ['one byte more, in spaces around a value', headOf(LIMIT + 1, 'Host:      billing     \r\n\r\n')],
    ['a 70 KiB path', `GET /${'a'.repeat(70 * 1024)} HTTP/1.1\r\nHost: billing\r\n\r\n`],
  ])('HTTP/1: %s', async (_name, bytes) => {
    expect(await sendRaw(bytes)).toEqual(predicted(hcmFront(inboundHttp1Codec(raw(bytes)), 'http1')));
  });

  it.each([
    ['a list of exactly 60 KiB', listOf(LIMIT)],
    ['one byte more', listOf(LIMIT + 1)],
    ['one byte more, with another field', listOf(LIMIT + 1, [['x-a', '1234567890']])],
    ['a 70 KiB path', listOf(70 * 1024)],
  ])('h2: %s', async (_name, list) => {
    expect(await sendH2(list)).toEqual(predicted(hcmFront(h2Codec(list), 'h2')));
  });

  it('the model puts both boundaries where Envoy does', () => {
    expect(hcmFront(inboundHttp1Codec(raw(headOf(LIMIT))), 'http1').ok).toBe(true);
    expect(hcmFront(inboundHttp1Codec(raw(headOf(LIMIT + 1))), 'http1')).toMatchObject({ ok: false, status: 431 });
    expect(h2Codec(listOf(LIMIT)).ok).toBe(true);
    expect(h2Codec(listOf(LIMIT + 1))).toMatchObject({ ok: false, status: 0 });
  });
});

describe('HTTP/2 codec vs Envoy (RFC 9113 §8)', () => {
  const base: [string, string][] = [[':method', 'GET'], [':scheme', 'https'], [':authority', 'billing'], [':path', '/charges']];
  const LISTS: [string, [string, string][]][] = [
    ['a well-formed request', base],
    ['host without :authority', [[':method', 'GET'], [':scheme', 'https'], [':path', '/charges'], ['host', 'billing']]],
    ['neither :authority nor host', [[':method', 'GET'], [':scheme', 'https'], [':path', '/charges']]],
    ['host differs from :authority', [...base, ['host', 'evil']]],
    [':authority evil, host billing', [[':method', 'GET'], [':scheme', 'https'], [':authority', 'evil'], [':path', '/x'], ['host', 'billing']]],
    ['host before the pseudo-headers', [['host', 'billing'], [':method', 'GET'], [':scheme', 'https'], [':path', '/x']]],
    ['two host fields', [[':method', 'GET'], [':scheme', 'https'], [':path', '/x'], ['host', 'a'], ['host', 'b']]],
    ['an empty host', [[':method', 'GET'], [':scheme', 'https'], [':path', '/x'], ['host', '']]],
    ['an empty :authority', [[':method', 'GET'], [':scheme', 'https'], [':authority', ''], [':path', '/x']]],
    ['userinfo in :authority', [[':method', 'GET'], [':scheme', 'https'], [':authority', 'u@billing'], [':path', '/x']]],
    [':authority with a trailing dot and upper case', [[':method', 'GET'], [':scheme', 'https'], [':authority', 'BILLING.:443'], [':path', '/x']]],
    ['an upper-case field name', [...base, ['X-Foo', '1']]],
    ['an upper-case x-forwarded-client-cert', [...base, ['X-Forwarded-Client-Cert', 'URI=spiffe://example.org/a']]],
    ['two :path', [...base, [':path', '/admin']]],
    ['two :method', [[':method', 'GET'], [':method', 'POST'], [':scheme', 'https'], [':authority', 'billing'], [':path', '/x']]],
    ['two :authority', [...base, [':authority', 'evil']]],
    ['no :method', [[':scheme', 'https'], [':authority', 'billing'], [':path', '/x']]],
    ['no :path', [[':method', 'GET'], [':scheme', 'https'], [':authority', 'billing']]],
    ['no :scheme', [[':method', 'GET'], [':authority', 'billing'], [':path', '/x']]],
    [':path without a leading slash', [[':method', 'GET'], [':scheme', 'https'], [':authority', 'billing'], [':path', 'charges']]],
    [':path empty', [[':method', 'GET'], [':scheme', 'https'], [':authority', 'billing'], [':path', '']]],
    [':path ?x', [[':method', 'GET'], [':scheme', 'https'], [':authority', 'billing'], [':path', '?x']]],
    [':path absolute', [[':method', 'GET'], [':scheme', 'https'], [':authority', 'billing'], [':path', 'http://billing/charges']]],
    [':path * with OPTIONS', [[':method', 'OPTIONS'], [':scheme', 'https'], [':authority', 'billing'], [':path', '*']]],
    [':path * with GET', [[':method', 'GET'], [':scheme', 'https'], [':authority', 'billing'], [':path', '*']]],
    [':path with a trailing tab', [[':method', 'GET'], [':scheme', 'https'], [':authority', 'billing'], [':path', '/x\t']]],
    [':path with dot-dot, backslash, non-ASCII', [[':method', 'GET'], [':scheme', 'https'], [':authority', 'billing'], [':path', '/a\\..\\b/caf\xe9/../c']]],
    [':path with a fragment', [[':method', 'GET'], [':scheme', 'https'], [':authority', 'billing'], [':path', '/a#b']]],
    [':path with an escaped slash', [[':method', 'GET'], [':scheme', 'https'], [':authority', 'billing'], [':path', '/a%2fb']]],
    ['a pseudo-header after a regular field', [[':method', 'GET'], [':scheme', 'https'], ['x-a', '1'], [':authority', 'billing'], [':path', '/x']]],
    ['an unknown pseudo-header', [...base, [':foo', 'x']]],
    [':status in a request', [...base, [':status', '200']]],
    [':protocol', [...base, [':protocol', 'websocket']]],
    ['CONNECT with :path', [[':method', 'CONNECT'], [':scheme', 'https'], [':authority', 'billing:443'], [':path', '/x']]],
    ['connection', [...base, ['connection', 'close']]],
    ['keep-alive', [...base, ['keep-alive', '1']]],
    ['proxy-connection', [...base, ['proxy-connection', 'x']]],
    ['transfer-encoding', [...base, ['transfer-encoding', 'chunked']]],
    ['upgrade', [...base, ['upgrade', 'websocket']]],
    ['te: trailers', [...base, ['te', 'trailers']]],
    ['te: gzip', [...base, ['te', 'gzip']]],
    ['content-length 5 without a body', [...base, ['content-length', '5']]],
    ['content-length 0', [...base, ['content-length', '0']]],
    ['a lower-case :method', [[':method', 'get'], [':scheme', 'https'], [':authority', 'billing'], [':path', '/x']]],
    ['a space in :method', [[':method', 'G T'], [':scheme', 'https'], [':authority', 'billing'], [':path', '/x']]],
    ['an empty :method', [[':method', ''], [':scheme', 'https'], [':authority', 'billing'], [':path', '/x']]],
    [':scheme http', [[':method', 'GET'], [':scheme', 'http'], [':authority', 'billing'], [':path', '/x']]],
    [':scheme ftp', [[':method', 'GET'], [':scheme', 'ftp'], [':authority', 'billing'], [':path', '/x']]],
    ['CRLF in a value', [...base, ['x-a', 'a\r\nx-b: 1']]],
    ['a space in a name', [...base, ['x a', '1']]],
    ['an empty name', [...base, ['', '1']]],
    ['spaces and tabs around values', [...base, ['x-a', '  a b  '], ['x-b', '\ta\t']]],
  ];

  it.each(LISTS)('%s', async (_name, list) => {
    expect(await sendH2(list)).toEqual(predicted(hcmFront(h2Codec(list), 'h2')));
  });

  /**
   * Each of the 256 byte values at one place in a request, 16 connections at a time: the status
   * of each, and every path the upstream received, as Envoy and as the model have them.
   */
  async function sweep(place: (byte: string) => [string, string][]) {
    const lists = Array.from({ length: 256 }, (_, b) => place(String.fromCharCode(b)));
    const statuses: number[] = [];
    stack.upstream.clear();
    for (let i = 0; i < lists.length; i += 16) {
      const batch = lists.slice(i, i + 16).map(async (list) => {
        try {
          return (await h2Request({ port: stack.port, tls, headers: list })).status;
        } catch (e) {
          if (e instanceof H2ResetError) return 0;
          throw e;
        }
      });
      statuses.push(...(await Promise.all(batch)));
    }
    const models = lists.map((list) => predicted(hcmFront(h2Codec(list), 'h2')));
    expect(statuses.map((s, b) => [b, s])).toEqual(models.map((m, b) => [b, m.status]));
    const received = stack.upstream.received().map((r) => r.path);
    expect(received.sort()).toEqual(models.flatMap((m) => m.received.map((r) => r.path)).sort());
  }

  it('every byte in a field name', () => sweep((c) => [...base, [`x${c}b`, '1']]), 300_000);
  it('every byte in a field value', () => sweep((c) => [...base, ['x-v', `a${c}b`]]), 300_000);
  it('every byte in :authority', () => sweep((c) => [[':method', 'GET'], [':scheme', 'https'], [':authority', `bil${c}ling`], [':path', '/x']]), 300_000);
  it('every byte in :path, and the path each arrives as', () => sweep((c) => [[':method', 'GET'], [':scheme', 'https'], [':authority', 'billing'], [':path', `/a${c}b`]]), 300_000);
});
