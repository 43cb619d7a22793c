/* The orchestrator's protocol logic (PROTOCOL.md §4-5, docs/orchestrator.md):
 * registry of managers, runtimes and modules, placement, queues, resurrection
 * of killed modules and failure detection by keepalive deadlines.
 *
 * It does no I/O and reads no clock of its own: messages come in through
 * orc_handle_message, answers to forwarded requests through orc_answer, and
 * time through orc_tick; it publishes through the functions of orc_io and
 * keeps its records through a store (store.h). That is how the unit tests
 * drive it with a fake clock and a fake store, and how the daemon (daemon.c)
 * drives it from the event loop.
 *
 * Every entry point that changes records runs in one store transaction. */
#ifndef STRATUS_ORCHESTRATOR_ORC_H
#define STRATUS_ORCHESTRATOR_ORC_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "records.h"

struct envelope;
struct store;
struct orc;

struct orc_io {
    /* Publish msg (borrowed) on topic at QoS 1; 0 if it went out. */
    int (*publish)(void *ctx, const char *topic, const json_t *msg);
    /* Publish request msg (borrowed; its object_id is object_id) on topic
     * and, later, call orc_answer(orc, object_id, answer) with the answer
     * found on the same topic, or with NULL after a deadline. 0 if it went
     * out. */
    int (*request)(void *ctx, const char *topic, const json_t *msg, const char *object_id);
    uint64_t (*now_ms)(void *ctx); /* monotonic milliseconds */
    /* 1 while the broker connection is up (may be NULL: unknown). */
    int (*connected)(void *ctx);
    double (*wall)(void *ctx); /* Unix time in seconds */
    /* The module store (may be NULL: creates naming a file by content are
     * taken unchecked): 0 with *size when it holds file sha256 (the use is
     * recorded), -1 when it does not. */
    int (*file_use)(void *ctx, const char *sha256, uint64_t *size);
    void *ctx;
};

struct orc_options {
    const char *realm;
    int ka_interval_sec; /* told to runtimes; 3 silent intervals end one; 0 = none */
    struct orc_io io;
};

#define ORC_ERR_LEN 512
/* Messages larger than this are refused before parsing. */
#define ORC_MAX_MESSAGE (1u << 20)

/* Error codes of the calls below are HTTP statuses, so the REST API passes
 * them on unchanged. */
enum orc_status {
    ORC_OK = 0,
    ORC_BAD_REQUEST = 400,
    ORC_NOT_FOUND = 404,
    ORC_CONFLICT = 409,
    ORC_TOO_LARGE = 413,
    ORC_INTERNAL = 500,
};

/* Create the orchestrator and load every record of store (borrowed; must
 * outlive it). Queued modules resume their queues; live runtimes get a fresh
 * keepalive deadline. Returns 0 and *out, or -1 with a message in err. */
int orc_new(const struct orc_options *opt, struct store *store, struct orc **out,
            char err[ORC_ERR_LEN]);
/* Write pending output, and free. */
void orc_free(struct orc *o);

/* Offer a message received on any topic of the realm. Bad input is answered
 * on {realm}/proc/log/orchestrator and changes nothing. */
void orc_handle_message(struct orc *o, const char *topic, const void *payload, size_t len);

/* The answer (NULL: none before the deadline) to a request of io.request. */
void orc_answer(struct orc *o, const char *object_id, const struct envelope *answer);

/* Expire runtimes whose keepalives stopped and write output collected since
 * the last tick. Returns the monotonic time of the next keepalive deadline,
 * or UINT64_MAX when none. */
uint64_t orc_tick(struct orc *o);

/* The broker connection is (back) up: start modules that waited for it. */
void orc_connected(struct orc *o);

/* ---- for the REST API ---- */

/* Create a module from create data (borrowed; "type" is added at its top
 * level when absent, and "uuid"), as a request on {realm}/proc/control
 * would. Returns ORC_OK and *record (the stored module, new reference), or a
 * status with err. */
int orc_create_module(struct orc *o, json_t *data, json_t **record, char err[ORC_ERR_LEN]);
/* Delete the module named by query (UUID, name or UUID suffix). */
int orc_delete_module(struct orc *o, const char *query, json_t **record, char err[ORC_ERR_LEN]);

/* Find by UUID, then name, then UUID suffix. ORC_NOT_FOUND, or ORC_CONFLICT
 * for an ambiguous name or suffix (err lists the candidates). A name or
 * suffix shared by several records picks the only live one if there is
 * exactly one. Cost: O(1) by UUID, else O(number of records). */
int orc_find_module(struct orc *o, const char *query, struct orc_module **out,
                    char err[ORC_ERR_LEN]);
int orc_find_runtime(struct orc *o, const char *query, struct orc_runtime **out,
                     char err[ORC_ERR_LEN]);

/* Records in the order they were first stored. */
size_t orc_manager_count(const struct orc *o);
struct orc_manager *orc_manager_at(const struct orc *o, size_t i);
size_t orc_runtime_count(const struct orc *o);
struct orc_runtime *orc_runtime_at(const struct orc *o, size_t i);
/* Modules stored (ended ones included), or those in one state; from the
 * store, O(1) with its index. */
size_t orc_module_count(const struct orc *o);
size_t orc_module_count_in(const struct orc *o, char state);
/* Modules whose record is in memory: every one that has not ended, and
 * ended ones a request or reader still holds. */
size_t orc_modules_in_memory(const struct orc *o);
/* A page of the module list in the order first stored (GET /api/modules/,
 * or /api/queued/ with queued_only, whose items add reason and queue):
 * {"count", "start", "results"} (new reference), or NULL on a store error. */
json_t *orc_module_page(struct orc *o, int queued_only, size_t start, size_t limit);
/* The newest `max` modules that have ended (ended 1) or not (0), newest
 * first, each as orc_module_json(..., 1) (borrowed by each, which returns
 * 0 to go on). One store query. Returns 0, or -1 on a store error. */
int orc_recent_modules(struct orc *o, int ended, size_t max, int (*each)(void *ctx, json_t *module),
                       void *ctx);

/* JSON of a record (new reference): `full` gives every stored field (the
 * lookups), otherwise the list fields (PROTOCOL.md §5). */
json_t *orc_manager_json(const struct orc *o, const struct orc_manager *m);
json_t *orc_runtime_json(const struct orc *o, const struct orc_runtime *r, int full);
json_t *orc_module_json(const struct orc *o, const struct orc_module *m, int full);

/* Every stored field of a module (read from the store when not in memory;
 * valid until the next message handled). */
const struct orc_module_detail *orc_module_detail(struct orc *o, struct orc_module *m);

/* The module's kept output, oldest byte first (malloc'd into *data; caller
 * frees). */
int orc_module_output(struct orc *o, struct orc_module *m, char **data, size_t *len);

/* Prometheus text of the metrics (malloc'd; caller frees), or NULL. */
char *orc_metrics_text(struct orc *o);

/* 1 if a module not ended names file sha256 (file_sha256). Cost:
 * O(modules). */
int orc_file_in_use(const struct orc *o, const char *sha256);

/* 1 while the broker connection is up and its subscriptions acknowledged
 * (as io.connected says): what /healthz reports as "broker". */
int orc_broker_connected(struct orc *o);

#endif
