/*
 * Filter configurations and streams, shared by the HTTP filter (hooks.c) and the network filter
 * (network.c): both run the same module the same way.
 *
 *   mg_config_new   (main thread)  keep name + policy; run a first instance to refuse a bad policy
 *                                  (NULL: Envoy rejects the configuration) and to define the
 *                                  counters (the HTTP ABI only allows that during config_new)
 *   mg_stream_new   (worker)       this thread's instance; proxy_on_context_create(stream, root)
 *   mg_stream_destroy (worker)     proxy_on_delete
 */
#include <stdlib.h>
#include <string.h>

#include "shim.h"
#include "trap.h"
#include "wasm-rt-exceptions.h"
#include "wasm-rt-impl.h"

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

mg_config *mg_config_new(int kind, void *envoy_config, const char *name, size_t name_len, const char *plugin, size_t plugin_len) {
  mg_config *c = calloc(1, sizeof *c);
  if (c == NULL) return NULL;
  c->kind = kind;
  c->envoy_config = envoy_config;
  c->root_id = copy(name, name_len);
  c->root_id_len = name_len;
  c->plugin = copy(plugin, plugin_len);
  c->plugin_len = plugin_len;
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

void mg_config_destroy(mg_config *c) {
  pthread_key_delete(c->instance_key);
  config_free(c);
}

/* A stream on this thread's instance. Its context is 0 when the instance is broken or trapped
 * creating it: the hooks then fail the stream. NULL only when out of memory. */
mg_stream *mg_stream_new(mg_config *config, void *filter) {
  mg_stream *s = calloc(1, sizeof *s);
  if (s == NULL) return NULL;
  s->env = mg_instance_for_thread(config);
  if (s->env == NULL || s->env->broken) return s;
  mg_env *env = s->env;
  uint32_t context = env->next_context++;
  if (env->next_context == 0) env->next_context = MG_ROOT_CONTEXT + 1;
  env->filter = filter;
  if (MG_TRY() != 0) {
    env->broken = 1;
    env->filter = NULL;
    return s;
  }
  w2c_meshgate_proxy_on_context_create(&env->module, context, MG_ROOT_CONTEXT);
  env->filter = NULL;
  s->context = context;
  return s;
}

void mg_stream_destroy(mg_stream *s) {
  mg_env *env = s->env;
  if (env != NULL && !env->broken && s->context != 0 && MG_TRY() == 0)
    w2c_meshgate_proxy_on_delete(&env->module, s->context);
  free(s);
}
