/* Unit tests of the outbox: order of control messages and output, the
 * per-source and total bounds (oldest dropped, counted, reported), control
 * messages never dropped, and the spill file round trip with its refusals
 * of damaged files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "outbox.h"

struct drops {
    int calls;
    char last_source[64];
    uint64_t last_count;
};

static void on_drop(void *ctx, const char *source, uint64_t count)
{
    struct drops *d = ctx;
    d->calls++;
    snprintf(d->last_source, sizeof d->last_source, "%s", source);
    d->last_count = count;
}

static struct outbox *make(size_t total, size_t per, struct drops *d)
{
    struct outbox_options o = {total, per, on_drop, d};
    struct outbox *ob;
    assert_int_equal(outbox_new(&o, &ob), 0);
    return ob;
}

static void push(struct outbox *ob, const char *topic, const char *text, const char *source)
{
    assert_int_equal(outbox_push(ob, topic, text, strlen(text), source ? 0 : 1, source), 0);
}

/* Pop everything, checking the payloads come out as `want` (NULL-ended). */
static void expect_drain(struct outbox *ob, const char *const *want)
{
    size_t i = 0;
    const struct outbox_msg *m;
    while ((m = outbox_peek(ob))) {
        assert_non_null(want[i]);
        assert_int_equal(m->len, strlen(want[i]));
        assert_memory_equal(m->payload, want[i], m->len);
        outbox_pop(ob);
        i++;
    }
    assert_null(want[i]);
    assert_int_equal(outbox_count(ob), 0);
    assert_int_equal(outbox_output_bytes(ob), 0);
}

static void test_order_kept(void **state)
{
    (void)state;
    struct drops d = {0};
    struct outbox *ob = make(1000, 100, &d);
    push(ob, "t/exit", "exit1", NULL);
    push(ob, "t/out", "o1", "A");
    push(ob, "t/out", "o2", "B");
    push(ob, "t/ack", "ack", NULL);
    push(ob, "t/out", "o3", "A");
    assert_int_equal(outbox_count(ob), 5);
    assert_int_equal(outbox_output_bytes(ob), 6);
    assert_string_equal(outbox_peek(ob)->topic, "t/exit");
    assert_null(outbox_peek(ob)->source);
    assert_int_equal(outbox_peek(ob)->qos, 1);
    const char *want[] = {"exit1", "o1", "o2", "ack", "o3", NULL};
    expect_drain(ob, want);
    assert_int_equal(d.calls, 0);
    outbox_free(ob);
}

static void test_per_source_bound(void **state)
{
    (void)state;
    struct drops d = {0};
    struct outbox *ob = make(1000, 10, &d);
    push(ob, "t", "ctl", NULL);
    push(ob, "a", "aaaa1", "A"); /* 5 bytes */
    push(ob, "b", "bbbb1", "B");
    push(ob, "a", "aaaa2", "A"); /* A at 10: full */
    assert_int_equal(d.calls, 0);
    push(ob, "a", "aaaa3", "A"); /* drops aaaa1 */
    assert_int_equal(d.calls, 1);
    assert_string_equal(d.last_source, "A");
    assert_int_equal(d.last_count, 1);
    push(ob, "a", "aaaa4", "A"); /* drops aaaa2 */
    assert_int_equal(d.last_count, 2);
    assert_int_equal(outbox_dropped_total(ob), 2);
    const char *want[] = {"ctl", "bbbb1", "aaaa3", "aaaa4", NULL};
    expect_drain(ob, want);
    /* A's output left: the next drop counts from one again. */
    push(ob, "a", "0123456789x", "A"); /* larger than its share: dropped at once */
    assert_int_equal(d.last_count, 1);
    assert_int_equal(outbox_count(ob), 0);
    outbox_free(ob);
}

