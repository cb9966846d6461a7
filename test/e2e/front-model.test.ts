/**
 * Pins harness/scenario/front.ts (the emulator target's model of the reference HCM) to what real
 * Envoy does: the inbound reference config, minus the wasm filter, in front of a recording
 * upstream; each raw request target must be rejected with the same status or arrive with exactly
 * the path the model predicts.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { EnvoyProcess } from '../../harness/envoy/process';
import { removeHttpFilter, renderReference } from '../../harness/envoy/reference';
import { TestCa } from '../../harness/pki/ca';
import { RecordingUpstream } from '../../harness/services/upstream';
import { parseRawResponse, rawRequest } from '../../harness/services/client';
import { normalizeRequestPath } from '../../harness/scenario/front';

const TARGETS = [
  '/charges', '//charges', '/charges/../admin', '/a/./b', '/%2e%2e/admin', '/a/%2e%2e/admin', '/ch%61rges',
  '/a%2Fb', '/a%2fb', '/a%5cb', '/a\\b', '/a#frag', '/a?x=../..', '/a/b/..', '/%7euser', '/a%20b', '/A/../..',
  '/..', '/a/%2E/b', '/a;x/../b', '/a%00b', '/caf%C3%A9', '/a%zz', '/a%', '/a/b/', '/a/b/.', '/charges///x//',
  '/CHARGES', '/charges%2F..%2Fadmin', '/./admin', '/admin/.', '/a/.%2e/b',
];

describe('front model vs Envoy (normalize_path, merge_slashes, REJECT escaped slashes)', () => {
  let envoy: EnvoyProcess;
  let upstream: RecordingUpstream;
  let ca: TestCa;
  let port: number;
  let dir: string;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meshgate-front-'));
    ca = await TestCa.create({ trustDomain: 'example.org' });
    const { caFile } = ca.writeTo(dir);
    const own = (await ca.mintSvid('spiffe://example.org/ns/shop/sa/billing')).writeTo(dir, 'billing');
    upstream = await RecordingUpstream.start({ name: 'billing' });
    const bootstrap = renderReference('inbound', {
      wasmFile: '/nonexistent.wasm',
      policyJson: '{}',
      certs: { caFile, certFile: own.chainFile, keyFile: own.keyFile },
      upstreamPort: upstream.port,
    });
    removeHttpFilter(bootstrap, 'envoy.filters.http.wasm');
    envoy = await EnvoyProcess.start({ bootstrap });
    port = await envoy.listenerPort('inbound');
  });

  afterAll(async () => {
    await envoy?.stop();
    await upstream?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it.each(TARGETS)('%s', async (target) => {
    upstream.clear();
    const text = await rawRequest({
      port,
      tls: { ca: ca.certPem, checkServerName: false },
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
