/*
 * The dynamic-module event hooks of an HTTP filter that meshgate uses (the others: noop-hooks.h),
 * mapped onto the module's proxy-wasm exports:
 *
 *   config_new      (main thread)  mg_config_new (config.c)
 *   filter_new      (worker)       mg_stream_new: proxy_on_context_create(stream, root)
 *   request_headers (worker)       proxy_on_request_headers; then the root's tick (counters)
 *   request_body    (worker)       proxy_on_request_body with the size buffered so far plus this
 *                                  chunk (CONNECT tunnels: the inner-SNI check); its
 *                                  StopIterationAndBuffer buffers, as it does for the Wasm filter
 *   filter_destroy  (worker)       mg_stream_destroy: proxy_on_delete
 *
 * A trap fails the stream with a 503 `wasm_fail_stream`, like Envoy's Wasm filter with
 * fail_open false; the instance stays broken and so does every later stream on its thread.
 */
#include "noop-hooks.h"
#include "shim.h"
#include "trap.h"
#include "wasm-rt-exceptions.h"
#include "wasm-rt-impl.h"

static pthread_once_t runtime_once = PTHREAD_ONCE_INIT;
static void runtime_init(void) { wasm_rt_init(); }

EXPORT const char *envoy_dynamic_module_on_program_init(void) {
  pthread_once(&runtime_once, runtime_init);
  return MG_ABI_VERSION;
}

EXPORT const void *envoy_dynamic_module_on_http_filter_config_new(void *envoy_config, const char *name, size_t name_len,
                                                                  const char *config, size_t config_len) {
  return mg_config_new(MG_HTTP, envoy_config, name, name_len, config, config_len);
}

EXPORT void envoy_dynamic_module_on_http_filter_config_destroy(const void *config) { mg_config_destroy((mg_config *)config); }

EXPORT const void *envoy_dynamic_module_on_http_filter_new(const void *config, void *filter) {
  return mg_stream_new((mg_config *)config, filter);
}

static void fail_stream(void *filter) {
  static const char details[] = "wasm_fail_stream";
  mg_module_buffer body = {NULL, 0}, d = {details, sizeof details - 1};
  envoy_dynamic_module_callback_http_send_response(filter, 503, NULL, 0, body, d);
}

EXPORT int envoy_dynamic_module_on_http_filter_request_headers(void *filter, const void *stream, bool end_of_stream) {
  mg_stream *s = (mg_stream *)stream;
  mg_env *env = s->env;
  if (env == NULL || env->broken || s->context == 0) {
    fail_stream(filter);
    return MG_HEADERS_STOP_ITERATION;
  }
  env->filter = filter;
  env->replied = 0;
  uint32_t status;
  if (MG_TRY() != 0) {
    mg_log(MG_LOG_ERROR, "meshgate native: the module trapped; its streams fail from now on");
    env->broken = 1;
    env->filter = NULL;
    fail_stream(filter);
    return MG_HEADERS_STOP_ITERATION;
  }
  size_t headers = envoy_dynamic_module_callback_http_get_headers_size(filter, MG_REQUEST_HEADERS);
  status = w2c_meshgate_proxy_on_request_headers(&env->module, s->context, (uint32_t)headers, end_of_stream);
  w2c_meshgate_proxy_on_tick(&env->module, MG_ROOT_CONTEXT);
  env->filter = NULL;
  if (env->replied) return MG_HEADERS_STOP_ITERATION;
  /* as Envoy's Wasm host: anything but Continue stops all iteration (no buffering) */
  return status == 0 ? MG_HEADERS_CONTINUE : MG_HEADERS_STOP_ALL_AND_WATERMARK;
}

EXPORT int envoy_dynamic_module_on_http_filter_request_body(void *filter, const void *stream, bool end_of_stream) {
  mg_stream *s = (mg_stream *)stream;
  mg_env *env = s->env;
  if (env == NULL || env->broken || s->context == 0) return MG_DATA_CONTINUE;
  env->filter = filter;
  env->replied = 0;
  if (MG_TRY() != 0) {
    env->broken = 1;
    env->filter = NULL;
    fail_stream(filter);
    return MG_DATA_STOP_NO_BUFFER;
  }
  /* proxy-wasm's body size: everything buffered so far plus this event's chunk (body.c) */
  size_t size = 0, chunks;
  mg_envoy_buffer list[MG_MAX_CHUNKS];
  chunks = mg_body_chunks(env, list, MG_MAX_CHUNKS);
  for (size_t i = 0; i < chunks; i++) size += list[i].length;
  uint32_t status = w2c_meshgate_proxy_on_request_body(&env->module, s->context, (uint32_t)size, end_of_stream);
  w2c_meshgate_proxy_on_tick(&env->module, MG_ROOT_CONTEXT);
  env->filter = NULL;
  if (env->replied) return MG_DATA_STOP_NO_BUFFER;
  return status > MG_DATA_STOP_NO_BUFFER ? MG_DATA_STOP_NO_BUFFER : (int)status; /* same numbers in both ABIs */
}

EXPORT void envoy_dynamic_module_on_http_filter_destroy(const void *stream) { mg_stream_destroy((mg_stream *)stream); }
