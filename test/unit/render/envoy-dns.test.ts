/**
 * `meshgate render envoy --dns IP:PORT` and the reference configs' resolver, without Envoy: the
 * egress configs carry no resolver (the system's), `dnsPort`/`dns` add exactly one to every DNS
 * cache config, and `--dns` takes only an IP literal and a port.
 */
import { EGRESS_ROLES, loadReferenceConfig, renderReference, resolverAddresses } from '../../../harness/envoy/reference';
import { parseDnsAddress } from '../../../harness/render/envoy';

const PATCH = { wasmFile: '/m.wasm', policyJson: '{}', certs: { caFile: '/ca.pem', certFile: '/c.pem', keyFile: '/k.pem' } };

describe.each(EGRESS_ROLES)('envoy/%s.yaml', (role) => {
  it('uses the system resolver as written', () => {
    expect(resolverAddresses(loadReferenceConfig(role))).toEqual([]);
    expect(resolverAddresses(renderReference(role, PATCH))).toEqual([]);
  });

  it('gets exactly the resolver a test or --dns names, in every DNS cache config', () => {
    const local = resolverAddresses(renderReference(role, { ...PATCH, dnsPort: 5353 }));
    expect(local.length).toBeGreaterThanOrEqual(2); // the filter's and the clusters' copies
    expect(new Set(local)).toEqual(new Set(['127.0.0.1:5353']));
    expect(new Set(resolverAddresses(renderReference(role, { ...PATCH, dns: { address: '10.0.0.10', port: 53 } })))).toEqual(new Set(['10.0.0.10:53']));
  });
});

describe('parseDnsAddress', () => {
  it.each([
    ['10.0.0.10:53', { address: '10.0.0.10', port: 53 }],
    ['[fd00::a]:5353', { address: 'fd00::a', port: 5353 }],
  ])('%s', (text, expected) => expect(parseDnsAddress(text)).toEqual(expected));

  it.each(['10.0.0.10', 'dns.example:53', '10.0.0.10:0', '10.0.0.10:65536', '10.0.0.256:53', 'fd00::a:53', ''])('refuses %j', (text) => {
    expect(() => parseDnsAddress(text)).toThrow(/--dns .*expected IP:PORT/);
  });
});
