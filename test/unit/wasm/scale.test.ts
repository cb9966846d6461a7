/**
 * Scale and memory: a 100 000-identity policy compiles and decides correctly; deciding allocates
 * nothing (heap probe) and 100 000 decisions do not grow memory; replacing the policy (dispose)
 * does not grow memory across re-configures. No timings here (benchmarks live elsewhere).
 */
import { loadTestkit, parseDecision } from './testkit';

const N = 100_000;
const ids = Array.from({ length: N }, (_, i) => `spiffe://example.org/ns/team${i % 997}/sa/workload-${i}`);

describe('a 100 000-identity policy', () => {
  const tk = loadTestkit();
  it('one rule listing 100 000 IDs, plus prefixes', () => {
    const doc = {
      trustDomain: 'example.org',
      inbound: {
        rules: [
          { name: 'blocked', action: 'deny', from: ids.filter((_, i) => i % 10_000 === 7), paths: ['/admin/*'] },
          { name: 'fleet', from: ids, methods: ['GET', 'POST'], paths: ['/api/*'] },
          { name: 'team-prefixes', from: Array.from({ length: 500 }, (_, i) => `spiffe://example.org/ns/ops${i}/*`), paths: ['/ops/*'] },
        ],
      },
    };
    const r = tk.compile('inbound', doc);
    expect(r.errors).toEqual([]);
    expect(r.rules).toBe(3);
    for (const i of [0, 1, 7, 50_000, 99_999]) {
      expect([i, tk.decideInbound(ids[i], 'GET', '/api/x')]).toEqual([i, 'allow rule=fleet nearest=- field=- audit=-']);
    }
    expect(parseDecision(tk.decideInbound(ids[7], 'GET', '/admin/x')).rule).toBe('blocked');
    expect(parseDecision(tk.decideInbound(ids[8], 'GET', '/admin/x')).rule).toBe('default');
    expect(parseDecision(tk.decideInbound(ids[5], 'DELETE', '/api/x'))).toMatchObject({ rule: 'default', nearest: 'fleet', field: 'methods' });
    const outsider = 'spiffe://example.org/ns/team1/sa/workload-100000';
    expect(parseDecision(tk.decideInbound(outsider, 'GET', '/api/x'))).toMatchObject({ rule: 'default', nearest: 'fleet', field: 'from' });
    expect(parseDecision(tk.decideInbound(ids[3] + 'x', 'GET', '/api/x')).rule).toBe('default');
    expect(parseDecision(tk.decideInbound(ids[3].slice(0, -1), 'GET', '/api/x')).rule).toBe('default');
    expect(parseDecision(tk.decideInbound('spiffe://example.org/ns/ops499/sa/a', 'GET', '/ops/x')).rule).toBe('team-prefixes');
    expect(parseDecision(tk.decideInbound('spiffe://example.org/ns/ops500/sa/a', 'GET', '/ops/x')).rule).toBe('default');
    // every listed identity is found
    let allowed = 0;
    for (let i = 0; i < N; i += 97) if (tk.decideInbound(ids[i], 'POST', '/api/y').startsWith('allow rule=fleet')) allowed++;
    expect(allowed).toBe(Math.ceil(N / 97));
  });

  it('2 000 rules of 50 IDs each', () => {
    const rules = Array.from({ length: 2000 }, (_, r) => ({ name: `r${r}`, from: ids.slice(r * 50, r * 50 + 50), paths: [`/svc${r}/*`] }));
    const r = tk.compile('inbound', { trustDomain: 'example.org', inbound: { rules } });
    expect(r.errors).toEqual([]);
    expect(r.rules).toBe(2000);
    expect(tk.decideInbound(ids[1999 * 50 + 49], 'GET', '/svc1999/x')).toBe('allow rule=r1999 nearest=- field=- audit=-');
    expect(parseDecision(tk.decideInbound(ids[0], 'GET', '/svc1999/x'))).toMatchObject({ rule: 'default', nearest: 'r0', field: 'paths' });
  });
});

