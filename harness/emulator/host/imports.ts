/**
 * The emulator's host functions, one file per host-call family (as the Go SDK's proxytest splits
 * them), assembled into the `env` and WASI import tables. Each function reads guest memory
 * through HostState (fresh views every time) and answers a WasmResult / WASI errno; vm.ts wraps
 * them with cpp-host's restricted-mode checks. A new host call goes into the file of its family
 * (and its signature into ../signatures.ts).
 */
import type { HostState } from '../state';
import { bufferCalls } from './buffers';
import { foreignCalls } from './foreign';
import { headerCalls } from './headers';
import { loggingCalls } from './logging';
import { metricCalls } from './metrics';
import { propertyCalls } from './properties';
import { replyCalls } from './reply';
import { streamCalls } from './streams';
import { timerCalls } from './timers';
import type { HostFns } from './types';
import { wasiCalls } from './wasi';

export function buildHostImports(vm: HostState): { env: HostFns; wasi: HostFns } {
  const env: HostFns = {
    ...loggingCalls(vm),
    ...timerCalls(vm),
    ...bufferCalls(vm),
    ...headerCalls(vm),
    ...propertyCalls(vm),
    ...replyCalls(vm),
    ...metricCalls(vm),
    ...streamCalls(vm),
    ...foreignCalls(vm),
  };
  return { env, wasi: wasiCalls(vm) };
}
