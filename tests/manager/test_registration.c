/* Unit tests of the registration state machine with a fake clock and a fake
 * publisher: requests on reg/{uuid}, answers matched by type "resp" and the
 * current object_id only, retries with doubling backoff up to the cap,
 * re-registration after reconnect, and deletes in reverse order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "registration.h"
#include "stratus/envelope.h"

#define MGR "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"
#define RT "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb"

struct sent {
    int n;
    char topic[32][128];
    json_t *msg[32];
    int fail; /* pretend not connected */
};

static int fake_publish(void *ctx, const char *topic, const json_t *msg, int keep)
{
    (void)keep;
    struct sent *s = ctx;
    if (s->fail) return -1;
    assert_true(s->n < 32);
    snprintf(s->topic[s->n], 128, "%s", topic);
    s->msg[s->n] = json_deep_copy(msg);
    s->n++;
    return 0;
}

struct ctx {
    struct sent sent;
    struct reg_table *t;
};

static int setup(void **state)
{
    struct ctx *c = calloc(1, sizeof *c);
    struct reg_options o = {"realm", 1000, 8000, fake_publish, &c->sent};
    if (reg_table_new(&o, &c->t) < 0) return -1;
    reg_table_add(c->t, json_pack("{s:s, s:s, s:s}", "type", "manager", "uuid", MGR, "name", "m"));
    reg_table_add(c->t, json_pack("{s:s, s:s, s:s, s:i}", "type", "runtime", "uuid", RT, "name",
                                  "r", "max_nmodules", 4));
    *state = c;
    return 0;
}

static int teardown(void **state)
{
    struct ctx *c = *state;
    for (int i = 0; i < c->sent.n; i++)
        json_decref(c->sent.msg[i]);
    reg_table_free(c->t);
    free(c);
    return 0;
}

static const char *str(json_t *msg, const char *key)
{
    return json_string_value(json_object_get(msg, key));
}

/* Build and parse an answer to message i. */
static int answer(struct ctx *c, int i, const char *type, const char *result, const char *object_id)
{
    json_t *resp =
        json_pack("{s:s, s:s, s:s, s:{s:s, s:{s:i}}}", "object_id",
                  object_id ? object_id : str(c->sent.msg[i], "object_id"), "action", "create",
                  "type", type, "data", "result", result, "details", "ka_interval_sec", 7);
    char *text = json_dumps(resp, 0);
    json_decref(resp);
    struct envelope env;
    char err[ENVELOPE_ERR_LEN];
    assert_int_equal(envelope_parse(text, strlen(text), &env, err), 0);
    free(text);
    const char *uuid = strrchr(c->sent.topic[i], '/') + 1;
    int rc = reg_table_handle(c->t, uuid, &env);
    envelope_clear(&env);
    return rc;
}

static void test_requests_published(void **state)
{
    struct ctx *c = *state;
    reg_table_send_all(c->t, 0);
    assert_int_equal(c->sent.n, 2);
    assert_string_equal(c->sent.topic[0], "realm/proc/reg/" MGR);
    assert_string_equal(c->sent.topic[1], "realm/proc/reg/" RT);
    assert_string_equal(str(c->sent.msg[1], "action"), "create");
    assert_string_equal(str(c->sent.msg[1], "type"), "req");
    json_t *data = json_object_get(c->sent.msg[1], "data");
    assert_string_equal(str(data, "uuid"), RT);
    assert_int_equal(json_integer_value(json_object_get(data, "max_nmodules")), 4);
    assert_int_equal(reg_table_state(c->t, RT), REG_PENDING);
}

static void test_answer_matched_by_object_id_and_type(void **state)
{
    struct ctx *c = *state;
    reg_table_send_all(c->t, 0);
    /* A request (e.g. our own echo) and a stale id are not answers. */
    assert_int_equal(answer(c, 1, "req", "ok", NULL), 0);
    assert_int_equal(answer(c, 1, "resp", "ok", "00000000-0000-4000-8000-000000000000"), 0);
    assert_int_equal(reg_table_state(c->t, RT), REG_PENDING);
    assert_int_equal(answer(c, 1, "resp", "ok", NULL), 1);
    assert_int_equal(reg_table_state(c->t, RT), REG_REGISTERED);
    json_t *details = reg_table_answer(c->t, RT);
    assert_int_equal(json_integer_value(json_object_get(details, "ka_interval_sec")), 7);
    /* The other entry is untouched and still retried. */
    assert_int_equal(reg_table_state(c->t, MGR), REG_PENDING);
    assert_int_equal(reg_table_tick(c->t, 1000), 1000 + 2000);
    assert_int_equal(c->sent.n, 3);
    assert_string_equal(c->sent.topic[2], "realm/proc/reg/" MGR);
}

