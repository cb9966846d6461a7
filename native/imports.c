/*
 * The module's proxy-wasm imports (the `w2c_env_*` functions build/native/meshgate.h declares; the
 * build refuses a library that leaves one undefined), served for the HTTP filter and the network
 * filter from their dynamic-module callbacks with the statuses Envoy's Wasm host gives
 * (harness/emulator is the reference for their semantics). Every guest pointer is bounds-checked
 * against the instance's linear memory; data handed to the module is copied into memory the
 * module allocates with its exported `malloc`, as the Wasm host does.
 */
#include <stdio.h>
#include <string.h>

#include "shim.h"

/* The guest bytes [ptr, ptr+len), or NULL when they are not all inside linear memory. */
uint8_t *mg_guest(mg_env *env, uint32_t ptr, uint32_t len) {
  wasm_rt_memory_t *m = w2c_meshgate_memory(&env->module);
  if ((uint64_t)ptr + len > m->size) return NULL;
  return m->data + ptr;
}

void mg_log(int level, const char *text) {
  mg_module_buffer b = {text, strlen(text)};
  envoy_dynamic_module_callback_log(level, b);
}

static int put_u32(mg_env *env, uint32_t at, uint32_t v) {
  uint8_t *p = mg_guest(env, at, 4);
  if (p == NULL) return 0;
  memcpy(p, &v, 4); /* wasm memory is little-endian, as are the targets this builds for */
  return 1;
}

/* Copies `len` bytes into module memory and writes (ptr, size) at the return addresses. */
static uint32_t give(mg_env *env, const void *src, size_t len, uint32_t ret_ptr, uint32_t ret_size) {
  if (len > 0x7fffffff) return PW_BAD_ARGUMENT;
  uint32_t at = 0;
  if (len > 0) {
    at = w2c_meshgate_malloc(&env->module, (uint32_t)len);
    uint8_t *dst = mg_guest(env, at, (uint32_t)len); /* after malloc: memory may have grown */
    if (at == 0 || dst == NULL) return PW_INVALID_MEMORY;
    memcpy(dst, src, len);
  }
  if (!put_u32(env, ret_ptr, at) || !put_u32(env, ret_size, (uint32_t)len)) return PW_INVALID_MEMORY;
  return PW_OK;
}

static int path_is(const uint8_t *p, uint32_t len, const char *want, size_t want_len) {
  return len == want_len && memcmp(p, want, want_len) == 0;
}
#define PATH_IS(p, len, lit) path_is(p, len, lit, sizeof(lit) - 1)

/* ---- logging, time, timers ------------------------------------------------------------------ */

u32 w2c_env_proxy_log(mg_env *env, u32 level, u32 ptr, u32 len) {
  if (level > 5) return PW_BAD_ARGUMENT;
  const uint8_t *text = mg_guest(env, ptr, len);
  if (text == NULL) return PW_INVALID_MEMORY;
  mg_module_buffer b = {(const char *)text, len};
  envoy_dynamic_module_callback_log((int)level, b); /* proxy-wasm and spdlog levels coincide */
  return PW_OK;
}

/* The lowest level Envoy's dynamic_modules logger lets through (proxy-wasm LogLevel). */
u32 w2c_env_proxy_get_log_level(mg_env *env, u32 ret) {
  uint32_t level = MG_LOG_TRACE;
  while (level < MG_LOG_OFF && !envoy_dynamic_module_callback_log_enabled((int)level)) level++;
  return put_u32(env, ret, level) ? PW_OK : PW_INVALID_MEMORY;
}

/* The module's timer flushes counters and re-reads the log level; hooks.c runs that tick after
 * every request instead (there is no per-worker timer in the HTTP filter ABI), so the period is
 * only acknowledged. */
u32 w2c_env_proxy_set_tick_period_milliseconds(mg_env *env, u32 period) {
  (void)env;
  (void)period;
  return PW_OK;
}

/* ---- buffers -------------------------------------------------------------------------------- */

