/*
 * The dynamic-module event hooks of an HTTP filter that meshgate uses (the others: noop-hooks.h),
 * mapped onto the module's proxy-wasm exports:
 *
 *   config_new      (main thread)  keep name + policy; run a first instance to refuse a bad policy
 *                                  (NULL: Envoy rejects the configuration) and to define the
 *                                  counters (only allowed during config_new)
 *   filter_new      (worker)       this thread's instance; proxy_on_context_create(stream, root)
 *   request_headers (worker)       proxy_on_request_headers; then the root's tick (counters)
 *   request_body    (worker)       proxy_on_request_body with the buffered size (CONNECT tunnels)
 *   filter_destroy  (worker)       proxy_on_delete
 *
 * A trap fails the stream with a 503 `wasm_fail_stream`, like Envoy's Wasm filter with
 * fail_open false; the instance stays broken and so does every later stream on its thread.
 */
#include <stdlib.h>
#include <string.h>

#include "noop-hooks.h"
#include "shim.h"
#include "wasm-rt-exceptions.h"
#include "wasm-rt-impl.h"

typedef struct {
  mg_env *env;
  uint32_t context;
} mg_stream;

static pthread_once_t runtime_once = PTHREAD_ONCE_INIT;
static void runtime_init(void) { wasm_rt_init(); }

EXPORT const char *envoy_dynamic_module_on_program_init(void) {
  pthread_once(&runtime_once, runtime_init);
  return MG_ABI_VERSION;
}

static char *copy(const char *p, size_t n) {
  char *s = malloc(n + 1);
  if (s != NULL) {
    memcpy(s, p, n);
    s[n] = 0;
  }
  return s;
}

static void config_free(mg_config *c) {
  for (mg_env *e = c->instances; e != NULL;) {
    mg_env *next = e->next;
    mg_instance_free(e);
    e = next;
  }
  for (size_t i = 0; i < c->counter_count; i++) free(c->counter_names[i]);
  free(c->counter_names);
  free(c->counter_ids);
  free(c->root_id);
  free(c->plugin);
  free(c);
}

EXPORT const void *envoy_dynamic_module_on_http_filter_config_new(void *envoy_config, const char *name, size_t name_len,
                                                                  const char *config, size_t config_len) {
  mg_config *c = calloc(1, sizeof *c);
  if (c == NULL) return NULL;
  c->envoy_config = envoy_config;
  c->root_id = copy(name, name_len);
  c->root_id_len = name_len;
  c->plugin = copy(config, config_len);
  c->plugin_len = config_len;
  if (c->root_id == NULL || c->plugin == NULL || mg_config_threads_init(c) != 0) {
    config_free(c);
    return NULL;
  }
  mg_env *first = mg_instance_new(c); /* logs every problem of a refused policy */
  c->counters_frozen = 1;
  if (first == NULL || first->broken) {
    if (first != NULL) mg_instance_free(first);
    pthread_key_delete(c->instance_key);
    config_free(c);
    return NULL;
  }
  mg_instance_free(first);
  return c;
}

EXPORT void envoy_dynamic_module_on_http_filter_config_destroy(const void *config) {
  mg_config *c = (mg_config *)config;
  pthread_key_delete(c->instance_key);
  config_free(c);
}

EXPORT const void *envoy_dynamic_module_on_http_filter_new(const void *config, void *filter) {
  mg_stream *s = calloc(1, sizeof *s);
  if (s == NULL) return NULL;
  s->env = mg_instance_for_thread((mg_config *)config);
  if (s->env == NULL || s->env->broken) return s;
  mg_env *env = s->env;
  s->context = env->next_context++;
  if (env->next_context == 0) env->next_context = MG_ROOT_CONTEXT + 1;
  env->filter = filter;
  if (wasm_rt_impl_try() != 0) {
    env->broken = 1;
    env->filter = NULL;
    return s;
  }
  w2c_meshgate_proxy_on_context_create(&env->module, s->context, MG_ROOT_CONTEXT);
  env->filter = NULL;
  return s;
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
  if (wasm_rt_impl_try() != 0) {
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
  if (wasm_rt_impl_try() != 0) {
    env->broken = 1;
    env->filter = NULL;
    fail_stream(filter);
    return 3; /* StopIterationNoBuffer */
  }
  size_t size = 0, chunks = envoy_dynamic_module_callback_http_get_body_chunks_size(filter, MG_BODY_BUFFERED_REQUEST);
  if (chunks > 0 && chunks <= 1024) {
    mg_envoy_buffer list[1024];
    if (envoy_dynamic_module_callback_http_get_body_chunks(filter, MG_BODY_BUFFERED_REQUEST, list))
      for (size_t i = 0; i < chunks; i++) size += list[i].length;
  }
  uint32_t status = w2c_meshgate_proxy_on_request_body(&env->module, s->context, (uint32_t)size, end_of_stream);
  w2c_meshgate_proxy_on_tick(&env->module, MG_ROOT_CONTEXT);
  env->filter = NULL;
  if (env->replied) return 3;
  return status > 3 ? 3 : (int)status; /* FilterDataStatus numbers are the same in both ABIs */
}

EXPORT void envoy_dynamic_module_on_http_filter_destroy(const void *stream) {
  mg_stream *s = (mg_stream *)stream;
  mg_env *env = s->env;
  if (env != NULL && !env->broken && s->context != 0 && wasm_rt_impl_try() == 0)
    w2c_meshgate_proxy_on_delete(&env->module, s->context);
  free(s);
}
