/**
 * Re-runs the current command inside a private user + network namespace (./netns.ts) when this
 * process cannot bind ports below 1024, so an unprivileged user gets the same real stacks —
 * Envoy, TLS, the fake external service on 443 — that root gets on the host network. Root, and
 * anyone who may already bind low ports, is left alone: their runs behave exactly as before.
 */
import { spawn } from 'node:child_process';
import * as os from 'node:os';
import { canBindLowPorts } from './privilege';
import { SANDBOX_ENV, insideSandbox, networkNamespace, sandboxArgv, sandboxUnavailable } from './netns';

export interface ReexecOptions {
  /** What runs, for messages (e.g. `the demo`, `the e2e tests`). */
  what: string;
  /** Runs outside the sandbox first (installs that need the network). */
  before?: () => Promise<void>;
}

/**
 * The exit code of `command` run in a sandbox, or undefined when the caller should go on in this
 * process (no sandbox needed, already inside one, or none can be made — then with a warning).
 */
export async function runInSandboxIfNeeded(command: string[], o: ReexecOptions): Promise<number | undefined> {
  if (canBindLowPorts() || insideSandbox()) return undefined;
  const why = sandboxUnavailable();
  if (why !== undefined) {
    process.stderr.write(
      `meshgate: ${o.what} bind ports 80 and 443, which this user may not, and no private network namespace can be made here: ${why}\n` +
        '  Binding them will fail with EACCES. Run as root, or allow it: `sysctl net.ipv4.ip_unprivileged_port_start=80`,\n' +
        '  or enable unprivileged user namespaces (`sysctl kernel.unprivileged_userns_clone=1`; on Ubuntu also\n' +
        '  `sysctl kernel.apparmor_restrict_unprivileged_userns=0`).\n',
    );
    return undefined;
  }
  await o.before?.();
  const argv = sandboxArgv(command);
  const child = spawn(argv[0], argv.slice(1), { stdio: 'inherit', env: { ...process.env, [SANDBOX_ENV]: networkNamespace() || 'unknown' } });
  // Ctrl-C reaches the child from the terminal; this process only waits for it to finish.
  const ignore = () => undefined;
  const forward = () => child.kill('SIGTERM');
  process.on('SIGINT', ignore);
  process.on('SIGTERM', forward);
  try {
    return await new Promise<number>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (code, signal) => resolve(code ?? 128 + signalNumber(signal)));
    });
  } finally {
    process.off('SIGINT', ignore);
    process.off('SIGTERM', forward);
  }
}

function signalNumber(signal: NodeJS.Signals | null): number {
  return signal ? os.constants.signals[signal] : 0;
}
