/**
 * test/scenarios/adversarial/*.yaml: published bypass classes of mesh authorization, each request
 * naming its source, on real Envoy with the reference configs and on the emulator. A request the
 * policy denies that reaches the upstream is a bypass: the suite must count zero.
 */
import { scenarioSuite } from './scenario-suite';

scenarioSuite('adversarial');
