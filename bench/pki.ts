/** Certificates for the benchmark: one test CA, the server's SVID, client SVIDs minted on demand. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TestCa } from '../harness/pki/ca';
import { SERVER_ID, TRUST_DOMAIN } from './policies';
import type { BenchPki } from './variants';

export async function createBenchPki(dir: string): Promise<BenchPki> {
  fs.mkdirSync(dir, { recursive: true });
  const ca = await TestCa.create({ trustDomain: TRUST_DOMAIN });
  const { caFile } = ca.writeTo(dir, 'ca');
  const server = (await ca.mintSvid(SERVER_ID, { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] })).writeTo(dir, 'server');
  const clients = new Map<string, Promise<{ cert: string; key: string }>>();
  return {
    caPem: ca.certPem,
    caFile,
    serverCertFile: server.chainFile,
    serverKeyFile: server.keyFile,
    client(id: string) {
      let c = clients.get(id);
      if (!c) {
        c = ca.mintSvid(id).then((m) => ({ cert: m.chainPem, key: m.keyPem }));
        clients.set(id, c);
      }
      return c;
    },
  };
}

export function pkiDir(base: string): string {
  return path.join(base, 'pki');
}
