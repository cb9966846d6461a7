/**
 * Writes the demo PKI the reference configs in envoy/ reference (`npm run build` runs this):
 * build/certs/ca.pem (+ ca-key.pem), the proxies' SVIDs billing.pem/egress.pem (+ -key.pem), and
 * client SVIDs store.pem, web.pem (+ -key.pem) for curl. Kept when already present, so a running
 * Envoy's files do not change under it; delete build/certs to mint anew.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { repoRoot } from '../envoy/paths';
import { TestCa } from './ca';

const TD = 'example.org';
const SVIDS: Record<string, string> = {
  billing: `spiffe://${TD}/ns/shop/sa/billing`,
  egress: `spiffe://${TD}/ns/egress/sa/gateway`,
  store: `spiffe://${TD}/ns/shop/sa/store`,
  web: `spiffe://${TD}/ns/web/sa/frontend`,
};

export async function writeDemoCerts(dir = path.join(repoRoot(), 'build', 'certs')): Promise<string[]> {
  if (fs.existsSync(path.join(dir, 'ca.pem'))) return [];
  const ca = await TestCa.create({ trustDomain: TD });
  const written = [ca.writeTo(dir, 'ca').caFile];
  fs.writeFileSync(path.join(dir, 'ca-key.pem'), ca.keyPem, { mode: 0o600 });
  for (const [name, id] of Object.entries(SVIDS)) {
    const cert = await ca.mintSvid(id, { dnsNames: ['localhost'], notAfter: new Date(Date.now() + 30 * 86_400_000) });
    const files = cert.writeTo(dir, name);
    // Envoy presents the chain; clients use <name>.pem + <name>-key.pem.
    fs.copyFileSync(files.chainFile, path.join(dir, `${name}.pem`));
    written.push(files.certFile, files.keyFile);
  }
  return written;
}

if (require.main === module) {
  writeDemoCerts().then(
    (files) => console.log(files.length ? `demo certificates: ${files.length} files in build/certs/` : 'demo certificates: build/certs/ already present'),
    (e) => {
      console.error(`demo certificates: ${(e as Error).message}`);
      process.exit(1);
    },
  );
}
