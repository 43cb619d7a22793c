/* The manager's side of one runtime instance: its module table, the control
 * requests from MQTT (create/delete with acknowledgements, errors), the
 * messages from the runtime (keepalive, logs, exits, channels, profiles),
 * crash handling with bounded restarts, and stopping. The runtime's type
 * (runtime_iface.h) does the talking to the actual runtime.
 *
 * The instance reaches the rest of the manager only through struct
 * runtime_host, so tests can run it against fakes. */
#ifndef STRATUS_MANAGER_RUNTIME_H
#define STRATUS_MANAGER_RUNTIME_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "stratus/runtime_iface.h"

struct channel_table;

struct runtime_host {
    struct event_loop *loop;
    struct channel_table *channels;
    const char *realm;
    const char *manager_uuid;
    const char *module_dir; /* may be NULL */
    const char *socket_dir;
    /* Publish on MQTT through the outbox: a control message (source NULL),
     * kept until the broker has it, or output of module `source` (its
     * UUID), bounded. 0 if it went out or was kept. */
    int (*publish)(void *ctx, const char *topic, const void *payload, size_t len, int qos,
                   const char *source);
    /* Publish now or never, for keepalives (a stale one is worth nothing);
     * NULL: publish. */
    int (*publish_now)(void *ctx, const char *topic, const void *payload, size_t len, int qos,
                       const char *source);
    /* The runtime gave up after its restarts: unregister it. */
    void (*runtime_gone)(void *ctx, struct runtime *rt);
    /* runtime_stopped() was called for it. */
    void (*runtime_stopped)(void *ctx, struct runtime *rt);
    /* 1 if `uuid` belongs to anything of this node other than runtime rt's
     * own modules (the manager, a runtime, another runtime's module): a
     * module may not take it. NULL: nothing is checked. */
    int (*uuid_taken)(void *ctx, const struct runtime *rt, const char *uuid);
    /* A delete that brings no exit within this long reports the module
     * killed and frees its slot; 0: the default (5 s). */
    uint64_t delete_timeout_ms;
    /* Module files named by content (create field file_sha256,
     * docs/protocol.md "Module files"). file_dir: the node's file cache,
     * read by the runtime processes (NULL: none; such creates are
     * refused). file_acquire returns 1 when the file is cached (pinned
     * for the module), 0 when a transfer is under way (runtime_file_ready
     * follows), -1 with a reason. file_release gives back a module's pin
     * (pinned 1) or its place among a transfer's waiters (pinned 0). */
    const char *file_dir;
    int (*file_acquire)(void *ctx, struct runtime *rt, const char *sha256, uint64_t size,
                        char reason[RUNTIME_REASON_LEN]);
    void (*file_release)(void *ctx, struct runtime *rt, const char *sha256, int pinned);
    void *ctx;
};

#define RUNTIME_MAX_RESTARTS 3

/* Create a runtime of `type` named `name` (NULL: the type's default name)
 * with `uuid` (NULL: a fresh one) and program `command` (may be NULL).
 * host is copied, its strings are borrowed and must outlive the runtime. */
int runtime_new(const struct runtime_type *type, const char *name, const char *uuid,
                const char *command, const struct runtime_host *host, struct runtime **out);
void runtime_free(struct runtime *rt);
/* The runtime's position among the manager's runtimes (runtime_index). */
void runtime_set_index(struct runtime *rt, int index);

/* Build the registration data and start the runtime. 0 or -1. */
int runtime_start(struct runtime *rt);
/* Registration data (borrowed). */
json_t *runtime_registration(const struct runtime *rt);

/* A message arrived on {realm}/proc/control/{uuid}. */
void runtime_handle_control(struct runtime *rt, const void *payload, size_t len);

/* A channel message for one of the runtime's modules. */
void runtime_deliver(struct runtime *rt, int module, int channel, const void *payload, size_t len);

/* Pass a reaped child on; 1 if it was this runtime's. */
int runtime_child_exited(struct runtime *rt, pid_t pid, int status);

/* Shutdown: report the modules still running as killed, then stop the
 * runtime; host->runtime_stopped is called once it is down. */
void runtime_shutdown(struct runtime *rt);
int runtime_is_stopped(const struct runtime *rt);
/* 1 from runtime_shutdown() on: the runtime takes no more requests. */
int runtime_is_stopping(const struct runtime *rt);

/* Keepalives: the orchestrator's registration answer sets the period
 * (ka_interval_sec). Each tick publishes one for the runtime if none went
 * out (forwarded from the runtime or made here) within the period, so a
 * runtime without a process of its own (test/reg) stays alive too. */
void runtime_set_keepalive_interval(struct runtime *rt, uint64_t interval_ms);
void runtime_keepalive_tick(struct runtime *rt, uint64_t now_ms);

/* Number of modules with an index. */
int runtime_module_count(const struct runtime *rt);

/* The outbox dropped output of module `uuid` (its count-th drop during this
 * outage). Returns 1 if the module is this runtime's (the drop is then
 * counted for the keepalive's `output_dropped` and logged as a line of the
 * module's log), 0 otherwise. Cost: a scan of the module table. */
int runtime_output_dropped(struct runtime *rt, const char *uuid, uint64_t count);

/* 1 if `uuid` is this runtime's or one of its modules'. */
int runtime_owns_uuid(const struct runtime *rt, const char *uuid);

/* The transfer of file sha256 ended: ok, the modules that waited for it
 * (each now holding a pin) are sent to the runtime; otherwise they end
 * `failed` with the reason. */
void runtime_file_ready(struct runtime *rt, const char *sha256, int ok, const char *reason);

/* Handle one message from the runtime (what receive() returned). Public for
 * the tests and the fuzz target. */
void runtime_handle_frame(struct runtime *rt, const struct frame_message *msg);

#endif
