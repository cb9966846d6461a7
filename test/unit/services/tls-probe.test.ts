/**
 * The TLS probe and the byte/accept counts of the fake external service, without Envoy: a real
 * handshake completes and is answered; raw first bytes reach the service (counted as raw bytes);
 * a listener that closes at once is reported as closed with 0 bytes back.
 */
import * as net from 'node:net';
import { TestCa } from '../../../harness/pki/ca';
import { RecordingUpstream } from '../../../harness/services/upstream';
import { probe } from '../../../harness/services/tls-probe';
import { clientHello } from '../../../harness/tls/client-hello';

describe('probe (harness/services/tls-probe.ts)', () => {
  let ca: TestCa;
  let service: RecordingUpstream;
  let closer: net.Server;

  beforeAll(async () => {
    ca = await TestCa.create({ trustDomain: 'example.org' });
    const cert = await ca.mintServer(['api.stripe.com']);
    service = await RecordingUpstream.start({ name: 'stripe', tls: { certPem: cert.chainPem, keyPem: cert.keyPem } });
    closer = net.createServer((s) => s.destroy());
    await new Promise<void>((r) => closer.listen(0, '127.0.0.1', () => r()));
  });
  afterAll(async () => {
    await service.stop();
    await new Promise((r) => closer.close(r));
  });
  beforeEach(() => service.clear());

  it('a real handshake with SNI completes, is answered, and counts as one accepted connection', async () => {
    const r = await probe({ host: '127.0.0.1', port: service.port, handshake: { servername: 'api.stripe.com', ca: ca.certPem } });
    expect(r).toMatchObject({ handshook: true, closedByProxy: false });
    expect(r.response).toMatch(/^HTTP\/1\.1 200 /);
    expect(r.bytesReceived).toBeGreaterThan(0);
    expect(service.connections).toBe(1);
    expect(service.accepted).toBe(1);
    expect(service.bytesReceived()).toBeGreaterThan(0);
    expect(service.received()[0].servername).toBe('api.stripe.com');
  });

  it('raw first bytes reach the service as raw bytes (no handshake completes)', async () => {
    const hello = clientHello({ sni: 'api.stripe.com' });
    const r = await probe({ host: '127.0.0.1', port: service.port, first: hello, timeoutMs: 2000 });
    expect(r.handshook).toBe(false);
    expect(service.accepted).toBe(1);
    expect(service.connections).toBe(0);
    expect(service.bytesReceived()).toBeGreaterThanOrEqual(hello.length);
  });

  it('a peer that closes at once: closed, 0 bytes back, no handshake', async () => {
    const port = (closer.address() as net.AddressInfo).port;
    const raw = await probe({ host: '127.0.0.1', port, first: clientHello({ sni: 'api.stripe.com' }) });
    expect(raw).toMatchObject({ handshook: false, closedByProxy: true, bytesReceived: 0 });
    const tls = await probe({ host: '127.0.0.1', port, handshake: { servername: 'api.stripe.com', ca: ca.certPem } });
    expect(tls).toMatchObject({ handshook: false, closedByProxy: true, bytesReceived: 0 });
    expect(tls.error).toBeDefined();
  });

  it('needs exactly one of first and handshake', async () => {
    await expect(probe({ host: '127.0.0.1', port: 1 })).rejects.toThrow(/exactly one/);
  });
});
