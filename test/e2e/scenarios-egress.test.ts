/**
 * test/scenarios/egress/*.yaml on both targets: a real egress gateway (envoy/egress.yaml, or
 * envoy/egress-sidecar.yaml for `identity.from: local`) with real DNS resolution through the
 * harness DNS server, and the emulator. Every request is its own test; a request also fails when
 * the two targets disagree, and a meshgate denial that caused any DNS query or external connection
 * fails on the envoy target. Egress requests go over HTTP/1.1 only (the gateway's clients).
 */
import { scenarioSuite } from './scenario-suite';

scenarioSuite('egress', ['http1']);
