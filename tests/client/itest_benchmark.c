/* Integration tests of `stratus profile` and `stratus benchmark` against
 * real processes: mosquitto, `stratus orchestrator`, a `stratus manager`
 * with the three benchmarking runtime types and an external engine (`stratus
 * exec` itself), modules compiled at build time.
 *
 * profile: each record type the runtimes publish is decoded and stored in
 * SQLite and CSV with the orchestrator's metadata; garbage on the profile
 * topics is logged and skipped; a restarted collector appends to the same
 * files.
 *
 * benchmark: a runtimes x files x engines campaign writes the table, the
 * CSV (a row per item) and a well-formed SVG (checked with python3's XML
 * parser), with the ratio to the baseline engine; `benchmark report DIR`
 * redraws them from the store; an opcode campaign gives the instruction
 * mix with the prefixed instructions; an interference campaign; wrong
 * runtime types and missing flags are clear errors. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "client_cmd.h"
#include "harness.h"
#include "orc_stack.h"
#include "stratus/profile_record.h"

#define CMD_MS 60000
#define WAIT_MS 30000
#define REALM "bench"

static struct broker broker;
static struct orchestrator orc;
static struct proc manager;
static struct mqtt_client *mq;
static char moddir[PATH_MAX], mqtt_flag[64], http_flag[64];
static const char *flags[] = {"--mqtt", mqtt_flag, "--http", http_flag, "--realm", REALM, NULL};

static int copy_in(const char *from_dir, const char *name)
{
    return harness_copy_into(from_dir, name, moddir);
}

static int setup_stack(void **state)
{
    (void)state;
    harness_init();
    if (harness_tmpdir(moddir)) return -1;
    const char *tests[] = {"exit_code.wasm", "busy.wasm", "opcode_mix.wasm"};
    for (size_t i = 0; i < 3; i++)
        if (copy_in(CLIENT_TEST_MODULES, tests[i])) return -1;
    if (copy_in(CLIENT_EXAMPLES, "hello.wasm")) return -1;
    if (broker_start(&broker, 0)) return -1;
    if (orchestrator_start(&orc, broker.port, REALM, NULL, NULL)) return -1;
    static char engine[PATH_MAX + 64];
    snprintf(engine, sizeof engine, "exec=%s exec {file} {args}", harness_stratus_path());
    const char *extra[] = {"--runtime",
                           "benchmarking:bench",
                           "--runtime",
                           "benchmarking:bench2",
                           "--runtime",
                           "benchmarking/opcodes:opc",
                           "--runtime",
                           "benchmarking/interference:intf",
                           "--engine",
                           engine,
                           "--module-dir",
                           moddir,
                           NULL};
    if (manager_start(&manager, &broker, REALM, "node", extra)) return -1;
    const char *rts[] = {"bench", "bench2", "opc", "intf"};
    for (size_t i = 0; i < 4; i++) {
        char path[64];
        snprintf(path, sizeof path, "/api/runtimes/%s/", rts[i]);
        if (http_wait_field(orc.http_port, path, "alive", "true", 15000)) return -1;
    }
    snprintf(mqtt_flag, sizeof mqtt_flag, "127.0.0.1:%d", broker.port);
    snprintf(http_flag, sizeof http_flag, "127.0.0.1:%d", orc.http_port);
    return client_connect(&mq, broker.port, "itest-benchmark");
}

static int teardown_stack(void **state)
{
    (void)state;
    client_free(mq);
    harness_cleanup();
    return 0;
}

/* Create a module through the REST API on runtime rt; returns its uuid. */
static char *create(const char *rt, const char *file, const char *args_json)
{
    char *uuid = random_uuid();
    char body[2048];
    snprintf(body, sizeof body,
             "{\"uuid\": \"%s\", \"name\": \"p-%.8s\", \"file\": \"%s\", \"parent\": \"%s\","
             " \"args\": %s}",
             uuid, uuid, file, rt, args_json);
    struct http_answer a;
    assert_int_equal(http_request(orc.http_port, "POST", "/api/modules/", body, strlen(body), &a),
                     0);
    if (a.status != 201) fail_msg("create answered %d %s", a.status, a.body);
    http_answer_free(&a);
    return uuid;
}

