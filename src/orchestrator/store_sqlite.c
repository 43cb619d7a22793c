/* The SQLite store (see store.h): WAL journal, prepared statements made once,
 * a versioned schema brought up to date by migrations when a database is
 * opened, records written with INSERT OR REPLACE by primary key.
 *
 * Schema history (PRAGMA user_version):
 *   1  managers, runtimes, modules
 *   2  modules.restarts; outputs (the last output of each module)
 *   3  runtimes.keepalives (1 once one was heard; older rows keep the old
 *      rule: silence ends them); modules by name, by seq and by state and
 *      seq (replacing by state) (names are looked up and module lists read in the store: the
 *      orchestrator keeps no names, and no ended modules, in memory) */
#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"

struct sqlite_store {
    struct store base;
    sqlite3 *db;
    sqlite3_stmt *begin, *commit, *rollback;
    sqlite3_stmt *put_manager, *put_runtime, *put_module, *put_output, *get_output;
    sqlite3_stmt *get_module, *find_by_name, *find_by_suffix;
    sqlite3_stmt *count_all, *count_state, *list_all, *list_state, *recent_ended, *recent_live;
};

/* Each step of the schema, applied in order in its own transaction. */
static const char *const migrations[] = {
    /* 0 -> 1 */
    "CREATE TABLE managers (uuid TEXT PRIMARY KEY, name TEXT NOT NULL, alive INTEGER NOT NULL,"
    " registered_at REAL, seen_at REAL, seq INTEGER NOT NULL);"
    "CREATE TABLE runtimes (uuid TEXT PRIMARY KEY, name TEXT NOT NULL, runtime_type TEXT,"
    " max_nmodules INTEGER NOT NULL, apis TEXT NOT NULL, manager TEXT, registration TEXT,"
    " alive INTEGER NOT NULL, registered_at REAL, last_seen REAL, seq INTEGER NOT NULL);"
    "CREATE TABLE modules (uuid TEXT PRIMARY KEY, name TEXT, file TEXT, data TEXT NOT NULL,"
    " pinned TEXT, runtime TEXT, state TEXT NOT NULL, reason TEXT, status TEXT,"
    " exit_code INTEGER, created_at REAL, started_at REAL, ended_at REAL, runs INTEGER,"
    " seq INTEGER NOT NULL, queue_seq INTEGER, active INTEGER, cpu REAL, mem INTEGER);"
    "CREATE INDEX modules_by_state ON modules(state);",
    /* 1 -> 2 */
    ("ALTER TABLE modules ADD COLUMN restarts INTEGER NOT NULL DEFAULT 0;"
     "CREATE TABLE outputs (module TEXT PRIMARY KEY, data BLOB NOT NULL);"),
    /* 2 -> 3 */
    ("ALTER TABLE runtimes ADD COLUMN keepalives INTEGER NOT NULL DEFAULT 1;"
     "CREATE INDEX modules_by_name ON modules(name);"
     "CREATE INDEX modules_by_seq ON modules(seq);"
     "CREATE INDEX modules_by_state_seq ON modules(state, seq);"
     "DROP INDEX modules_by_state;"),
};
#define SCHEMA_VERSION ((int)(sizeof migrations / sizeof migrations[0]))

int store_sqlite_schema_version(void)
{
    return SCHEMA_VERSION;
}

static int fail(struct sqlite_store *s, const char *what)
{
    snprintf(s->base.err, sizeof s->base.err, "%s: %s", what, sqlite3_errmsg(s->db));
    return -1;
}

/* Run a prepared statement that returns no rows, and reset it. */
static int run(struct sqlite_store *s, sqlite3_stmt *st, const char *what)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (rc != SQLITE_DONE) return fail(s, what);
    return 0;
}

static void bind_text(sqlite3_stmt *st, int i, const char *v)
{
    if (v)
        sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i);
}

static void bind_time(sqlite3_stmt *st, int i, double t)
{
    if (t > 0)
        sqlite3_bind_double(st, i, t);
    else
        sqlite3_bind_null(st, i);
}

