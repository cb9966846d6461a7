/** DnsServer answered over real UDP/TCP sockets on 127.0.0.1 (queries built with dns-packet). */
import * as dgram from 'node:dgram';
import * as net from 'node:net';
import * as dnsPacket from 'dns-packet';
import { DnsServer } from '../../../harness/services/dns';

let nextId = 1;
const ASKED_AT = 1_700_000_000_000;

/** dns-packet decodes the header's RCODE as a string; its typings omit it. */
type Reply = dnsPacket.DecodedPacket & { rcode: string };

function query(name: string, type: dnsPacket.RecordType): Buffer {
  return dnsPacket.encode({ id: nextId++, type: 'query', flags: dnsPacket.RECURSION_DESIRED, questions: [{ name, type, class: 'IN' }] });
}

function udpQuery(port: number, name: string, type: dnsPacket.RecordType = 'A'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const sock = dgram.createSocket('udp4');
    const timer = setTimeout(() => {
      sock.close();
      reject(new Error('no DNS answer'));
    }, 2000);
    sock.on('message', (msg) => {
      clearTimeout(timer);
      sock.close();
      resolve(dnsPacket.decode(msg) as Reply);
    });
    sock.send(query(name, type), port, '127.0.0.1');
  });
}

function tcpQuery(port: number, name: string, type: dnsPacket.RecordType = 'A'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1', () => sock.write(dnsPacket.streamEncode(dnsPacket.decode(query(name, type)))));
    let buf = Buffer.alloc(0);
    sock.on('data', (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        sock.end();
        resolve(dnsPacket.decode(buf.subarray(2, 2 + buf.readUInt16BE(0))) as Reply);
      }
    });
    sock.on('error', reject);
  });
}

describe('DnsServer with an answer table', () => {
  let dns: DnsServer;
  beforeAll(async () => {
    dns = await DnsServer.start({ answers: { 'api.stripe.com': '127.0.0.1', 'v6.test': '::1' }, tcp: true });
  });
  afterAll(() => dns.stop());
  beforeEach(() => dns.clear());

  test.each([
    ['api.stripe.com', 'A', 'NOERROR', ['127.0.0.1']],
    ['API.Stripe.COM', 'A', 'NOERROR', ['127.0.0.1']],
    ['api.stripe.com.', 'A', 'NOERROR', ['127.0.0.1']],
    ['api.stripe.com', 'AAAA', 'NOERROR', []],
    ['api.stripe.com', 'MX', 'NOERROR', []],
    ['v6.test', 'AAAA', 'NOERROR', ['::1']],
    ['v6.test', 'A', 'NOERROR', []],
    ['evil.example', 'A', 'NXDOMAIN', []],
    ['stripe.com', 'A', 'NXDOMAIN', []],
  ] as const)('%s %s → %s %j', async (name, type, rcode, data) => {
    const r = await udpQuery(dns.port, name, type);
    expect(r.type).toBe('response');
    expect(r.rcode).toBe(rcode);
    expect(r.flag_aa).toBe(true);
    expect(r.flag_rd).toBe(true);
    expect(r.questions?.[0].name).toBe(name.replace(/\.$/, ''));
    expect((r.answers ?? []).map((a) => (a as { data: string }).data)).toEqual(data);
    for (const a of r.answers ?? []) {
      expect(a.name).toBe(name.replace(/\.$/, ''));
      expect((a as { ttl: number }).ttl).toBe(1);
    }
  });

  test('logs every query with name, type, time and outcome', async () => {
    const clock = jest.spyOn(Date, 'now').mockReturnValue(ASKED_AT);
    try {
      await udpQuery(dns.port, 'API.stripe.com', 'A');
      await udpQuery(dns.port, 'nope.test', 'AAAA');
    } finally {
      clock.mockRestore();
    }
    const log = dns.queries();
    expect(log).toMatchObject([
      { name: 'API.stripe.com', type: 'A', transport: 'udp', rcode: 'NOERROR', answer: '127.0.0.1' },
      { name: 'nope.test', type: 'AAAA', transport: 'udp', rcode: 'NXDOMAIN' },
    ]);
    expect(log.map((q) => q.time)).toEqual([ASKED_AT, ASKED_AT]);
    dns.clear();
    expect(dns.queries()).toEqual([]);
  });

  test('answers over TCP on the same port', async () => {
    const r = await tcpQuery(dns.port, 'api.stripe.com');
    expect(r.rcode).toBe('NOERROR');
    expect((r.answers ?? []).map((a) => (a as { data: string }).data)).toEqual(['127.0.0.1']);
    expect(dns.queries()[0].transport).toBe('tcp');
  });

  test('set() overrides one name', async () => {
    dns.set('new.test', '127.0.0.2');
    expect(((await udpQuery(dns.port, 'new.test')).answers ?? []).map((a) => (a as { data: string }).data)).toEqual(['127.0.0.2']);
    dns.set('api.stripe.com', null);
    expect((await udpQuery(dns.port, 'api.stripe.com')).rcode).toBe('NXDOMAIN');
    dns.set('api.stripe.com', '127.0.0.1');
  });

  test('ignores garbage and keeps serving', async () => {
    const sock = dgram.createSocket('udp4');
    await new Promise<void>((r) => sock.send(Buffer.from([1, 2, 3]), dns.port, '127.0.0.1', () => r()));
    sock.close();
    expect((await udpQuery(dns.port, 'api.stripe.com')).rcode).toBe('NOERROR');
  });
});

describe('DnsServer with an answer function', () => {
  test('receives the normalized name; null means NXDOMAIN', async () => {
    const seen: string[] = [];
    const dns = await DnsServer.start({
      answers: (name) => {
        seen.push(name);
        return name.endsWith('.test') ? '127.0.0.1' : null;
      },
      ttl: 5,
    });
    try {
      const ok = await udpQuery(dns.port, 'Svc.TEST.');
      expect(ok.answers?.[0]).toMatchObject({ type: 'A', data: '127.0.0.1', ttl: 5 });
      expect((await udpQuery(dns.port, 'svc.example')).rcode).toBe('NXDOMAIN');
      expect(seen).toEqual(['svc.test', 'svc.example']);
    } finally {
      await dns.stop();
    }
  });
});
