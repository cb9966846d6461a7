// The AssemblyScript abort handler (wired with `--use abort=...` in asconfig.json). Envoy has no
// `env.abort` import, so a failed assertion or bounds check logs at critical through proxy_log;
// the compiler places `unreachable` after every call, so the VM traps right after.
@external("env", "proxy_log")
declare function proxy_log_for_abort(level: i32, ptr: usize, len: usize): u32;

export function meshgate_abort(message: string | null = null, fileName: string | null = null, line: u32 = 0, column: u32 = 0): void {
  let text = "meshgate abort: " + (message !== null ? message : "(no message)");
  text += " at " + (fileName !== null ? fileName : "?") + ":" + line.toString() + ":" + column.toString();
  const bytes = String.UTF8.encode(text);
  proxy_log_for_abort(5, changetype<usize>(bytes), bytes.byteLength);
}
