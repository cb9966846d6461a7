/*
 * The part of Envoy 1.40's dynamic-module ABI that meshgate's shim uses, declared here from the
 * ABI's documented shapes (source/extensions/dynamic_modules/abi/abi.h at the tag; names kept as
 * the ABI spells them, so the loader resolves them against the Envoy binary).
 *
 * Two directions:
 *  - event hooks ("envoy_dynamic_module_on_*"): this library exports them, Envoy calls them;
 *  - callbacks ("envoy_dynamic_module_callback_*"): the Envoy binary exports them, this library
 *    calls them (left undefined at link time, bound by the dynamic loader at dlopen).
 *
 * On x86-64 and aarch64 a two-word struct passed by value travels exactly like two scalar
 * arguments, so the (pointer, length) buffers below match the ABI in both of its spellings.
 */
#ifndef MESHGATE_NATIVE_ABI_H
#define MESHGATE_NATIVE_ABI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The version string Envoy 1.40 compares with its own (dynamic_modules.cc): a mismatch only logs
 * a warning, a NULL return refuses the module. */
#define MG_ABI_VERSION "v0.2.0"

/* What this library exports to Envoy (it is compiled with -fvisibility=hidden). */
#define EXPORT __attribute__((visibility("default")))

/* Bytes owned by the module, lent to Envoy for one call. */
typedef struct {
  const char *ptr;
  size_t length;
} mg_module_buffer;

/* Bytes owned by Envoy, valid until the current event hook returns. */
typedef struct {
  const char *ptr;
  size_t length;
} mg_envoy_buffer;

typedef struct {
  const char *key_ptr;
  size_t key_length;
  const char *value_ptr;
  size_t value_length;
} mg_header;

/* envoy_dynamic_module_type_http_header_type */
enum { MG_REQUEST_HEADERS = 0, MG_REQUEST_TRAILERS = 1, MG_RESPONSE_HEADERS = 2, MG_RESPONSE_TRAILERS = 3 };

/* envoy_dynamic_module_type_http_body_type */
enum { MG_BODY_RECEIVED_REQUEST = 0, MG_BODY_BUFFERED_REQUEST = 1 };

/* envoy_dynamic_module_type_on_http_filter_request_headers_status (= Envoy FilterHeadersStatus) */
enum { MG_HEADERS_CONTINUE = 0, MG_HEADERS_STOP_ITERATION = 1, MG_HEADERS_STOP_ALL_AND_WATERMARK = 4 };

/* envoy_dynamic_module_type_on_http_filter_request_body_status (= Envoy FilterDataStatus, and
 * proxy-wasm's FilterDataStatus: the numbers coincide) */
enum { MG_DATA_CONTINUE = 0, MG_DATA_STOP_AND_BUFFER = 1, MG_DATA_STOP_NO_BUFFER = 3 };

/* envoy_dynamic_module_type_http_filter_stream_reset_reason */
enum { MG_RESET_LOCAL = 0 };

/* envoy_dynamic_module_type_on_network_filter_data_status (= Envoy Network::FilterStatus) */
enum { MG_NETWORK_CONTINUE = 0, MG_NETWORK_STOP_ITERATION = 1 };

/* envoy_dynamic_module_type_network_connection_close_type (= Envoy ConnectionCloseType) */
enum { MG_CLOSE_FLUSH_WRITE = 0, MG_CLOSE_NO_FLUSH = 1 };

/* envoy_dynamic_module_type_log_level (= spdlog's levels) */
enum { MG_LOG_TRACE = 0, MG_LOG_DEBUG, MG_LOG_INFO, MG_LOG_WARN, MG_LOG_ERROR, MG_LOG_CRITICAL, MG_LOG_OFF };

/* envoy_dynamic_module_type_attribute_id: the positions meshgate reads (the enum only grows at its
 * end; these have not moved since the enum appeared). */
enum { MG_ATTR_DESTINATION_PORT = 27, MG_ATTR_CONNECTION_ID = 28 };

/* envoy_dynamic_module_type_metrics_result */
enum { MG_METRICS_SUCCESS = 0 };

/* ---- callbacks Envoy exports ---------------------------------------------------------------- */

