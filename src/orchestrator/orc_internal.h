/* Inside the orchestrator's logic: the registry's tables and the functions
 * its parts (registry.c, placement.c, requests.c, metrics.c) share. Not for
 * use outside src/orchestrator. */
#ifndef STRATUS_ORCHESTRATOR_ORC_INTERNAL_H
#define STRATUS_ORCHESTRATOR_ORC_INTERNAL_H

#include "orc.h"
#include "record_pool.h"
#include "records.h"
#include "store.h"
#include "strmap.h"

/* Placement latency histogram buckets (seconds, upper bounds). */
#define ORC_LATENCY_BUCKETS 12
extern const double orc_latency_bounds[ORC_LATENCY_BUCKETS];

/* A create someone sent straight to a runtime without a uuid: recorded when
 * the manager's answer names the uuid it chose. */
#define ORC_PENDING_DIRECT 256
#define ORC_PENDING_DIRECT_MS 10000
struct orc_pending_direct {
    char *object_id; /* NULL: a free slot */
    char runtime[UUID_STR_LEN];
    char *data; /* the create data, JSON text */
    uint64_t since_ms;
};

struct orc_request_count {
    char action[16];
    int ok;
    uint64_t count;
};

/* A growable array of pointers. */
struct ptrvec {
    void **v;
    size_t n, cap;
};
int ptrvec_push(struct ptrvec *pv, void *p);
void ptrvec_free(struct ptrvec *pv);

struct orc {
    char *realm;
    int ka_interval_sec;
    struct orc_io io;
    struct store *store;

    struct ptrvec managers, runtimes; /* in the order first stored */
    struct record_pool module_pool;   /* where module records live */
    struct strmap manager_by_uuid, runtime_by_uuid, module_by_uuid;
    struct strmap module_by_ack; /* ack_oid -> module awaiting its create answer */
    /* Ended modules (and those read back from the store) to leave memory:
     * every module that has not ended is in memory, ended ones only while a
     * request or a reader has them. */
    struct ptrvec ended;

    struct orc_link realm_queue; /* unpinned queued modules, oldest first */
    struct orc_pending_direct pending_direct[ORC_PENDING_DIRECT];
    uint64_t next_seq, next_queue_seq;
    int connected;

    /* Records changed by the current request, written at its end. */
    int in_request;
    struct ptrvec dirty_managers, dirty_runtimes, dirty_modules;
    struct ptrvec dirty_outputs; /* modules whose output the store lacks */
    struct ptrvec detailed;      /* modules whose detail is in memory */
    uint64_t store_errors;

    /* Metrics. */
    struct orc_request_count requests[32];
    size_t nrequests;
    uint64_t latency_counts[ORC_LATENCY_BUCKETS + 1];
    double latency_sum;
    uint64_t latency_total;
    uint64_t bad_messages;
};

/* ---- registry.c ---- */
uint64_t orc_now(struct orc *o);
double orc_wall(struct orc *o);
void orc_begin(struct orc *o);
/* Write every dirty record and commit (or roll back on a store error). */
void orc_end(struct orc *o);
void orc_mark_manager(struct orc *o, struct orc_manager *m);
void orc_mark_runtime(struct orc *o, struct orc_runtime *r);
void orc_mark_module(struct orc *o, struct orc_module *m);

struct orc_manager *orc_manager_get(struct orc *o, const char *uuid);
struct orc_runtime *orc_runtime_get(struct orc *o, const char *uuid);
/* A module in memory (every one that has not ended), or NULL. O(1). */
struct orc_module *orc_module_get(struct orc *o, const char *uuid);
/* orc_module_get, or an ended module read back from the store (in memory
 * until the end of the request, or the next tick when outside one); NULL
 * when the store has none. Cost: one store read for an ended module. */
struct orc_module *orc_module_lookup(struct orc *o, const char *uuid);
/* Put an ended module on the list of records that leave memory. */
void orc_module_ended(struct orc *o, struct orc_module *m);
int orc_add_manager(struct orc *o, const char *uuid, struct orc_manager **out);
int orc_add_runtime(struct orc *o, const char *uuid, struct orc_runtime **out);
int orc_add_module(struct orc *o, const char *uuid, struct orc_module **out);

