/* Unit tests of the client plumbing: the HTTP response parser (status,
 * Content-Length, chunked bodies, answers cut short, garbage), path
 * encoding, HOST:PORT parsing, where the stack is (flags, the up file of a
 * live or a dead `up`, the defaults), exit statuses of modules, and the
 * terminal table fitting a width. */
#include <setjmp.h>
#include <stdarg.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "client.h"
#include "exit_status.h"
#include "file_hash_memo.h"
#include "http_client.h"
#include "http_response.h"
#include "table.h"

static int parse(const char *text, struct http_response *r)
{
    char err[HTTP_RESPONSE_ERR_LEN];
    return http_response_parse(text, strlen(text), r, err);
}

static void test_response_content_length(void **state)
{
    (void)state;
    struct http_response r;
    assert_int_equal(parse("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                           "Content-Length: 7\r\n\r\n{\"a\":1}extra",
                           &r),
                     0);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.content_type, "application/json");
    assert_int_equal(r.body_len, 7);
    assert_string_equal(r.body, "{\"a\":1}");
    http_response_clear(&r);
    /* Without a length the body runs to the end of the connection. */
    assert_int_equal(parse("HTTP/1.0 404 Not Found\nX: y\n\nno such thing", &r), 0);
    assert_int_equal(r.status, 404);
    assert_string_equal(r.body, "no such thing");
    http_response_clear(&r);
}

static void test_response_chunked(void **state)
{
    (void)state;
    struct http_response r;
    assert_int_equal(parse("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"
                           "5\r\nhello\r\n1;ext=1\r\n \r\n6\r\nworld!\r\n0\r\n\r\n",
                           &r),
                     0);
    assert_string_equal(r.body, "hello world!");
    assert_int_equal(r.body_len, 12);
    http_response_clear(&r);
}

static void test_response_bad(void **state)
{
    (void)state;
    struct http_response r;
    const char *bad[] = {
        "",
        "HTTP/1.1 200 OK",                                              /* no end of line */
        "HTTP/2 200 OK\r\n\r\n",                                        /* not 1.x */
        "HTTP/1.1 2x0 OK\r\n\r\n",                                      /* status */
        "HTTP/1.1 099 Low\r\n\r\n",                                     /* out of range */
        "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",           /* cut short */
        "HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n",                 /* bad length */
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab", /* chunk cut */
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",  /* chunk size */
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffffff\r\n",
        "HTTP/1.1 200 OK\r\nX: y\r\n", /* headers never end */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memset(&r, 0, sizeof r);
        assert_int_equal(parse(bad[i], &r), -1);
        assert_null(r.body);
    }
}

/* A reader stops at the end of an answer when the server keeps the
 * connection open. */
static void test_response_complete(void **state)
{
    (void)state;
    const char *whole[] = {
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
        "HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
    };
    const char *partial[] = {
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\no",
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n",
        "HTTP/1.1 200 OK\r\n\r\nruns to the end of the connection",
        "HTTP/1.1 2",
    };
    for (size_t i = 0; i < sizeof whole / sizeof whole[0]; i++)
        assert_int_equal(http_response_complete(whole[i], strlen(whole[i])), 1);
    for (size_t i = 0; i < sizeof partial / sizeof partial[0]; i++)
        assert_int_equal(http_response_complete(partial[i], strlen(partial[i])), 0);
}

static void test_path_encode(void **state)
{
    (void)state;
    char out[64];
    assert_int_equal(http_path_segment_encode("a b/c?d%é", out, sizeof out), 0);
    assert_string_equal(out, "a%20b%2Fc%3Fd%25%C3%A9");
    assert_int_equal(http_path_segment_encode("Name-1_x.y~", out, sizeof out), 0);
    assert_string_equal(out, "Name-1_x.y~");
    assert_int_equal(http_path_segment_encode("////", out, 8), -1);
}