static char *apis_text(char *const *apis)
{
    json_t *a = json_array();
    for (char *const *p = apis; p && *p; p++)
        json_array_append_new(a, json_string(*p));
    char *t = json_dumps(a, JSON_COMPACT);
    json_decref(a);
    return t;
}

/* ---- operations ---- */

static struct sqlite_store *impl(struct store *s)
{
    return (struct sqlite_store *)s;
}

static int op_begin(struct store *st)
{
    struct sqlite_store *s = impl(st);
    return run(s, s->begin, "begin");
}

static int op_commit(struct store *st)
{
    struct sqlite_store *s = impl(st);
    return run(s, s->commit, "commit");
}

static void op_rollback(struct store *st)
{
    struct sqlite_store *s = impl(st);
    if (sqlite3_get_autocommit(s->db)) return;
    run(s, s->rollback, "rollback");
}

static int op_put_manager(struct store *st, const struct orc_manager *m)
{
    struct sqlite_store *s = impl(st);
    sqlite3_stmt *q = s->put_manager;
    bind_text(q, 1, m->uuid);
    bind_text(q, 2, m->name);
    sqlite3_bind_int(q, 3, m->alive);
    bind_time(q, 4, m->registered_at);
    bind_time(q, 5, m->seen_at);
    sqlite3_bind_int64(q, 6, (sqlite3_int64)m->seq);
    return run(s, q, "store manager");
}

static int op_put_runtime(struct store *st, const struct orc_runtime *r)
{
    struct sqlite_store *s = impl(st);
    sqlite3_stmt *q = s->put_runtime;
    char *apis = apis_text(r->apis);
    if (!apis) {
        snprintf(s->base.err, sizeof s->base.err, "store runtime: out of memory");
        return -1;
    }
    bind_text(q, 1, r->uuid);
    bind_text(q, 2, r->name);
    bind_text(q, 3, r->runtime_type);
    sqlite3_bind_int(q, 4, r->max_nmodules);
    bind_text(q, 5, apis);
    bind_text(q, 6, r->manager_uuid[0] ? r->manager_uuid : NULL);
    bind_text(q, 7, r->registration);
    sqlite3_bind_int(q, 8, r->alive);
    bind_time(q, 9, r->registered_at);
    bind_time(q, 10, r->last_seen);
    sqlite3_bind_int64(q, 11, (sqlite3_int64)r->seq);
    sqlite3_bind_int(q, 12, r->keepalives);
    int rc = run(s, q, "store runtime");
    free(apis);
    return rc;
}

static int op_put_module(struct store *st, const struct orc_module *m)
{
    struct sqlite_store *s = impl(st);
    sqlite3_stmt *q = s->put_module;
    const struct orc_module_detail *d = m->detail;
    if (!d) {
        snprintf(s->base.err, sizeof s->base.err, "store module %s: no detail", m->uuid);
        return -1;
    }
    char state[2] = {m->state, '\0'};
    bind_text(q, 1, m->uuid);
    bind_text(q, 2, d->name);
    bind_text(q, 3, d->file);
    bind_text(q, 4, d->data ? d->data : "{}");
    bind_text(q, 5, d->pinned);
    bind_text(q, 6, m->runtime ? m->runtime->uuid : NULL);
    bind_text(q, 7, state);
    bind_text(q, 8, d->reason);
    bind_text(q, 9, d->status);
    if (d->has_exit_code)
        sqlite3_bind_int(q, 10, d->exit_code);
    else
        sqlite3_bind_null(q, 10);
    bind_time(q, 11, d->created_at);
    bind_time(q, 12, d->started_at);
    bind_time(q, 13, d->ended_at);
    sqlite3_bind_int(q, 14, d->runs);
    sqlite3_bind_int64(q, 15, (sqlite3_int64)m->seq);
    sqlite3_bind_int64(q, 16, (sqlite3_int64)m->queue_seq);
    sqlite3_bind_int(q, 17, d->active);
    sqlite3_bind_double(q, 18, d->cpu_usage_percent);
    sqlite3_bind_int64(q, 19, (sqlite3_int64)d->mem_usage);
    sqlite3_bind_int(q, 20, d->restarts);
    return run(s, q, "store module");
}

