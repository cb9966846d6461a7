/*
 * Where a trap inside the module lands: MG_TRY() is wasm2c's wasm_rt_impl_try() without saving
 * the signal mask. wasm_rt_impl_try() uses sigsetjmp(buf, 1), which costs an rt_sigprocmask
 * system call on every entry into the module (three per request: measured with strace, about a
 * microsecond of Envoy CPU). The library installs no signal handler (explicit bounds checks,
 * WASM_RT_USE_MMAP=0, stack depth counted), so a trap is a plain siglongjmp from wasm_rt_trap on
 * the same thread with the mask unchanged: there is no mask to restore.
 */
#ifndef MESHGATE_NATIVE_TRAP_H
#define MESHGATE_NATIVE_TRAP_H

#include <setjmp.h>

#include "wasm-rt-impl.h"

#define MG_TRY()                                                                   \
  (WASM_RT_SAVE_STACK_DEPTH(), wasm_rt_set_unwind_target(&g_wasm_rt_jmp_buf),      \
   g_wasm_rt_jmp_buf.initialized = true, sigsetjmp(g_wasm_rt_jmp_buf.buffer, 0))

#endif
