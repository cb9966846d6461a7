/*
 * meshgate as an Envoy dynamic module: build/meshgate.wasm translated by wasm2c (build/native/
 * meshgate.c, which keeps every memory access of the module inside its own linear memory) plus
 * this shim, which
 *   - serves the module's proxy-wasm imports (imports.c) from dynamic-module callbacks, and
 *   - calls the module's proxy_on_* exports from the dynamic-module event hooks (hooks.c).
 * All decisions stay in the module: the shim only moves bytes.
 *
 * One module instance per filter configuration per Envoy worker thread (instance.c), as Envoy's
 * Wasm runtime keeps one VM per worker: callbacks of one instance never run concurrently.
 */
#ifndef MESHGATE_NATIVE_SHIM_H
#define MESHGATE_NATIVE_SHIM_H

#include <pthread.h>
#include <stdint.h>

#include "abi.h"
#include "meshgate.h"

/* proxy-wasm WasmResult values the shim returns */
enum { PW_OK = 0, PW_NOT_FOUND = 1, PW_BAD_ARGUMENT = 2, PW_INVALID_MEMORY = 6, PW_UNIMPLEMENTED = 12 };
/* proxy-wasm BufferType values the module reads or writes */
enum { PW_BUFFER_REQUEST_BODY = 0, PW_BUFFER_DOWNSTREAM_DATA = 2, PW_BUFFER_PLUGIN_CONFIGURATION = 7 };
/* proxy-wasm StreamType values of proxy_close_stream */
enum { PW_STREAM_REQUEST = 0, PW_STREAM_DOWNSTREAM = 2 };

/* Which Envoy extension a configuration belongs to: the HTTP filter (hooks.c) or the network
 * filter (network.c). The module's imports serve each from its own callbacks. */
enum { MG_HTTP = 0, MG_NETWORK = 1 };

/* The root context id every instance gives its one plugin. */
#define MG_ROOT_CONTEXT 1u

/* Filter state key the config transformation fills with %DOWNSTREAM_PEER_CERT% (URL-encoded PEM
 * of the peer's leaf: what Envoy's Wasm host serves as `connection.peer_certificate`). */
#define MG_PEER_CERTIFICATE_KEY "meshgate.peer_certificate"

/* One filter configuration (one `dynamic_modules` HTTP or network filter in Envoy's config). */
typedef struct mg_config {
  int kind;                /* MG_HTTP or MG_NETWORK */
  void *envoy_config;      /* filter_config_envoy_ptr: counters are defined on it */
  char *root_id;           /* the filter_name: the module's root_id (meshgate_inbound, ...) */
  size_t root_id_len;
  char *plugin;            /* the policy JSON: the plugin configuration */
  size_t plugin_len;
  /* counters defined at config time, by name (the instances' proxy_define_metric look them up) */
  char **counter_names;
  size_t *counter_ids;
  size_t counter_count;
  int counters_frozen;
  pthread_key_t instance_key; /* this thread's instance */
  pthread_mutex_t lock;       /* guards `instances` */
  struct w2c_env *instances;  /* every thread's instance, freed with the configuration */
} mg_config;

/* The host side of one module instance. wasm2c's generated code reaches it as `struct w2c_env*`. */
struct w2c_env {
  w2c_meshgate module;
  mg_config *config;
  void *filter;            /* the stream or connection in the current event hook (NULL outside one) */
  int broken;              /* trapped or refused its configuration: every stream fails */
  int replied;             /* the module replied, reset or closed in the current hook */
  uint32_t next_context;
  struct w2c_env *next;    /* in config->instances */
};
typedef struct w2c_env mg_env;

/* One stream (HTTP) or connection (network): its instance and proxy-wasm context id. */
typedef struct {
  mg_env *env;
  uint32_t context;
} mg_stream;

/* config.c */
mg_config *mg_config_new(int kind, void *envoy_config, const char *name, size_t name_len, const char *plugin, size_t plugin_len);
void mg_config_destroy(mg_config *config);
mg_stream *mg_stream_new(mg_config *config, void *filter);
void mg_stream_destroy(mg_stream *s);

/* body.c: the bytes proxy-wasm calls the request body (HTTP) or downstream data (network) */
size_t mg_body_chunks(mg_env *env, mg_envoy_buffer *list, size_t max);
int mg_body_replace_front(mg_env *env, size_t drain, const uint8_t *data, size_t len);
#define MG_MAX_CHUNKS 1024

/* instance.c */
mg_env *mg_instance_for_thread(mg_config *config);
mg_env *mg_instance_new(mg_config *config);
void mg_instance_free(mg_env *env);
int mg_config_threads_init(mg_config *config);

/* imports.c */
uint8_t *mg_guest(mg_env *env, uint32_t ptr, uint32_t len);
void mg_log(int level, const char *text);

#endif
