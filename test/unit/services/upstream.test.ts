/** RecordingUpstream on real loopback sockets, plain and TLS, driven by the harness client. */
import { TestCa } from '../../../harness/pki/ca';
import { rawRequest, request } from '../../../harness/services/client';
import { RecordingUpstream } from '../../../harness/services/upstream';
import { restartTimeouts, stopTimeouts } from './stopped-timeouts';

const RECEIVED_AT = 1_700_000_000_000;

describe('RecordingUpstream (HTTP)', () => {
  let up: RecordingUpstream;
  beforeAll(async () => {
    up = await RecordingUpstream.start({ name: 'billing' });
  });
  afterAll(() => up.stop());
  beforeEach(() => up.clear());
  afterEach(restartTimeouts);

  test('answers 200 with its name and records the request, stamped with the clock', async () => {
    const clock = jest.spyOn(Date, 'now').mockReturnValue(RECEIVED_AT);
    try {
      const r = await request({ port: up.port, method: 'POST', path: '/charges?x=1', headers: { 'x-test': 'a' }, body: 'amount=1' });
      expect(r.status).toBe(200);
      expect(r.body).toBe('upstream:billing');
      expect(r.headers['x-upstream']).toBe('billing');
      const [rec] = up.received();
      expect(rec).toMatchObject({ method: 'POST', path: '/charges?x=1', body: 'amount=1' });
      expect(rec.headers['x-test']).toBe('a');
      expect(rec.rawHeaders).toContain('x-test');
      expect(rec.time).toBe(RECEIVED_AT);
      expect(up.connections).toBe(1);
    } finally {
      clock.mockRestore();
    }
  });

  test('waitFor resolves for a request that arrives later, and times out with what it saw', async () => {
    const waiting = up.waitFor((r) => r.path === '/later', 2000);
    await request({ port: up.port, path: '/later' });
    expect((await waiting).path).toBe('/later');
    await expect(up.waitFor((r) => r.path === '/never', 100)).rejects.toThrow(/no matching request within 100 ms \(received 1: GET \/later\)/);
  });

  test('clear forgets requests and connections', async () => {
    await request({ port: up.port });
    up.clear();
    expect(up.received()).toEqual([]);
    expect(up.connections).toBe(0);
  });

  test('keeps raw request targets as sent', async () => {
    const text = await rawRequest({ port: up.port, bytes: 'GET /a//b/../c HTTP/1.1\r\nHost: x\r\n\r\n' });
    expect(text).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(up.received()[0].path).toBe('/a//b/../c');
  });

  test('stop closes kept-alive connections', async () => {
    const other = await RecordingUpstream.start({ name: 'other' });
    // The client reads until the connection closes and its timeout cannot fire: only stop() can end it.
    stopTimeouts();
    const pending = rawRequest({ port: other.port, bytes: 'GET / HTTP/1.1\r\nHost: x\r\n\r\n', untilClose: true, timeoutMs: 3000 });
    await other.waitFor();
    await other.stop();
    expect(await pending).toContain('upstream:other');
  }, 10_000); // a stop() that left the connection open hangs here: fail fast
});

describe('RecordingUpstream (TLS)', () => {
  test('serves HTTPS with a minted server certificate and records SNI', async () => {
    const ca = await TestCa.create({ trustDomain: 'example.org' });
    const cert = await ca.mintServer(['api.stripe.com']);
    const up = await RecordingUpstream.start({ name: 'stripe', tls: { certPem: cert.chainPem, keyPem: cert.keyPem } });
    try {
      expect(up.url).toBe(`https://127.0.0.1:${up.port}`);
      const r = await request({ port: up.port, path: '/v1/charges', tls: { ca: ca.certPem, servername: 'api.stripe.com' } });
      expect(r.status).toBe(200);
      expect(r.body).toBe('upstream:stripe');
      expect(up.received()[0].servername).toBe('api.stripe.com');
      expect(up.connections).toBe(1);
      await expect(request({ port: up.port, tls: { ca: ca.certPem, servername: 'evil.example' } })).rejects.toThrow(/altnames|does not match/i);
    } finally {
      await up.stop();
    }
  });
});
