/**
 * Egress targets, `hosts` patterns and `cidrs` (assembly/policy/host.ts) against
 * test/vectors/hosts.json.
 */
import { loadTestkit, vectors } from './testkit';

const tk = loadTestkit();
interface Authority { authority: string; scheme?: string; connect?: boolean; name?: string; ip?: string; port?: number; error?: string }
interface HostPattern { pattern: string; valid: boolean; matches?: string[]; nonMatches?: string[] }
interface Cidr { cidr: string; valid: boolean; matches?: string[]; nonMatches?: string[] }
const v = vectors<{ authorities: Authority[]; patterns: HostPattern[]; cidrs: Cidr[] }>('hosts.json');

describe('authorities (hosts.json)', () => {
  it('covers every reason code', () => {
    for (const code of ['bad_authority', 'userinfo', 'bad_port', 'non_ascii_host', 'bad_host', 'bad_label', 'name_too_long']) {
      expect(v.authorities.some((a) => a.error === code)).toBe(true);
    }
  });
  it.each(v.authorities.map((a) => [`${JSON.stringify(a.authority).slice(0, 60)} ${a.scheme ?? 'http'}${a.connect ? ' CONNECT' : ''}`, a] as const))('%s', (_l, a) => {
    const got = tk.json('tk_target', a.authority, a.scheme ?? 'http', a.connect ?? false);
    if (a.error) expect(got).toEqual({ ok: false, error: a.error });
    else if (a.ip) expect(got).toEqual({ ok: true, ip: a.ip, port: a.port });
    else expect(got).toEqual({ ok: true, name: a.name, port: a.port });
  });
});

describe('hosts patterns (hosts.json)', () => {
  it.each(v.patterns.map((p) => [JSON.stringify(p.pattern).slice(0, 60), p] as const))('%s', (_l, p) => {
    const err = tk.call('tk_host_pattern', p.pattern);
    expect(err === '').toBe(p.valid);
    if (!p.valid) return;
    for (const m of p.matches ?? []) expect([m, tk.num('tk_host_match', p.pattern, m)]).toEqual([m, 1]);
    for (const m of p.nonMatches ?? []) expect([m, tk.num('tk_host_match', p.pattern, m)]).toEqual([m, 0]);
  });
});

describe('cidrs (hosts.json)', () => {
  it.each(v.cidrs.map((c) => [JSON.stringify(c.cidr), c] as const))('%s', (_l, c) => {
    const err = tk.call('tk_cidr', c.cidr);
    expect(err === '').toBe(c.valid);
    if (!c.valid) return;
    for (const a of c.matches ?? []) expect([a, tk.num('tk_cidr_match', c.cidr, a)]).toEqual([a, 1]);
    for (const a of c.nonMatches ?? []) expect([a, tk.num('tk_cidr_match', c.cidr, a)]).toEqual([a, 0]);
  });
});

it('an IP literal never matches a host pattern, a name never a CIDR', () => {
  expect(tk.num('tk_host_match', 'localhost', '127.0.0.1')).toBe(0);
  expect(tk.num('tk_cidr_match', '0.0.0.0/0', 'localhost')).toBe(0);
});
