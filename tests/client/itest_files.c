/* Integration tests of module files that travel with the request (issue
 * #15), with real parts only: mosquitto brokers (two joined by a bridge in
 * one test), `stratus orchestrator` with its module store, `stratus manager`
 * nodes with the real linux runtime and empty module directories, the
 * client commands as child processes, and modules compiled from C at build
 * time (made bigger, and each one unique, by a custom section of random
 * bytes appended to them, which the engine skips).
 *
 * stratus run --wait of a file outside every module directory; the same
 * file on two nodes, fetched once by each and run from the cache the
 * second time, uploaded once; a cached file running with the orchestrator
 * gone; a node behind a bridged broker; a corrupted chunk (the
 * orchestrator's test hook): the module ends with the reason, the cache
 * holds no file or partial file; eviction under a small cache limit never
 * of the file a running module uses; uploads of a non-wasm file and of a
 * file over the size limit refused with the reason; 20 concurrent creates
 * of one new file fetched once; a 56 MiB transfer during which another
 * module on the node runs and ends (the link is shared), resumed from its
 * partial file after the manager is killed and started again;
 * `stratus files ls|put|rm`; the old behaviour (a path inside the module
 * directory) kept. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "client_cmd.h"
#include "harness.h"
#include "orc_stack.h"
#include "stratus/sha256.h"

#define CMD_MS 60000
#define WAIT_MS 20000
#define MAX_NODES 3

static struct broker central;
static struct orchestrator orc;
static struct proc nodes[MAX_NODES];
static char node_state[MAX_NODES][PATH_MAX], node_moddir[MAX_NODES][PATH_MAX];
static int node_up[MAX_NODES];
static char realm[32];
static char mqtt_flag[64], http_flag[64];
static const char *flags[8];
static int test_no;

/* ---- files ---- */

struct module_file {
    char path[PATH_MAX];
    char sha256[65];
    size_t size;
};

/* Copy `from` (a built module) with a custom section of pad random bytes
 * into a fresh private file; its SHA-256 and size. */
static void make_module(const char *from, size_t pad, struct module_file *out)
{
    char dir[PATH_MAX];
    assert_int_equal(harness_tmpdir(dir), 0);
    const char *name = strrchr(from, '/');
    snprintf(out->path, sizeof out->path, "%s/%s", dir, name ? name + 1 : from);
    assert_int_equal(harness_copy_module_padded(from, out->path, pad), 0);
    FILE *f = fopen(out->path, "rb");
    assert_non_null(f);
    sha256_state st;
    sha256_init(&st);
    uint8_t buf[65536];
    size_t n;
    out->size = 0;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
        sha256_update(&st, buf, n);
        out->size += n;
    }
    fclose(f);
    uint8_t digest[SHA256_DIGEST_LEN];
    sha256_final(&st, digest);
    sha256_hex(digest, out->sha256);
}

static void make_hello(size_t pad, struct module_file *out)
{
    make_module(CLIENT_EXAMPLES "/hello.wasm", pad, out);
}

static int file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* The node's cache directory ({state}/files-{name}). */
static void cache_path(int i, const char *sha256, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s/files-n%d/%s", node_state[i], i, sha256 ? sha256 : "");
}

/* Number of entries in the node's cache's tmp directory (partial files). */
static int partial_files(int i)
{
    char cmd[PATH_MAX + 64];
    snprintf(cmd, sizeof cmd, "ls -A '%s/files-n%d/tmp' 2>/dev/null | wc -l", node_state[i], i);
    FILE *p = popen(cmd, "r");
    int n = -1;
    if (p && fscanf(p, "%d", &n) != 1) n = -1;
    if (p) pclose(p);
    return n;
}

/* Occurrences of needle in a process's log. */
static int log_count(struct proc *p, const char *needle)
{
    char *log = proc_log_read(p);
    int n = 0;
    for (const char *s = log; s && (s = strstr(s, needle)); s += strlen(needle))
        n++;
    free(log);
    return n;
}

static int fetches(int i, const struct module_file *m)
{
    char needle[128];
    snprintf(needle, sizeof needle, "file %s (%zu bytes) fetched into the cache", m->sha256,
             m->size);
    return log_count(&nodes[i], needle);
}

/* ---- the stack ---- */