describe('memory', () => {
  const tk = loadTestkit();
  const probe = () => tk.num('tk_alloc_probe');
  const pages = () => tk.memory.buffer.byteLength;

  const INBOUND = {
    trustDomain: 'example.org',
    inbound: { rules: [
      { name: 'no-admin', action: 'deny', paths: ['/admin', '/admin/*', '*.bak', '/x/{*}/admin'] },
      { name: 'store', from: ['spiffe://example.org/ns/shop/sa/store', 'spiffe://example.org/ns/ops/*'], methods: ['POST'], paths: ['/charges', '/charges/*', '/c/{*}/r'] },
      { name: 'audit', mode: 'audit', from: ['*'], notPaths: ['/z/*'] },
    ] },
  };
  const EGRESS = {
    trustDomain: 'example.org',
    egress: { rules: [
      { name: 'meta', action: 'deny', cidrs: ['169.254.0.0/16'] },
      { name: 'stripe', from: ['spiffe://example.org/ns/shop/*'], hosts: ['api.stripe.com', '*.stripe.com'], ports: [443] },
      { name: 'audit', mode: 'audit', notHosts: ['*.internal'] },
    ] },
  };

  it('the allocation probe detects allocations (positive control)', () => {
    const before = probe();
    tk.call('tk_json', '{"a":[1,2,3],"b":"' + 'x'.repeat(100) + '"}', 64);
    expect(probe()).not.toBe(before);
  });

  it.each([
    ['inbound, default deny with nearest', 'inbound', INBOUND, 'spiffe://example.org/ns/web/sa/a', ['GET', '/charges/1']],
    ['inbound, allow', 'inbound', INBOUND, 'spiffe://example.org/ns/ops/sa/x', ['POST', '/c/1/r']],
    ['inbound, deny rule, folded path', 'inbound', INBOUND, null, ['GET', '/X/y/ADMIN']],
    ['inbound, non-canonical', 'inbound', INBOUND, null, ['GET', '/a/%2e']],
    ['egress, allow', 'egress', EGRESS, 'spiffe://example.org/ns/shop/sa/b', ['a.b.stripe.com:443', 'https']],
    ['egress, IP literal', 'egress', EGRESS, 'spiffe://example.org/ns/shop/sa/b', ['0xa9fe0101', 'http']],
    ['egress, invalid', 'egress', EGRESS, 'spiffe://example.org/ns/shop/sa/b', ['u@x', 'http']],
  ] as const)('%s: deciding allocates nothing; 100 000 decisions keep memory flat', (_n, role, doc, id, [a, b]) => {
    expect(tk.compile(role, doc).errors).toEqual([]);
    tk.setIdentity(id);
    const egress = role === 'egress';
    // warm up (first use may size reusable buffers), then probe
    const line = egress ? tk.call('tk_decide_egress', a, b, false) : tk.call('tk_decide_inbound', a, b);
    expect(line).toMatch(/^(allow|deny) rule=/);
    const argsA = Buffer.from(a), argsB = Buffer.from(b);
    const pa = tk.exports.tk_alloc(argsA.length) >>> 0, pb = tk.exports.tk_alloc(argsB.length) >>> 0;
    new Uint8Array(tk.memory.buffer, pa, argsA.length).set(argsA);
    new Uint8Array(tk.memory.buffer, pb, argsB.length).set(argsB);
    const p0 = probe();
    tk.exports.tk_decide_full_loop(egress, 1, pa, argsA.length, pb, argsB.length, false);
    expect(probe()).toBe(p0);
    const m0 = pages();
    tk.exports.tk_decide_full_loop(egress, 100_000, pa, argsA.length, pb, argsB.length, false);
    tk.exports.tk_decide_loop(egress, 100_000);
    expect(probe()).toBe(p0);
    expect(pages()).toBe(m0);
    tk.exports.tk_free(pa);
    tk.exports.tk_free(pb);
    // and through the string protocol, 100 000 formatted decisions
    for (let i = 0; i < 100_000; i++) {
      if (egress) tk.call('tk_decide_egress', a, b, false); else tk.call('tk_decide_inbound', a, b);
    }
    expect(pages()).toBe(m0);
    expect(egress ? tk.call('tk_decide_egress', a, b, false) : tk.call('tk_decide_inbound', a, b)).toBe(line);
  });

  it('re-configuring 60 times does not grow memory (dispose frees the tables)', () => {
    const big = { trustDomain: 'example.org', inbound: { rules: [{ name: 'fleet', from: ids.slice(0, 20_000), paths: ['/api/*'] }] } };
    const text = JSON.stringify(big);
    for (let i = 0; i < 5; i++) expect(tk.compile('inbound', text).ok).toBe(true);
    const m0 = pages();
    for (let i = 0; i < 60; i++) tk.compile('inbound', text);
    expect(pages()).toBe(m0);
    expect(tk.decideInbound(ids[19_999], 'GET', '/api/x')).toBe('allow rule=fleet nearest=- field=- audit=-');
    tk.exports.tk_policy_dispose();
  });
});
