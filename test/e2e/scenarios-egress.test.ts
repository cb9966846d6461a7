/**
 * test/scenarios/egress/*.yaml on both targets: a real egress gateway (envoy/egress.yaml, or
 * envoy/egress-sidecar.yaml for `identity.from: local`) with real DNS resolution through the
 * harness DNS server, and the emulator. Every request is its own test; a request also fails when
 * the two targets disagree, and a meshgate denial that caused any DNS query or external connection
 * fails on the envoy target. Egress requests go over HTTP/1.1 only (the gateway's clients).
 * Files of TLS passthrough connections (`tls:`, sni-*.yaml) run against envoy/egress-sni-sidecar.yaml
 * or envoy/egress-sni-gateway.yaml and meshgate_egress_sni; a denied connection must have caused no
 * DNS query and no external connection either, and a CONNECT refused for its inner SNI
 * (tunnel-inner-sni.yaml) no tunnel byte at the external service.
 */
import { scenarioSuite } from './scenario-suite';

scenarioSuite('egress', ['http1']);
