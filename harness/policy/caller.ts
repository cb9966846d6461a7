/**
 * Who the caller is, the TypeScript twin of the filter's identity sources
 * (assembly/spiffe/sources.ts; docs/internals.md §2):
 *   peer-certificate  the direct peer's certificate, judged as an X.509-SVID leaf (svid.ts);
 *   xfcc              a direct peer listed in `trustedProxies` speaks for the caller named by the
 *                     last XFCC element (whose single `By` must be that peer); without XFCC it is
 *                     unauthenticated (`no_xfcc`), not itself. Any other direct peer is itself,
 *                     and its XFCC is ignored;
 *   local             the policy's `identity.id`.
 * Whatever the source, an ID outside `trustDomain` and `federatesWith` is unauthenticated
 * (`foreign_trust_domain`).
 */
import type { NormalizedPolicy } from './model';
import { trustDomainOf } from './spiffe';
import { idReason, svidReason, type CertificateFacts, type IdentityReason } from './svid';
import { parseXfcc } from './xfcc';

/** What a request presents: the direct peer's certificate (null: none) and its XFCC header. */
export interface PresentedCaller {
  peer: CertificateFacts | null;
  /** x-forwarded-client-cert (null or absent: no header). */
  xfcc?: string | null;
}

export interface Caller {
  /** The caller's SPIFFE ID, null when unauthenticated. */
  identity: string | null;
  reason: IdentityReason;
}

const refused = (reason: IdentityReason): Caller => ({ identity: null, reason });

/** An ID as a caller: rule 2 of svid.ts, then the trust domains. */
export function admitId(policy: NormalizedPolicy, id: string): Caller {
  const r = idReason(id);
  if (r !== 'ok') return refused(r);
  const td = trustDomainOf(id);
  if (td !== policy.trustDomain && !policy.federatesWith.includes(td)) return refused('foreign_trust_domain');
  return { identity: id, reason: 'ok' };
}

function peerCaller(peer: CertificateFacts | null): Caller {
  if (peer === null) return refused('no_peer_certificate');
  const r = svidReason(peer);
  return r === 'ok' ? { identity: peer.uris[0], reason: 'ok' } : refused(r);
}

/** The source's answer before the trust-domain check. */
function sourceCaller(policy: NormalizedPolicy, p: PresentedCaller): Caller {
  if (policy.identity.from === 'local') return { identity: policy.identity.id ?? null, reason: 'ok' };
  const peer = peerCaller(p.peer);
  if (policy.identity.from === 'peer-certificate') return peer;
  if (peer.identity === null || !policy.identity.trustedProxies.includes(peer.identity)) return peer;
  if (p.xfcc === undefined || p.xfcc === null) return refused('no_xfcc');
  const last = parseXfcc(p.xfcc);
  if (last === null) return refused('malformed_xfcc');
  if (last.by.length !== 1 || last.by[0] !== peer.identity) return refused('xfcc_by_mismatch');
  if (last.uri.length === 0 || (last.uri.length === 1 && last.uri[0] === '')) return refused('no_uri_san');
  if (last.uri.length > 1) return refused('multiple_uri_sans');
  return { identity: last.uri[0], reason: 'ok' };
}

/** The caller of a request under the policy's `identity` section. */
export function resolveCaller(policy: NormalizedPolicy, presented: PresentedCaller): Caller {
  const c = sourceCaller(policy, presented);
  return c.identity === null ? c : admitId(policy, c.identity);
}
