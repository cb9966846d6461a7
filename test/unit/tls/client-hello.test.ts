import * as net from 'node:net';
import * as tls from 'node:tls';
import { clientHello, clientHelloMessage } from '../../../harness/tls/client-hello';
import { TestCa } from '../../../harness/pki/ca';

/** What a real TLS stack (Node's OpenSSL) reads as the SNI of a hello built here. */
async function sniSeenByOpenSsl(hello: Buffer): Promise<string | null> {
  const ca = await TestCa.create({ trustDomain: 'example.org' });
  const cert = await ca.mintServer(['localhost']);
  return new Promise((resolve, reject) => {
    let seen: string | null = null;
    const server = tls.createServer({
      cert: cert.chainPem, key: cert.keyPem,
      SNICallback: (name, cb) => { seen = name; cb(null, undefined); },
    });
    server.on('tlsClientError', () => undefined);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      const s = net.connect({ host: '127.0.0.1', port }, () => s.write(hello));
      s.on('error', () => undefined);
      s.on('close', () => { server.close(); resolve(seen); });
      setTimeout(() => { s.destroy(); }, 1500).unref();
    });
    server.on('error', reject);
  });
}

describe('harness/tls/client-hello', () => {
  test('OpenSSL reads the SNI it carries', async () => {
    expect(await sniSeenByOpenSsl(clientHello({ sni: 'api.stripe.com', alpn: ['http/1.1'] }))).toBe('api.stripe.com');
  });

  test('no server_name extension: OpenSSL sees no SNI', async () => {
    expect(await sniSeenByOpenSsl(clientHello({ sni: null }))).toBeNull();
  });

  test('a hello larger than one record spans records of at most maxFragment bytes', () => {
    const msg = clientHelloMessage({ sni: 'a.example', padTo: 20000 });
    expect(msg.length).toBeGreaterThanOrEqual(20000);
    const recs = clientHello({ sni: 'a.example', padTo: 20000 });
    expect(recs[0]).toBe(22);
    expect(recs.readUInt16BE(3)).toBe(16384);
    expect(recs.length).toBe(msg.length + 5 * 2);
  });
});