static const char *col_text(sqlite3_stmt *q, int i)
{
    return (const char *)sqlite3_column_text(q, i);
}

static void copy_uuid(char out[UUID_STR_LEN], const char *v)
{
    snprintf(out, UUID_STR_LEN, "%s", v ? v : "");
}

/* Copy a text column (NULL stays NULL); -1 on OOM. */
static int col_dup(sqlite3_stmt *q, int i, char **out)
{
    const char *v = (const char *)sqlite3_column_text(q, i);
    *out = v ? strdup(v) : NULL;
    return v && !*out ? -1 : 0;
}

/* The detail columns, in the order of DETAIL_COLUMNS, from column `first`. */
#define DETAIL_COLUMNS                                                                             \
    "name, file, data, pinned, reason, status, exit_code, created_at, started_at, ended_at, "      \
    "runs, active, cpu, mem, restarts"

static void read_detail_columns(sqlite3_stmt *q, int first, struct orc_module_detail *d)
{
    d->has_exit_code = sqlite3_column_type(q, first + 6) != SQLITE_NULL;
    d->exit_code = sqlite3_column_int(q, first + 6);
    d->created_at = sqlite3_column_double(q, first + 7);
    d->started_at = sqlite3_column_double(q, first + 8);
    d->ended_at = sqlite3_column_double(q, first + 9);
    d->runs = sqlite3_column_int(q, first + 10);
    d->active = sqlite3_column_int(q, first + 11);
    d->cpu_usage_percent = sqlite3_column_double(q, first + 12);
    d->mem_usage = sqlite3_column_int64(q, first + 13);
    d->restarts = sqlite3_column_int(q, first + 14);
}

/* The row columns: DETAIL_COLUMNS, then these. */
#define ROW_COLUMNS DETAIL_COLUMNS ", uuid, runtime, state, seq, queue_seq"

/* A row of ROW_COLUMNS; the detail's strings borrowed from the statement. */
static void read_row(sqlite3_stmt *q, struct store_module_row *r)
{
    memset(r, 0, sizeof *r);
    struct orc_module_detail *d = &r->detail;
    read_detail_columns(q, 0, d);
    d->name = (char *)col_text(q, 0);
    d->file = (char *)col_text(q, 1);
    d->data = (char *)col_text(q, 2);
    d->pinned = (char *)col_text(q, 3);
    d->reason = (char *)col_text(q, 4);
    d->status = (char *)col_text(q, 5);
    copy_uuid(r->uuid, col_text(q, 15));
    copy_uuid(r->runtime, col_text(q, 16));
    const char *state = col_text(q, 17);
    r->state = state && *state ? state[0] : MOD_DEAD;
    r->seq = (uint64_t)sqlite3_column_int64(q, 18);
    r->queue_seq = (uint64_t)sqlite3_column_int64(q, 19);
}

static int op_get_module(struct store *st, const char *uuid, struct store_module_row *r, int *found)
{
    struct sqlite_store *s = impl(st);
    sqlite3_stmt *q = s->get_module;
    memset(r, 0, sizeof *r);
    r->detail.active = -1;
    *found = 0;
    bind_text(q, 1, uuid);
    int rc = sqlite3_step(q), ret = 0;
    if (rc == SQLITE_ROW) {
        *found = 1;
        read_row(q, r);
        struct orc_module_detail *d = &r->detail;
        if (col_dup(q, 0, &d->name) < 0 || col_dup(q, 1, &d->file) < 0 ||
            col_dup(q, 2, &d->data) < 0 || col_dup(q, 3, &d->pinned) < 0 ||
            col_dup(q, 4, &d->reason) < 0 || col_dup(q, 5, &d->status) < 0) {
            orc_detail_clear(d);
            snprintf(s->base.err, sizeof s->base.err, "read module: out of memory");
            ret = -1;
        }
    } else if (rc != SQLITE_DONE) {
        ret = fail(s, "read module");
    }
    sqlite3_reset(q);
    sqlite3_clear_bindings(q);
    return ret;
}

