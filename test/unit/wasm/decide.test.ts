/**
 * Decisions (assembly/policy/decide.ts): a fixed column of identities against several policies,
 * one row per request; nearest rule / failing field; audit rules and global audit mode; invalid
 * requests. Cells are `<decision>/<rule>` plus `+<audit rule>:<allow|deny>` per matching audit
 * rule, e.g. `deny/default+try-new-reader:allow`.
 */
import { loadTestkit, parseDecision, Testkit } from './testkit';

const tk = loadTestkit();

const ID = {
  store: 'spiffe://example.org/ns/shop/sa/store',
  reader: 'spiffe://example.org/ns/shop/sa/reader',
  web: 'spiffe://example.org/ns/web/sa/frontend',
  shopx: 'spiffe://example.org/ns/shopx/sa/a',
  shop: 'spiffe://example.org/ns/shop',
  partner: 'spiffe://partner.org/ns/shop/sa/store',
  anon: null,
} as const;
type Who = keyof typeof ID;
const COLUMN: Who[] = ['store', 'reader', 'web', 'shopx', 'shop', 'partner', 'anon'];

const cell = (line: string): string => {
  const d = parseDecision(line);
  return `${d.decision}/${d.rule}` + (d.audit === '-' ? '' : d.audit.split(',').map((a) => '+' + a).join(''));
};

function compile(t: Testkit, role: 'inbound' | 'egress', doc: object) {
  const r = t.compile(role, doc);
  expect(r.errors).toEqual([]);
}

/** Rows: [method, path, ...one cell per COLUMN identity]. */
function inboundMatrix(doc: object, rows: string[][]) {
  compile(tk, 'inbound', doc);
  const got = rows.map(([m, p]) => [m, p, ...COLUMN.map((w) => cell(tk.decideInbound(ID[w], m, p)))]);
  expect(got).toEqual(rows);
}

const DESIGN_INBOUND = {
  trustDomain: 'example.org',
  inbound: {
    default: 'deny',
    rules: [
      { name: 'no-admin', action: 'deny', paths: ['/admin', '/admin/*'] },
      { name: 'store-creates-charges', action: 'allow', from: [ID.store], methods: ['POST'], paths: ['/charges', '/charges/*'] },
      { name: 'try-new-reader', mode: 'audit', from: ['spiffe://example.org/ns/shop/*'], methods: ['GET'], paths: ['/charges/{*}/receipt'] },
    ],
  },
};