static void wait_ended(const char *uuid)
{
    char path[128];
    snprintf(path, sizeof path, "/api/modules/%s/", uuid);
    assert_int_equal(http_wait_field(orc.http_port, path, "state", "D", WAIT_MS), 0);
}

/* One integer from the database at db_path (the first column of sql). */
static long long db_int(const char *db_path, const char *sql)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        fail_msg("%s: %s", sql, sqlite3_errmsg(db));
    long long v = -1;
    if (sqlite3_step(st) == SQLITE_ROW) v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

/* Poll until sql gives want (the collector stores records as they come). */
static void wait_db_int(const char *db_path, const char *sql, long long want)
{
    long long end = harness_now_ms() + WAIT_MS, v = -1;
    while (harness_now_ms() < end) {
        v = db_int(db_path, sql);
        if (v == want) return;
        usleep(100000);
    }
    fail_msg("%s gave %lld, not %lld", sql, v, want);
}

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) return NULL;
    char *buf = NULL;
    size_t cap = 0;
    ssize_t n = getdelim(&buf, &cap, '\0', f);
    fclose(f);
    if (n < 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

static size_t count_lines(const char *text)
{
    size_t n = 0;
    for (const char *p = text; p && *p; p++)
        n += *p == '\n';
    return n;
}

static void test_profile_collects_each_type(void **state)
{
    (void)state;
    char out[PATH_MAX], db[PATH_MAX + 32], sql[512];
    assert_int_equal(harness_tmpdir(out), 0);
    snprintf(db, sizeof db, "%s/profile.sqlite", out);
    struct cmd col;
    assert_int_equal(cmd_start(&col, flags, (const char *const[]){"profile", "--out", out, NULL}),
                     0);
    assert_int_equal(cmd_wait_output(&col, "collecting", WAIT_MS), 0);

    /* Garbage first: a short benchmarking record, an unknown type, bad
     * interference JSON, a topic with too few levels. */
    client_publish(mq, REALM "/proc/profile/benchmarking/rt/junk1", "12345", 5, 1);
    client_publish(mq, REALM "/proc/profile/nosuch/rt/junk2", "x", 1, 1);
    client_publish_str(mq, REALM "/proc/profile/interference/rt/junk3", "{\"0:a\": [1.5]}");
    client_publish_str(mq, REALM "/proc/profile/benchmarking/short", "");

    char *u1 = create("bench", "exit_code.wasm", "{\"repeat\": 3, \"argv\": [\"0\"]}");
    char *u2 = create("opc", "opcode_mix.wasm", "{}");
    char *u3 = create("intf", "hello.wasm:exit_code.wasm", "{\"limit\": 1, \"argv\": [\"0\"]}");
    wait_ended(u1);
    wait_ended(u2);
    wait_ended(u3);
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM benchmarking WHERE record IN (SELECT id FROM "
             "records WHERE module = '%s')",
             u1);
    wait_db_int(db, sql, 3);
    /* The metadata came from the orchestrator. */
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM records WHERE module = '%s' AND runtime_name = 'bench' AND "
             "runtime_type = 'benchmarking' AND file = 'exit_code.wasm' AND argv = '[\"0\"]'",
             u1);
    assert_int_equal(db_int(db, sql), 1);
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM benchmarking b JOIN records r ON b.record = r.id WHERE "
             "r.module = '%s' AND b.wall_us > 0",
             u1);
    assert_int_equal(db_int(db, sql), 3);
    /* opcodes and the prefixed counts of the same module */
    snprintf(sql, sizeof sql, "SELECT count(*) FROM records WHERE module = '%s'", u2);
    wait_db_int(db, sql, 2);
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM opcodes_prefixed p JOIN records r ON p.record = r.id WHERE "
             "r.module = '%s' AND p.prefix = 252 AND p.count > 0",
             u2);
    assert_true(db_int(db, sql) >= 1);
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM opcodes o JOIN records r ON o.record = r.id WHERE r.module = "
             "'%s' AND o.name <> '' AND o.count > 0",
             u2);
    assert_true(db_int(db, sql) >= 1);
    /* interference: runs of both modules, keyed "0:busy.wasm", "1:busy.wasm" */
    snprintf(sql, sizeof sql,
             "SELECT count(DISTINCT series) FROM interference i JOIN records r ON i.record = r.id "
             "WHERE r.module = '%s'",
             u3);
    wait_db_int(db, sql, 2);
    /* None of the garbage was stored. */
    assert_int_equal(db_int(db, "SELECT count(*) FROM records WHERE module LIKE 'junk%'"), 0);

    /* CSV: a header and a line per row. */
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/benchmarking.csv", out);
    char *csv = read_text(path);
    assert_non_null(csv);
    assert_int_equal(strncmp(csv, "record,received_at,runtime,runtime_name", 39), 0);
    assert_int_equal(count_lines(csv), 1 + 3);
    free(csv);

    /* Ctrl-C ends it normally; it said what it skipped. */
    kill(col.pid, SIGINT);
    assert_int_equal(cmd_finish(&col, WAIT_MS), 0);
    const char *said[] = {"skipped a benchmarking record of module junk1", "unknown record type",
                          "skipped a interference record of module junk3", "not a profile topic"};
    for (size_t i = 0; i < 4; i++)
        if (!strstr(col.err, said[i])) fail_msg("no \"%s\" in: %s", said[i], col.err);
    cmd_free(&col);

    /* A restarted collector appends, with no second header, and new ids;
     * a line cut short (as by a crash) is ended first. */
    FILE *f = fopen(path, "a");
    assert_non_null(f);
    fputs("999,cut short", f);
    fclose(f);
    assert_int_equal(cmd_start(&col, flags, (const char *const[]){"profile", "--out", out, NULL}),
                     0);
    assert_int_equal(cmd_wait_output(&col, "collecting", WAIT_MS), 0);
    char *u4 = create("bench", "hello.wasm", "{\"repeat\": 2}");
    wait_ended(u4);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM records WHERE module = '%s'", u4);
    wait_db_int(db, sql, 1);
    kill(col.pid, SIGINT);
    assert_int_equal(cmd_finish(&col, WAIT_MS), 0);
    cmd_free(&col);
    csv = read_text(path);
    assert_non_null(csv);
    assert_int_equal(count_lines(csv), 1 + 3 + 1 + 2);
    assert_null(strstr(csv + 1, "\nrecord,"));
    assert_non_null(strstr(csv, "\n999,cut short\n"));
    free(csv);
    assert_int_equal(db_int(db, "SELECT count(DISTINCT id) FROM records WHERE type = "
                                "'benchmarking'"),
                     2);
    free(u1);
    free(u2);
    free(u3);
    free(u4);
}