static void orc_up(const char *const *extra)
{
    assert_int_equal(orchestrator_start(&orc, central.port, realm, NULL, extra), 0);
    snprintf(http_flag, sizeof http_flag, "127.0.0.1:%d", orc.http_port);
}

/* Start node i ("n{i}", runtime "n{i}-lx") on broker port with an empty
 * module directory and a fresh state directory, plus extra arguments. */
static void node_launch(int i, int port, const char *const *extra)
{
    char name[16], rt[32];
    const char *moddir = node_moddir[i];
    snprintf(name, sizeof name, "n%d", i);
    snprintf(rt, sizeof rt, "linux:n%d-lx", i);
    const char *argv[24] = {
        "--runtime",   rt,     "--module-dir", moddir, "--state-dir", node_state[i],
        "--log-level", "debug"};
    int n = 8;
    for (int k = 0; extra && extra[k] && n < 23; k++)
        argv[n++] = extra[k];
    argv[n] = NULL;
    struct broker b = central;
    b.port = port;
    assert_int_equal(manager_start(&nodes[i], &b, realm, name, argv), 0);
    node_up[i] = 1;
    char path[64];
    snprintf(path, sizeof path, "/api/runtimes/n%d-lx/", i);
    assert_int_equal(http_wait_field(orc.http_port, path, "alive", "true", WAIT_MS), 0);
}

static void node_up_on(int i, int port, const char *const *extra)
{
    assert_int_equal(harness_tmpdir(node_moddir[i]), 0);
    assert_int_equal(harness_tmpdir(node_state[i]), 0);
    node_launch(i, port, extra);
}

static void node_start(int i, const char *const *extra)
{
    node_up_on(i, central.port, extra);
}

static int setup(void **state)
{
    (void)state;
    snprintf(realm, sizeof realm, "files%d", ++test_no);
    snprintf(mqtt_flag, sizeof mqtt_flag, "127.0.0.1:%d", central.port);
    const char *f[] = {"--mqtt", mqtt_flag, "--http", http_flag, "--realm", realm, NULL};
    memcpy(flags, f, sizeof f);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    for (int i = 0; i < MAX_NODES; i++)
        if (node_up[i]) {
            proc_kill(&nodes[i]);
            node_up[i] = 0;
        }
    proc_kill(&orc.proc);
    unsetenv("STRATUS_TEST_CORRUPT_CHUNK");
    return 0;
}

static int group_setup(void **state)
{
    (void)state;
    harness_init();
    return broker_start(&central, 0);
}

static int group_teardown(void **state)
{
    (void)state;
    harness_cleanup();
    return 0;
}

#define RUN(c, ...) cmd_run((c), CMD_MS, flags, (const char *const[]){__VA_ARGS__, NULL})
#define START(c, ...) cmd_start((c), flags, (const char *const[]){__VA_ARGS__, NULL})

/* `stratus run --wait --runtime n{i}-lx FILE`: expects hello's output and
 * exit status 0. */
static void run_hello_on(int i, const struct module_file *m)
{
    char rt[32];
    snprintf(rt, sizeof rt, "n%d-lx", i);
    struct cmd c;
    int status = RUN(&c, "run", "--wait", "--runtime", rt, m->path);
    if (status != 0) fprintf(stderr, "run: %d\nstdout: %s\nstderr: %s\n", status, c.out, c.err);
    assert_int_equal(status, 0);
    assert_non_null(strstr(c.out, "Hello from Stratus!"));
    cmd_free(&c);
}

static json_t *file_record(const char *q)
{
    char path[128];
    snprintf(path, sizeof path, "/api/files/%s/", q);
    return http_get_json(orc.http_port, path);
}

/* ---- tests ---- */