static void test_retry_backoff_doubles_to_cap(void **state)
{
    struct ctx *c = *state;
    reg_table_send_all(c->t, 0);
    assert_int_equal(answer(c, 0, "resp", "ok", NULL), 1);
    uint64_t now = 0;
    uint64_t expected_delays[] = {1000, 2000, 4000, 8000, 8000, 8000};
    for (size_t i = 0; i < sizeof expected_delays / sizeof expected_delays[0]; i++) {
        /* Nothing before the deadline. */
        int before = c->sent.n;
        assert_int_equal(reg_table_tick(c->t, now + expected_delays[i] - 1),
                         now + expected_delays[i]);
        assert_int_equal(c->sent.n, before);
        now += expected_delays[i];
        reg_table_tick(c->t, now);
        assert_int_equal(c->sent.n, before + 1);
        assert_string_equal(c->sent.topic[before], "realm/proc/reg/" RT);
        /* Each attempt has a fresh object_id. */
        assert_string_not_equal(str(c->sent.msg[before], "object_id"),
                                str(c->sent.msg[before - 1], "object_id"));
    }
    /* An answer to an old attempt does not count; the latest does. */
    assert_int_equal(answer(c, 1, "resp", "ok", NULL), 0);
    assert_int_equal(answer(c, c->sent.n - 1, "resp", "ok", NULL), 1);
    assert_int_equal(reg_table_tick(c->t, now + 100000), UINT64_MAX);
}

static void test_refused_is_not_retried(void **state)
{
    struct ctx *c = *state;
    reg_table_send_all(c->t, 0);
    assert_int_equal(answer(c, 0, "resp", "ok", NULL), 1);
    assert_int_equal(answer(c, 1, "resp", "error", NULL), 1);
    assert_int_equal(reg_table_state(c->t, RT), REG_REFUSED);
    assert_int_equal(reg_table_tick(c->t, 100000), UINT64_MAX);
    assert_int_equal(c->sent.n, 2);
}

static void test_unsent_while_disconnected_then_sent(void **state)
{
    struct ctx *c = *state;
    c->sent.fail = 1;
    reg_table_send_all(c->t, 0);
    assert_int_equal(reg_table_state(c->t, MGR), REG_UNSENT);
    c->sent.fail = 0;
    reg_table_tick(c->t, 10);
    assert_int_equal(c->sent.n, 2);
    assert_int_equal(reg_table_state(c->t, MGR), REG_PENDING);
}

static void test_reconnect_registers_again(void **state)
{
    struct ctx *c = *state;
    reg_table_send_all(c->t, 0);
    assert_int_equal(answer(c, 0, "resp", "ok", NULL), 1);
    assert_int_equal(answer(c, 1, "resp", "ok", NULL), 1);
    reg_table_send_all(c->t, 5000);
    assert_int_equal(c->sent.n, 4);
    assert_int_equal(reg_table_state(c->t, MGR), REG_PENDING);
    assert_int_equal(reg_table_attempts(c->t, MGR), 1);
}

static void test_unregister_all_in_reverse(void **state)
{
    struct ctx *c = *state;
    reg_table_unregister_all(c->t);
    assert_int_equal(c->sent.n, 2);
    assert_string_equal(c->sent.topic[0], "realm/proc/reg/" RT);
    assert_string_equal(c->sent.topic[1], "realm/proc/reg/" MGR);
    for (int i = 0; i < 2; i++) {
        assert_string_equal(str(c->sent.msg[i], "action"), "delete");
        json_t *data = json_object_get(c->sent.msg[i], "data");
        assert_int_equal(json_object_size(data), 3); /* type, uuid, name */
        assert_null(json_object_get(data, "max_nmodules"));
    }
    assert_int_equal(reg_table_state(c->t, RT), -1);
}

static void test_unregister_one(void **state)
{
    struct ctx *c = *state;
    assert_int_equal(reg_table_unregister(c->t, RT), 0);
    assert_int_equal(reg_table_unregister(c->t, RT), -1);
    assert_int_equal(c->sent.n, 1);
    assert_int_equal(reg_table_state(c->t, MGR), REG_UNSENT);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_requests_published),
        T(test_answer_matched_by_object_id_and_type),
        T(test_retry_backoff_doubles_to_cap),
        T(test_refused_is_not_retried),
        T(test_unsent_while_disconnected_then_sent),
        T(test_reconnect_registers_again),
        T(test_unregister_all_in_reverse),
        T(test_unregister_one),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
