/**
 * The link-time contract of proxy-wasm-cpp-host as Envoy builds it (ABI 0.2.x): every host
 * function a module may import, and every export the host looks up, with the exact signature.
 * A module importing anything else, or importing/exporting one of these with another
 * signature, fails to load — in Envoy and here.
 */
import type { Signature, ValType } from './module';

const I: ValType = 'i32';
const L: ValType = 'i64';
const fn = (params: ValType[], results: ValType[] = [I]): Signature => ({ params, results });
const i32s = (n: number): ValType[] => Array.from({ length: n }, () => I);

/** Module `env`: the Proxy-Wasm 0.2.x host functions Envoy registers (0.1.0-only ones are absent). */
export const ENV_IMPORTS: Record<string, Signature> = {
  proxy_log: fn(i32s(3)),
  proxy_get_log_level: fn(i32s(1)),
  proxy_get_status: fn(i32s(3)),
  proxy_set_effective_context: fn(i32s(1)),
  proxy_done: fn([]),
  proxy_call_foreign_function: fn(i32s(6)),
  proxy_get_current_time_nanoseconds: fn(i32s(1)),
  proxy_set_tick_period_milliseconds: fn(i32s(1)),
  proxy_get_buffer_bytes: fn(i32s(5)),
  proxy_get_buffer_status: fn(i32s(3)),
  proxy_set_buffer_bytes: fn(i32s(5)),
  proxy_get_header_map_pairs: fn(i32s(3)),
  proxy_set_header_map_pairs: fn(i32s(3)),
  proxy_get_header_map_size: fn(i32s(2)),
  proxy_get_header_map_value: fn(i32s(5)),
  proxy_add_header_map_value: fn(i32s(5)),
  proxy_replace_header_map_value: fn(i32s(5)),
  proxy_remove_header_map_value: fn(i32s(3)),
  proxy_continue_stream: fn(i32s(1)),
  proxy_close_stream: fn(i32s(1)),
  proxy_send_local_response: fn(i32s(8)),
  proxy_http_call: fn(i32s(10)),
  proxy_grpc_call: fn(i32s(12)),
  proxy_grpc_stream: fn(i32s(9)),
  proxy_grpc_send: fn(i32s(4)),
  proxy_grpc_cancel: fn(i32s(1)),
  proxy_grpc_close: fn(i32s(1)),
  proxy_get_property: fn(i32s(4)),
  proxy_set_property: fn(i32s(4)),
  proxy_set_shared_data: fn(i32s(5)),
  proxy_get_shared_data: fn(i32s(5)),
  proxy_register_shared_queue: fn(i32s(3)),
  proxy_resolve_shared_queue: fn(i32s(5)),
  proxy_dequeue_shared_queue: fn(i32s(3)),
  proxy_enqueue_shared_queue: fn(i32s(3)),
  proxy_define_metric: fn(i32s(4)),
  proxy_increment_metric: fn([I, L]),
  proxy_record_metric: fn([I, L]),
  proxy_get_metric: fn(i32s(2)),
  envoy_resolve_dns: fn(i32s(3)),
  pthread_equal: fn(i32s(2)),
  emscripten_notify_memory_growth: fn(i32s(1), []),
};

/** WASI preview1 functions cpp-host provides, registered under both module names. */
export const WASI_IMPORTS: Record<string, Signature> = {
  fd_write: fn(i32s(4)),
  fd_pwrite: fn([I, I, I, L, I]),
  fd_read: fn(i32s(4)),
  fd_pread: fn([I, I, I, L, I]),
  fd_seek: fn([I, L, I, I]),
  fd_close: fn(i32s(1)),
  fd_fdstat_get: fn(i32s(2)),
  fd_fdstat_set_flags: fn(i32s(2)),
  fd_prestat_get: fn(i32s(2)),
  fd_prestat_dir_name: fn(i32s(3)),
  path_open: fn([I, I, I, I, I, L, L, I, I]),
  environ_get: fn(i32s(2)),
  environ_sizes_get: fn(i32s(2)),
  args_get: fn(i32s(2)),
  args_sizes_get: fn(i32s(2)),
  clock_time_get: fn([I, L, I]),
  clock_res_get: fn(i32s(2)),
  random_get: fn(i32s(2)),
  sched_yield: fn([]),
  poll_oneoff: fn(i32s(4)),
  proc_exit: fn(i32s(1), []),
};