u32 w2c_env_proxy_get_buffer_bytes(mg_env *env, u32 type, u32 start, u32 max, u32 ret_ptr, u32 ret_size) {
  if ((uint64_t)start + max > 0xffffffffu) return PW_BAD_ARGUMENT;
  if (type == PW_BUFFER_PLUGIN_CONFIGURATION) {
    const mg_config *c = env->config;
    if (start >= c->plugin_len) return give(env, NULL, 0, ret_ptr, ret_size);
    size_t n = c->plugin_len - start < max ? c->plugin_len - start : max;
    return give(env, c->plugin + start, n, ret_ptr, ret_size);
  }
  if (type != (env->config->kind == MG_NETWORK ? PW_BUFFER_DOWNSTREAM_DATA : PW_BUFFER_REQUEST_BODY))
    return type > 8 ? PW_BAD_ARGUMENT : PW_NOT_FOUND;
  if (env->filter == NULL) return PW_NOT_FOUND;
  /* [start, start+max) of the bytes so far, flattened (body.c) */
  mg_envoy_buffer list[MG_MAX_CHUNKS];
  size_t chunks = mg_body_chunks(env, list, MG_MAX_CHUNKS), total = 0;
  for (size_t i = 0; i < chunks; i++) total += list[i].length;
  if (start >= total) return give(env, NULL, 0, ret_ptr, ret_size);
  size_t n = total - start < max ? total - start : max;
  uint32_t at = w2c_meshgate_malloc(&env->module, (uint32_t)n);
  uint8_t *dst = mg_guest(env, at, (uint32_t)n);
  if (at == 0 || dst == NULL) return PW_INVALID_MEMORY;
  size_t skip = start, done = 0;
  for (size_t i = 0; i < chunks && done < n; i++) {
    size_t len = list[i].length;
    if (skip >= len) { skip -= len; continue; }
    size_t take = len - skip < n - done ? len - skip : n - done;
    memcpy(dst + done, list[i].ptr + skip, take);
    done += take;
    skip = 0;
  }
  return put_u32(env, ret_ptr, at) && put_u32(env, ret_size, (uint32_t)n) ? PW_OK : PW_INVALID_MEMORY;
}

/* As Envoy's Wasm host (Buffer::copyFrom): start 0 drains `size` bytes and puts the data in
 * front; start at or past the end appends; anything else is BadArgument. The module only writes
 * at the front (the tunnel line: egress/tunnel-release.ts adds it, egress/tunnel-exit.ts strips it). */
u32 w2c_env_proxy_set_buffer_bytes(mg_env *env, u32 type, u32 start, u32 size, u32 data_ptr, u32 data_len) {
  const uint8_t *data = mg_guest(env, data_ptr, data_len);
  if (data == NULL) return PW_INVALID_MEMORY;
  if (type != (env->config->kind == MG_NETWORK ? PW_BUFFER_DOWNSTREAM_DATA : PW_BUFFER_REQUEST_BODY))
    return type > 8 ? PW_BAD_ARGUMENT : PW_NOT_FOUND;
  if (env->filter == NULL) return PW_NOT_FOUND;
  if (start != 0) return PW_BAD_ARGUMENT; /* appending: nothing in the module does it */
  return mg_body_replace_front(env, size, data, data_len) ? PW_OK : PW_BAD_ARGUMENT;
}

/* ---- header maps ---------------------------------------------------------------------------- */

/* proxy-wasm's serialized pairs: u32 count, count × (u32 key size, u32 value size), then each
 * key and value followed by a NUL. Only the request headers exist for this filter. */
u32 w2c_env_proxy_get_header_map_pairs(mg_env *env, u32 map, u32 ret_ptr, u32 ret_size) {
  if (map != 0 || env->filter == NULL) return give(env, NULL, 0, ret_ptr, ret_size);
  size_t n = envoy_dynamic_module_callback_http_get_headers_size(env->filter, MG_REQUEST_HEADERS);
  if (n == 0 || n > 512) return give(env, NULL, 0, ret_ptr, ret_size);
  mg_header headers[512];
  if (!envoy_dynamic_module_callback_http_get_headers(env->filter, MG_REQUEST_HEADERS, headers)) return give(env, NULL, 0, ret_ptr, ret_size);
  uint64_t size = 4 + 8 * (uint64_t)n;
  for (size_t i = 0; i < n; i++) size += headers[i].key_length + headers[i].value_length + 2;
  if (size > 0x7fffffff) return PW_BAD_ARGUMENT;
  uint32_t at = w2c_meshgate_malloc(&env->module, (uint32_t)size);
  uint8_t *out = mg_guest(env, at, (uint32_t)size);
  if (at == 0 || out == NULL) return PW_INVALID_MEMORY;
  uint32_t count = (uint32_t)n;
  memcpy(out, &count, 4);
  uint8_t *sizes = out + 4, *bytes = out + 4 + 8 * n;
  for (size_t i = 0; i < n; i++) {
    uint32_t k = (uint32_t)headers[i].key_length, v = (uint32_t)headers[i].value_length;
    memcpy(sizes + 8 * i, &k, 4);
    memcpy(sizes + 8 * i + 4, &v, 4);
    memcpy(bytes, headers[i].key_ptr, k);
    bytes[k] = 0;
    bytes += k + 1;
    memcpy(bytes, headers[i].value_ptr, v);
    bytes[v] = 0;
    bytes += v + 1;
  }
  return put_u32(env, ret_ptr, at) && put_u32(env, ret_size, (uint32_t)size) ? PW_OK : PW_INVALID_MEMORY;
}

