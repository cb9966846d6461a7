// The field table of assembly/policy/fields.ts as the testkit lists it (the contract the
// cross-language checks read), checked against the compiler it drives.
import { loadTestkit, policyFields } from './testkit';

const tk = loadTestkit();
const TD = 'example.org';

describe('policyFields', () => {
  const fields = policyFields();

  it('lists every positive field once, in evaluation order, with its negation and roles', () => {
    expect(fields).toEqual([
      { name: 'from', negation: 'notFrom', roles: ['inbound', 'egress'] },
      { name: 'methods', negation: 'notMethods', roles: ['inbound'] },
      { name: 'paths', negation: 'notPaths', roles: ['inbound'] },
      { name: 'hosts', negation: 'notHosts', roles: ['egress'] },
      { name: 'ports', negation: 'notPorts', roles: ['egress'] },
      { name: 'cidrs', negation: 'notCidrs', roles: ['egress'] },
    ]);
  });

  // The listing is what the compiler accepts: each key (and its negation) is a known field in
  // exactly the roles listed, and "unknown field" in the other role.
  const valid: Record<string, unknown[]> = {
    from: ['*'], methods: ['GET'], paths: ['/a'], hosts: ['example.com'], ports: [443], cidrs: ['10.0.0.0/8'],
  };
  for (const role of ['inbound', 'egress'] as const) {
    it(`agrees with what the ${role} compiler accepts`, () => {
      for (const f of fields) {
        for (const key of [f.name, f.negation]) {
          const doc = { trustDomain: TD, [role]: { rules: [{ name: 'r', [key]: valid[f.name] }] } };
          const r = tk.compile(role, doc);
          if (f.roles.includes(role)) expect({ key, errors: r.errors }).toEqual({ key, errors: [] });
          else expect(r.errors).toEqual([expect.stringContaining(`${role}.rules[0].${key}: unknown field (`)]);
        }
      }
    });
  }
});