static void test_address(void **state)
{
    (void)state;
    struct net_address a;
    char err[NET_ADDRESS_ERR_LEN], buf[300];
    assert_int_equal(net_address_parse("--mqtt", "example.org:1884", 1883, 1, &a, err), 0);
    assert_string_equal(a.host, "example.org");
    assert_int_equal(a.port, 1884);
    assert_int_equal(net_address_parse("--mqtt", "host", 1883, 1, &a, err), 0);
    assert_int_equal(a.port, 1883);
    assert_int_equal(net_address_parse("--http", "[::1]:8080", 8000, 1, &a, err), 0);
    assert_string_equal(a.host, "::1");
    assert_int_equal(a.port, 8080);
    assert_string_equal(net_address_format(&a, buf, sizeof buf), "[::1]:8080");
    assert_int_equal(net_address_parse("--http", "::1", 8000, 1, &a, err), 0);
    assert_string_equal(a.host, "::1");
    assert_int_equal(a.port, 8000);
    assert_int_equal(net_address_parse("--http", "h:0", 8000, 0, &a, err), 0);
    assert_int_equal(a.port, 0);
    const char *bad[] = {"", ":1883", "h:", "h:0", "h:65536", "h:12x", "[::1", "[::1]x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(net_address_parse("--mqtt", bad[i], 1883, 1, &a, err), -1);
        assert_non_null(strstr(err, "--mqtt"));
    }
}

/* The up file decides what no flag gives, and only while its pid lives. */
static void test_target(void **state)
{
    (void)state;
    char dir[] = "/tmp/stratus-test-client-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/up.json", dir);
    setenv("STRATUS_UP_FILE", path, 1);

    struct client_target t;
    char err[CLIENT_ERR_LEN];
    client_target_init(&t);
    client_target_resolve(&t); /* no file: the defaults */
    assert_string_equal(t.mqtt.host, "localhost");
    assert_int_equal(t.mqtt.port, 1883);
    assert_int_equal(t.http.port, 8000);
    assert_string_equal(t.realm, "realm");

    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f,
            "{\"pid\": %d, \"mqtt\": \"127.0.0.1:4242\", \"http\": \"127.0.0.1:4343\", "
            "\"realm\": \"lab\"}",
            (int)getpid());
    fclose(f);
    client_target_init(&t);
    assert_int_equal(client_target_option(&t, CLIENT_OPT_HTTP, "10.1.1.1:9", err), 1);
    assert_int_equal(client_target_option(&t, 'x', "", err), 0);
    client_target_resolve(&t);
    assert_int_equal(t.mqtt.port, 4242);          /* from the file */
    assert_string_equal(t.http.host, "10.1.1.1"); /* the flag wins */
    assert_int_equal(t.http.port, 9);
    assert_string_equal(t.realm, "lab");
    json_t *doc;
    assert_int_equal(client_up_file_read(&doc), 0);
    json_decref(doc);

    /* A file left by a dead `up` is ignored. */
    f = fopen(path, "w");
    fprintf(f, "{\"pid\": 2147483000, \"mqtt\": \"127.0.0.1:4242\"}");
    fclose(f);
    assert_int_equal(client_up_file_read(&doc), 1);
    client_target_init(&t);
    client_target_resolve(&t);
    assert_int_equal(t.mqtt.port, 1883);

    assert_int_equal(client_target_option(&t, CLIENT_OPT_REALM, "a/b", err), -1);
    assert_int_equal(client_target_option(&t, CLIENT_OPT_MQTT, "h:99999", err), -1);
    unlink(path);
    rmdir(dir);
    unsetenv("STRATUS_UP_FILE");
}

static void test_exit_status(void **state)
{
    (void)state;
    struct {
        const char *json;
        int code;
    } cases[] = {
        {"{\"status\": \"exited\", \"exit_code\": 0}", 0},
        {"{\"status\": \"exited\", \"exit_code\": 7}", 7},
        {"{\"status\": \"exited\", \"exit_code\": 300}", 300 & 0xff},
        {"{\"exit_code\": 3}", 3},
        {"{\"status\": \"trapped\", \"reason\": \"unreachable\"}", CLIENT_EXIT_TRAPPED},
        {"{\"status\": \"crashed\"}", CLIENT_EXIT_TRAPPED},
        {"{\"status\": \"killed\"}", CLIENT_EXIT_KILLED},
        {"{\"status\": \"failed\", \"reason\": \"no file\"}", CLIENT_EXIT_FAILED},
        {"{}", CLIENT_EXIT_FAILED},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *j = json_loads(cases[i].json, 0, NULL);
        assert_int_equal(client_exit_status(j), cases[i].code);
        json_decref(j);
    }
    assert_int_equal(client_exit_status(NULL), CLIENT_EXIT_FAILED);
}

