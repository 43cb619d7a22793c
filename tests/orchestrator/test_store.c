/* Unit tests of the SQLite store: records written and loaded back, output
 * kept, a database of schema version 1 migrated, a newer one refused, and a
 * transaction rolled back leaving nothing. */
#include <setjmp.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "store.h"

static char PATH[64];

static int setup(void **state)
{
    (void)state;
    snprintf(PATH, sizeof PATH, "/tmp/stratus-store-XXXXXX");
    int fd = mkstemp(PATH);
    if (fd < 0) return -1;
    close(fd);
    unlink(PATH);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char p[96];
    unlink(PATH);
    snprintf(p, sizeof p, "%s-wal", PATH);
    unlink(p);
    snprintf(p, sizeof p, "%s-shm", PATH);
    unlink(p);
    return 0;
}

struct seen {
    int managers, runtimes, modules;
    char module_state;
    char runtime_of_module[40];
    char apis[64];
    int exit_code, has_exit_code;
    int keepalives;
};

static int on_manager(void *ctx, const struct orc_manager *m)
{
    struct seen *s = ctx;
    s->managers++;
    assert_string_equal(m->name, "node");
    return 0;
}

static int on_runtime(void *ctx, const struct orc_runtime *r)
{
    struct seen *s = ctx;
    s->runtimes++;
    if (r->apis[0] && r->apis[1])
        snprintf(s->apis, sizeof s->apis, "%s,%s", r->apis[0], r->apis[1]);
    assert_int_equal(r->max_nmodules, 3);
    s->keepalives = r->keepalives;
    return 0;
}

static int on_module(void *ctx, const struct orc_module *m, const char *runtime_uuid)
{
    struct seen *s = ctx;
    s->modules++;
    s->module_state = m->state;
    snprintf(s->runtime_of_module, sizeof s->runtime_of_module, "%s", runtime_uuid);
    s->exit_code = m->detail->exit_code;
    s->has_exit_code = m->detail->has_exit_code;
    return 0;
}

static int count_row(void *ctx, const struct store_module_row *r)
{
    assert_string_equal(r->uuid, "00000000-0000-4000-8000-00000000f001");
    assert_string_equal(r->detail.name, "hello");
    (*(int *)ctx)++;
    return 0;
}

static int count_hit(void *ctx, const char *uuid)
{
    (void)uuid;
    (*(int *)ctx)++;
    return 0;
}

static void write_records(struct store *s)
{
    char *apis[] = {"wasm", "channels", NULL};
    struct orc_manager m = {
        .uuid = "00000000-0000-4000-8000-0000000000a1", .name = "node", .alive = 1, .seq = 1};
    struct orc_runtime r = {.uuid = "00000000-0000-4000-8000-000000000001",
                            .name = "rt",
                            .max_nmodules = 3,
                            .apis = apis,
                            .alive = 1,
                            .seq = 2,
                            .registration = "{}"};
    struct orc_module_detail d = {.name = "hello",
                                  .file = "hello.wasm",
                                  .data = "{\"name\":\"hello\"}",
                                  .has_exit_code = 1,
                                  .exit_code = 7,
                                  .runs = 2,
                                  .active = -1};
    struct orc_module mod = {.uuid = "00000000-0000-4000-8000-00000000f001",
                             .runtime = &r,
                             .state = MOD_DEAD,
                             .seq = 3,
                             .detail = &d};
    assert_int_equal(s->ops->begin(s), 0);
    assert_int_equal(s->ops->put_manager(s, &m), 0);
    assert_int_equal(s->ops->put_runtime(s, &r), 0);
    assert_int_equal(s->ops->put_module(s, &mod), 0);
    assert_int_equal(s->ops->put_output(s, mod.uuid, "out\0put", 7), 0);
    assert_int_equal(s->ops->commit(s), 0);
}