/* With the orchestrator out of reach, a record is stored all the same,
 * without metadata, and the failed lookup is logged. */
static void test_profile_without_orchestrator(void **state)
{
    (void)state;
    char out[PATH_MAX], db[PATH_MAX + 32];
    assert_int_equal(harness_tmpdir(out), 0);
    snprintf(db, sizeof db, "%s/profile.sqlite", out);
    char dead[64];
    snprintf(dead, sizeof dead, "127.0.0.1:%d", harness_free_port());
    struct cmd col;
    assert_int_equal(cmd_start(&col, NULL,
                               (const char *const[]){"profile", "--out", out, "--mqtt", mqtt_flag,
                                                     "--http", dead, "--realm", REALM, NULL}),
                     0);
    assert_int_equal(cmd_wait_output(&col, "collecting", WAIT_MS), 0);
    struct profile_run runs[2] = {{100, 90, 5}, {200, 180, 10}};
    uint8_t *rec;
    size_t len;
    assert_int_equal(profile_encode_benchmarking(runs, 2, &rec, &len), 0);
    client_publish(mq, REALM "/proc/profile/benchmarking/some-runtime/some-module", rec, len, 1);
    free(rec);
    wait_db_int(db,
                "SELECT count(*) FROM benchmarking b JOIN records r ON b.record = r.id WHERE "
                "r.module = 'some-module' AND r.runtime = 'some-runtime' AND r.file IS NULL",
                2);
    assert_int_equal(db_int(db, "SELECT sum(wall_us) FROM benchmarking"), 300);
    kill(col.pid, SIGINT);
    assert_int_equal(cmd_finish(&col, WAIT_MS), 0);
    assert_non_null(strstr(col.err, "runtime some-runtime:"));
    assert_non_null(strstr(col.err, "stored benchmarking record"));
    cmd_free(&col);
}

