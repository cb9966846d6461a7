/**
 * What build/meshgate.wasm remembers between requests never changes an answer: XFCC values are
 * parsed once and cached by their bytes (assembly/spiffe/forwarded.ts), and the filter-state
 * record is rewritten only when its decision or identity changed (assembly/filter/report.ts
 * FilterStateWriter). Every request below is checked against the record written from scratch,
 * in orders chosen to hit those caches with values whose answer differs: the same XFCC from
 * another trusted proxy, more distinct values than the cache holds, values too long to cache,
 * connections that evict each other's identities.
 */
import { policyDigest } from '../../../harness/policy/compile';
import type { PluginHandle } from '../../../harness/emulator/vm';
import type { PolicyDocument } from '../../../harness/policy/model';
import { TRUST_DOMAIN, mintPeers, loadMeshgate, send, inboundRequest, type Peers } from './meshgate';

const GATEWAY = `spiffe://${TRUST_DOMAIN}/ns/edge/sa/gateway`;
const OTHER_GATEWAY = `spiffe://${TRUST_DOMAIN}/ns/edge/sa/other-gateway`;
const DIRECT = `spiffe://${TRUST_DOMAIN}/ns/shop/sa/direct`;
const DIRECT2 = `spiffe://${TRUST_DOMAIN}/ns/shop/sa/direct-2`;
const FOREIGN_DIRECT = 'spiffe://other.org/ns/shop/sa/direct';
const caller = (i: number) => `spiffe://${TRUST_DOMAIN}/ns/team-${i % 7}/sa/caller-${i}`;
/** Callers 0..CALLERS-1 are listed; the cache holds 256 values, so 600 distinct ones cycle through it. */
const CALLERS = 600;

const POLICY: PolicyDocument = {
  trustDomain: TRUST_DOMAIN,
  identity: { from: 'xfcc', trustedProxies: [GATEWAY, OTHER_GATEWAY] },
  inbound: {
    default: 'deny',
    rules: [
      { name: 'no-admin', action: 'deny', paths: ['/admin', '/admin/*'] },
      { name: 'even-callers', from: Array.from({ length: CALLERS }, (_, i) => caller(i)).filter((_, i) => i % 2 === 0), paths: ['/api/*'] },
      { name: 'team-3', from: [`spiffe://${TRUST_DOMAIN}/ns/team-3/*`], paths: ['/api/*'] },
    ],
  },
};

let peers: Peers;
let plugin: PluginHandle;
let digest12: string;
beforeAll(async () => {
  peers = await mintPeers([GATEWAY, OTHER_GATEWAY, DIRECT, DIRECT2, FOREIGN_DIRECT]);
  const vm = await loadMeshgate();
  const configuration = JSON.stringify(POLICY);
  plugin = vm.startPlugin({ rootId: 'meshgate_inbound', configuration });
  expect(plugin.ok).toBe(true);
  digest12 = policyDigest(configuration).slice(0, 12);
});

/** The record the policy gives: computed here from the policy's rules, not by the filter. */
function expected(path: string, id: string | null, reason?: string): string {
  const tail = ` policy=${digest12}` + (id === null ? ` identity_reason=${reason}` : '');
  const who = id ?? '-';
  if (path.startsWith('/admin')) return `decision=deny rule=no-admin identity=${who}${tail}`;
  const m = id === null ? null : /caller-(\d+)$/.exec(id);
  if (m && Number(m[1]) % 2 === 0 && Number(m[1]) < CALLERS) return `decision=allow rule=even-callers identity=${who}${tail}`;
  if (id !== null && id.startsWith(`spiffe://${TRUST_DOMAIN}/ns/team-3/`)) return `decision=allow rule=team-3 identity=${who}${tail}`;
  return `decision=deny rule=default identity=${who}${tail}`;
}

/** connectionId null: the host gives none (the peer is parsed per request, never cached). */
function record(connectionId: bigint | null, peer: string, path: string, xfcc?: string): string {
  const headers: [string, string][] = xfcc === undefined ? [] : [['x-forwarded-client-cert', xfcc]];
  const { stream } = send(plugin, { connectionId: connectionId ?? undefined, peerCertificate: peers[peer], request: { ...inboundRequest('GET', path), headers } });
  return stream.filterState['wasm.meshgate'];
}

const forwarded = (by: string, uri: string) => `By=${by};URI=${uri}`;