/* ---- properties ----------------------------------------------------------------------------- */

/* Filter state bytes of the current stream or connection. */
static int filter_state(mg_env *env, const char *key, mg_envoy_buffer *value) {
  mg_module_buffer k = {key, strlen(key)};
  if (env->config->kind == MG_NETWORK) return envoy_dynamic_module_callback_network_get_filter_state_bytes(env->filter, k, value);
  return envoy_dynamic_module_callback_http_get_filter_state_bytes(env->filter, k, value);
}

static int attribute_int(mg_env *env, int attribute, uint64_t *v) {
  if (env->config->kind == MG_NETWORK) {
    if (attribute == MG_ATTR_CONNECTION_ID) {
      *v = envoy_dynamic_module_callback_network_filter_get_connection_id(env->filter);
      return 1;
    }
    return envoy_dynamic_module_callback_network_filter_get_attribute_int(env->filter, attribute, v);
  }
  return envoy_dynamic_module_callback_http_filter_get_attribute_int(env->filter, attribute, v);
}

/* The properties meshgate reads (path segments joined by NUL): plugin_root_id, connection.id,
 * connection.peer_certificate, destination.port, xds.cluster_name (HTTP). Anything else is
 * NotFound. */
u32 w2c_env_proxy_get_property(mg_env *env, u32 path_ptr, u32 path_len, u32 ret_ptr, u32 ret_size) {
  const uint8_t *path = mg_guest(env, path_ptr, path_len);
  if (path == NULL) return PW_INVALID_MEMORY;
  if (PATH_IS(path, path_len, "plugin_root_id")) return give(env, env->config->root_id, env->config->root_id_len, ret_ptr, ret_size);
  if (env->filter == NULL) return PW_NOT_FOUND;
  if (PATH_IS(path, path_len, "connection\0id") || PATH_IS(path, path_len, "destination\0port")) {
    uint64_t v = 0;
    if (!attribute_int(env, path[0] == 'c' ? MG_ATTR_CONNECTION_ID : MG_ATTR_DESTINATION_PORT, &v)) return PW_NOT_FOUND;
    return give(env, &v, 8, ret_ptr, ret_size);
  }
  if (PATH_IS(path, path_len, "connection\0peer_certificate")) {
    mg_envoy_buffer value = {NULL, 0};
    /* absent: not set, empty, or the formatter's "-" (a PEM never is "-" alone) */
    if (!filter_state(env, MG_PEER_CERTIFICATE_KEY, &value) || value.length == 0 || (value.length == 1 && value.ptr[0] == '-'))
      return PW_NOT_FOUND;
    return give(env, value.ptr, value.length, ret_ptr, ret_size);
  }
  if (PATH_IS(path, path_len, "xds\0cluster_name") && env->config->kind == MG_HTTP) {
    mg_envoy_buffer value = {NULL, 0};
    if (!envoy_dynamic_module_callback_http_get_cluster_name(env->filter, &value)) return PW_NOT_FOUND;
    return give(env, value.ptr, value.length, ret_ptr, ret_size);
  }
  return PW_NOT_FOUND;
}

/* Envoy's Wasm host stores proxy_set_property(path) as filter state `wasm.<path>`; the reference
 * configs' access logs read %FILTER_STATE(wasm.meshgate:PLAIN)%, so the same key is used here. */