void envoy_dynamic_module_callback_log(int level, mg_module_buffer message);
bool envoy_dynamic_module_callback_log_enabled(int level);

bool envoy_dynamic_module_callback_http_get_header(void *filter, int header_type, mg_module_buffer key,
                                                    mg_envoy_buffer *result, size_t index, size_t *count);
size_t envoy_dynamic_module_callback_http_get_headers_size(void *filter, int header_type);
bool envoy_dynamic_module_callback_http_get_headers(void *filter, int header_type, mg_header *result);

void envoy_dynamic_module_callback_http_send_response(void *filter, uint32_t status, mg_header *headers,
                                                      size_t header_count, mg_module_buffer body,
                                                      mg_module_buffer details);

size_t envoy_dynamic_module_callback_http_get_body_chunks_size(void *filter, int body_type);
bool envoy_dynamic_module_callback_http_get_body_chunks(void *filter, int body_type, mg_envoy_buffer *chunks);

bool envoy_dynamic_module_callback_http_set_filter_state_bytes(void *filter, mg_module_buffer key,
                                                               mg_module_buffer value);
bool envoy_dynamic_module_callback_http_get_filter_state_bytes(void *filter, mg_module_buffer key,
                                                               mg_envoy_buffer *result);

bool envoy_dynamic_module_callback_http_filter_get_attribute_int(void *filter, int attribute, uint64_t *result);

/* The request body: [start, end) drained / data appended (Received = the chunk of this event,
 * Buffered = what earlier StopIterationAndBuffer kept). */
bool envoy_dynamic_module_callback_http_drain_body(void *filter, int body_type, size_t n);
bool envoy_dynamic_module_callback_http_append_body(void *filter, int body_type, mg_module_buffer data);

/* The route's cluster (proxy-wasm property xds.cluster_name). */
bool envoy_dynamic_module_callback_http_get_cluster_name(void *filter, mg_envoy_buffer *result);

/* Resets the stream; `details` become the response code details if none are set yet. */
void envoy_dynamic_module_callback_http_filter_reset_stream(void *filter, int reason, mg_module_buffer details);

/* Counters may only be defined while envoy_dynamic_module_on_http_filter_config_new runs. */
int envoy_dynamic_module_callback_http_filter_config_define_counter(void *config, mg_module_buffer name,
                                                                    mg_module_buffer *label_names,
                                                                    size_t label_count, size_t *id);
int envoy_dynamic_module_callback_http_filter_increment_counter(void *filter, size_t id,
                                                                mg_module_buffer *label_values,
                                                                size_t label_count, uint64_t value);

/* ---- network filters (envoy.extensions.filters.network.dynamic_modules.v3) ------------------- */

size_t envoy_dynamic_module_callback_network_filter_get_read_buffer_chunks_size(void *filter);
bool envoy_dynamic_module_callback_network_filter_get_read_buffer_chunks(void *filter, mg_envoy_buffer *chunks);
bool envoy_dynamic_module_callback_network_filter_drain_read_buffer(void *filter, size_t n);
bool envoy_dynamic_module_callback_network_filter_prepend_read_buffer(void *filter, mg_module_buffer data);
void envoy_dynamic_module_callback_network_filter_close(void *filter, int close_type);
uint64_t envoy_dynamic_module_callback_network_filter_get_connection_id(void *filter);
bool envoy_dynamic_module_callback_network_filter_get_attribute_int(void *filter, int attribute, uint64_t *result);
bool envoy_dynamic_module_callback_network_set_filter_state_bytes(void *filter, mg_module_buffer key, mg_module_buffer value);
bool envoy_dynamic_module_callback_network_get_filter_state_bytes(void *filter, mg_module_buffer key, mg_envoy_buffer *result);
/* Filter state through the object factory registered for `key` (envoy.upstream.dynamic_host, ...):
 * what Envoy's Wasm host does for the `set_envoy_filter_state` foreign function. */
bool envoy_dynamic_module_callback_network_set_filter_state_typed(void *filter, mg_module_buffer key, mg_module_buffer value);
int envoy_dynamic_module_callback_network_filter_config_define_counter(void *config, mg_module_buffer name, size_t *id);
int envoy_dynamic_module_callback_network_filter_increment_counter(void *filter, size_t id, uint64_t value);

#endif
