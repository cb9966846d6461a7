/**
 * test/scenarios/inbound/*.yaml on both targets: real Envoy (envoy/inbound.yaml) and the emulator.
 * Every request is its own test; a request also fails when the two targets disagree.
 */
import { scenarioSuite } from './scenario-suite';

scenarioSuite('inbound');