static void test_run_fetch_cache_offline(void **state)
{
    (void)state;
    orc_up(NULL);
    node_start(0, NULL);
    node_start(1, NULL);
    struct module_file m;
    make_hello(1 << 20, &m);
    /* A file that exists only here: uploaded, fetched by n0, run. */
    run_hello_on(0, &m);
    json_t *rec = file_record(m.sha256);
    assert_non_null(rec);
    assert_true(json_at_equals(rec, "name", "hello.wasm"));
    assert_int_equal(json_integer_value(json_object_get(rec, "size")), (json_int_t)m.size);
    json_decref(rec);
    char cached[PATH_MAX + 128];
    cache_path(0, m.sha256, cached, sizeof cached);
    struct stat st;
    assert_int_equal(stat(cached, &st), 0);
    assert_int_equal((size_t)st.st_size, m.size);
    assert_int_equal(partial_files(0), 0);
    assert_int_equal(fetches(0, &m), 1);
    /* The same file on n1: fetched once there too; then again on each: from
     * the cache. The store got the bytes once. */
    run_hello_on(1, &m);
    run_hello_on(0, &m);
    run_hello_on(1, &m);
    assert_int_equal(fetches(0, &m), 1);
    assert_int_equal(fetches(1, &m), 1);
    char stored[128];
    snprintf(stored, sizeof stored, "stored %s", m.sha256);
    assert_int_equal(log_count(&orc.proc, stored), 1);
    /* `stratus files ls` shows it. */
    struct cmd c;
    assert_int_equal(RUN(&c, "files", "--json"), 0);
    char prefix[17];
    snprintf(prefix, sizeof prefix, "%.16s", m.sha256);
    assert_non_null(strstr(c.out, m.sha256));
    cmd_free(&c);
    assert_int_equal(RUN(&c, "files", "ls"), 0);
    assert_non_null(strstr(c.out, prefix));
    assert_non_null(strstr(c.out, "hello.wasm"));
    cmd_free(&c);
    /* With no orchestrator (killed), a create sent straight to n0's runtime
     * runs the cached file. */
    json_t *rt = http_get_json(orc.http_port, "/api/runtimes/n0-lx/");
    assert_non_null(rt);
    char rt_uuid[40];
    snprintf(rt_uuid, sizeof rt_uuid, "%s", json_str_at(rt, "uuid"));
    json_decref(rt);
    proc_kill(&orc.proc);
    struct mqtt_client *mq;
    assert_int_equal(client_connect(&mq, central.port, "files-test"), 0);
    char topic[128];
    snprintf(topic, sizeof topic, "%s/proc/control/%s", realm, rt_uuid);
    assert_int_equal(client_subscribe(mq, topic, 1), 0);
    char *uuid = random_uuid();
    json_t *data = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I}", "type", "module", "uuid", uuid,
                             "name", "offline", "file", "hello.wasm", "file_sha256", m.sha256,
                             "file_size", (json_int_t)m.size);
    json_t *req = request_new("create", data, NULL);
    assert_int_equal(client_publish_json(mq, topic, req), 0);
    json_decref(req);
    struct message *msg = NULL;
    assert_int_equal(
        client_wait_json(mq, topic, WAIT_MS, &msg, "action", "exited", "data.uuid", uuid, NULL), 0);
    assert_true(json_at_equals(msg->json, "data.status", "exited"));
    message_free(msg);
    assert_int_equal(fetches(0, &m), 1);
    free(uuid);
    client_free(mq);
}

static void test_node_behind_bridge(void **state)
{
    (void)state;
    orc_up(NULL);
    char conf[512];
    snprintf(conf, sizeof conf,
             "connection central\naddress 127.0.0.1:%d\ntopic %s/# both 1\n"
             "cleansession true\nrestart_timeout 1\n",
             central.port, realm);
    struct broker site;
    assert_int_equal(broker_start_conf(&site, conf), 0);
    node_up_on(0, site.port, NULL);
    struct module_file m;
    make_hello(3 << 20, &m);
    run_hello_on(0, &m);
    assert_int_equal(fetches(0, &m), 1);
    proc_kill(&nodes[0]);
    node_up[0] = 0;
    broker_stop(&site);
}

static void test_corrupt_chunk(void **state)
{
    (void)state;
    setenv("STRATUS_TEST_CORRUPT_CHUNK", "2", 1);
    orc_up(NULL);
    unsetenv("STRATUS_TEST_CORRUPT_CHUNK");
    node_start(0, NULL);
    struct module_file m;
    make_hello(1 << 20, &m);
    struct cmd c;
    int status = RUN(&c, "run", "--wait", "--runtime", "n0-lx", m.path);
    assert_int_not_equal(status, 0);
    assert_null(strstr(c.out, "Hello from Stratus!"));
    assert_non_null(strstr(c.err, "corrupt"));
    cmd_free(&c);
    /* The record says why; the cache holds neither the file nor a part. */
    json_t *list = http_get_json(orc.http_port, "/api/modules/hello/");
    assert_non_null(list);
    const char *reason = json_str_at(list, "reason");
    if (!reason) fprintf(stderr, "record: %s\n", json_dumps(list, 0));
    assert_non_null(reason);
    assert_non_null(strstr(reason, "corrupt"));
    json_decref(list);
    char cached[PATH_MAX + 128];
    cache_path(0, m.sha256, cached, sizeof cached);
    assert_false(file_exists(cached));
    assert_int_equal(partial_files(0), 0);
    /* The next try (chunk 2 was the only one corrupted) gets it whole. */
    run_hello_on(0, &m);
    assert_true(file_exists(cached));
}