describe('XFCC values cached by their bytes', () => {
  it('the same value from another trusted proxy is a By mismatch, and again from the right one the caller', () => {
    const v = forwarded(GATEWAY, caller(2));
    for (let round = 0; round < 3; round++) {
      expect(record(1n, GATEWAY, '/api/x', v)).toBe(expected('/api/x', caller(2)));
      expect(record(2n, OTHER_GATEWAY, '/api/x', v)).toBe(expected('/api/x', null, 'xfcc_by_mismatch'));
      // a direct caller (not a listed proxy) is itself, whatever XFCC it sends
      expect(record(3n, DIRECT, '/api/x', v)).toBe(expected('/api/x', DIRECT));
      // ... and of a trust domain the policy does not accept: unauthenticated on every request
      expect(record(4n, FOREIGN_DIRECT, '/api/x', v)).toBe(expected('/api/x', null, 'foreign_trust_domain'));
      expect(record(1n, GATEWAY, '/admin', v)).toBe(expected('/admin', caller(2)));
    }
  });

  it('more distinct values than the cache holds, cycled twice over 8 connections', () => {
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < CALLERS + 10; i++) {
        const path = i % 5 === 0 ? '/admin/x' : '/api/items';
        expect(record(BigInt(100 + (i % 8)), GATEWAY, path, forwarded(GATEWAY, caller(i)))).toBe(expected(path, caller(i)));
      }
    }
  });

  it('refusals are cached per value too: malformed, no URI, two URIs, invalid and root IDs', () => {
    const cases: [string, string][] = [
      [`By=${GATEWAY};URI="unterminated`, 'malformed_xfcc'],
      ['', 'malformed_xfcc'],
      [`By=${GATEWAY}`, 'no_uri_san'],
      [`By=${GATEWAY};URI=`, 'no_uri_san'],
      [`By=${GATEWAY};URI=${caller(2)};URI=${caller(4)}`, 'multiple_uri_sans'],
      [`By=${GATEWAY};URI=spiffe://${TRUST_DOMAIN}/a//b`, 'invalid_spiffe_id'],
      [`By=${GATEWAY};URI=spiffe://${TRUST_DOMAIN}`, 'svid_root_id'],
      [`By=${GATEWAY};URI=spiffe://other.org/ns/x/sa/y`, 'foreign_trust_domain'],
      [`By=${GATEWAY};By=${GATEWAY};URI=${caller(2)}`, 'xfcc_by_mismatch'],
      [`By=${OTHER_GATEWAY};URI=${caller(2)}`, 'xfcc_by_mismatch'],
    ];
    for (let round = 0; round < 3; round++) {
      // back to back: one refused identity after another, the same decision
      for (const [v, reason] of cases) expect(record(7n, GATEWAY, '/api/x', v)).toBe(expected('/api/x', null, reason));
      for (const [v, reason] of cases) {
        expect(record(7n, GATEWAY, '/api/x', v)).toBe(expected('/api/x', null, reason));
        // between two refusals, an accepted caller on the same connection
        expect(record(7n, GATEWAY, '/api/x', forwarded(GATEWAY, caller(4)))).toBe(expected('/api/x', caller(4)));
      }
    }
    expect(record(7n, GATEWAY, '/api/x')).toBe(expected('/api/x', null, 'no_xfcc'));
  });

  it('values too long to cache are judged per request', () => {
    const padding = `Subject="${'CN=x,'.repeat(200)}"`;
    for (let round = 0; round < 3; round++) {
      // back to back: callers 3 and 17 are both allowed by team-3
      for (const i of [3, 17, 10, 24]) expect(record(8n, GATEWAY, '/api/x', `${padding};${forwarded(GATEWAY, caller(i))}`)).toBe(expected('/api/x', caller(i)));
      for (const i of [2, 3, 10, 17]) {
        const v = `${padding};${forwarded(GATEWAY, caller(i))}`;
        expect(v.length).toBeGreaterThan(512);
        expect(record(8n, GATEWAY, '/api/x', v)).toBe(expected('/api/x', caller(i)));
        expect(record(9n, OTHER_GATEWAY, '/api/x', v)).toBe(expected('/api/x', null, 'xfcc_by_mismatch'));
      }
    }
  });
});

describe('the record is rewritten when its identity changes', () => {
  it('without a connection id: one identity object, refilled per request', () => {
    for (let round = 0; round < 3; round++) {
      for (const peer of [DIRECT, DIRECT2, DIRECT, GATEWAY, DIRECT2]) {
        const want = peer === GATEWAY ? expected('/api/x', null, 'no_xfcc') : expected('/api/x', peer);
        expect(record(null, peer, '/api/x')).toBe(want);
      }
    }
  });

  it('connections that share a cache set evict each other; each request names its own peer', () => {
    // connection ids 64 apart share a set of the per-connection cache (4 ways): 6 of them evict
    const ids = [0, 1, 2, 3, 4, 5].map((k) => BigInt(5000 + 64 * k));
    for (let round = 0; round < 3; round++) {
      ids.forEach((id, k) => {
        // two direct peers: the same decision (default deny), other identities
        const peer = (k + round) % 2 === 0 ? DIRECT : DIRECT2;
        expect(record(id, peer, '/api/x')).toBe(expected('/api/x', peer));
        // the gateway without XFCC: no_xfcc, every time
        expect(record(id + 1n, GATEWAY, '/api/x')).toBe(expected('/api/x', null, 'no_xfcc'));
      });
    }
  });
});