/* The lines of text that start with prefix. */
static size_t count_prefixed(const char *text, const char *prefix)
{
    size_t n = 0, len = strlen(prefix);
    for (const char *p = text; p && *p;) {
        if (!strncmp(p, prefix, len)) n++;
        const char *nl = strchr(p, '\n');
        if (!nl) break;
        p = nl + 1;
    }
    return n;
}

/* python3's XML parser reads the file, whose root is an <svg>. */
static void assert_svg_well_formed(const char *path)
{
    char cmd[PATH_MAX + 256];
    snprintf(cmd, sizeof cmd,
             "python3 -c 'import sys, xml.etree.ElementTree as E; "
             "r = E.parse(sys.argv[1]).getroot(); "
             "sys.exit(0 if r.tag.endswith(\"svg\") and len(list(r.iter())) > 5 else 1)' '%s'",
             path);
    assert_int_equal(system(cmd), 0);
}

static void test_benchmark_campaign(void **state)
{
    (void)state;
    char out[PATH_MAX], path[PATH_MAX + 64];
    assert_int_equal(harness_tmpdir(out), 0);
    struct cmd c;
    assert_int_equal(cmd_run(&c, CMD_MS, flags,
                             (const char *const[]){"benchmark",  "--runtime", "bench",
                                                   "--runtime",  "bench2",    "--file",
                                                   "hello.wasm", "--file",    "exit_code.wasm",
                                                   "--engine",   "stratus",   "--engine",
                                                   "exec",       "--repeat",  "3",
                                                   "--argv",     "0",         "--shuffle",
                                                   "--out",      out,         NULL}),
                     0);
    /* The table: a row per runtime x file x engine, 3 runs each, and the
     * baseline engine (the first) at ratio 1. */
    assert_non_null(strstr(c.out, "MEDIAN ms"));
    assert_int_equal(count_prefixed(c.out, "bench "), 4);
    assert_int_equal(count_prefixed(c.out, "bench2 "), 4);
    assert_non_null(strstr(c.out, "ratio: median against engine stratus"));
    assert_non_null(strstr(c.err, "8/8 done"));
    snprintf(path, sizeof path, "%s/summary.csv", out);
    char *csv = read_text(path);
    assert_non_null(csv);
    assert_int_equal(count_lines(csv), 1 + 8);
    assert_int_equal(count_prefixed(csv, "bench,hello.wasm,stratus,3,0,"), 1);
    assert_int_equal(count_prefixed(csv, "bench2,exit_code.wasm,exec,3,0,"), 1);
    assert_non_null(strstr(csv, ",1.000\n"));
    free(csv);
    snprintf(path, sizeof path, "%s/summary.svg", out);
    assert_svg_well_formed(path);
    /* every run is in the store */
    snprintf(path, sizeof path, "%s/benchmarking.csv", out);
    csv = read_text(path);
    assert_non_null(csv);
    assert_int_equal(count_lines(csv), 1 + 8 * 3);
    free(csv);
    char *table = strdup(strstr(c.out, "RUNTIME"));
    cmd_free(&c);

    /* report: the same table again from the store */
    assert_int_equal(
        cmd_run(&c, CMD_MS, NULL,
                (const char *const[]){"benchmark", "report", "--baseline", "stratus", out, NULL}),
        0);
    assert_int_equal(count_prefixed(c.out, "bench "), 4);
    assert_non_null(strstr(table, c.out) ? table : strstr(c.out, table));
    cmd_free(&c);
    /* ... with another baseline */
    assert_int_equal(
        cmd_run(&c, CMD_MS, NULL,
                (const char *const[]){"benchmark", "report", "--baseline", "bench2", out, NULL}),
        0);
    assert_non_null(strstr(c.out, "ratio: median against runtime bench2"));
    cmd_free(&c);
    free(table);
}