u32 w2c_env_proxy_set_property(mg_env *env, u32 path_ptr, u32 path_len, u32 value_ptr, u32 value_len) {
  const uint8_t *path = mg_guest(env, path_ptr, path_len);
  const uint8_t *value = mg_guest(env, value_ptr, value_len);
  if (path == NULL || value == NULL) return PW_INVALID_MEMORY;
  if (env->filter == NULL) return PW_NOT_FOUND;
  char key[256];
  if (path_len + 5 >= sizeof key) return PW_BAD_ARGUMENT;
  memcpy(key, "wasm.", 5);
  memcpy(key + 5, path, path_len);
  mg_module_buffer k = {key, path_len + 5}, v = {(const char *)value, value_len};
  int ok = env->config->kind == MG_NETWORK ? envoy_dynamic_module_callback_network_set_filter_state_bytes(env->filter, k, v)
                                           : envoy_dynamic_module_callback_http_set_filter_state_bytes(env->filter, k, v);
  return ok ? PW_OK : PW_BAD_ARGUMENT;
}

/* ---- local replies -------------------------------------------------------------------------- */

u32 w2c_env_proxy_send_local_response(mg_env *env, u32 status, u32 details_ptr, u32 details_len, u32 body_ptr,
                                      u32 body_len, u32 headers_ptr, u32 headers_len, u32 grpc_status) {
  (void)grpc_status;
  const uint8_t *details = mg_guest(env, details_ptr, details_len);
  const uint8_t *body = mg_guest(env, body_ptr, body_len);
  if (details == NULL || body == NULL || mg_guest(env, headers_ptr, headers_len) == NULL) return PW_INVALID_MEMORY;
  if (env->filter == NULL || env->config->kind != MG_HTTP) return PW_NOT_FOUND;
  /* Envoy's Wasm host turns spaces in the details into '_' (details are one token in logs) */
  char text[512];
  size_t n = details_len < sizeof text ? details_len : sizeof text;
  for (size_t i = 0; i < n; i++) text[i] = details[i] == ' ' ? '_' : (char)details[i];
  mg_module_buffer b = {(const char *)body, body_len}, d = {text, n};
  /* meshgate's replies carry no extra headers (assembly/filter/root.ts deny) */
  envoy_dynamic_module_callback_http_send_response(env->filter, status, NULL, 0, b, d);
  env->replied = 1;
  return PW_OK;
}

/* ---- metrics -------------------------------------------------------------------------------- */

/* Counters only (type 0). Defined on the configuration while Envoy allows it (config_new, where
 * hooks.c runs a first instance); later instances find the same names already defined. */
u32 w2c_env_proxy_define_metric(mg_env *env, u32 type, u32 name_ptr, u32 name_len, u32 ret_id) {
  if (type != 0) return PW_UNIMPLEMENTED;
  const uint8_t *name = mg_guest(env, name_ptr, name_len);
  if (name == NULL) return PW_INVALID_MEMORY;
  mg_config *c = env->config;
  for (size_t i = 0; i < c->counter_count; i++) {
    if (strlen(c->counter_names[i]) == name_len && memcmp(c->counter_names[i], name, name_len) == 0)
      return put_u32(env, ret_id, (uint32_t)i) ? PW_OK : PW_INVALID_MEMORY;
  }
  if (c->counters_frozen) return PW_BAD_ARGUMENT;
  size_t id = 0;
  mg_module_buffer b = {(const char *)name, name_len};
  int defined = c->kind == MG_NETWORK ? envoy_dynamic_module_callback_network_filter_config_define_counter(c->envoy_config, b, &id)
                                      : envoy_dynamic_module_callback_http_filter_config_define_counter(c->envoy_config, b, NULL, 0, &id);
  if (defined != MG_METRICS_SUCCESS) return PW_BAD_ARGUMENT;
  char **names = realloc(c->counter_names, (c->counter_count + 1) * sizeof *names);
  size_t *ids = realloc(c->counter_ids, (c->counter_count + 1) * sizeof *ids);
  if (names == NULL || ids == NULL) return PW_BAD_ARGUMENT;
  c->counter_names = names;
  c->counter_ids = ids;
  names[c->counter_count] = strndup((const char *)name, name_len);
  ids[c->counter_count] = id;
  return put_u32(env, ret_id, (uint32_t)c->counter_count++) ? PW_OK : PW_INVALID_MEMORY;
}

