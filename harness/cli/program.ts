/**
 * The `meshgate` command tree: each command lives in its own module (harness/cli/<command>.ts),
 * declares its options once, parses and prints; the harness API does the work.
 */
import { Command } from 'commander';
import type { Io } from './io';
import { registerValidate } from './validate';
import { registerRenderEnvoy } from './render-envoy';
import { registerRenderIstio } from './render-istio';
import { registerRenderRbac } from './render-rbac';
import { registerPackageOci } from './package-oci';
import { registerEval } from './eval';
import { registerTest } from './test';
import { registerReplay } from './replay';
import { registerLearn } from './learn';
import { registerExplain } from './explain';
import { registerDiff } from './diff';
import { registerStats } from './stats';
import { packageVersion } from './version';
import { resolvePackageDefaults } from './package-paths';

/** The program; it never exits the process (errors are thrown as CommanderError or Exit). */
export function buildProgram(io: Io): Command {
  const program = new Command('meshgate')
    .description('Identity-aware L7 policy for Envoy: validate, render, evaluate and test meshgate policies')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s.replace(/\n$/, '')), writeErr: (s) => io.err(s.replace(/\n$/, '')) })
    .showHelpAfterError()
    .version(packageVersion(), '-V, --version', 'print the meshgate version');
  registerValidate(program, io);
  const render = program.command('render').description('render a policy for Envoy, Istio, or as Envoy RBAC');
  registerRenderEnvoy(render, io);
  registerRenderIstio(render, io);
  registerRenderRbac(render, io);
  registerPackageOci(program.command('package').description('package the module for distribution'), io);
  registerEval(program, io);
  registerTest(program, io);
  registerReplay(program, io);
  registerLearn(program, io);
  registerExplain(program, io);
  registerDiff(program, io);
  registerStats(program, io);
  resolvePackageDefaults(program);
  return program;
}