static void test_total_bound_spares_control(void **state)
{
    (void)state;
    struct drops d = {0};
    struct outbox *ob = make(12, 8, &d);
    push(ob, "a", "aaaa", "A");
    push(ob, "c", "control-1", NULL);
    push(ob, "b", "bbbb", "B");
    push(ob, "c", "control-2", NULL);
    push(ob, "x", "cccc", "C"); /* 12 bytes of output: full */
    assert_int_equal(d.calls, 0);
    push(ob, "x", "dddd", "D"); /* the oldest output overall goes: A's */
    assert_int_equal(d.calls, 1);
    assert_string_equal(d.last_source, "A");
    /* Control messages are kept whatever their size. */
    char big[4096];
    memset(big, 'z', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    push(ob, "c", big, NULL);
    assert_int_equal(outbox_output_bytes(ob), 12);
    const char *want[] = {"control-1", "bbbb", "control-2", "cccc", "dddd", big, NULL};
    expect_drain(ob, want);
    outbox_free(ob);
}

static void test_no_output_kept(void **state)
{
    (void)state;
    struct drops d = {0};
    struct outbox *ob = make(0, 0, &d);
    push(ob, "a", "x", "A");
    assert_int_equal(outbox_push(ob, "a", "", 0, 0, "A"), 0);
    assert_int_equal(d.calls, 2);
    push(ob, "c", "ctl", NULL);
    const char *want[] = {"ctl", NULL};
    expect_drain(ob, want);
    outbox_free(ob);
}

static void test_spill_round_trip(void **state)
{
    (void)state;
    char dir[] = "/tmp/stratus-outbox-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[64];
    snprintf(path, sizeof path, "%s/spill", dir);
    struct drops d = {0};
    struct outbox *ob = make(1000, 1000, &d);
    push(ob, "realm/proc/control/r", "{\"action\":\"exited\"}", NULL);
    push(ob, "realm/proc/stdio/m", "output is not spilled", "M");
    assert_int_equal(outbox_push(ob, "realm/proc/reg/x", "\0bin", 4, 2, NULL), 0);
    assert_int_equal(outbox_spill_write(ob, path), 0);
    outbox_free(ob);

    ob = make(1000, 1000, &d);
    push(ob, "first", "already queued", NULL);
    size_t n = 0;
    char err[OUTBOX_ERR_LEN];
    assert_int_equal(outbox_spill_load(ob, path, &n, err), 0);
    assert_int_equal(n, 2);
    assert_int_equal(outbox_count(ob), 3);
    outbox_pop(ob);
    assert_string_equal(outbox_peek(ob)->topic, "realm/proc/control/r");
    assert_int_equal(outbox_peek(ob)->qos, 1);
    outbox_pop(ob);
    assert_int_equal(outbox_peek(ob)->qos, 2);
    assert_int_equal(outbox_peek(ob)->len, 4);
    assert_memory_equal(outbox_peek(ob)->payload, "\0bin", 4);
    outbox_pop(ob);
    /* Nothing to keep: the file goes. */
    assert_int_equal(outbox_spill_write(ob, path), 0);
    assert_int_equal(access(path, F_OK), -1);
    assert_int_equal(outbox_spill_load(ob, path, &n, err), 0);
    assert_int_equal(n, 0);
    outbox_free(ob);
    rmdir(dir);
}

static void test_spill_damaged(void **state)
{
    (void)state;
    struct drops d = {0};
    struct outbox *ob = make(10, 10, &d);
    size_t n = 9;
    char err[OUTBOX_ERR_LEN];
    const char *bad[] = {
        "",
        "NOT-A-SPILL\n",
        "STRATUS-OUTBOX 1\n\x01", /* cut in the topic length */
        "STRATUS-OUTBOX 1\n\x01\x05\x00\x00\x00"
        "ab", /* cut in the topic */
        "STRATUS-OUTBOX 1\n\x03\x01\x00\x00\x00"
        "a",                                      /* qos 3 */
        "STRATUS-OUTBOX 1\n\x01\x00\x00\x00\x00", /* empty topic */
        "STRATUS-OUTBOX 1\n\x01\x01\x00\x00\x00"
        "a\x09\x00\x00\x00"
        "short",
    };
    size_t lens[] = {0, 12, 18, 24, 23, 22, 32};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(outbox_spill_parse(ob, (const uint8_t *)bad[i], lens[i], &n, err), -1);
        assert_int_equal(n, 0);
        assert_int_equal(outbox_count(ob), 0);
    }
    /* A good record after a bad one: still nothing (all or nothing). */
    const char mixed[] = "STRATUS-OUTBOX 1\n\x01\x01\x00\x00\x00"
                         "a\x01\x00\x00\x00"
                         "x"
                         "\x07";
    assert_int_equal(outbox_spill_parse(ob, (const uint8_t *)mixed, sizeof mixed - 1, &n, err), -1);
    assert_int_equal(outbox_count(ob), 0);
    assert_int_equal(outbox_spill_parse(ob, (const uint8_t *)mixed, sizeof mixed - 2, &n, err), 0);
    assert_int_equal(n, 1);
    assert_int_equal(outbox_count(ob), 1);
    outbox_free(ob);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_order_kept),
        cmocka_unit_test(test_per_source_bound),
        cmocka_unit_test(test_total_bound_spares_control),
        cmocka_unit_test(test_no_output_kept),
        cmocka_unit_test(test_spill_round_trip),
        cmocka_unit_test(test_spill_damaged),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
