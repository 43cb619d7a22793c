/* One running module of the runtime process: its thread, which loads and runs
 * the WebAssembly file with WASI, sends its output and its exit over the
 * socket; and what the main thread may do to it meanwhile (feed its stdin,
 * kill it, read its usage).
 *
 * Ownership: the main thread creates a module with module_start and is its
 * only owner; the module's thread borrows it until module_join returns.
 * The main thread alone touches the stdin queue and the pipe's write end. */
#ifndef STRATUS_MODULE_H
#define STRATUS_MODULE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "channel_host.h"
#include "module_spec.h"
#include "resources.h"
#include "stratus/aot.h"
#include "stratus/wasi.h"
#include "stratus/wasm.h"

/* Runtime-wide settings every module needs. */
struct module_env {
    const char *module_dir;  /* real path of the module directory, or NULL */
    const char *dir_error;   /* why there is none */
    const char *file_dir;    /* the node's file cache (STRATUS_FILE_CACHE), or NULL */
    bool profile;            /* send a deployed profile record at exit */
    int wake_fd;             /* eventfd the thread writes when it is finished */
    bool channels;           /* modules get stratus.channel_open */
    bool free_topics;        /* modules may open topics they did not declare */
    const char *realm;       /* topic prefix (STRATUS_REALM), for the open rule */
    uint32_t max_memory_mib; /* memory cap of a module; args.max_memory may lower it */
    swaot *aot;              /* the compiled tier's cache and compiler (args.engine) */
};

struct module {
    int index;
    const struct module_env *env;
    struct module_spec spec;
    pthread_t thread;
    /* Set by the thread: 1 once it sends nothing but its exit any more,
     * 2 once it has sent that too and is returning. */
    atomic_int finishing;
    atomic_bool killed;
    /* Protects inst/ctx against kill from the main thread; `killed_cond`
     * wakes a restart backoff when the module is killed. */
    pthread_mutex_t lock;
    pthread_cond_t killed_cond;
    sw_instance *inst;
    swasi_ctx *ctx;
    /* stdin: the thread reads stdin_r; the main thread writes stdin_w
     * (non-blocking), keeping what the pipe cannot take yet in pending. */
    int stdin_r, stdin_w;
    uint8_t *pending;
    size_t pending_len, pending_cap;
    /* Usage figures. */
    uint64_t start_us;
    struct channel_counters counters;
    atomic_uint_fast64_t mem_bytes;
    /* The module's channels; the main thread delivers into them. */
    struct channel_host channels;
    /* args.resources as applied by the thread (released at join). */
    struct resources_result reservation;
};

/* Take ownership of `spec` and run the module on a new thread. Returns 0, or
 * -1 (the spec is freed, nothing started; the caller reports the failure). */
int module_start(struct module **out, int index, const struct module_env *env,
                 struct module_spec *spec);

/* Ask the module to end now (status "killed"). Any time, idempotent. */
void module_kill(struct module *m);

/* Queue stdin bytes and write what the pipe takes. Returns 0 or -1 (no
 * memory). */
int module_feed_stdin(struct module *m, const uint8_t *data, size_t len);
/* Write queued stdin bytes the pipe can take now (after POLLOUT). */
void module_flush_stdin(struct module *m);

/* Wait for the thread and free everything. */
void module_join(struct module *m);

/* Send an exited frame with status "failed" and `reason` for module index. */
void module_report_failed(int index, const char *reason);

#endif