static void test_roundtrip(void **state)
{
    (void)state;
    struct store *s;
    char err[STORE_ERR_LEN];
    assert_int_equal(store_sqlite_open(PATH, &s, err), 0);
    write_records(s);
    s->ops->close(s);
    assert_int_equal(store_sqlite_open(PATH, &s, err), 0);
    struct seen seen = {0};
    struct store_loader l = {on_manager, on_runtime, on_module, &seen};
    assert_int_equal(s->ops->load(s, &l), 0);
    assert_int_equal(seen.managers, 1);
    assert_int_equal(seen.runtimes, 1);
    assert_int_equal(seen.modules, 1);
    assert_int_equal(seen.module_state, MOD_DEAD);
    assert_string_equal(seen.runtime_of_module, "00000000-0000-4000-8000-000000000001");
    assert_string_equal(seen.apis, "wasm,channels");
    assert_int_equal(seen.keepalives, 0); /* as written: none heard yet */
    assert_int_equal(seen.has_exit_code, 1);
    assert_int_equal(seen.exit_code, 7);
    /* A module's detail read back alone, and searches by name and suffix. */
    struct store_module_row row;
    struct orc_module_detail d;
    int found = 0;
    assert_int_equal(s->ops->get_module(s, "00000000-0000-4000-8000-00000000f001", &row, &found),
                     0);
    assert_int_equal(found, 1);
    assert_int_equal(row.state, MOD_DEAD);
    assert_int_equal(row.seq, 3);
    assert_string_equal(row.runtime, "00000000-0000-4000-8000-000000000001");
    d = row.detail;
    assert_string_equal(d.name, "hello");
    assert_string_equal(d.file, "hello.wasm");
    assert_string_equal(d.data, "{\"name\":\"hello\"}");
    assert_null(d.pinned);
    assert_int_equal(d.runs, 2);
    assert_int_equal(d.exit_code, 7);
    orc_detail_clear(&d);
    assert_int_equal(s->ops->get_module(s, "00000000-0000-4000-8000-00000000f00f", &row, &found),
                     0);
    assert_int_equal(found, 0);
    assert_null(row.detail.name);
    /* Lists and counts. */
    size_t total = 0;
    int rows = 0;
    assert_int_equal(s->ops->list_modules(s, 0, 0, 10, count_row, &rows, &total), 0);
    assert_int_equal(total, 1);
    assert_int_equal(rows, 1);
    assert_int_equal(s->ops->list_modules(s, MOD_DEAD, 1, 10, count_row, &rows, &total), 0);
    assert_int_equal(total, 1);
    assert_int_equal(rows, 1); /* start 1: past the only one */
    assert_int_equal(s->ops->list_modules(s, MOD_QUEUED, 0, 10, count_row, &rows, &total), 0);
    assert_int_equal(total, 0);
    int hits = 0;
    assert_int_equal(s->ops->find_modules(s, "hello", NULL, count_hit, &hits), 0);
    assert_int_equal(hits, 1);
    assert_int_equal(s->ops->find_modules(s, "nobody", NULL, count_hit, &hits), 0);
    assert_int_equal(hits, 1);
    assert_int_equal(s->ops->find_modules(s, NULL, "f001", count_hit, &hits), 0);
    assert_int_equal(hits, 2);
    /* '%' and '_' are no patterns in a suffix. */
    assert_int_equal(s->ops->find_modules(s, NULL, "%", count_hit, &hits), 0);
    assert_int_equal(s->ops->find_modules(s, NULL, "_001", count_hit, &hits), 0);
    assert_int_equal(hits, 2);
    char *data;
    size_t len;
    assert_int_equal(s->ops->get_output(s, "00000000-0000-4000-8000-00000000f001", &data, &len), 0);
    assert_int_equal(len, 7);
    assert_memory_equal(data, "out\0put", 7);
    free(data);
    assert_int_equal(s->ops->get_output(s, "nobody", &data, &len), 0);
    assert_null(data);
    s->ops->close(s);
}

static void test_rollback_leaves_nothing(void **state)
{
    (void)state;
    struct store *s;
    char err[STORE_ERR_LEN];
    assert_int_equal(store_sqlite_open(PATH, &s, err), 0);
    struct orc_manager m = {.uuid = "00000000-0000-4000-8000-0000000000a1", .name = "node"};
    assert_int_equal(s->ops->begin(s), 0);
    assert_int_equal(s->ops->put_manager(s, &m), 0);
    s->ops->rollback(s);
    struct seen seen = {0};
    struct store_loader l = {on_manager, on_runtime, on_module, &seen};
    assert_int_equal(s->ops->load(s, &l), 0);
    assert_int_equal(seen.managers, 0);
    s->ops->close(s);
}

