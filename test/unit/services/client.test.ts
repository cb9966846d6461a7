/** The raw client against scripted servers: completion by length, chunking, close; errors. */
import * as net from 'node:net';
import { parseRawResponse, rawRequest, request } from '../../../harness/services/client';
import { restartTimeouts, stopTimeouts } from './stopped-timeouts';

/** Servers not stopped yet: afterEach stops them, also after a test that timed out mid-request. */
const running = new Set<() => Promise<void>>();

/** A TCP server that answers every connection with `reply` (and closes if `close`). */
async function scripted(reply: string, close = false): Promise<{ port: number; got: () => string; stop: () => Promise<void> }> {
  let got = '';
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.once('data', (d) => {
      got += d.toString('latin1');
      if (close) s.end(reply, 'latin1');
      else s.write(reply, 'latin1');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const stop = () => {
    running.delete(stop);
    for (const s of sockets) s.destroy();
    return new Promise<void>((r) => server.close(() => r()));
  };
  running.add(stop);
  return { port: (server.address() as net.AddressInfo).port, got: () => got, stop };
}

afterEach(async () => {
  restartTimeouts();
  for (const stop of [...running]) await stop();
});

describe('rawRequest', () => {
  test.each([
    ['content-length', 'HTTP/1.1 403 Forbidden\r\ncontent-length: 24\r\n\r\nmeshgate: access denied\n'],
    ['chunked', 'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n'],
    ['interim 100 then final', 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n'],
  ])('returns a complete response (%s) without waiting for close or the timeout', async (_label, reply) => {
    const srv = await scripted(reply);
    // The server never closes and the client's timeout cannot fire: only completion can resolve it.
    stopTimeouts();
    try {
      const text = await rawRequest({ port: srv.port, bytes: 'GET //x HTTP/1.1\r\nHost: a\r\n\r\n', timeoutMs: 3000 });
      expect(text).toBe(reply);
      expect(jest.getTimerCount()).toBe(0); // the timeout was cleared, not left armed
      expect(srv.got()).toBe('GET //x HTTP/1.1\r\nHost: a\r\n\r\n');
    } finally {
      await srv.stop();
    }
  }, 10_000); // a client that missed completion hangs here: fail fast

  test('writes every byte value as-is', async () => {
    const srv = await scripted('HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n');
    try {
      const bytes = 'GET /\x00\x7f\xff HTTP/1.1\r\n\r\n';
      await rawRequest({ port: srv.port, bytes });
      expect(Buffer.from(srv.got(), 'latin1')).toEqual(Buffer.from(bytes, 'latin1'));
    } finally {
      await srv.stop();
    }
  });

  test('a close-delimited body is read until the server closes', async () => {
    const srv = await scripted('HTTP/1.0 200 OK\r\n\r\nall of it', true);
    try {
      expect(await rawRequest({ port: srv.port, bytes: 'GET / HTTP/1.0\r\n\r\n' })).toBe('HTTP/1.0 200 OK\r\n\r\nall of it');
    } finally {
      await srv.stop();
    }
  });

  test('timeout: partial data is returned, silence rejects', async () => {
    const partial = await scripted('HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nshort');
    const silent = await scripted('');
    try {
      expect(await rawRequest({ port: partial.port, bytes: 'GET / HTTP/1.1\r\n\r\n', timeoutMs: 300 })).toContain('short');
      await expect(rawRequest({ port: silent.port, bytes: 'GET / HTTP/1.1\r\n\r\n', timeoutMs: 300 })).rejects.toMatchObject({ code: 'CLIENT_TIMEOUT' });
    } finally {
      await partial.stop();
      await silent.stop();
    }
  });

  test('connection refused rejects', async () => {
    const srv = await scripted('');
    const port = srv.port;
    await srv.stop();
    await expect(rawRequest({ port, bytes: 'GET / HTTP/1.1\r\n\r\n' })).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await expect(request({ port })).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });
});

describe('parseRawResponse', () => {
  test('status, lower-cased headers (repeats joined), body cut at content-length', () => {
    const r = parseRawResponse('HTTP/1.1 403 Forbidden\r\nContent-Length: 3\r\nX-A: 1\r\nx-a: 2\r\n\r\nabcHTTP/1.1 200 OK');
    expect(r).toEqual({ status: 403, headers: { 'content-length': '3', 'x-a': '1, 2' }, body: 'abc' });
  });
});
