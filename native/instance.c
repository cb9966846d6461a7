/*
 * Module instances: one per filter configuration per thread. An instance is started like Envoy's
 * Wasm host starts a VM for a plugin: `_initialize`, then root context MG_ROOT_CONTEXT is created
 * and configured with the policy. A configuration the module refuses, or a trap at any time,
 * leaves the instance broken: its streams fail (hooks.c), they are never let through.
 */
#include <stdlib.h>
#include <string.h>

#include "shim.h"
#include "trap.h"
#include "wasm-rt-exceptions.h"
#include "wasm-rt-impl.h"

static void forget(void *unused) { (void)unused; /* instances are owned by their configuration */ }

/* Creates and configures an instance on the calling thread. Never NULL unless out of memory. */
mg_env *mg_instance_new(mg_config *config) {
  mg_env *env = calloc(1, sizeof *env);
  if (env == NULL) return NULL;
  env->config = config;
  env->next_context = MG_ROOT_CONTEXT + 1;
  wasm2c_meshgate_instantiate(&env->module, env);
  if (MG_TRY() != 0) {
    mg_log(MG_LOG_ERROR, "meshgate native: the module trapped while starting");
    env->broken = 1;
    return env;
  }
  w2c_meshgate_0x5Finitialize(&env->module);
  w2c_meshgate_proxy_on_context_create(&env->module, MG_ROOT_CONTEXT, 0);
  if (w2c_meshgate_proxy_on_configure(&env->module, MG_ROOT_CONTEXT, (uint32_t)config->plugin_len) == 0) env->broken = 1;
  return env;
}

void mg_instance_free(mg_env *env) {
  wasm2c_meshgate_free(&env->module);
  free(env);
}

/* This thread's instance of `config`, created on first use. */
mg_env *mg_instance_for_thread(mg_config *config) {
  mg_env *env = pthread_getspecific(config->instance_key);
  if (env != NULL) return env;
  env = mg_instance_new(config);
  if (env == NULL) return NULL;
  pthread_setspecific(config->instance_key, env);
  pthread_mutex_lock(&config->lock);
  env->next = config->instances;
  config->instances = env;
  pthread_mutex_unlock(&config->lock);
  return env;
}

/* Called once per configuration, before any instance exists. */
int mg_config_threads_init(mg_config *config) {
  if (pthread_key_create(&config->instance_key, forget) != 0) return -1;
  pthread_mutex_init(&config->lock, NULL);
  return 0;
}