static void test_benchmark_opcodes(void **state)
{
    (void)state;
    char out[PATH_MAX], path[PATH_MAX + 64];
    assert_int_equal(harness_tmpdir(out), 0);
    struct cmd c;
    assert_int_equal(
        cmd_run(&c, CMD_MS, flags,
                (const char *const[]){"benchmark", "--opcodes", "--runtime", "opc", "--file",
                                      "opcode_mix.wasm", "--out", out, NULL}),
        0);
    /* The known mix: 5 x i32.add, memory.copy twice, memory.fill once. */
    assert_non_null(strstr(c.out, "INSTRUCTION"));
    snprintf(path, sizeof path, "%s/mix.csv", out);
    char *csv = read_text(path);
    assert_non_null(csv);
    assert_non_null(strstr(csv, "opcode_mix.wasm,i32.add,5,"));
    assert_non_null(strstr(csv, "opcode_mix.wasm,memory.copy,2,"));
    assert_non_null(strstr(csv, "opcode_mix.wasm,memory.fill,1,"));
    assert_non_null(strstr(csv, "opcode_mix.wasm,i32.trunc_sat_f32_s,1,"));
    free(csv);
    snprintf(path, sizeof path, "%s/mix.svg", out);
    assert_svg_well_formed(path);
    cmd_free(&c);
}

static void test_benchmark_interference(void **state)
{
    (void)state;
    char out[PATH_MAX], path[PATH_MAX + 64];
    assert_int_equal(harness_tmpdir(out), 0);
    struct cmd c;
    assert_int_equal(
        cmd_run(&c, CMD_MS, flags,
                (const char *const[]){"benchmark", "--interference", "2", "--runtime", "intf",
                                      "--file", "hello.wasm", "--limit", "1", "--out", out, NULL}),
        0);
    assert_int_equal(count_prefixed(c.out, "intf "), 1);
    snprintf(path, sizeof path, "%s/interference.csv", out);
    char *csv = read_text(path);
    assert_non_null(csv);
    assert_non_null(strstr(csv, ",0:hello.wasm,"));
    assert_non_null(strstr(csv, ",1:hello.wasm,"));
    free(csv);
    cmd_free(&c);
}

static void test_benchmark_errors(void **state)
{
    (void)state;
    struct {
        int stack; /* with the stack's flags */
        const char *argv[8];
        int status;
        const char *needle;
    } cases[] = {
        {1, {"benchmark", "--runtime", "bench"}, 2, "--runtime and --file are needed"},
        {1,
         {"benchmark", "--opcodes", "--runtime", "bench", "--file", "hello.wasm"},
         1,
         "is of type benchmarking, not benchmarking/opcodes"},
        {1, {"benchmark", "--runtime", "nosuch", "--file", "hello.wasm"}, 1, "nosuch"},
        {1, {"benchmark", "--runtime", "bench", "--file", "a:b"}, 2, "bad --file"},
        {0, {"benchmark", "report", "/nonexistent"}, 1, "cannot open"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct cmd c;
        int status = cmd_run(&c, CMD_MS, cases[i].stack ? flags : NULL, cases[i].argv);
        if (status != cases[i].status || !strstr(c.err, cases[i].needle))
            fail_msg("case %zu: status %d, stderr: %s", i, status, c.err);
        cmd_free(&c);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_profile_collects_each_type),
        cmocka_unit_test(test_profile_without_orchestrator),
        cmocka_unit_test(test_benchmark_campaign),
        cmocka_unit_test(test_benchmark_opcodes),
        cmocka_unit_test(test_benchmark_interference),
        cmocka_unit_test(test_benchmark_errors),
    };
    return cmocka_run_group_tests(tests, setup_stack, teardown_stack);
}