static void test_table(void **state)
{
    (void)state;
    static const char *const heads[] = {"NAME", "UUID", "STATE", NULL};
    struct table t;
    table_init(&t, heads);
    const char *r1[] = {"a-rather-long-module-name", "0123456789abcdef", "A"};
    const char *r2[] = {"b", NULL, "Q\tx"};
    assert_int_equal(table_add(&t, r1), 0);
    assert_int_equal(table_add(&t, r2), 0);
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    table_print(&t, out, 30);
    fclose(out);
    /* Every line fits 30 columns; the long name is cut with a '~'. */
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n"))
        assert_true(strlen(line) <= 30);
    free(text);
    out = open_memstream(&text, &len);
    table_print(&t, out, 0);
    fclose(out);
    assert_non_null(strstr(text, "a-rather-long-module-name  0123456789abcdef  A\n"));
    assert_non_null(strstr(text, "b  ")); /* a missing cell prints as "-" */
    assert_non_null(strstr(text, "-                 Q x"));
    free(text);
    table_clear(&t);
}

/* The memory of file hashes: a hit only for the same file unchanged; the
 * newest entries kept within the bound. */
static void test_file_hash_memo(void **state)
{
    (void)state;
    char dir[] = "/tmp/stratus-memo-XXXXXX";
    assert_non_null(mkdtemp(dir));
    setenv("STRATUS_STATE_DIR", dir, 1);
    char path[PATH_MAX], other[PATH_MAX];
    snprintf(path, sizeof path, "%s/a.wasm", dir);
    snprintf(other, sizeof other, "%s/b c.wasm", dir);
    FILE *f = fopen(path, "w");
    fputs("one", f);
    fclose(f);
    f = fopen(other, "w");
    fputs("two", f);
    fclose(f);
    struct stat st, st2;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(stat(other, &st2), 0);
    char hex[65], a[65], b[65];
    memset(a, 'a', 64);
    a[64] = '\0';
    memset(b, 'b', 64);
    b[64] = '\0';
    assert_int_equal(file_hash_memo_get(path, &st, hex), 0);
    file_hash_memo_put(path, &st, a);
    file_hash_memo_put(other, &st2, b);
    assert_int_equal(file_hash_memo_get(path, &st, hex), 1);
    assert_string_equal(hex, a);
    assert_int_equal(file_hash_memo_get(other, &st2, hex), 1);
    assert_string_equal(hex, b);
    /* Another path with the same stat, or the same path changed: misses. */
    assert_int_equal(file_hash_memo_get(other, &st, hex), 0);
    struct stat changed = st;
    changed.st_mtim.tv_nsec ^= 1;
    assert_int_equal(file_hash_memo_get(path, &changed, hex), 0);
    changed = st;
    changed.st_size++;
    assert_int_equal(file_hash_memo_get(path, &changed, hex), 0);
    /* Put again for the path: one entry for it, the new hash. */
    file_hash_memo_put(path, &changed, b);
    assert_int_equal(file_hash_memo_get(path, &st, hex), 0);
    assert_int_equal(file_hash_memo_get(path, &changed, hex), 1);
    assert_string_equal(hex, b);
    /* Not a hash: not kept. */
    file_hash_memo_put(path, &st, "not-a-hash");
    assert_int_equal(file_hash_memo_get(path, &st, hex), 0);
    /* Bounded: after FILE_HASH_MEMO_MAX newer files, the first is gone. */
    for (int i = 0; i < FILE_HASH_MEMO_MAX; i++) {
        char p[PATH_MAX + 16];
        snprintf(p, sizeof p, "%s/f%d", dir, i);
        f = fopen(p, "w");
        fclose(f);
        struct stat s;
        assert_int_equal(stat(p, &s), 0);
        file_hash_memo_put(p, &s, a);
    }
    assert_int_equal(file_hash_memo_get(other, &st2, hex), 0);
    char last[PATH_MAX + 16];
    snprintf(last, sizeof last, "%s/f%d", dir, FILE_HASH_MEMO_MAX - 1);
    struct stat ls;
    assert_int_equal(stat(last, &ls), 0);
    assert_int_equal(file_hash_memo_get(last, &ls, hex), 1);
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    unsetenv("STRATUS_STATE_DIR");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_response_content_length),
        cmocka_unit_test(test_response_chunked),
        cmocka_unit_test(test_response_bad),
        cmocka_unit_test(test_response_complete),
        cmocka_unit_test(test_path_encode),
        cmocka_unit_test(test_address),
        cmocka_unit_test(test_target),
        cmocka_unit_test(test_exit_status),
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_file_hash_memo),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