/* Wait until module `name`'s record has field = value. */
static void wait_module_field(const char *name, const char *field, const char *value)
{
    char path[128];
    snprintf(path, sizeof path, "/api/modules/%s/", name);
    assert_int_equal(http_wait_field(orc.http_port, path, field, value, WAIT_MS), 0);
}

static void test_eviction_never_in_use(void **state)
{
    (void)state;
    orc_up(NULL);
    /* Room for two of the three 1 MiB files. */
    const char *extra[] = {"--file-cache-size", "2500K", NULL};
    node_start(0, extra);
    struct module_file a, b, c;
    make_module(CLIENT_EXAMPLES "/echo.wasm", 1 << 20, &a);
    make_hello(1 << 20, &b);
    make_hello(1 << 20, &c);
    /* a runs (echo waits for input) while b and c come in. */
    struct cmd ca;
    assert_int_equal(START(&ca, "run", "--runtime", "n0-lx", "--name", "user", a.path), 0);
    assert_int_equal(cmd_finish(&ca, CMD_MS), 0);
    cmd_free(&ca);
    assert_int_equal(proc_log_wait(&nodes[0], "its file is here, started", WAIT_MS), 0);
    wait_module_field("user", "state", "A");
    run_hello_on(0, &b);
    run_hello_on(0, &c);
    char pa[PATH_MAX + 128], pb[PATH_MAX + 128], pc[PATH_MAX + 128];
    cache_path(0, a.sha256, pa, sizeof pa);
    cache_path(0, b.sha256, pb, sizeof pb);
    cache_path(0, c.sha256, pc, sizeof pc);
    /* a is the least recently used but in use: b went instead. */
    assert_true(file_exists(pa));
    assert_false(file_exists(pb));
    assert_true(file_exists(pc));
    char evicted[128];
    snprintf(evicted, sizeof evicted, "evicted %s", b.sha256);
    assert_int_equal(log_count(&nodes[0], evicted), 1);
    snprintf(evicted, sizeof evicted, "evicted %s", a.sha256);
    assert_int_equal(log_count(&nodes[0], evicted), 0);
    /* Once a's module ends, a may go: b again evicts it (a is older than c). */
    struct cmd s;
    assert_int_equal(RUN(&s, "stop", "user"), 0);
    cmd_free(&s);
    wait_module_field("user", "state", "D");
    run_hello_on(0, &b);
    assert_int_equal(fetches(0, &b), 2);
    assert_false(file_exists(pa));
    assert_true(file_exists(pb));
    assert_true(file_exists(pc));
    assert_int_equal(partial_files(0), 0);
}

static void test_bad_uploads(void **state)
{
    (void)state;
    const char *extra[] = {"--file-max-size", "2M", NULL};
    orc_up(extra);
    char dir[PATH_MAX], text[PATH_MAX + 16];
    assert_int_equal(harness_tmpdir(dir), 0);
    snprintf(text, sizeof text, "%s/notes.wasm", dir);
    FILE *f = fopen(text, "w");
    assert_non_null(f);
    fputs("these are not the bytes of a module\n", f);
    fclose(f);
    struct cmd c;
    /* Refused with the loader's message; nothing stored, nothing created. */
    assert_int_not_equal(RUN(&c, "run", text), 0);
    assert_non_null(strstr(c.err, "notes.wasm"));
    assert_non_null(strstr(c.err, "magic"));
    cmd_free(&c);
    assert_int_not_equal(RUN(&c, "files", "put", text), 0);
    assert_non_null(strstr(c.err, "magic"));
    cmd_free(&c);
    /* A valid module over the limit. */
    struct module_file big;
    make_hello(3 << 20, &big);
    assert_int_not_equal(RUN(&c, "files", "put", big.path), 0);
    assert_non_null(strstr(c.err, "larger than 2097152 bytes"));
    cmd_free(&c);
    /* A truncated module: the loader says where it ends. */
    struct module_file ok;
    make_hello(1000, &ok);
    assert_int_equal(truncate(ok.path, (off_t)(ok.size - 500)), 0);
    assert_int_not_equal(RUN(&c, "files", "put", ok.path), 0);
    assert_true(strlen(c.err) > 0);
    cmd_free(&c);
    json_t *list = http_get_json(orc.http_port, "/api/files/");
    assert_int_equal(json_integer_value(json_object_get(list, "count")), 0);
    json_decref(list);
    list = http_get_json(orc.http_port, "/api/modules/");
    assert_int_equal(json_integer_value(json_object_get(list, "count")), 0);
    json_decref(list);
    /* A raw POST of the same: 4xx with the message, over REST. */
    struct http_answer a;
    const char junk[] = "\0asm\2\0\0\0";
    assert_int_equal(http_request(orc.http_port, "POST", "/api/files/", junk, 8, &a), 0);
    assert_true(a.status >= 400 && a.status < 500);
    assert_non_null(strstr(a.body, "version"));
    http_answer_free(&a);
}