describe('inbound matrices', () => {
  it('shop example', () => {
    const D = 'deny/default', S = 'allow/store-creates-charges', A = 'deny/no-admin', R = '+try-new-reader:allow';
    inboundMatrix(DESIGN_INBOUND, [
      //                           store      reader     web  shopx shop  partner anon
      ['POST', '/charges',           S,         D,         D,   D,    D,    D,      D],
      ['POST', '/charges/ch_1',      S,         D,         D,   D,    D,    D,      D],
      ['POST', '/charges/',          S,         D,         D,   D,    D,    D,      D],
      ['POST', '/charges?x=1',       S,         D,         D,   D,    D,    D,      D],
      ['POST', '/chargesX',          D,         D,         D,   D,    D,    D,      D],
      ['POST', '/CHARGES',           D,         D,         D,   D,    D,    D,      D],
      ['post', '/charges',           D,         D,         D,   D,    D,    D,      D],
      ['GET', '/charges',            D,         D,         D,   D,    D,    D,      D],
      ['GET', '/charges/1/receipt',  D + R,     D + R,     D,   D,    D,    D,      D],
      ['POST', '/charges/1/receipt', S,         D,         D,   D,    D,    D,      D],
      ['POST', '/admin',             A,         A,         A,   A,    A,    A,      A],
      ['GET', '/admin/users',        A,         A,         A,   A,    A,    A,      A],
      ['GET', '/ADMIN',              A,         A,         A,   A,    A,    A,      A],
      ['GET', '/Admin/x',            A,         A,         A,   A,    A,    A,      A],
      ['GET', '/adminx',             D,         D,         D,   D,    D,    D,      D],
      ['POST', '//charges',          'deny/non_canonical_path', 'deny/non_canonical_path', 'deny/non_canonical_path', 'deny/non_canonical_path', 'deny/non_canonical_path', 'deny/non_canonical_path', 'deny/non_canonical_path'],
      ['POST', '/charges/%2e%2e/admin', 'deny/non_canonical_path', 'deny/non_canonical_path', 'deny/non_canonical_path', 'deny/non_canonical_path', 'deny/non_canonical_path', 'deny/non_canonical_path', 'deny/non_canonical_path'],
    ]);
  });

  it('identity patterns, negations, other trust domains', () => {
    const doc = {
      trustDomain: 'example.org',
      federatesWith: ['partner.org'],
      inbound: {
        default: 'deny',
        rules: [
          { name: 'web-only', action: 'deny', notFrom: ['spiffe://example.org/ns/web/*'], paths: ['/web/*'] },
          { name: 'no-delete', action: 'deny', methods: ['DELETE'] },
          { name: 'health', paths: ['/healthz'] },
          { name: 'any-local', from: ['*'], methods: ['GET'], paths: ['/public/*'] },
          { name: 'partner', from: [ID.partner], paths: ['/partner/*'] },
          { name: 'shop-ns', from: ['spiffe://example.org/ns/shop/*'], paths: ['/shop/*'] },
          { name: 'writes', from: ['*'], notMethods: ['GET', 'HEAD'], paths: ['/write/*'] },
          { name: 'web-most', from: [ID.web], notPaths: ['/internal/*', '*.secret'] },
          { name: 'all-but-store', notFrom: [ID.store], paths: ['/open/*'] },
        ],
      },
    };
    const D = 'deny/default';
    inboundMatrix(doc, [
      //                          store          reader         web            shopx          shop           partner        anon
      ['GET', '/healthz',         'allow/health', 'allow/health', 'allow/health', 'allow/health', 'allow/health', 'allow/health', 'allow/health'],
      ['DELETE', '/healthz',      'deny/no-delete', 'deny/no-delete', 'deny/no-delete', 'deny/no-delete', 'deny/no-delete', 'deny/no-delete', 'deny/no-delete'],
      ['GET', '/public/a',        'allow/any-local', 'allow/any-local', 'allow/any-local', 'allow/any-local', 'allow/any-local', D, D],
      ['POST', '/public/a',       D, D, 'allow/web-most', D, D, D, D],
      ['GET', '/partner/x',       D, D, 'allow/web-most', D, D, 'allow/partner', D],
      ['GET', '/shop/x',          'allow/shop-ns', 'allow/shop-ns', 'allow/web-most', D, D, D, D],
      ['PUT', '/write/x',         'allow/writes', 'allow/writes', 'allow/writes', 'allow/writes', 'allow/writes', D, D],
      ['HEAD', '/write/x',        D, D, 'allow/web-most', D, D, D, D],
      ['GET', '/internal/x',      D, D, D, D, D, D, D],
      ['GET', '/a/b.secret',      D, D, D, D, D, D, D],
      ['GET', '/web/x',           'deny/web-only', 'deny/web-only', 'allow/web-most', 'deny/web-only', 'deny/web-only', 'deny/web-only', 'deny/web-only'],
      ['GET', '/open/x',          D, 'allow/all-but-store', 'allow/web-most', 'allow/all-but-store', 'allow/all-but-store', 'allow/all-but-store', 'allow/all-but-store'],
    ]);
  });

  it('default allow, audit deny rules, global audit mode', () => {
    const base = {
      trustDomain: 'example.org',
      inbound: {
        default: 'allow',
        rules: [
          { name: 'no-admin', action: 'deny', paths: ['/admin/*'] },
          { name: 'maybe-no-web', action: 'deny', mode: 'audit', from: ['spiffe://example.org/ns/web/*'] },
          { name: 'maybe-anon', mode: 'audit', notFrom: ['*'] },
        ],
      },
    };
    const A = 'allow/default', W = '+maybe-no-web:deny', N = '+maybe-anon:allow', X = 'deny/no-admin';
    inboundMatrix(base, [
      ['GET', '/x',       A, A, A + W, A, A, A + N, A + N],
      ['GET', '/admin/x', X, X, X + W, X, X, X + N, X + N],
      ['GET', '/a/../x',  'deny/non_canonical_path', 'deny/non_canonical_path', 'deny/non_canonical_path', 'deny/non_canonical_path', 'deny/non_canonical_path', 'deny/non_canonical_path', 'deny/non_canonical_path'],
    ]);
    const audit = { ...base, mode: 'audit', inbound: { ...base.inbound, default: 'deny' } };
    const Y = 'audit_deny/default', Z = 'audit_deny/no-admin';
    inboundMatrix(audit, [
      ['GET', '/x',       Y, Y, Y + W, Y, Y, Y + N, Y + N],
      ['GET', '/admin/x', Z, Z, Z + W, Z, Z, Z + N, Z + N],
      ['GET', '//x',      'audit_deny/non_canonical_path', 'audit_deny/non_canonical_path', 'audit_deny/non_canonical_path', 'audit_deny/non_canonical_path', 'audit_deny/non_canonical_path', 'audit_deny/non_canonical_path', 'audit_deny/non_canonical_path'],
    ]);
  });

  it('case variants never gain access: paths fold in deny rules and in allow-rule notPaths', () => {
    compile(tk, 'inbound', { trustDomain: 'example.org', inbound: { rules: [
      { name: 'deny-admin', action: 'deny', paths: ['/admin/*'] },
      { name: 'deny-all-but-public', action: 'deny', notPaths: ['/public/*', '/admin/*', '/ok/*'] },
      { name: 'allow-but-internal', notPaths: ['/ok/internal/*'] },
    ] } });
    const rows = [
      ['/admin/x', 'deny/deny-admin'], ['/ADMIN/x', 'deny/deny-admin'],
      ['/public/x', 'allow/allow-but-internal'], ['/PUBLIC/x', 'deny/deny-all-but-public'],
      ['/ok/x', 'allow/allow-but-internal'], ['/ok/internal/x', 'deny/default'], ['/ok/INTERNAL/x', 'deny/default'],
    ];
    expect(rows.map(([p]) => [p, cell(tk.decideInbound(ID.web, 'GET', p))])).toEqual(rows);
  });

  it('the first matching deny rule and the first matching allow rule decide', () => {
    compile(tk, 'inbound', { trustDomain: 'example.org', inbound: { rules: [
      { name: 'a1', paths: ['/x'] }, { name: 'd1', action: 'deny', methods: ['GET'] }, { name: 'a2', paths: ['*'] }, { name: 'd2', action: 'deny', paths: ['/x'] },
    ] } });
    expect(cell(tk.decideInbound(ID.web, 'GET', '/x'))).toBe('deny/d1');
    expect(cell(tk.decideInbound(ID.web, 'POST', '/x'))).toBe('deny/d2');
    expect(cell(tk.decideInbound(ID.web, 'POST', '/y'))).toBe('allow/a2');
  });
});

