/*
 * Event hooks Envoy 1.40 requires every HTTP dynamic module to export (filter_config.cc looks each
 * up and refuses the module without it) that meshgate has no use for: response path, trailers,
 * callouts, scheduler, watermarks, per-route config. Each returns Continue or does nothing.
 * Included once per library (hooks.c, null.c).
 */
#ifndef MESHGATE_NATIVE_NOOP_HOOKS_H
#define MESHGATE_NATIVE_NOOP_HOOKS_H

#include "abi.h"

EXPORT int envoy_dynamic_module_on_http_filter_request_trailers(void *f, const void *s) { (void)f; (void)s; return 0; }
EXPORT int envoy_dynamic_module_on_http_filter_response_headers(void *f, const void *s, bool e) { (void)f; (void)s; (void)e; return 0; }
EXPORT int envoy_dynamic_module_on_http_filter_response_body(void *f, const void *s, bool e) { (void)f; (void)s; (void)e; return 0; }
EXPORT int envoy_dynamic_module_on_http_filter_response_trailers(void *f, const void *s) { (void)f; (void)s; return 0; }
EXPORT void envoy_dynamic_module_on_http_filter_stream_complete(void *f, const void *s) { (void)f; (void)s; }
EXPORT void envoy_dynamic_module_on_http_filter_http_callout_done(void) {}
EXPORT void envoy_dynamic_module_on_http_filter_http_stream_headers(void) {}
EXPORT void envoy_dynamic_module_on_http_filter_http_stream_data(void) {}
EXPORT void envoy_dynamic_module_on_http_filter_http_stream_trailers(void) {}
EXPORT void envoy_dynamic_module_on_http_filter_http_stream_complete(void) {}
EXPORT void envoy_dynamic_module_on_http_filter_http_stream_reset(void) {}
EXPORT void envoy_dynamic_module_on_http_filter_scheduled(void) {}
EXPORT void envoy_dynamic_module_on_http_filter_downstream_above_write_buffer_high_watermark(void) {}
EXPORT void envoy_dynamic_module_on_http_filter_downstream_below_write_buffer_low_watermark(void) {}
EXPORT const void *envoy_dynamic_module_on_http_filter_per_route_config_new(void) { return NULL; }
EXPORT void envoy_dynamic_module_on_http_filter_per_route_config_destroy(void) {}

#endif
