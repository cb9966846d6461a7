/**
 * The WASI preview1 subset cpp-host provides (under wasi_snapshot_preview1 and wasi_unstable):
 * stdout/stderr become log lines, clocks and randomness are real, the environment is
 * VmConfig.environment_variables, and there is no file system. Answers are WASI errno values.
 */
import { randomFillSync } from 'node:crypto';
import { Errno, LogLevel } from '../enums';
import type { HostState } from '../state';
import type { HostFns } from './types';

export function wasiCalls(vm: HostState): HostFns {
  const environment = Object.entries(vm.options.environment ?? {}).map(([k, v]) => Buffer.from(`${k}=${v}\0`, 'utf8'));

  return {
    fd_write(fd: number, iovs: number, count: number, nwritten: number) {
      if (fd !== 1 && fd !== 2) return Errno.Badf;
      const parts: Uint8Array[] = [];
      for (let i = 0; i < count; i++) {
        const iov = vm.read(iovs + 8 * i, 8);
        if (!iov) return Errno.Fault;
        const dv = new DataView(iov.buffer, iov.byteOffset, 8);
        const b = vm.read(dv.getUint32(0, true), dv.getUint32(4, true));
        if (!b) return Errno.Fault;
        parts.push(b);
      }
      const all = Buffer.concat(parts);
      let text = all.toString('utf8');
      if (text.endsWith('\n')) text = text.slice(0, -1); // one trailing newline is dropped
      vm.guestLog(fd === 1 ? LogLevel.Info : LogLevel.Error, text); // stdout → info, stderr → error, one line per call
      return vm.writeU32(nwritten, all.length) ? Errno.Success : Errno.Fault;
    },
    proc_exit(code: number) {
      // cpp-host only reports it (Envoy logs at trace) and returns: the VM keeps running.
      vm.guestLog(LogLevel.Trace, `wasi_unstable proc_exit(${code})`);
    },
    clock_time_get(id: number, _precision: bigint, ret: number) {
      if (id !== 0 && id !== 1) return Errno.Notsup;
      const t = id === 0 ? vm.now() : process.hrtime.bigint();
      return vm.writeU64(ret, t) ? Errno.Success : Errno.Fault;
    },
    clock_res_get(id: number, ret: number) {
      if (id !== 0 && id !== 1) return Errno.Notsup;
      return vm.writeU64(ret, 1n) ? Errno.Success : Errno.Fault;
    },
    random_get(ptr: number, len: number) {
      if (len > 65536) return Errno.Inval;
      const m = vm.mem();
      if (ptr < 0 || ptr + len > m.length) return Errno.Fault;
      randomFillSync(m, ptr, len);
      return Errno.Success;
    },
    environ_sizes_get(countPtr: number, sizePtr: number) {
      const size = environment.reduce((n, b) => n + b.length, 0);
      return vm.writeU32(countPtr, environment.length) && vm.writeU32(sizePtr, size) ? Errno.Success : Errno.Fault;
    },
    environ_get(ptrs: number, buf: number) {
      let at = buf;
      for (let i = 0; i < environment.length; i++) {
        const m = vm.mem();
        if (at + environment[i].length > m.length || !vm.writeU32(ptrs + 4 * i, at)) return Errno.Fault;
        m.set(environment[i], at);
        at += environment[i].length;
      }
      return Errno.Success;
    },
    args_sizes_get(countPtr: number, sizePtr: number) {
      return vm.writeU32(countPtr, 0) && vm.writeU32(sizePtr, 0) ? Errno.Success : Errno.Fault;
    },
    args_get() {
      return Errno.Success;
    },
    sched_yield() {
      return Errno.Success;
    },
    poll_oneoff(_in: number, _out: number, _n: number, neventsPtr: number) {
      return vm.writeU32(neventsPtr, 0) ? Errno.Success : Errno.Fault;
    },
    fd_fdstat_get(fd: number, buf: number) {
      if (fd !== 1 && fd !== 2) return Errno.Badf;
      const m = vm.mem();
      if (buf + 24 > m.length) return Errno.Fault;
      m.fill(0, buf, buf + 24);
      m[buf] = 2; // character device
      return Errno.Success;
    },
    fd_fdstat_set_flags() {
      return Errno.Nosys;
    },
    fd_prestat_get() {
      return Errno.Badf; // no preopened directories
    },
    fd_prestat_dir_name() {
      return Errno.Nosys;
    },
    fd_read() {
      return Errno.Nosys;
    },
    fd_pread() {
      return Errno.Nosys;
    },
    fd_pwrite() {
      return Errno.Badf;
    },
    fd_seek() {
      return Errno.Badf;
    },
    fd_close() {
      return Errno.Badf;
    },
    path_open() {
      return Errno.Noent;
    },
  };
}