describe('nearest rule and failing field (default deny)', () => {
  it.each([
    // [identity, method, path, nearest, field]
    [ID.store, 'GET', '/charges', 'store-creates-charges', 'methods'],
    [ID.web, 'POST', '/charges', 'store-creates-charges', 'from'],
    [ID.store, 'POST', '/other', 'store-creates-charges', 'paths'],
    [null, 'GET', '/other', 'store-creates-charges', 'from'],
  ] as const)('%s %s %s → nearest %s, field %s', (id, m, p, nearest, field) => {
    compile(tk, 'inbound', DESIGN_INBOUND);
    const d = parseDecision(tk.decideInbound(id, m, p));
    expect(d).toMatchObject({ decision: 'deny', rule: 'default', nearest, field });
  });

  it('the most matching fields win; ties go to the earlier rule; negated fields count', () => {
    compile(tk, 'inbound', { trustDomain: 'example.org', inbound: { rules: [
      { name: 'A', from: [ID.store], methods: ['GET'], paths: ['/a'] },
      { name: 'B', from: [ID.web], methods: ['POST'] },
      { name: 'C', notFrom: [ID.reader], notMethods: ['PUT'], paths: ['/c'] },
      { name: 'never', action: 'deny', mode: 'audit', paths: ['/never'] },
    ] } });
    expect(parseDecision(tk.decideInbound(ID.web, 'GET', '/b'))).toMatchObject({ rule: 'default', nearest: 'C', field: 'paths' });
    expect(parseDecision(tk.decideInbound(ID.store, 'POST', '/a'))).toMatchObject({ rule: 'default', nearest: 'A', field: 'methods' });
    expect(parseDecision(tk.decideInbound(ID.reader, 'GET', '/c'))).toMatchObject({ rule: 'default', nearest: 'C', field: 'notFrom' });
    expect(parseDecision(tk.decideInbound(ID.reader, 'PUT', '/z'))).toMatchObject({ rule: 'default', nearest: 'A', field: 'from' });
  });

  it('a rule that cannot beat the best so far is not scored, a tie stops scoring early: same nearest', () => {
    compile(tk, 'inbound', { trustDomain: 'example.org', inbound: { rules: [
      { name: 'A', from: [ID.store], methods: ['GET'], paths: ['/a'] },
      { name: 'B', methods: ['DELETE'] },
      { name: 'C', from: [ID.web], methods: ['GET'], paths: ['/c'], notMethods: ['PUT'] },
    ] } });
    // A 2 of 3; B at most 0; C 3 of 4
    expect(parseDecision(tk.decideInbound(ID.web, 'GET', '/a'))).toMatchObject({ rule: 'default', nearest: 'C', field: 'paths' });
    // A 2 of 3; C 2 of 4: the tie goes to A
    expect(parseDecision(tk.decideInbound(ID.store, 'GET', '/z'))).toMatchObject({ rule: 'default', nearest: 'A', field: 'paths' });
    // A 0; B at most 0; C 1 (paths)
    expect(parseDecision(tk.decideInbound(ID.reader, 'PUT', '/c'))).toMatchObject({ rule: 'default', nearest: 'C', field: 'from' });
    // one allow rule: its first failing field, without scoring
    compile(tk, 'inbound', { trustDomain: 'example.org', inbound: { rules: [{ name: 'only', from: [ID.store], methods: ['GET'], paths: ['/a'] }] } });
    expect(parseDecision(tk.decideInbound(ID.store, 'GET', '/b'))).toMatchObject({ rule: 'default', nearest: 'only', field: 'paths' });
    expect(parseDecision(tk.decideInbound(ID.web, 'PUT', '/a'))).toMatchObject({ rule: 'default', nearest: 'only', field: 'from' });
  });

  it('no allow rule: no nearest; default allow or a deciding rule: none either', () => {
    compile(tk, 'inbound', { trustDomain: 'example.org', inbound: { rules: [{ name: 'd', action: 'deny', paths: ['/d'] }, { name: 'au', mode: 'audit', paths: ['*'] }] } });
    expect(tk.decideInbound(ID.web, 'GET', '/x')).toBe('deny rule=default nearest=- field=- audit=au:allow');
    compile(tk, 'inbound', DESIGN_INBOUND);
    expect(tk.decideInbound(ID.store, 'POST', '/charges')).toBe('allow rule=store-creates-charges nearest=- field=- audit=-');
  });
});

