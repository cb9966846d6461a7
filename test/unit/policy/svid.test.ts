/**
 * The TypeScript twin of the filter's identity decision (harness/policy/svid.ts, caller.ts)
 * against the shared vectors: every certificate shape of test/vectors/svid.json (minted, then
 * read back with certificateFacts) and the XFCC identity cases of test/vectors/xfcc.json — the
 * same files test/unit/wasm/svid.test.ts and identity.test.ts hold the filter to.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { compilePolicy } from '../../../harness/policy/compile';
import { resolveCaller } from '../../../harness/policy/caller';
import { decideInbound } from '../../../harness/policy/evaluate';
import { certificateFacts, svidReason, type CertificateFacts } from '../../../harness/policy/svid';
import type { NormalizedPolicy } from '../../../harness/policy/model';
import { mintShape, type LeafShape } from '../wasm/certs';

const load = <T>(name: string): T => JSON.parse(fs.readFileSync(path.resolve(__dirname, '../../vectors', name), 'utf8')) as T;

function policy(doc: object): NormalizedPolicy {
  const r = compilePolicy({ trustDomain: 'td', inbound: { rules: [{ name: 'any', from: ['*'] }] }, ...doc }, 'p');
  expect(r.errors).toEqual([]);
  return r.normalized!;
}

interface LeafCase extends LeafShape { name: string; identity: string | null; reason: string }

describe('svid.json leaves', () => {
  const p = policy({ federatesWith: ['partner.example'] });
  it.each(load<{ leaves: LeafCase[] }>('svid.json').leaves.map((c) => [c.name, c] as const))('%s', async (_n, c) => {
    const facts = certificateFacts(await mintShape(c));
    expect(facts).toEqual({
      uris: c.uris,
      ca: c.basicConstraints?.ca ?? false,
      keyUsage: c.keyUsage && { digitalSignature: c.keyUsage.includes('digitalSignature'), keyCertSign: c.keyUsage.includes('keyCertSign'), cRLSign: c.keyUsage.includes('cRLSign') },
      clientAuth: c.extKeyUsage && c.extKeyUsage.includes('clientAuth'),
    });
    expect(resolveCaller(p, { peer: facts })).toEqual({ identity: c.identity, reason: c.reason });
    const d = decideInbound(p, { identity: { peer: facts }, method: 'GET', path: '/' });
    expect([d.identity, d.identityReason, d.rule]).toEqual(c.identity === null ? [null, c.reason, 'default'] : [c.identity, undefined, c.identity.startsWith('spiffe://td/') ? 'any' : 'default']);
  });
});

interface IdCase { name: string; trustedProxies: string[]; federatesWith?: string[]; peerUris: string[] | null; xfcc: string | null; identity: string | null; reason: string }

describe('xfcc.json identity', () => {
  const leaf = (uris: string[]): CertificateFacts => ({ uris, ca: false, keyUsage: null, clientAuth: null });
  it.each(load<{ identity: IdCase[] }>('xfcc.json').identity.map((c) => [c.name, c] as const))('%s', (_n, c) => {
    const p = policy({ identity: { from: 'xfcc', trustedProxies: c.trustedProxies }, ...(c.federatesWith ? { federatesWith: c.federatesWith } : {}) });
    expect(resolveCaller(p, { peer: c.peerUris && leaf(c.peerUris), xfcc: c.xfcc })).toEqual({ identity: c.identity, reason: c.reason });
  });
});

describe('identity strings in the evaluator', () => {
  const p = policy({ federatesWith: ['partner.example'] });
  it.each([
    ['spiffe://td/ns/a', 'spiffe://td/ns/a', undefined],
    ['spiffe://td', null, 'svid_root_id'],
    ['spiffe://td/', null, 'invalid_spiffe_id'],
    ['spiffe://partner.example/x', 'spiffe://partner.example/x', undefined],
    ['spiffe://other.org/x', null, 'foreign_trust_domain'],
  ] as const)('%s', (id, identity, reason) => {
    const d = decideInbound(p, { identity: id, method: 'GET', path: '/' });
    expect([d.identity, d.identityReason]).toEqual([identity, reason]);
  });

  it('svidReason reads the facts in the filter\'s order', () => {
    expect(svidReason({ uris: ['spiffe://td'], ca: true, keyUsage: null, clientAuth: false })).toBe('svid_root_id');
    expect(svidReason({ uris: ['spiffe://td/a'], ca: true, keyUsage: { digitalSignature: false, keyCertSign: true, cRLSign: false }, clientAuth: false })).toBe('svid_ca_leaf');
  });
});
