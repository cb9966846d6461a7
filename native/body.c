/*
 * The bytes proxy-wasm calls the request body (HTTP, BufferType 0) or the downstream data
 * (network, BufferType 2), as one sequence, for the current event hook only.
 *
 * HTTP: Envoy 1.40 hands a dynamic module two buffers: Buffered (what the filter kept with an
 * earlier StopIterationAndBuffer, Envoy's decodingBuffer()) and Received (this event's chunk).
 * Envoy's Wasm host shows its module both as one body, buffered bytes first; so does the shim.
 * Network: the connection's read buffer.
 *
 * Writes follow Envoy's Wasm host (proxy_set_buffer_bytes with start 0): drain `drain` bytes from
 * the front, then put `data` in front. The HTTP ABI has no prepend; the shim copies the rest of
 * the front buffer out, drains it, and appends `data` and the copy.
 */
#include <stdlib.h>
#include <string.h>

#include "shim.h"

/* The HTTP body types, front first: Buffered, then Received. */
static const int HTTP_BODIES[2] = {MG_BODY_BUFFERED_REQUEST, MG_BODY_RECEIVED_REQUEST};

static size_t http_chunks(void *filter, int type, mg_envoy_buffer *list, size_t max) {
  size_t n = envoy_dynamic_module_callback_http_get_body_chunks_size(filter, type);
  if (n == 0 || n > max) return 0;
  return envoy_dynamic_module_callback_http_get_body_chunks(filter, type, list) ? n : 0;
}

/* Fills `list` with the chunks in order; returns how many (0 when there is nothing, or more
 * than `max`). */
size_t mg_body_chunks(mg_env *env, mg_envoy_buffer *list, size_t max) {
  if (env->filter == NULL) return 0;
  if (env->config->kind == MG_NETWORK) {
    size_t n = envoy_dynamic_module_callback_network_filter_get_read_buffer_chunks_size(env->filter);
    if (n == 0 || n > max) return 0;
    return envoy_dynamic_module_callback_network_filter_get_read_buffer_chunks(env->filter, list) ? n : 0;
  }
  size_t n = http_chunks(env->filter, HTTP_BODIES[0], list, max);
  return n + http_chunks(env->filter, HTTP_BODIES[1], list + n, max - n);
}

static size_t total(const mg_envoy_buffer *list, size_t n) {
  size_t sum = 0;
  for (size_t i = 0; i < n; i++) sum += list[i].length;
  return sum;
}

/* HTTP: `data` in front of body `type` (which holds `size` bytes). */
static int http_prepend(void *filter, int type, size_t size, const uint8_t *data, size_t len) {
  char *rest = NULL;
  if (size > 0) {
    mg_envoy_buffer list[MG_MAX_CHUNKS];
    size_t n = http_chunks(filter, type, list, MG_MAX_CHUNKS);
    if (total(list, n) != size || (rest = malloc(size)) == NULL) return 0;
    for (size_t i = 0, at = 0; i < n; at += list[i].length, i++) memcpy(rest + at, list[i].ptr, list[i].length);
    if (!envoy_dynamic_module_callback_http_drain_body(filter, type, size)) {
      free(rest);
      return 0;
    }
  }
  mg_module_buffer front = {(const char *)data, len}, back = {rest, size};
  int ok = (len == 0 || envoy_dynamic_module_callback_http_append_body(filter, type, front)) &&
           (size == 0 || envoy_dynamic_module_callback_http_append_body(filter, type, back));
  free(rest);
  return ok;
}

/* 1 on success, 0 when Envoy refused an edit (the caller reports BadArgument). */
int mg_body_replace_front(mg_env *env, size_t drain, const uint8_t *data, size_t len) {
  void *f = env->filter;
  if (f == NULL) return 0;
  if (env->config->kind == MG_NETWORK) {
    if (drain > 0 && !envoy_dynamic_module_callback_network_filter_drain_read_buffer(f, drain)) return 0;
    mg_module_buffer b = {(const char *)data, len};
    return len == 0 || envoy_dynamic_module_callback_network_filter_prepend_read_buffer(f, b);
  }
  /* drain across Buffered then Received; `data` goes in front of the first that keeps bytes, or
   * of the one this event's bytes are in when both end up empty */
  mg_envoy_buffer list[MG_MAX_CHUNKS];
  size_t sizes[2];
  for (int i = 0; i < 2; i++) sizes[i] = total(list, http_chunks(f, HTTP_BODIES[i], list, MG_MAX_CHUNKS));
  for (int i = 0; i < 2 && drain > 0; i++) {
    size_t d = drain < sizes[i] ? drain : sizes[i];
    if (d > 0 && !envoy_dynamic_module_callback_http_drain_body(f, HTTP_BODIES[i], d)) return 0;
    sizes[i] -= d;
    drain -= d;
  }
  if (len == 0) return 1;
  int front = sizes[0] > 0 ? 0 : 1;
  return http_prepend(f, HTTP_BODIES[front], sizes[front], data, len);
}