describe('egress matrix', () => {
  const BILLING = 'spiffe://example.org/ns/shop/sa/billing';
  const EG: Record<string, string | null> = { billing: BILLING, web: ID.web, partner: ID.partner, anon: null };
  const COL = ['billing', 'web', 'partner', 'anon'];
  const doc = {
    trustDomain: 'example.org',
    egress: {
      default: 'deny',
      rules: [
        { name: 'no-metadata', action: 'deny', cidrs: ['169.254.169.254/32'] },
        { name: 'no-evil', action: 'deny', hosts: ['*.evil.example', 'evil.example'] },
        { name: 'billing-to-stripe', from: [BILLING], hosts: ['api.stripe.com', '*.stripe.com'], ports: [443] },
        { name: 'internal-net', from: ['*'], cidrs: ['10.0.0.0/8', 'fd00::/8'] },
        { name: 'docs', hosts: ['docs.example.com'], notPorts: [80] },
        { name: 'no-loopback-v6', action: 'deny', mode: 'audit', cidrs: ['::1/128', '127.0.0.0/8'] },
      ],
    },
  };
  it.each([
    // authority, scheme, connect, billing, web, partner, anon
    ['api.stripe.com', 'https', false, 'allow/billing-to-stripe', 'deny/default', 'deny/default', 'deny/default'],
    ['API.STRIPE.COM:443', 'http', false, 'allow/billing-to-stripe', 'deny/default', 'deny/default', 'deny/default'],
    // Authority hygiene: a trailing dot reaching the filter means the client sent two (Envoy's
    // strip_trailing_host_dot removed one); any empty label is an invalid request.
    ['API.STRIPE.COM.:443', 'http', false, 'deny/bad_host', 'deny/bad_host', 'deny/bad_host', 'deny/bad_host'],
    ['api.stripe.com..:443', 'http', true, 'deny/bad_host', 'deny/bad_host', 'deny/bad_host', 'deny/bad_host'],
    ['api..stripe.com', 'https', false, 'deny/bad_host', 'deny/bad_host', 'deny/bad_host', 'deny/bad_host'],
    ['.api.stripe.com:443', 'https', true, 'deny/bad_host', 'deny/bad_host', 'deny/bad_host', 'deny/bad_host'],
    ['api.stripe.com:443', 'http', true, 'allow/billing-to-stripe', 'deny/default', 'deny/default', 'deny/default'],
    ['a.b.stripe.com', 'https', false, 'allow/billing-to-stripe', 'deny/default', 'deny/default', 'deny/default'],
    ['stripe.com', 'https', false, 'deny/default', 'deny/default', 'deny/default', 'deny/default'],
    ['api.stripe.com', 'http', false, 'deny/default', 'deny/default', 'deny/default', 'deny/default'],
    ['api.stripe.com.evil.example', 'https', false, 'deny/no-evil', 'deny/no-evil', 'deny/no-evil', 'deny/no-evil'],
    ['EVIL.example', 'https', false, 'deny/no-evil', 'deny/no-evil', 'deny/no-evil', 'deny/no-evil'],
    ['10.1.2.3:8080', 'http', false, 'allow/internal-net', 'allow/internal-net', 'deny/default', 'deny/default'],
    // Legacy IPv4 forms: Envoy dials 012.1.2.3 as 12.1.2.3 and resolves 2852039166 as a name, so
    // the filter cannot judge them as addresses: denied before any rule.
    ['012.1.2.3', 'http', false, 'deny/ambiguous_ip', 'deny/ambiguous_ip', 'deny/ambiguous_ip', 'deny/ambiguous_ip'],
    ['[::ffff:10.0.0.1]:80', 'http', false, 'allow/internal-net', 'allow/internal-net', 'deny/default', 'deny/default'],
    ['[fd12::1]', 'https', false, 'allow/internal-net', 'allow/internal-net', 'deny/default', 'deny/default'],
    ['169.254.169.254', 'http', false, 'deny/no-metadata', 'deny/no-metadata', 'deny/no-metadata', 'deny/no-metadata'],
    ['2852039166', 'http', false, 'deny/ambiguous_ip', 'deny/ambiguous_ip', 'deny/ambiguous_ip', 'deny/ambiguous_ip'],
    ['0xa9fea9fe', 'http', false, 'deny/ambiguous_ip', 'deny/ambiguous_ip', 'deny/ambiguous_ip', 'deny/ambiguous_ip'],
    ['[::ffff:a9fe:a9fe]', 'http', false, 'deny/no-metadata', 'deny/no-metadata', 'deny/no-metadata', 'deny/no-metadata'],
    ['docs.example.com', 'https', false, 'allow/docs', 'allow/docs', 'allow/docs', 'allow/docs'],
    ['docs.example.com', 'http', false, 'deny/default', 'deny/default', 'deny/default', 'deny/default'],
    ['127.0.0.1', 'http', false, 'deny/default+no-loopback-v6:deny', 'deny/default+no-loopback-v6:deny', 'deny/default+no-loopback-v6:deny', 'deny/default+no-loopback-v6:deny'],
    ['[::1]:443', 'https', true, 'deny/default+no-loopback-v6:deny', 'deny/default+no-loopback-v6:deny', 'deny/default+no-loopback-v6:deny', 'deny/default+no-loopback-v6:deny'],
    ['api.stripe.com', 'https', true, 'deny/bad_port', 'deny/bad_port', 'deny/bad_port', 'deny/bad_port'],
    ['user@api.stripe.com', 'https', false, 'deny/userinfo', 'deny/userinfo', 'deny/userinfo', 'deny/userinfo'],
    ['b\u00fccher.de', 'https', false, 'deny/non_ascii_host', 'deny/non_ascii_host', 'deny/non_ascii_host', 'deny/non_ascii_host'],
    ['a_b.stripe.com', 'https', false, 'deny/bad_label', 'deny/bad_label', 'deny/bad_label', 'deny/bad_label'],
    ['a'.repeat(60) + '.' + 'b'.repeat(60) + '.' + 'c'.repeat(60) + '.' + 'd'.repeat(60) + '.stripe.com', 'https', false, 'deny/name_too_long', 'deny/name_too_long', 'deny/name_too_long', 'deny/name_too_long'],
    ['api.stripe.com/x', 'https', false, 'deny/bad_authority', 'deny/bad_authority', 'deny/bad_authority', 'deny/bad_authority'],
  ] as const)('%s %s connect=%s', (authority, scheme, connect, ...want) => {
    compile(tk, 'egress', doc);
    const got = COL.map((w) => cell(tk.decideEgress(EG[w], authority, scheme, connect)));
    expect(got).toEqual(want);
  });

  it('nearest egress rule and field', () => {
    compile(tk, 'egress', doc);
    expect(parseDecision(tk.decideEgress(ID.web, 'api.stripe.com', 'https'))).toMatchObject({ rule: 'default', nearest: 'billing-to-stripe', field: 'from' });
    expect(parseDecision(tk.decideEgress(BILLING, 'api.stripe.com:8443', 'https'))).toMatchObject({ rule: 'default', nearest: 'billing-to-stripe', field: 'ports' });
    expect(parseDecision(tk.decideEgress(BILLING, 'example.net', 'https'))).toMatchObject({ rule: 'default', nearest: 'billing-to-stripe', field: 'hosts' });
  });
});