static void exec_sql(const char *path, const char *sql)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    char *msg = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK) fail_msg("%s", msg);
    sqlite3_close(db);
}

static void test_migration_from_v1(void **state)
{
    (void)state;
    /* A database as version 1 of the schema left it, with one module. */
    exec_sql(PATH,
             "CREATE TABLE managers (uuid TEXT PRIMARY KEY, name TEXT NOT NULL, alive INTEGER "
             "NOT NULL, registered_at REAL, seen_at REAL, seq INTEGER NOT NULL);"
             "CREATE TABLE runtimes (uuid TEXT PRIMARY KEY, name TEXT NOT NULL, runtime_type "
             "TEXT, max_nmodules INTEGER NOT NULL, apis TEXT NOT NULL, manager TEXT, "
             "registration TEXT, alive INTEGER NOT NULL, registered_at REAL, last_seen REAL, seq "
             "INTEGER NOT NULL);"
             "CREATE TABLE modules (uuid TEXT PRIMARY KEY, name TEXT, file TEXT, data TEXT NOT "
             "NULL, pinned TEXT, runtime TEXT, state TEXT NOT NULL, reason TEXT, status TEXT, "
             "exit_code INTEGER, created_at REAL, started_at REAL, ended_at REAL, runs INTEGER, "
             "seq INTEGER NOT NULL, queue_seq INTEGER, active INTEGER, cpu REAL, mem INTEGER);"
             "CREATE INDEX modules_by_state ON modules(state);"
             "INSERT INTO modules (uuid, name, file, data, state, seq) VALUES "
             "('00000000-0000-4000-8000-00000000f009', 'old', 'old.wasm', '{}', 'D', 1);"
             "INSERT INTO runtimes (uuid, name, max_nmodules, apis, alive, seq) VALUES "
             "('00000000-0000-4000-8000-000000000009', 'old', 3, '[\"wasm\",\"wasi\"]', 1, 2);"
             "PRAGMA user_version = 1;");
    struct store *s;
    char err[STORE_ERR_LEN];
    assert_int_equal(store_sqlite_open(PATH, &s, err), 0);
    struct seen seen = {0};
    struct store_loader l = {on_manager, on_runtime, on_module, &seen};
    assert_int_equal(s->ops->load(s, &l), 0);
    assert_int_equal(seen.modules, 1);
    /* Version 3: runtimes stored before keep the rule they had (silence ends them). */
    assert_int_equal(seen.runtimes, 1);
    assert_int_equal(seen.keepalives, 1);
    /* Version 2's table is there. */
    assert_int_equal(s->ops->begin(s), 0);
    assert_int_equal(s->ops->put_output(s, "00000000-0000-4000-8000-00000000f009", "x", 1), 0);
    assert_int_equal(s->ops->commit(s), 0);
    s->ops->close(s);
    sqlite3 *db;
    sqlite3_stmt *q;
    assert_int_equal(sqlite3_open(PATH, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &q, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(q, 0), store_sqlite_schema_version());
    sqlite3_finalize(q);
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &q, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(q, 0), "wal");
    sqlite3_finalize(q);
    sqlite3_close(db);
}

static void test_newer_schema_refused(void **state)
{
    (void)state;
    exec_sql(PATH, "PRAGMA user_version = 99;");
    struct store *s = NULL;
    char err[STORE_ERR_LEN];
    assert_int_equal(store_sqlite_open(PATH, &s, err), -1);
    assert_non_null(strstr(err, "newer"));
}

static void test_memory_database(void **state)
{
    (void)state;
    struct store *s;
    char err[STORE_ERR_LEN];
    assert_int_equal(store_sqlite_open(":memory:", &s, err), 0);
    write_records(s);
    struct seen seen = {0};
    struct store_loader l = {on_manager, on_runtime, on_module, &seen};
    assert_int_equal(s->ops->load(s, &l), 0);
    assert_int_equal(seen.modules, 1);
    s->ops->close(s);
    assert_int_equal(store_sqlite_open("/nonexistent-dir/x.db", &s, err), -1);
    assert_non_null(strstr(err, "/nonexistent-dir/x.db"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_roundtrip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rollback_leaves_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migration_from_v1, setup, teardown),
        cmocka_unit_test_setup_teardown(test_newer_schema_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_memory_database, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