static void test_files_put_rm_and_old_paths(void **state)
{
    (void)state;
    orc_up(NULL);
    node_start(0, NULL);
    struct module_file m;
    make_hello(0, &m);
    struct cmd c;
    assert_int_equal(RUN(&c, "files", "put", m.path), 0);
    assert_non_null(strstr(c.out, m.sha256));
    assert_null(strstr(c.out, "already stored"));
    cmd_free(&c);
    assert_int_equal(RUN(&c, "files", "put", m.path), 0);
    assert_non_null(strstr(c.out, "already stored"));
    cmd_free(&c);
    char prefix[17];
    snprintf(prefix, sizeof prefix, "%.16s", m.sha256);
    assert_int_equal(RUN(&c, "files", "rm", prefix), 0);
    assert_non_null(strstr(c.out, m.sha256));
    cmd_free(&c);
    json_t *rec = file_record(m.sha256);
    assert_null(rec);
    assert_int_not_equal(RUN(&c, "files", "rm", prefix), 0);
    assert_non_null(strstr(c.err, "no file"));
    cmd_free(&c);
    /* A file in use is not removed. */
    struct module_file e;
    make_module(CLIENT_EXAMPLES "/echo.wasm", 0, &e);
    assert_int_equal(RUN(&c, "run", "--runtime", "n0-lx", "--name", "held", e.path), 0);
    cmd_free(&c);
    assert_int_equal(proc_log_wait(&nodes[0], "its file is here, started", WAIT_MS), 0);
    wait_module_field("held", "state", "A");
    assert_int_not_equal(RUN(&c, "files", "rm", e.sha256), 0);
    assert_non_null(strstr(c.err, "in use"));
    cmd_free(&c);
    /* The old meaning: a path inside the node's module directory (not a
     * file here, or with --node-file). */
    char placed[PATH_MAX + 32];
    snprintf(placed, sizeof placed, "%s/placed.wasm", node_moddir[0]);
    assert_int_equal(harness_copy_file(m.path, placed), 0);
    assert_int_equal(RUN(&c, "run", "--wait", "--runtime", "n0-lx", "placed.wasm"), 0);
    assert_non_null(strstr(c.out, "Hello from Stratus!"));
    cmd_free(&c);
    assert_int_equal(RUN(&c, "run", "--wait", "--runtime", "n0-lx", "--node-file", m.path), 2);
    assert_non_null(strstr(c.err, "relative to the module directory"));
    cmd_free(&c);
    assert_null(file_record(m.sha256));
}

static int module_exited_ok(const char *uuid)
{
    char path[128];
    snprintf(path, sizeof path, "/api/modules/%s/", uuid);
    return http_wait_field(orc.http_port, path, "exit_code", "0", WAIT_MS * 3);
}