it('deciding with a policy of the other role is a denial, not a trap', () => {
  compile(tk, 'inbound', DESIGN_INBOUND);
  expect(tk.decideEgress(ID.store, 'api.stripe.com', 'https')).toBe('deny rule=wrong_role nearest=- field=- audit=-');
  compile(tk, 'egress', { trustDomain: 'example.org', egress: { rules: [{ name: 'a', hosts: ['a.com'] }] } });
  expect(tk.decideInbound(ID.store, 'GET', '/')).toBe('deny rule=wrong_role nearest=- field=- audit=-');
  expect(tk.decideEgress(ID.store, 'a.com', 'https')).toBe('allow rule=a nearest=- field=- audit=-');
});

describe('log and filter-state lines', () => {
  it('filter state and debug line', () => {
    const r = tk.compile('inbound', DESIGN_INBOUND);
    const d12 = r.digest.slice(0, 12);
    tk.decideInbound(ID.store, 'GET', '/charges/1/receipt');
    expect(tk.call('tk_decision_lines').split('\n')).toEqual([
      `decision=deny rule=default identity=${ID.store} policy=${d12}`,
      `decision=deny rule=default identity=${ID.store} policy=${d12} nearest=store-creates-charges failed_field=methods audit=try-new-reader:would_allow`,
    ]);
    tk.decideInbound(null, 'GET', '/admin');
    expect(tk.call('tk_decision_lines').split('\n')).toEqual([
      `decision=deny rule=no-admin identity=- policy=${d12} identity_reason=no_peer_certificate`,
      `decision=deny rule=no-admin identity=- policy=${d12} identity_reason=no_peer_certificate`,
    ]);
    tk.decideInbound('spiffe://Example.org/x', 'GET', '/%2F');
    expect(tk.call('tk_decision_lines').split('\n')[1]).toBe(`decision=deny rule=non_canonical_path identity=- policy=${d12} identity_reason=invalid_spiffe_id`);
  });
});
