/**
 * An invalid plugin configuration never lets traffic through unchecked:
 * - at boot, Envoy refuses to start, and its log carries meshgate's field-level messages;
 * - as a live update (file-based LDS, the way a control plane pushes config), Envoy rejects the
 *   new listener and keeps enforcing the previous policy: store still allowed, web still denied.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { EnvoyProcess } from '../../harness/envoy/process';
import { renderReference, wasmPluginConfig } from '../../harness/envoy/reference';
import { LdsFile, freePort } from '../../harness/envoy/lds';
import type { Json } from '../../harness/envoy/bootstrap';
import { TestCa } from '../../harness/pki/ca';
import { RecordingUpstream } from '../../harness/services/upstream';
import { request } from '../../harness/services/client';
import { repoRoot } from '../../harness/envoy/paths';

const STORE = 'spiffe://example.org/ns/shop/sa/store';
const WEB = 'spiffe://example.org/ns/web/sa/frontend';
const VALID = JSON.stringify({
  trustDomain: 'example.org',
  inbound: { default: 'deny', rules: [{ name: 'store-creates-charges', from: [STORE], methods: ['POST'], paths: ['/charges'] }] },
});
const INVALID = JSON.stringify({
  trustDomain: 'example.org',
  inbound: { default: 'deny', rules: [{ name: 'everyone', from: ['spiffe://Example.ORG/ns/web/*'], methods: ['post'], pathz: ['/charges'] }] },
});

describe('invalid plugin configuration', () => {
  let ca: TestCa;
  let dir: string;
  let upstream: RecordingUpstream;
  let certs: { caFile: string; certFile: string; keyFile: string };

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meshgate-refused-'));
    ca = await TestCa.create({ trustDomain: 'example.org' });
    const { caFile } = ca.writeTo(dir);
    const own = (await ca.mintSvid('spiffe://example.org/ns/shop/sa/billing')).writeTo(dir, 'billing');
    certs = { caFile, certFile: own.chainFile, keyFile: own.keyFile };
    upstream = await RecordingUpstream.start({ name: 'billing' });
  });
  afterAll(async () => {
    await upstream?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const render = (policyJson: string) =>
    renderReference('inbound', { wasmFile: path.join(repoRoot(), 'build/meshgate.wasm'), policyJson, certs, upstreamPort: upstream.port });

  it('keeps Envoy from starting, naming every bad field', async () => {
    const err = await EnvoyProcess.start({ bootstrap: render(INVALID) }).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err).toBeInstanceOf(Error);
    const msg = err!.message;
    expect(msg).toContain('inbound.rules[0].from[0]');
    expect(msg).toContain('inbound.rules[0].methods[0]');
    expect(msg).toContain('inbound.rules[0].pathz: unknown field');
    expect(msg).toMatch(/meshgate_inbound: configuration refused \(3 error/);
  });

  it('is rejected as a live update while the previous policy stays in force', async () => {
    const port = await freePort();
    const lds = new LdsFile(path.join(dir, 'lds'));
    const valid = render(VALID);
    (((((valid.static_resources as Json).listeners as Json[])[0].address as Json).socket_address) as Json).port_value = port;
    const bootstrap = lds.adopt(valid);
    const envoy = await EnvoyProcess.start({ bootstrap, componentLogLevel: 'wasm:debug' });
    try {
      const send = async (id: string) => {
        upstream.clear();
        const res = await request({ port, tls: { ca: ca.certPem, ...(await mint(id)), checkServerName: false }, method: 'POST', path: '/charges', headers: { host: 'billing' } });
        return { status: res.status, received: upstream.received().length };
      };
      const mint = async (id: string) => {
        const c = await ca.mintSvid(id);
        return { cert: c.chainPem, key: c.keyPem };
      };
      expect(await send(STORE)).toEqual({ status: 200, received: 1 });
      expect(await send(WEB)).toEqual({ status: 403, received: 0 });

      const bad = JSON.parse(JSON.stringify((bootstrap as Json).dynamic_resources)) && render(INVALID);
      const listener = ((bad.static_resources as Json).listeners as Json[])[0];
      ((listener.address as Json).socket_address as Json).port_value = port;
      expect(wasmPluginConfig(bad).configuration).toBeDefined();
      lds.write([listener]);
      let rejected = 0;
      for (let i = 0; i < 100 && rejected === 0; i++) {
        await new Promise((r) => setTimeout(r, 50));
        rejected = (await envoy.stats())['listener_manager.lds.update_rejected'] ?? 0;
      }
      expect(rejected).toBe(1);
      expect(envoy.logs()).toContain('inbound.rules[0].pathz: unknown field');
      // The old policy still decides: nothing is let through unchecked.
      expect(await send(WEB)).toEqual({ status: 403, received: 0 });
      expect(await send(STORE)).toEqual({ status: 200, received: 1 });
    } finally {
      await envoy.stop();
    }
  });
});
