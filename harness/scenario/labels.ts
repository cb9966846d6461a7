/**
 * The labels a filter record's `rule=` can carry besides a rule name (assembly/filter/report.ts
 * writeRuleLabel): `default`, and every reason an invalid request or connection is refused for
 * (assembly/policy/decide.ts invalidReasonName, assembly/policy/host.ts targetReasonName).
 * test/unit/cli/scenario-rule-names.test.ts keeps this list equal to the filter's.
 */
export const REFUSAL_LABELS: readonly string[] = [
  'default',
  // inbound
  'non_canonical_path',
  'wrong_role',
  // egress: the request's target (host.ts)
  'bad_authority',
  'userinfo',
  'bad_port',
  'non_ascii_host',
  'bad_label',
  'name_too_long',
  'ambiguous_ip',
  'bad_host',
  // egress: TLS passthrough by SNI
  'not_tls',
  'no_sni',
  'ech',
  'malformed_client_hello',
  'client_hello_too_large',
  'bad_sni',
  // egress: the first bytes inside a CONNECT tunnel
  'tunnel_not_tls',
  'tunnel_no_sni',
  'tunnel_ech',
  'tunnel_sni_mismatch',
  'tunnel_malformed_client_hello',
];