/* Step the bound statement q (of ROW_COLUMNS) to row() until it stops or
 * the rows end; reset q. */
static int each_row(struct sqlite_store *s, sqlite3_stmt *q,
                    int (*row)(void *ctx, const struct store_module_row *r), void *ctx,
                    const char *what)
{
    int rc, ret = 0;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        struct store_module_row r;
        read_row(q, &r);
        if (row(ctx, &r) != 0) break;
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) ret = fail(s, what);
    sqlite3_reset(q);
    sqlite3_clear_bindings(q);
    return ret;
}

static int op_recent_modules(struct store *st, int ended, size_t max,
                             int (*row)(void *ctx, const struct store_module_row *r), void *ctx)
{
    struct sqlite_store *s = impl(st);
    sqlite3_stmt *q = ended ? s->recent_ended : s->recent_live;
    sqlite3_bind_int64(q, 1, (sqlite3_int64)max);
    return each_row(s, q, row, ctx, "recent modules");
}

static int op_list_modules(struct store *st, char state, size_t start, size_t limit,
                           int (*row)(void *ctx, const struct store_module_row *r), void *ctx,
                           size_t *total)
{
    struct sqlite_store *s = impl(st);
    char st_text[2] = {state, '\0'};
    sqlite3_stmt *c = state ? s->count_state : s->count_all;
    if (state) bind_text(c, 1, st_text);
    int rc = sqlite3_step(c);
    *total = rc == SQLITE_ROW ? (size_t)sqlite3_column_int64(c, 0) : 0;
    sqlite3_reset(c);
    sqlite3_clear_bindings(c);
    if (rc != SQLITE_ROW) return fail(s, "count modules");
    if (!limit) return 0;
    sqlite3_stmt *q = state ? s->list_state : s->list_all;
    int i = 1;
    if (state) bind_text(q, i++, st_text);
    sqlite3_bind_int64(q, i++, (sqlite3_int64)limit);
    sqlite3_bind_int64(q, i, (sqlite3_int64)start);
    return each_row(s, q, row, ctx, "list modules");
}

static int op_find_modules(struct store *st, const char *name, const char *suffix,
                           int (*hit)(void *ctx, const char *uuid), void *ctx)
{
    struct sqlite_store *s = impl(st);
    sqlite3_stmt *q = name ? s->find_by_name : s->find_by_suffix;
    bind_text(q, 1, name ? name : suffix);
    int rc, ret = 0;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        const char *uuid = (const char *)sqlite3_column_text(q, 0);
        /* LIKE would take '%' and '_' in the suffix as patterns: the
         * comparison that counts is this one. */
        size_t n = uuid ? strlen(uuid) : 0, k = strlen(name ? "" : suffix);
        if (!uuid || (!name && (k > n || strcmp(uuid + n - k, suffix)))) continue;
        if (hit(ctx, uuid) != 0) break;
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) ret = fail(s, "find modules");
    sqlite3_reset(q);
    sqlite3_clear_bindings(q);
    return ret;
}

static int op_put_output(struct store *st, const char *uuid, const void *data, size_t len)
{
    struct sqlite_store *s = impl(st);
    sqlite3_stmt *q = s->put_output;
    bind_text(q, 1, uuid);
    sqlite3_bind_blob(q, 2, len ? data : "", (int)len, SQLITE_STATIC);
    return run(s, q, "store output");
}

static int op_get_output(struct store *st, const char *uuid, char **data, size_t *len)
{
    struct sqlite_store *s = impl(st);
    sqlite3_stmt *q = s->get_output;
    *data = NULL;
    *len = 0;
    bind_text(q, 1, uuid);
    int rc = sqlite3_step(q), ret = 0;
    if (rc == SQLITE_ROW) {
        int n = sqlite3_column_bytes(q, 0);
        const void *b = sqlite3_column_blob(q, 0);
        if (n > 0 && b) {
            *data = malloc((size_t)n);
            if (*data) {
                memcpy(*data, b, (size_t)n);
                *len = (size_t)n;
            } else {
                ret = -1;
                snprintf(s->base.err, sizeof s->base.err, "read output: out of memory");
            }
        }
    } else if (rc != SQLITE_DONE) {
        ret = fail(s, "read output");
    }
    sqlite3_reset(q);
    sqlite3_clear_bindings(q);
    return ret;
}

