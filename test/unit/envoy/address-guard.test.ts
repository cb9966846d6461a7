import { addressGuardRules, guardRefusal, GUARD_POLICY, GUARDED_RANGES } from '../../../harness/envoy/address-guard';

const grants = [{ rule: 'ledger', cidrs: ['10.2.0.0/16'] }, { rule: 'local', cidrs: ['127.0.0.1/32'] }];
const rec = (rule: string) => `decision=allow rule=${rule} identity=spiffe://example.org/ns/shop/sa/billing policy=0123456789ab`;

describe('address guard model (the rules harness/envoy/address-guard.ts renders)', () => {
  test.each([
    ['169.254.169.254', rec('stripe'), GUARD_POLICY],
    ['10.2.3.4', rec('stripe'), GUARD_POLICY],
    ['10.2.3.4', rec('ledger'), null],
    ['10.3.0.1', rec('ledger'), `${GUARD_POLICY}.ledger`],
    ['127.0.0.1', rec('local'), null],
    ['127.0.0.2', rec('local'), `${GUARD_POLICY}.local`],
    ['192.168.1.1', undefined, GUARD_POLICY],
    ['100.64.0.1', rec('stripe'), GUARD_POLICY],
    ['::1', rec('stripe'), GUARD_POLICY],
    ['fe80::1', rec('stripe'), GUARD_POLICY],
    ['fd00::5', rec('stripe'), GUARD_POLICY],
    ['::ffff:10.0.0.1', rec('stripe'), GUARD_POLICY],
    ['93.184.216.34', rec('stripe'), null],
    ['2606:4700::6810:85e5', rec('stripe'), null],
    ['93.184.216.34', undefined, null],
  ])('%s after %s → %s', (address, record, refusal) => {
    expect(guardRefusal(address, record, { grants })).toBe(refusal);
  });

  test('a rule name is matched as a whole token of the record', () => {
    // "local" must not be credited for a record of rule "local-extra"
    expect(guardRefusal('127.0.0.1', rec('local-extra'), { grants })).toBe(GUARD_POLICY);
  });

  test('treatAsPublic (the harness fake internet) lifts the guard for that address only', () => {
    expect(guardRefusal('127.0.0.1', rec('stripe'), { grants: [], treatAsPublic: ['127.0.0.1/32'] })).toBeNull();
    expect(guardRefusal('127.0.0.2', rec('stripe'), { grants: [], treatAsPublic: ['127.0.0.1/32'] })).toBe(GUARD_POLICY);
  });
});

describe('address guard RBAC rules', () => {
  test('one policy for rules without grants, one per granting rule, DENY', () => {
    const r = addressGuardRules({ grants });
    expect(r.action).toBe('DENY');
    expect(Object.keys(r.policies as object)).toEqual([GUARD_POLICY, `${GUARD_POLICY}.ledger`, `${GUARD_POLICY}.local`]);
  });

  test('every guarded range is rendered as an upstream_ip_port matcher', () => {
    const text = JSON.stringify(addressGuardRules({ grants: [] }));
    for (const { cidr } of GUARDED_RANGES) {
      const [ip, bits] = cidr.split('/');
      expect(text).toContain(`{"address_prefix":"${ip}","prefix_len":${bits}}`);
    }
  });

  test('a malformed grant is refused by name', () => {
    expect(() => addressGuardRules({ grants: [{ rule: 'x', cidrs: ['10.0.0.0'] }] })).toThrow(/"10.0.0.0" is not a CIDR/);
  });
});