u32 w2c_env_proxy_increment_metric(mg_env *env, u32 id, u64 delta) {
  mg_config *c = env->config;
  if (id >= c->counter_count) return PW_NOT_FOUND;
  if ((int64_t)delta <= 0) return PW_BAD_ARGUMENT;
  if (env->filter == NULL) return PW_NOT_FOUND;
  if (c->kind == MG_NETWORK) envoy_dynamic_module_callback_network_filter_increment_counter(env->filter, c->counter_ids[id], delta);
  else envoy_dynamic_module_callback_http_filter_increment_counter(env->filter, c->counter_ids[id], NULL, 0, delta);
  return PW_OK;
}

/* ---- closing, foreign functions ------------------------------------------------------------ */

/* HTTP request stream: reset, details `wasm_close_stream` as Envoy's Wasm host sets them.
 * Network downstream: the connection is closed without flushing (nothing after the filter runs). */
u32 w2c_env_proxy_close_stream(mg_env *env, u32 stream_type) {
  if (env->filter == NULL) return PW_NOT_FOUND;
  if (env->config->kind == MG_NETWORK) {
    if (stream_type != PW_STREAM_DOWNSTREAM) return PW_BAD_ARGUMENT;
    envoy_dynamic_module_callback_network_filter_close(env->filter, MG_CLOSE_NO_FLUSH);
  } else {
    if (stream_type != PW_STREAM_REQUEST) return PW_BAD_ARGUMENT;
    static const char details[] = "wasm_close_stream";
    mg_module_buffer d = {details, sizeof details - 1};
    envoy_dynamic_module_callback_http_filter_reset_stream(env->filter, MG_RESET_LOCAL, d);
  }
  env->replied = 1;
  return PW_OK;
}

/* Reads one length-delimited or varint field of a protobuf message; 0 on malformed input. */
static int proto_field(const uint8_t **p, const uint8_t *end, uint32_t *field, const uint8_t **bytes, uint64_t *value) {
  uint64_t v = 0;
  for (int shift = 0;; shift += 7) {
    if (*p >= end || shift > 63) return 0;
    uint8_t b = *(*p)++;
    v |= (uint64_t)(b & 0x7f) << shift;
    if (!(b & 0x80)) break;
  }
  *field = (uint32_t)(v >> 3);
  uint32_t wire = v & 7;
  *value = 0;
  for (int shift = 0;; shift += 7) {
    if (*p >= end || shift > 63) return 0;
    uint8_t b = *(*p)++;
    *value |= (uint64_t)(b & 0x7f) << shift;
    if (!(b & 0x80)) break;
  }
  if (wire == 0) return 1;
  if (wire != 2 || *value > (uint64_t)(end - *p)) return 0;
  *bytes = *p;
  *p += *value;
  return 1;
}

/* `set_envoy_filter_state` (the only foreign function meshgate calls; assembly/proxywasm/
 * filter-state.ts): a SetEnvoyFilterStateArguments message {1: path, 2: value, 3: span}, served
 * by the network ABI's typed filter state (the object factory registered for the key, as the
 * Wasm host does). The span is the filter chain's, the only one the ABI offers. */
u32 w2c_env_proxy_call_foreign_function(mg_env *env, u32 name_ptr, u32 name_len, u32 args_ptr, u32 args_len,
                                        u32 ret_ptr, u32 ret_size) {
  const uint8_t *name = mg_guest(env, name_ptr, name_len);
  const uint8_t *args = mg_guest(env, args_ptr, args_len);
  if (name == NULL || args == NULL) return PW_INVALID_MEMORY;
  if (!PATH_IS(name, name_len, "set_envoy_filter_state") || env->config->kind != MG_NETWORK) return PW_NOT_FOUND;
  if (env->filter == NULL) return PW_NOT_FOUND;
  mg_module_buffer key = {NULL, 0}, value = {"", 0};
  const uint8_t *p = args, *end = args + args_len;
  while (p < end) {
    uint32_t field;
    const uint8_t *bytes = NULL;
    uint64_t n;
    if (!proto_field(&p, end, &field, &bytes, &n)) return PW_BAD_ARGUMENT;
    if (field == 1 && bytes != NULL) key = (mg_module_buffer){(const char *)bytes, n};
    if (field == 2 && bytes != NULL) value = (mg_module_buffer){(const char *)bytes, n};
  }
  if (key.ptr == NULL) return PW_BAD_ARGUMENT;
  if (!envoy_dynamic_module_callback_network_set_filter_state_typed(env->filter, key, value)) return PW_BAD_ARGUMENT;
  return give(env, NULL, 0, ret_ptr, ret_size);
}