/* ---- loading ---- */

static char **apis_parse(const char *text)
{
    json_t *a = text ? json_loads(text, 0, NULL) : NULL;
    size_t n = json_is_array(a) ? json_array_size(a) : 0;
    char **v = calloc(n + 1, sizeof *v);
    for (size_t i = 0, k = 0; v && i < n; i++) {
        const char *s = json_string_value(json_array_get(a, i));
        if (s && !(v[k++] = strdup(s))) {
            orc_strv_free(v);
            v = NULL;
        }
    }
    json_decref(a);
    return v;
}

static int load_managers(struct sqlite_store *s, const struct store_loader *l)
{
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT uuid, name, alive, registered_at, seen_at, seq FROM managers "
                           "ORDER BY seq",
                           -1, &q, NULL) != SQLITE_OK)
        return fail(s, "load managers");
    int rc = 0, step;
    while (rc == 0 && (step = sqlite3_step(q)) == SQLITE_ROW) {
        struct orc_manager m = {0};
        copy_uuid(m.uuid, col_text(q, 0));
        m.name = (char *)col_text(q, 1);
        m.alive = sqlite3_column_int(q, 2);
        m.registered_at = sqlite3_column_double(q, 3);
        m.seen_at = sqlite3_column_double(q, 4);
        m.seq = (uint64_t)sqlite3_column_int64(q, 5);
        rc = l->manager(l->ctx, &m);
    }
    if (rc == 0 && step != SQLITE_DONE) rc = fail(s, "load managers");
    sqlite3_finalize(q);
    return rc;
}

static int load_runtimes(struct sqlite_store *s, const struct store_loader *l)
{
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT uuid, name, runtime_type, max_nmodules, apis, manager, "
                           "registration, alive, registered_at, last_seen, seq, keepalives "
                           "FROM runtimes ORDER BY seq",
                           -1, &q, NULL) != SQLITE_OK)
        return fail(s, "load runtimes");
    int rc = 0, step;
    while (rc == 0 && (step = sqlite3_step(q)) == SQLITE_ROW) {
        struct orc_runtime r = {0};
        copy_uuid(r.uuid, col_text(q, 0));
        r.name = (char *)col_text(q, 1);
        r.runtime_type = (char *)col_text(q, 2);
        r.max_nmodules = sqlite3_column_int(q, 3);
        r.apis = apis_parse(col_text(q, 4));
        copy_uuid(r.manager_uuid, col_text(q, 5));
        r.registration = (char *)col_text(q, 6);
        r.alive = sqlite3_column_int(q, 7);
        r.registered_at = sqlite3_column_double(q, 8);
        r.last_seen = sqlite3_column_double(q, 9);
        r.seq = (uint64_t)sqlite3_column_int64(q, 10);
        r.keepalives = sqlite3_column_int(q, 11);
        if (!r.apis) {
            snprintf(s->base.err, sizeof s->base.err, "load runtimes: out of memory");
            rc = -1;
            break;
        }
        rc = l->runtime(l->ctx, &r);
        orc_strv_free(r.apis);
    }
    if (rc == 0 && step != SQLITE_DONE && step != SQLITE_ROW) rc = fail(s, "load runtimes");
    sqlite3_finalize(q);
    return rc;
}

