/**
 * Large generated policies for timing `meshgate validate` (bench/validate-bench.ts): N rules, four
 * fifths inbound and one fifth egress, shaped like an organisation-wide policy grown over time —
 * per-service allow rules for a few callers each, deny rules on admin paths, audit trials, a
 * broad rule now and then, and a few copies of earlier rules (so the analysis has findings to
 * report, not only pairs to dismiss). Deterministic: the same N gives the same text.
 */
import { stringify } from 'yaml';
import type { EgressRuleDocument, InboundRuleDocument, PolicyDocument } from '../harness/policy/model';

const TD = 'example.org';
const METHOD_SETS = [['GET'], ['GET', 'POST'], ['GET', 'PUT', 'DELETE'], ['POST']];

function inboundRule(i: number, services: number): InboundRuleDocument {
  const svc = `svc-${i % services}`;
  const team = `team-${(i * 7) % 97}`;
  const name = `in-${i}`;
  if (i % 20 === 0) return { name, action: 'deny', paths: [`/${svc}/admin`, `/${svc}/admin/*`] };
  if (i % 45 === 8) return { name, action: 'deny', methods: ['GET', 'DELETE'], paths: [`/${svc}/v1/*`], notFrom: [`spiffe://${TD}/ns/${team}/*`] };
  // an exception under a service's admin deny rule (rule i - 13): it can never allow anything
  if (i % 200 === 133) return { name, from: [`spiffe://${TD}/ns/${team}/*`], paths: [`/svc-${(i - 13) % services}/admin/tools`] };
  // a narrower copy of rule i - 2's grant: unreachable
  if (i % 300 === 78) return { name, from: [`spiffe://${TD}/ns/team-${((i - 2) * 7) % 97}/sa/app-${i - 2}`], methods: ['GET'], paths: [`/svc-${(i - 2) % services}/v1/items/abc`] };
  if (i % 100 === 33) return { name, from: ['*'], paths: [`/${svc}/health`] };
  if (i % 40 === 11) return { name, mode: 'audit', from: [`spiffe://${TD}/ns/${team}/*`], paths: [`/${svc}/v2/{**}`] };
  // a copy of an earlier rule's matchers, as policies grown by hand tend to have
  if (i % 97 === 5 && i > 10) return { ...inboundRule(i - 10, services), name };
  return {
    name,
    from: [`spiffe://${TD}/ns/${team}/sa/app-${i}`, `spiffe://${TD}/ns/${team}/sa/worker-${i % 13}`],
    methods: METHOD_SETS[i % METHOD_SETS.length],
    paths: [`/${svc}/v1/items/{*}`, `/${svc}/v1/orders/*`, `/${svc}/v1/items/{*}/price`],
  };
}

function egressRule(i: number): EgressRuleDocument {
  const name = `out-${i}`;
  const partner = `partner-${i % 211}.example.com`;
  if (i % 25 === 0) return { name, action: 'deny', cidrs: [`10.${i % 256}.0.0/16`] };
  if (i % 30 === 1) return { name, from: [`spiffe://${TD}/ns/team-${i % 97}/*`], hosts: [`*.${partner}`], ports: [443] };
  return { name, from: [`spiffe://${TD}/ns/team-${i % 97}/sa/app-${i}`], hosts: [`api-${i}.${partner}`], ports: [443, 8443] };
}

/** A valid policy of `n` rules. */
export function largePolicy(n: number): PolicyDocument {
  const inbound = Math.round((n * 4) / 5);
  const services = Math.max(1, Math.floor(inbound / 8));
  return {
    trustDomain: TD,
    inbound: { default: 'deny', rules: Array.from({ length: inbound }, (_, i) => inboundRule(i, services)) },
    egress: { default: 'deny', rules: [{ name: 'no-metadata', action: 'deny', cidrs: ['169.254.0.0/16'] }, ...Array.from({ length: n - inbound - 1 }, (_, i) => egressRule(i + 1))] },
  };
}

/** The policy as a YAML file would hold it (block style, every value written out). */
export function largePolicyYaml(n: number): string {
  return stringify(largePolicy(n), { aliasDuplicateObjects: false, lineWidth: 0 });
}
