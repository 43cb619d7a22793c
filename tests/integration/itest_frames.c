/* Integration tests of the local socket framing as the manager sees it from a
 * real runtime process: frames written one byte per write, many frames packed
 * into one write, long messages in fragments (both directions, at the
 * fragment boundary sizes), and the legacy 6-byte header runtime type. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "stack.h"

#define CH_READ 1
#define CH_WRITE 2

static struct stack S;
static char *F, *L; /* uuids of the fake and fake-legacy runtimes */

static int group_setup(void **state)
{
    (void)state;
    return stack_broker_up(&S);
}

static int test_setup(void **state)
{
    (void)state;
    if (stack_new_realm(&S)) return -1;
    const char *extra[] = {"--runtime", "test/fake:f", "--runtime", "test/fake-legacy:lg", NULL};
    if (stack_manager_start(&S, "node", extra)) return -1;
    F = stack_wait_registration(&S, "runtime", "f", NULL);
    L = stack_wait_registration(&S, "runtime", "lg", NULL);
    return F && L ? 0 : -1;
}

static int test_teardown(void **state)
{
    (void)state;
    stack_manager_kill(&S);
    free(F);
    free(L);
    F = L = NULL;
    return 0;
}

static char *start_module(const char *runtime, const char *fmt, ...)
{
    char script[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(script, sizeof script, fmt, ap);
    va_end(ap);
    char *uuid = random_uuid();
    struct message *r = stack_create(&S, runtime, module_data(uuid, "m", steps(script)));
    assert_non_null(r);
    if (!json_at_equals(r->json, "data.result", "ok")) fail_msg("create answered %s", r->payload);
    message_free(r);
    return uuid;
}

static int payload_is(const struct message *m, void *ctx)
{
    return m->len == strlen(ctx) && !memcmp(m->payload, ctx, m->len);
}

/* The n numbered messages "<prefix><k>" arrive on topic in order, once each,
 * and then the module's exit with code `code` is reported. */
static void expect_numbered_then_exit(const char *runtime, const char *uuid, const char *topic,
                                      const char *prefix, int n, int code)
{
    for (int k = 0; k < n; k++) {
        struct message *m = NULL;
        if (client_wait(S.client, topic, WAIT_MS, NULL, NULL, &m))
            fail_msg("message %d of %d missing on %s", k, n, topic);
        char want[256];
        snprintf(want, sizeof want, "%s%d", prefix, k);
        if (!payload_is(m, want)) fail_msg("message %d is '%s', want '%s'", k, m->payload, want);
        message_free(m);
    }
    struct message *e = stack_wait_exited(&S, runtime, uuid, WAIT_MS);
    assert_non_null(e);
    char code_text[16];
    snprintf(code_text, sizeof code_text, "%d", code);
    assert_true(json_at_equals(e->json, "data.exit_code", code_text));
    message_free(e);
    assert_int_equal(client_count(S.client, topic, NULL, NULL), 0);
}

static void run_split_bytes(const char *runtime)
{
    char topic[256];
    snprintf(topic, sizeof topic, "%s/bytes", S.realm);
    char *m =
        start_module(runtime,
                     "[{\"write_mode\": \"bytes\"},"
                     " {\"open\": 1, \"flags\": %d, \"topic\": \"%s\"},"
                     " {\"log\": [20, \"split-log-line\"]},"
                     " {\"publish\": 1, \"data\": \"split-\", \"count\": 3, \"numbered\": true},"
                     " {\"exit\": 7}]",
                     CH_WRITE, topic);
    expect_numbered_then_exit(runtime, m, topic, "split-", 3, 7);
    assert_int_equal(proc_log_wait(&S.manager, "split-log-line", WAIT_MS), 0);
    free(m);
}

static void run_packed(const char *runtime)
{
    char topic[256];
    snprintf(topic, sizeof topic, "%s/packed", S.realm);
    char *m =
        start_module(runtime,
                     "[{\"write_mode\": \"packed\"},"
                     " {\"open\": 1, \"flags\": %d, \"topic\": \"%s\"},"
                     " {\"publish\": 1, \"data\": \"packed-\", \"count\": 200, \"numbered\": true},"
                     " {\"exit\": 9}]",
                     CH_WRITE, topic);
    expect_numbered_then_exit(runtime, m, topic, "packed-", 200, 9);
    free(m);
}

static void test_split_byte_by_byte(void **state)
{
    (void)state;
    run_split_bytes(F);
}

static void test_packed_in_one_write(void **state)
{
    (void)state;
    run_packed(F);
}

static void test_legacy_header_split(void **state)
{
    (void)state;
    run_split_bytes(L);
}

static void test_legacy_header_packed(void **state)
{
    (void)state;
    run_packed(L);
}

/* A message of `size` bytes with byte i = i % 251 arrives intact. */
static void expect_pattern(const char *topic, size_t size)
{
    struct message *m = NULL;
    if (client_wait(S.client, topic, WAIT_MS, NULL, NULL, &m))
        fail_msg("no %zu-byte message on %s", size, topic);
    assert_int_equal(m->len, size);
    for (size_t i = 0; i < size; i++)
        if ((uint8_t)m->payload[i] != (uint8_t)(i % 251))
            fail_msg("byte %zu of %zu differs", i, size);
    message_free(m);
}

static void run_long_messages(const char *runtime)
{
    char topic[256];
    snprintf(topic, sizeof topic, "%s/long", S.realm);
    const size_t sizes[] = {65534, 65535, 65536, 200000, 0};
    char *m = start_module(runtime,
                           "[{\"open\": 1, \"flags\": %d, \"topic\": \"%s\"},"
                           " {\"publish\": 1, \"size\": 65534}, {\"publish\": 1, \"size\": 65535},"
                           " {\"publish\": 1, \"size\": 65536}, {\"publish\": 1, \"size\": 200000},"
                           " {\"publish\": 1, \"size\": 0}]",
                           CH_WRITE, topic);
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        expect_pattern(topic, sizes[i]);
    free(m);
}

static void test_long_messages_from_module(void **state)
{
    (void)state;
    run_long_messages(F);
}

static void test_long_messages_legacy(void **state)
{
    (void)state;
    run_long_messages(L);
}

static void test_long_message_to_module(void **state)
{
    (void)state;
    char in[256], out[256];
    snprintf(in, sizeof in, "%s/bigin", S.realm);
    snprintf(out, sizeof out, "%s/bigout", S.realm);
    char *m = start_module(F,
                           "[{\"open\": 1, \"flags\": %d, \"topic\": \"%s\"},"
                           " {\"open\": 2, \"flags\": %d, \"topic\": \"%s\"},"
                           " {\"echo\": [1, 2]}, {\"publish\": 2, \"data\": \"ready\"}]",
                           CH_READ, in, CH_WRITE, out);
    assert_int_equal(client_wait(S.client, out, WAIT_MS, payload_is, "ready", NULL), 0);
    const size_t sizes[] = {65535, 150000};
    for (size_t s = 0; s < 2; s++) {
        uint8_t *buf = malloc(sizes[s]);
        assert_non_null(buf);
        for (size_t i = 0; i < sizes[s]; i++)
            buf[i] = (uint8_t)(i % 251);
        assert_int_equal(client_publish(S.client, in, buf, sizes[s], 1), 0);
        free(buf);
        expect_pattern(out, sizes[s]);
    }
    free(m);
}

int main(void)
{
    harness_init();
#define T(name) cmocka_unit_test_setup_teardown(name, test_setup, test_teardown)
    const struct CMUnitTest tests[] = {
        T(test_split_byte_by_byte),        T(test_packed_in_one_write),
        T(test_legacy_header_split),       T(test_legacy_header_packed),
        T(test_long_messages_from_module), T(test_long_messages_legacy),
        T(test_long_message_to_module),
    };
    return cmocka_run_group_tests(tests, group_setup, stack_fixture_group_teardown);
}
