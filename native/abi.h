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

/* envoy_dynamic_module_type_on_http_filter_request_body_status (= Envoy FilterDataStatus) */
enum { MG_DATA_CONTINUE = 0 };

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

/* Counters may only be defined while envoy_dynamic_module_on_http_filter_config_new runs. */
int envoy_dynamic_module_callback_http_filter_config_define_counter(void *config, mg_module_buffer name,
                                                                    mg_module_buffer *label_names,
                                                                    size_t label_count, size_t *id);
int envoy_dynamic_module_callback_http_filter_increment_counter(void *filter, size_t id,
                                                                mg_module_buffer *label_values,
                                                                size_t label_count, uint64_t value);

#endif
