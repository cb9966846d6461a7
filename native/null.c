/*
 * The floor of a dynamic-module HTTP filter, for the bench's `native-null` variant: every hook
 * Envoy 1.40 requires, each returning at once (Continue); no module instance, no reads.
 */
#include "abi.h"
#include "noop-hooks.h"

static int config_token;
static int stream_token;

EXPORT const char *envoy_dynamic_module_on_program_init(void) { return MG_ABI_VERSION; }
EXPORT const void *envoy_dynamic_module_on_http_filter_config_new(void *c, const char *n, size_t nl, const char *p, size_t pl) {
  (void)c; (void)n; (void)nl; (void)p; (void)pl;
  return &config_token;
}
EXPORT void envoy_dynamic_module_on_http_filter_config_destroy(const void *c) { (void)c; }
EXPORT const void *envoy_dynamic_module_on_http_filter_new(const void *c, void *f) { (void)c; (void)f; return &stream_token; }
EXPORT int envoy_dynamic_module_on_http_filter_request_headers(void *f, const void *s, bool e) { (void)f; (void)s; (void)e; return 0; }
EXPORT int envoy_dynamic_module_on_http_filter_request_body(void *f, const void *s, bool e) { (void)f; (void)s; (void)e; return 0; }
EXPORT void envoy_dynamic_module_on_http_filter_destroy(const void *s) { (void)s; }