export const WASI_MODULES = ['wasi_snapshot_preview1', 'wasi_unstable'] as const;

/** Exports cpp-host looks up, with the signature it requires ("Bad function signature for: X"). */
export const EXPORT_SIGNATURES: Record<string, Signature> = {
  proxy_abi_version_0_1_0: fn([], []),
  proxy_abi_version_0_2_0: fn([], []),
  proxy_abi_version_0_2_1: fn([], []),
  _initialize: fn([], []),
  _start: fn([], []),
  main: fn(i32s(2)),
  __main_void: fn([]),
  malloc: fn(i32s(1)),
  proxy_on_memory_allocate: fn(i32s(1)),
  proxy_on_context_create: fn(i32s(2), []),
  proxy_on_vm_start: fn(i32s(2)),
  proxy_validate_configuration: fn(i32s(2)),
  proxy_on_configure: fn(i32s(2)),
  proxy_on_tick: fn(i32s(1), []),
  proxy_on_foreign_function: fn(i32s(3), []),
  proxy_on_new_connection: fn(i32s(1)),
  proxy_on_downstream_data: fn(i32s(3)),
  proxy_on_upstream_data: fn(i32s(3)),
  proxy_on_downstream_connection_close: fn(i32s(2), []),
  proxy_on_upstream_connection_close: fn(i32s(2), []),
  proxy_on_request_headers: fn(i32s(3)),
  proxy_on_request_body: fn(i32s(3)),
  proxy_on_request_trailers: fn(i32s(2)),
  proxy_on_request_metadata: fn(i32s(2)),
  proxy_on_response_headers: fn(i32s(3)),
  proxy_on_response_body: fn(i32s(3)),
  proxy_on_response_trailers: fn(i32s(2)),
  proxy_on_response_metadata: fn(i32s(2)),
  proxy_on_http_call_response: fn(i32s(5), []),
  proxy_on_grpc_receive_initial_metadata: fn(i32s(3), []),
  proxy_on_grpc_receive_trailing_metadata: fn(i32s(3), []),
  proxy_on_grpc_receive: fn(i32s(3), []),
  proxy_on_grpc_close: fn(i32s(3), []),
  proxy_on_queue_ready: fn(i32s(2), []),
  proxy_on_done: fn(i32s(1)),
  proxy_on_log: fn(i32s(1), []),
  proxy_on_delete: fn(i32s(1), []),
  envoy_on_resolve_dns: fn(i32s(3), []),
  envoy_on_stats_update: fn(i32s(2), []),
};

/** Host functions callable while the module runs `_initialize`/`_start` (cpp-host's restricted mode). */
export const ALLOWED_WHILE_STARTING = new Set([
  'proxy_log',
  'fd_write',
  'fd_pwrite',
  'fd_fdstat_get',
  'fd_fdstat_set_flags',
  'fd_seek',
  'fd_close',
  'fd_prestat_get',
  'fd_prestat_dir_name',
  'environ_get',
  'environ_sizes_get',
  'args_get',
  'args_sizes_get',
  'clock_time_get',
  'clock_res_get',
  'random_get',
  'poll_oneoff',
  'sched_yield',
]);

/** Host functions callable while the guest's allocator runs inside a host call. */
export const ALLOWED_IN_ALLOCATOR = new Set(['proxy_log', 'fd_write', 'clock_time_get', 'poll_oneoff']);
