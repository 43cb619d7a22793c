/* Where the orchestrator keeps its records: a small table of operations, so
 * that the registry does not know which database it writes to (SQLite today,
 * a shared SQL server later). The registry holds every record in memory and
 * writes the ones a request changed through these operations, inside one
 * transaction per request; at start it loads them all back.
 *
 * Every operation returns 0, or -1 with a message in the store's error text
 * (store_error). Records passed in are borrowed. */
#ifndef STRATUS_ORCHESTRATOR_STORE_H
#define STRATUS_ORCHESTRATOR_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "records.h"

/* Called once per stored record while loading, oldest first (managers, then
 * runtimes, then modules). The record's strings belong to the store and
 * live during the call; runtime pointers of modules are NULL and the
 * runtime's UUID is in runtime_uuid ("" for none); a module's detail is in
 * m->detail. Return 0 to go on. */
struct store_loader {
    int (*manager)(void *ctx, const struct orc_manager *m);
    int (*runtime)(void *ctx, const struct orc_runtime *r);
    int (*module)(void *ctx, const struct orc_module *m, const char *runtime_uuid);
    void *ctx;
};

/* A module as stored, read back by get_module and list_modules. */
struct store_module_row {
    char uuid[UUID_STR_LEN];
    char state;
    uint64_t seq, queue_seq;
    char runtime[UUID_STR_LEN]; /* "" for none */
    struct orc_module_detail detail;
};

struct store;

struct store_ops {
    int (*begin)(struct store *s);
    int (*commit)(struct store *s);
    void (*rollback)(struct store *s);
    int (*put_manager)(struct store *s, const struct orc_manager *m);
    int (*put_runtime)(struct store *s, const struct orc_runtime *r);
    /* m->detail must be set: the whole record is written. */
    int (*put_module)(struct store *s, const struct orc_module *m);
    /* The stored module into *out (detail strings malloc'd: the caller
     * clears them with orc_detail_clear); *found 0 when it is not stored
     * (out then holds defaults). */
    int (*get_module)(struct store *s, const char *uuid, struct store_module_row *out, int *found);
    /* Rows start .. start+limit-1 of the modules in state `state` (0: all),
     * in the order stored, to row(ctx, r) (r and its strings live during the
     * call; return 0 to go on); *total is how many there are in all. */
    int (*list_modules)(struct store *s, char state, size_t start, size_t limit,
                        int (*row)(void *ctx, const struct store_module_row *r), void *ctx,
                        size_t *total);
    /* The newest `max` modules that have ended (ended 1) or not (0), newest
     * first, to row(ctx, r) as for list_modules. */
    int (*recent_modules)(struct store *s, int ended, size_t max,
                          int (*row)(void *ctx, const struct store_module_row *r), void *ctx);
    /* Call hit(ctx, uuid) for each module named name (when name is not
     * NULL) or whose UUID ends in suffix, in the order stored; hit returns
     * 0 to go on. */
    int (*find_modules)(struct store *s, const char *name, const char *suffix,
                        int (*hit)(void *ctx, const char *uuid), void *ctx);
    /* Replace the kept output of a module. */
    int (*put_output)(struct store *s, const char *module_uuid, const void *data, size_t len);
    /* The kept output (malloc'd into *data, caller frees; NULL and 0 when
     * there is none). */
    int (*get_output)(struct store *s, const char *module_uuid, char **data, size_t *len);
    int (*load)(struct store *s, const struct store_loader *loader);
    void (*close)(struct store *s); /* frees s */
};

#define STORE_ERR_LEN 256

struct store {
    const struct store_ops *ops;
    char err[STORE_ERR_LEN];
};

/* The SQLite store: path is a file (created when missing, WAL mode) or
 * ":memory:". Returns 0 and *out, or -1 with a message in err. */
int store_sqlite_open(const char *path, struct store **out, char err[STORE_ERR_LEN]);
/* The schema version a store of this build writes. */
int store_sqlite_schema_version(void);

static inline const char *store_error(const struct store *s)
{
    return s->err;
}

#endif
