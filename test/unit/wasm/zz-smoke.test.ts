import { loadTestkit } from './testkit';
test('smoke', () => {
  const tk = loadTestkit();
  console.log(tk.call('tk_spiffe_validate', 'spiffe://example.org/ns/a'), tk.call('tk_spiffe_validate', 'spiffe://Example.org'));
  console.log(tk.call('tk_sha256', 'abc'));
  console.log(tk.call('tk_xfcc', 'By=spiffe://td/gw;Hash=abc;Subject="CN=a,O=b";URI=spiffe://td/x'));
  console.log(tk.call('tk_json', '{"a":[1,2.5e3,"x\\u00e9\\ud83d\\ude00"],"b":{"c":null}}', 64));
  console.log(tk.call('tk_json', '{"a":1,"a":2}', 64));
  const r = tk.compile('inbound', { trustDomain: 'example.org', inbound: { rules: [
    { name: 'no-admin', action: 'deny', paths: ['/admin', '/admin/*'] },
    { name: 'store', from: ['spiffe://example.org/ns/shop/sa/store'], methods: ['POST'], paths: ['/charges', '/charges/*'] },
    { name: 'reader', mode: 'audit', from: ['spiffe://example.org/ns/shop/*'], methods: ['GET'], paths: ['/charges/{*}/receipt'] },
  ] } });
  console.log(JSON.stringify(r));
  console.log(tk.decideInbound('spiffe://example.org/ns/shop/sa/store', 'POST', '/charges/1'));
  console.log(tk.decideInbound('spiffe://example.org/ns/shop/sa/store', 'GET', '/charges/1/receipt'));
  console.log(tk.decideInbound('spiffe://example.org/ns/shop/sa/store', 'POST', '/ADMIN/x'));
  console.log(tk.decideInbound(null, 'POST', '//charges'));
  console.log(tk.call('tk_decision_lines'));
  console.log(tk.call('tk_target', 'API.Stripe.com.:443', 'https', false), tk.call('tk_target', '[::ffff:127.0.0.1]', 'http', false), tk.call('tk_target', '0177.1', 'http', false));
  console.log(JSON.stringify(tk.compile('inbound', { trustDomain: 'Example.ORG', mode: 'x', inbound: { rules: [{ name: 'a', from: ['spiffe://Example.ORG/x'], hosts: ['a'] }, { name: 'a', paths: [] }] }, foo: 1 })));
});