static int load_modules(struct sqlite_store *s, const struct store_loader *l)
{
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(s->db, "SELECT " ROW_COLUMNS " FROM modules ORDER BY seq", -1, &q,
                           NULL) != SQLITE_OK)
        return fail(s, "load modules");
    int rc = 0, step;
    while (rc == 0 && (step = sqlite3_step(q)) == SQLITE_ROW) {
        struct store_module_row r;
        read_row(q, &r);
        struct orc_module m = {0};
        memcpy(m.uuid, r.uuid, sizeof m.uuid);
        m.state = r.state;
        m.seq = r.seq;
        m.queue_seq = r.queue_seq;
        m.detail = &r.detail;
        rc = l->module(l->ctx, &m, r.runtime);
    }
    if (rc == 0 && step != SQLITE_DONE && step != SQLITE_ROW) rc = fail(s, "load modules");
    sqlite3_finalize(q);
    return rc;
}

static int op_load(struct store *st, const struct store_loader *l)
{
    struct sqlite_store *s = impl(st);
    if (load_managers(s, l) < 0 || load_runtimes(s, l) < 0 || load_modules(s, l) < 0) return -1;
    return 0;
}

static void op_close(struct store *st)
{
    struct sqlite_store *s = impl(st);
    sqlite3_stmt *all[] = {s->begin,       s->commit,       s->rollback,       s->put_manager,
                           s->put_runtime, s->put_module,   s->put_output,     s->get_output,
                           s->get_module,  s->find_by_name, s->find_by_suffix, s->count_all,
                           s->count_state, s->list_all,     s->list_state,     s->recent_ended,
                           s->recent_live};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        sqlite3_finalize(all[i]);
    sqlite3_close(s->db);
    free(s);
}

static const struct store_ops sqlite_ops = {
    .begin = op_begin,
    .commit = op_commit,
    .rollback = op_rollback,
    .put_manager = op_put_manager,
    .put_runtime = op_put_runtime,
    .put_module = op_put_module,
    .get_module = op_get_module,
    .list_modules = op_list_modules,
    .recent_modules = op_recent_modules,
    .find_modules = op_find_modules,
    .put_output = op_put_output,
    .get_output = op_get_output,
    .load = op_load,
    .close = op_close,
};

/* ---- opening ---- */

static int exec(struct sqlite_store *s, const char *sql, const char *what)
{
    char *msg = NULL;
    if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        snprintf(s->base.err, sizeof s->base.err, "%s: %s", what, msg ? msg : "?");
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

static int user_version(struct sqlite_store *s, int *v)
{
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &q, NULL) != SQLITE_OK)
        return fail(s, "schema version");
    int rc = sqlite3_step(q);
    *v = rc == SQLITE_ROW ? sqlite3_column_int(q, 0) : 0;
    sqlite3_finalize(q);
    return rc == SQLITE_ROW ? 0 : fail(s, "schema version");
}

static int migrate(struct sqlite_store *s)
{
    int v;
    if (user_version(s, &v) < 0) return -1;
    if (v > SCHEMA_VERSION) {
        snprintf(s->base.err, sizeof s->base.err,
                 "the database has schema version %d, newer than this orchestrator's (%d)", v,
                 SCHEMA_VERSION);
        return -1;
    }
    for (; v < SCHEMA_VERSION; v++) {
        char pragma[64];
        snprintf(pragma, sizeof pragma, "PRAGMA user_version = %d;", v + 1);
        if (exec(s, "BEGIN IMMEDIATE", "migration") < 0) return -1;
        if (exec(s, migrations[v], "migration") < 0 || exec(s, pragma, "migration") < 0) {
            exec(s, "ROLLBACK", "migration");
            return -1;
        }
        if (exec(s, "COMMIT", "migration") < 0) return -1;
    }
    return 0;
}

static int prepare(struct sqlite_store *s, sqlite3_stmt **st, const char *sql)
{
    if (sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL) != SQLITE_OK)
        return fail(s, "prepare");
    return 0;
}

