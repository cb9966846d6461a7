// The AssemblyScript abort handler, wired with `--use abort=assembly/proxywasm/abort/meshgate_abort`
// (asconfig.json). Envoy provides no `env.abort`, so a failed assertion, bounds check or an
// abort() naming a host call and its status is logged at critical through proxy_log, and then
// the handler traps itself: the compiler puts `unreachable` after the aborts IT generates
// (assert, bounds checks), but an explicit `abort("...")` in source compiles to a plain call of
// the aliased handler that would return and carry on. Envoy then fails the stream closed (503,
// details `wasm_fail_stream`) and marks the VM failed.
//
// It allocates nothing: the handler may run because the heap is exhausted, so the message is
// encoded as UTF-8 into a static buffer (long messages are cut).
import { proxy_log } from "./imports";
import { LogLevel } from "./enums";

const CAPACITY: i32 = 1024;
const buffer = memory.data(CAPACITY);
let used: i32 = 0;

function putByte(b: i32): void {
  if (used < CAPACITY) { store<u8>(buffer + <usize>used, <u8>b); used++; }
}

/** Appends `s` as UTF-8 (a lone surrogate becomes U+FFFD). */
function putString(s: string): void {
  const n = s.length;
  for (let i = 0; i < n; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) {
      putByte(c);
    } else if (c < 0x800) {
      putByte(0xc0 | (c >> 6));
      putByte(0x80 | (c & 0x3f));
    } else {
      if (c >= 0xd800 && c < 0xdc00 && i + 1 < n) {
        const d = s.charCodeAt(i + 1);
        if (d >= 0xdc00 && d < 0xe000) {
          const cp = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
          putByte(0xf0 | (cp >> 18));
          putByte(0x80 | ((cp >> 12) & 0x3f));
          putByte(0x80 | ((cp >> 6) & 0x3f));
          putByte(0x80 | (cp & 0x3f));
          i++;
          continue;
        }
      }
      if (c >= 0xd800 && c < 0xe000) c = 0xfffd;
      putByte(0xe0 | (c >> 12));
      putByte(0x80 | ((c >> 6) & 0x3f));
      putByte(0x80 | (c & 0x3f));
    }
  }
}

function putDecimal(v: u32): void {
  let div: u32 = 1;
  while (v / div >= 10) div *= 10;
  while (div > 0) {
    putByte(0x30 + <i32>((v / div) % 10));
    div /= 10;
  }
}

export function meshgate_abort(message: string | null = null, fileName: string | null = null, line: u32 = 0, column: u32 = 0): void {
  used = 0;
  putString("meshgate abort: ");
  putString(message !== null ? message : "(no message)");
  // Compiler-generated aborts carry the source location; an explicit abort("...") does not.
  if (fileName !== null) {
    putString(" at ");
    putString(fileName);
    putByte(0x3a);
    putDecimal(line);
    putByte(0x3a);
    putDecimal(column);
  }
  // The status is ignored on purpose: there is nothing left to report a logging failure to.
  proxy_log(LogLevel.Critical, buffer, <usize>used);
  unreachable();
}