/* Replace a string field (NULL allowed). 0 or -1 on OOM. */
int orc_set_str(char **field, const char *value);
/* Set the module's reason from a format. */
void orc_set_reason(struct orc *o, struct orc_module *m, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The module's detail: in memory, or read from the store now (a module the
 * store lacks gets an empty one). It stays until the end of the request (of
 * the next one, when outside requests), or as long as the store could not
 * take it. Never NULL. Cost: one store read when not in memory. */
struct orc_module_detail *orc_detail(struct orc *o, struct orc_module *m);
/* A fresh, empty detail for m (a new run), replacing what it had. */
struct orc_module_detail *orc_detail_new(struct orc *o, struct orc_module *m);
/* The module's name for log lines ("?" when it has none). */
const char *orc_module_name(struct orc *o, struct orc_module *m);
/* Track (or stop tracking) the answer to a create or delete of a module. */
void orc_ack_set(struct orc *o, struct orc_module *m, const char *object_id, int direct,
                 int is_delete);
void orc_ack_clear(struct orc *o, struct orc_module *m);

/* Output of a module: append (loading what the store kept first), start
 * afresh (a new run), and write what changed since the last call. */
int orc_module_append_output(struct orc *o, struct orc_module *m, const void *data, size_t len);
void orc_module_reset_output(struct orc *o, struct orc_module *m);
void orc_flush_outputs(struct orc *o);

/* orc_module_json(o, m, 1) with m->data already parsed (data, borrowed;
 * NULL: parsed here). */
json_t *orc_module_json_data(const struct orc *o, const struct orc_module *m, json_t *data);

/* The apis a create asks for: data.apis, or ["wasm", "wasi"]. */
char **orc_module_apis(json_t *data);

/* ---- placement.c ---- */
/* Whether a module asking for apis may be pinned to r: ORC_OK, or a status
 * with err. */
int orc_pin_check(const struct orc_runtime *r, char *const *apis, char err[ORC_ERR_LEN]);
/* Place a new (or newly re-run) module: pinned to its runtime (checked with
 * orc_pin_check) or on the least loaded fitting one; queued with a reason
 * when nothing has room. data (borrowed) is m->data already parsed, with the
 * module's uuid in it. */
void orc_place_new(struct orc *o, struct orc_module *m, struct orc_runtime *pinned, json_t *data);
/* Record a module someone else sent straight to runtime r: alive there,
 * never sent again. */
void orc_record_direct(struct orc *o, struct orc_module *m, struct orc_runtime *r);
/* The runtime reported the module killed without being asked: it waits,
 * killed, to be re-created when the runtime registers again. */
void orc_killed_by_runtime(struct orc *o, struct orc_module *m, const char *reason);
/* A runtime is alive (registered, or heard again): re-create its killed
 * pinned modules, then start queued ones while it has room. */
void orc_runtime_up(struct orc *o, struct orc_runtime *r);
/* A runtime ended (deleted, its manager deleted, silent too long). */
void orc_runtime_down(struct orc *o, struct orc_runtime *r, const char *why);
/* The module left its runtime's slot (it ended): state and fields set by the
 * caller; starts what waits for the slot. */
void orc_slot_freed(struct orc *o, struct orc_runtime *r);
/* End a module: state D with status and reason (exit fields are the
 * caller's); leaves its runtime or queue. */
void orc_module_end(struct orc *o, struct orc_module *m, const char *status, const char *reason);
/* Forward a delete of a module to its runtime (state E). */
void orc_forward_delete(struct orc *o, struct orc_module *m);
/* Try the queues on every live runtime (after a reconnect or a restart). */
void orc_dequeue_all(struct orc *o);
void orc_observe_latency(struct orc *o, double seconds);

/* ---- requests.c ---- */
/* Publish an error about a bad request on {realm}/proc/log/orchestrator. */
void orc_report_error(struct orc *o, const char *topic, const char *object_id, const char *action,
                      const char *reason);
void orc_count(struct orc *o, const char *action, int ok);
/* Forget uuid-less direct creates whose answer did not come in time (all of
 * them with all = 1). */
void orc_pending_direct_expire(struct orc *o, int all);

#endif
