/*
 * The dynamic-module event hooks of a network filter (envoy.extensions.filters.network.
 * dynamic_modules.v3.DynamicModuleNetworkFilter), mapped onto the module's proxy-wasm exports
 * as Envoy's Wasm network filter calls them:
 *
 *   config_new      (main thread)  mg_config_new (config.c): a refused policy refuses the config
 *   filter_new      (worker)       mg_stream_new: proxy_on_context_create(connection, root)
 *   new_connection  (worker)       proxy_on_new_connection
 *   read            (worker)       proxy_on_downstream_data with the read buffer's size; then the
 *                                  root's tick (counters)
 *   event           (worker)       a close: proxy_on_downstream_connection_close; then the tick
 *   filter_destroy  (worker)       mg_stream_destroy: proxy_on_delete
 *
 * meshgate_egress_sni and meshgate_tunnel_exit stop on a new connection and decide on the first
 * bytes; nothing runs on the write path. A trap closes the connection (Envoy's Wasm network
 * filter with fail_open false) and leaves the instance broken: its later connections are closed.
 */
#include "shim.h"
#include "trap.h"
#include "wasm-rt-exceptions.h"
#include "wasm-rt-impl.h"

/* envoy_dynamic_module_type_network_connection_event: RemoteClose, LocalClose are 0 and 1 */
enum { MG_EVENT_REMOTE_CLOSE = 0, MG_EVENT_LOCAL_CLOSE = 1 };
/* proxy-wasm PeerType of proxy_on_downstream_connection_close */
enum { PW_PEER_LOCAL = 1, PW_PEER_REMOTE = 2 };

EXPORT const void *envoy_dynamic_module_on_network_filter_config_new(void *envoy_config, mg_envoy_buffer name, mg_envoy_buffer config) {
  return mg_config_new(MG_NETWORK, envoy_config, name.ptr, name.length, config.ptr, config.length);
}

EXPORT void envoy_dynamic_module_on_network_filter_config_destroy(const void *config) { mg_config_destroy((mg_config *)config); }

EXPORT const void *envoy_dynamic_module_on_network_filter_new(const void *config, void *filter) {
  return mg_stream_new((mg_config *)config, filter);
}

static int fail_connection(void *filter) {
  envoy_dynamic_module_callback_network_filter_close(filter, MG_CLOSE_NO_FLUSH);
  return MG_NETWORK_STOP_ITERATION;
}

EXPORT int envoy_dynamic_module_on_network_filter_new_connection(void *filter, const void *stream) {
  mg_stream *s = (mg_stream *)stream;
  mg_env *env = s->env;
  if (env == NULL || env->broken || s->context == 0) return fail_connection(filter);
  env->filter = filter;
  if (MG_TRY() != 0) {
    mg_log(MG_LOG_ERROR, "meshgate native: the module trapped; its connections are closed from now on");
    env->broken = 1;
    env->filter = NULL;
    return fail_connection(filter);
  }
  uint32_t status = w2c_meshgate_proxy_on_new_connection(&env->module, s->context);
  env->filter = NULL;
  return status == 0 ? MG_NETWORK_CONTINUE : MG_NETWORK_STOP_ITERATION;
}

EXPORT int envoy_dynamic_module_on_network_filter_read(void *filter, const void *stream, size_t length, bool end_of_stream) {
  (void)length; /* the whole read buffer, as the Wasm host's proxy_on_downstream_data gets */
  mg_stream *s = (mg_stream *)stream;
  mg_env *env = s->env;
  if (env == NULL || env->broken || s->context == 0) return fail_connection(filter);
  env->filter = filter;
  env->replied = 0;
  if (MG_TRY() != 0) {
    mg_log(MG_LOG_ERROR, "meshgate native: the module trapped; its connections are closed from now on");
    env->broken = 1;
    env->filter = NULL;
    return fail_connection(filter);
  }
  mg_envoy_buffer list[MG_MAX_CHUNKS];
  size_t chunks = mg_body_chunks(env, list, MG_MAX_CHUNKS), size = 0;
  for (size_t i = 0; i < chunks; i++) size += list[i].length;
  uint32_t status = w2c_meshgate_proxy_on_downstream_data(&env->module, s->context, (uint32_t)size, end_of_stream);
  w2c_meshgate_proxy_on_tick(&env->module, MG_ROOT_CONTEXT);
  env->filter = NULL;
  if (env->replied) return MG_NETWORK_STOP_ITERATION;
  return status == 0 ? MG_NETWORK_CONTINUE : MG_NETWORK_STOP_ITERATION;
}

EXPORT int envoy_dynamic_module_on_network_filter_write(void *filter, const void *stream, size_t length, bool end_of_stream) {
  (void)filter; (void)stream; (void)length; (void)end_of_stream;
  return MG_NETWORK_CONTINUE;
}

EXPORT void envoy_dynamic_module_on_network_filter_event(void *filter, const void *stream, int event) {
  mg_stream *s = (mg_stream *)stream;
  mg_env *env = s->env;
  if (env == NULL || env->broken || s->context == 0) return;
  if (event != MG_EVENT_REMOTE_CLOSE && event != MG_EVENT_LOCAL_CLOSE) return;
  env->filter = filter;
  /* the close may count too (a connection that ends before its ClientHello is complete): tick,
   * or those counters wait for this worker's next connection */
  if (MG_TRY() == 0) {
    w2c_meshgate_proxy_on_downstream_connection_close(&env->module, s->context, event == MG_EVENT_REMOTE_CLOSE ? PW_PEER_REMOTE : PW_PEER_LOCAL);
    w2c_meshgate_proxy_on_tick(&env->module, MG_ROOT_CONTEXT);
  } else
    env->broken = 1;
  env->filter = NULL;
}

EXPORT void envoy_dynamic_module_on_network_filter_destroy(const void *stream) { mg_stream_destroy((mg_stream *)stream); }

/* Hooks Envoy 1.40 looks up for every network module that meshgate has no use for. */
EXPORT void envoy_dynamic_module_on_network_filter_above_write_buffer_high_watermark(void) {}
EXPORT void envoy_dynamic_module_on_network_filter_below_write_buffer_low_watermark(void) {}
EXPORT void envoy_dynamic_module_on_network_filter_config_scheduled(void) {}
EXPORT void envoy_dynamic_module_on_network_filter_scheduled(void) {}
EXPORT void envoy_dynamic_module_on_network_filter_http_callout_done(void) {}