static void test_concurrent_creates_fetch_once(void **state)
{
    (void)state;
    orc_up(NULL);
    node_start(0, NULL);
    struct module_file m;
    make_hello(6 << 20, &m);
    struct cmd c;
    assert_int_equal(RUN(&c, "files", "put", m.path), 0);
    cmd_free(&c);
    /* 20 creates naming the new file, one right after the other. */
    char *uuids[20];
    for (int i = 0; i < 20; i++) {
        char body[512];
        snprintf(body, sizeof body,
                 "{\"name\":\"many-%d\",\"file\":\"hello.wasm\",\"file_sha256\":\"%s\","
                 "\"file_size\":%zu,\"parent\":\"n0-lx\"}",
                 i, m.sha256, m.size);
        struct http_answer a;
        assert_int_equal(
            http_request(orc.http_port, "POST", "/api/modules/", body, strlen(body), &a), 0);
        assert_int_equal(a.status, 201);
        uuids[i] = strdup(json_str_at(a.json, "uuid"));
        http_answer_free(&a);
    }
    for (int i = 0; i < 20; i++) {
        assert_int_equal(module_exited_ok(uuids[i]), 0);
        free(uuids[i]);
    }
    assert_int_equal(fetches(0, &m), 1);
    /* They waited for it together (as many as the runtime takes at once;
     * the orchestrator queues the others, which then find it cached). */
    char needle[128];
    snprintf(needle, sizeof needle, "waits for file %.16s...", m.sha256);
    int waited = log_count(&nodes[0], needle);
    fprintf(stderr, "%d creates waited for the one transfer\n", waited);
    assert_true(waited >= 2);
    snprintf(needle, sizeof needle, "transfer of %s failed", m.sha256);
    assert_int_equal(log_count(&nodes[0], needle), 0);
}

/* Bytes in the node's partial file of sha256 (-1: none). */
static long long partial_size(int i, const char *sha256)
{
    char path[PATH_MAX + 128];
    snprintf(path, sizeof path, "%s/files-n%d/tmp/%s.part", node_state[i], i, sha256);
    struct stat st;
    return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

static void test_big_transfer_shares_link_and_resumes(void **state)
{
    (void)state;
    orc_up(NULL);
    node_start(0, NULL);
    struct module_file big;
    make_hello(56 << 20, &big);
    struct cmd c;
    assert_int_equal(RUN(&c, "files", "put", big.path), 0);
    cmd_free(&c);
    char placed[PATH_MAX + 32];
    snprintf(placed, sizeof placed, "%s/placed.wasm", node_moddir[0]);
    assert_int_equal(harness_copy_file(CLIENT_EXAMPLES "/hello.wasm", placed), 0);
    /* The big file's transfer starts... */
    assert_int_equal(RUN(&c, "run", "--runtime", "n0-lx", "--name", "big", big.path), 0);
    cmd_free(&c);
    long long deadline = harness_now_ms() + WAIT_MS;
    while (partial_size(0, big.sha256) <= 0 && harness_now_ms() < deadline)
        usleep(2000);
    assert_true(partial_size(0, big.sha256) > 0);
    /* ...and a module on the same node runs, its output and exit through
     * the same link, while the transfer goes on. */
    assert_int_equal(RUN(&c, "run", "--wait", "--runtime", "n0-lx", "placed.wasm"), 0);
    assert_non_null(strstr(c.out, "Hello from Stratus!"));
    cmd_free(&c);
    long long part = partial_size(0, big.sha256);
    fprintf(stderr, "%lld of %zu bytes had come when the small module ended\n", part, big.size);
    assert_int_equal(fetches(0, &big), 0);
    assert_true(part > 0 && (size_t)part < big.size);
    /* The manager dies mid-transfer and comes back on its state directory:
     * the module is created again and the transfer resumes from the
     * partial file. */
    proc_kill(&nodes[0]);
    long long kept = partial_size(0, big.sha256);
    assert_true(kept > 0);
    node_launch(0, central.port, NULL);
    wait_module_field("big", "exit_code", "0");
    char needle[128];
    snprintf(needle, sizeof needle, "transfer of %s resumes at ", big.sha256);
    assert_int_equal(log_count(&nodes[0], needle), 1);
    assert_int_equal(fetches(0, &big), 1);
    assert_int_equal(partial_files(0), 0);
    char cached[PATH_MAX + 128];
    cache_path(0, big.sha256, cached, sizeof cached);
    struct stat st;
    assert_int_equal(stat(cached, &st), 0);
    assert_int_equal((size_t)st.st_size, big.size);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_run_fetch_cache_offline, setup, teardown),
        cmocka_unit_test_setup_teardown(test_node_behind_bridge, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_chunk, setup, teardown),
        cmocka_unit_test_setup_teardown(test_eviction_never_in_use, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_uploads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_files_put_rm_and_old_paths, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_creates_fetch_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_big_transfer_shares_link_and_resumes, setup, teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