int store_sqlite_open(const char *path, struct store **out, char err[STORE_ERR_LEN])
{
    struct sqlite_store *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, STORE_ERR_LEN, "out of memory");
        return -1;
    }
    s->base.ops = &sqlite_ops;
    int rc = sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    if (rc != SQLITE_OK) {
        snprintf(err, STORE_ERR_LEN, "%s: %s", path, s->db ? sqlite3_errmsg(s->db) : "cannot open");
        sqlite3_close(s->db);
        free(s);
        return -1;
    }
    sqlite3_busy_timeout(s->db, 5000);
    /* WAL: readers never block the writer; NORMAL: a commit is durable
     * against a crash of this process (the point of a restartable
     * orchestrator), and against power loss up to the last checkpoint. */
    /* A small page cache: module records are read back from the store
     * (the OS keeps the file's pages), and the process stays small. */
    int ok =
        exec(s, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA cache_size=-256;",
             "open") == 0 &&
        migrate(s) == 0 && prepare(s, &s->begin, "BEGIN IMMEDIATE") == 0 &&
        prepare(s, &s->commit, "COMMIT") == 0 && prepare(s, &s->rollback, "ROLLBACK") == 0 &&
        prepare(s, &s->put_manager,
                "INSERT OR REPLACE INTO managers (uuid, name, alive, registered_at, seen_at, "
                "seq) VALUES (?1, ?2, ?3, ?4, ?5, ?6)") == 0 &&
        prepare(s, &s->put_runtime,
                "INSERT OR REPLACE INTO runtimes (uuid, name, runtime_type, max_nmodules, "
                "apis, manager, registration, alive, registered_at, last_seen, seq, "
                "keepalives) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)") == 0 &&
        prepare(s, &s->put_module,
                /* An update in place touches only the indexes of what changed
                 * (INSERT OR REPLACE would delete and insert the row). */
                "INSERT INTO modules (uuid, name, file, data, pinned, runtime, "
                "state, reason, status, exit_code, created_at, started_at, ended_at, runs, "
                "seq, queue_seq, active, cpu, mem, restarts) VALUES (?1, ?2, ?3, ?4, ?5, "
                "?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20) "
                "ON CONFLICT(uuid) DO UPDATE SET name = ?2, file = ?3, data = ?4, pinned = ?5, "
                "runtime = ?6, state = ?7, reason = ?8, status = ?9, exit_code = ?10, "
                "created_at = ?11, started_at = ?12, ended_at = ?13, runs = ?14, seq = ?15, "
                "queue_seq = ?16, active = ?17, cpu = ?18, mem = ?19, restarts = ?20") == 0 &&
        prepare(s, &s->put_output,
                "INSERT OR REPLACE INTO outputs (module, data) VALUES (?1, ?2)") == 0 &&
        prepare(s, &s->get_output, "SELECT data FROM outputs WHERE module = ?1") == 0 &&
        prepare(s, &s->get_module, "SELECT " ROW_COLUMNS " FROM modules WHERE uuid = ?1") == 0 &&
        prepare(s, &s->count_all, "SELECT count(*) FROM modules") == 0 &&
        prepare(s, &s->recent_ended,
                "SELECT " ROW_COLUMNS
                " FROM modules WHERE state = 'D' ORDER BY seq DESC LIMIT ?1") == 0 &&
        prepare(s, &s->recent_live,
                "SELECT " ROW_COLUMNS " FROM modules WHERE state IN ('A', 'E', 'K', 'Q') "
                "ORDER BY seq DESC LIMIT ?1") == 0 &&
        prepare(s, &s->count_state, "SELECT count(*) FROM modules WHERE state = ?1") == 0 &&
        prepare(s, &s->list_all,
                "SELECT " ROW_COLUMNS " FROM modules ORDER BY seq LIMIT ?1 OFFSET ?2") == 0 &&
        prepare(s, &s->list_state,
                "SELECT " ROW_COLUMNS
                " FROM modules WHERE state = ?1 ORDER BY seq LIMIT ?2 OFFSET ?3") == 0 &&
        prepare(s, &s->find_by_name, "SELECT uuid FROM modules WHERE name = ?1 ORDER BY seq") ==
            0 &&
        prepare(s, &s->find_by_suffix,
                "SELECT uuid FROM modules WHERE uuid LIKE '%' || ?1 ORDER BY seq") == 0;
    if (!ok) {
        snprintf(err, STORE_ERR_LEN, "%s: %s", path, s->base.err);
        op_close(&s->base);
        return -1;
    }
    *out = &s->base;
    return 0;
}
