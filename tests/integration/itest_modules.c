/* Integration tests of module control through `stratus manager`: create and
 * delete routed to the right runtime with the right index and acknowledged,
 * the module limit, idempotent creates, exited messages (JSON or not), bad
 * requests answered with clear errors while the manager keeps serving, and
 * forwarding of keepalives, logs and profile records. The fake runtime
 * plays the runtime. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "stack.h"

static struct stack S;
static char *F1, *F2, *REG; /* runtime uuids of the current test's manager */
static char MODULE_DIR[PATH_MAX];

static int group_setup(void **state)
{
    (void)state;
    return stack_broker_up(&S);
}

/* Each test: fresh realm, a manager with two fake runtimes and a test/reg. */
static int test_setup(void **state)
{
    (void)state;
    if (stack_new_realm(&S)) return -1;
    if (!MODULE_DIR[0] && harness_tmpdir(MODULE_DIR)) return -1;
    const char *extra[] = {"--runtime",    "test/fake:f1", "--runtime",
                           "test/fake:f2", "--runtime",    "test/reg:reg",
                           "--module-dir", MODULE_DIR,     NULL};
    if (stack_manager_start(&S, "node", extra)) return -1;
    F1 = stack_wait_registration(&S, "runtime", "f1", NULL);
    F2 = stack_wait_registration(&S, "runtime", "f2", NULL);
    REG = stack_wait_registration(&S, "runtime", "reg", NULL);
    return F1 && F2 && REG ? 0 : -1;
}

static int test_teardown(void **state)
{
    (void)state;
    stack_manager_kill(&S);
    free(F1);
    free(F2);
    free(REG);
    F1 = F2 = REG = NULL;
    return 0;
}

/* Create a module and expect an ok answer; returns its index. */
static int create_ok(const char *runtime, const char *uuid, const char *script)
{
    struct message *r =
        stack_create(&S, runtime, module_data(uuid, "m", script ? steps(script) : NULL));
    assert_non_null(r);
    if (!json_at_equals(r->json, "data.result", "ok")) fail_msg("create answered %s", r->payload);
    assert_true(json_at_equals(r->json, "action", "create"));
    assert_true(json_at_equals(r->json, "data.details.uuid", uuid));
    json_t *index = json_at(r->json, "data.details.index");
    assert_true(json_is_integer(index));
    int i = (int)json_integer_value(index);
    message_free(r);
    return i;
}

/* Create a module and expect an error answer with a reason. */
static void create_error(const char *runtime, json_t *data)
{
    struct message *r = stack_create(&S, runtime, data);
    assert_non_null(r);
    if (!json_at_equals(r->json, "data.result", "error"))
        fail_msg("create answered %s", r->payload);
    const char *reason = json_str_at(r->json, "data.details.reason");
    assert_non_null(reason);
    assert_true(strlen(reason) > 0);
    message_free(r);
}

/* Fill a runtime with max_nmodules (4) fresh modules, then expect the next to
 * be refused: proves no slot is held by anything earlier. */
static void fill_to_limit(const char *runtime)
{
    int seen[4] = {0};
    for (int i = 0; i < 4; i++) {
        char *u = random_uuid();
        int index = create_ok(runtime, u, NULL);
        assert_in_range(index, 0, 3);
        assert_false(seen[index]);
        seen[index] = 1;
        free(u);
    }
    char *u = random_uuid();
    create_error(runtime, module_data(u, "one-too-many", NULL));
    free(u);
}

static void test_create_routed_with_index(void **state)
{
    (void)state;
    char *a = random_uuid(), *b = random_uuid(), *c = random_uuid();
    assert_int_equal(create_ok(F1, a, NULL), 0);
    assert_int_equal(create_ok(F1, b, NULL), 1);
    /* Each runtime has its own indexes; the module reports what it received. */
    assert_int_equal(create_ok(F2, c, "[{\"exit_echo\": true}]"), 0);
    struct message *m = stack_wait_exited(&S, F2, c, WAIT_MS);
    assert_non_null(m);
    assert_true(json_at_equals(m->json, "type", "req"));
    assert_true(json_at_equals(m->json, "data.type", "module"));
    assert_true(json_at_equals(m->json, "data.seen_runtime", "f2"));
    assert_true(json_at_equals(m->json, "data.seen_uuid", c));
    assert_true(json_at_equals(m->json, "data.seen_index", "0"));
    /* The runtime process was started with its identity in the environment. */
    assert_true(json_at_equals(m->json, "data.seen_env.type", "test/fake"));
    assert_true(json_at_equals(m->json, "data.seen_env.name", "f2"));
    assert_true(json_at_equals(m->json, "data.seen_env.uuid", F2));
    assert_true(json_at_equals(m->json, "data.seen_env.realm", S.realm));
    assert_true(json_at_equals(m->json, "data.seen_env.module_dir", MODULE_DIR));
    assert_true(json_at_equals(m->json, "data.status", "exited"));
    assert_true(json_at_equals(m->json, "data.exit_code", "0"));
    message_free(m);

    char *d = random_uuid();
    assert_int_equal(create_ok(F1, d, "[{\"exit_echo\": true}]"), 2);
    m = stack_wait_exited(&S, F1, d, WAIT_MS);
    assert_non_null(m);
    assert_true(json_at_equals(m->json, "data.seen_runtime", "f1"));
    assert_true(json_at_equals(m->json, "data.seen_index", "2"));
    message_free(m);
    free(a);
    free(b);
    free(c);
    free(d);
}

static void test_delete_acknowledged_and_index_reused(void **state)
{
    (void)state;
    char *a = random_uuid(), *b = random_uuid(), *c = random_uuid();
    assert_int_equal(create_ok(F1, a, NULL), 0);
    assert_int_equal(create_ok(F1, b, NULL), 1);
    struct message *r = stack_delete(&S, F1, a);
    assert_non_null(r);
    assert_true(json_at_equals(r->json, "data.result", "ok"));
    message_free(r);
    /* The fake answers a delete with exited "killed"; the manager reports it. */
    struct message *m = stack_wait_exited(&S, F1, a, WAIT_MS);
    assert_non_null(m);
    assert_true(json_at_equals(m->json, "data.status", "killed"));
    message_free(m);
    /* The lowest free index is 0 again. */
    assert_int_equal(create_ok(F1, c, NULL), 0);
    free(a);
    free(b);
    free(c);
}

static void test_module_limit(void **state)
{
    (void)state;
    char *u[4];
    for (int i = 0; i < 4; i++) {
        u[i] = random_uuid();
        assert_int_equal(create_ok(F1, u[i], NULL), i);
    }
    char *extra = random_uuid();
    create_error(F1, module_data(extra, "fifth", NULL));
    assert_true(proc_alive(&S.manager));
    /* The other runtime is unaffected, and a freed slot can be used again. */
    char *other = random_uuid();
    assert_int_equal(create_ok(F2, other, NULL), 0);
    struct message *r = stack_delete(&S, F1, u[2]);
    assert_non_null(r);
    assert_true(json_at_equals(r->json, "data.result", "ok"));
    message_free(r);
    struct message *m = stack_wait_exited(&S, F1, u[2], WAIT_MS);
    assert_non_null(m);
    message_free(m);
    assert_int_equal(create_ok(F1, extra, NULL), 2);
    for (int i = 0; i < 4; i++)
        free(u[i]);
    free(extra);
    free(other);
}

static void test_repeated_create_is_idempotent(void **state)
{
    (void)state;
    char *a = random_uuid();
    assert_int_equal(create_ok(F1, a, NULL), 0);
    assert_int_equal(create_ok(F1, a, NULL), 0);
    /* The repeat took no slot: three more fit, then the runtime is full. */
    for (int i = 1; i < 4; i++) {
        char *u = random_uuid();
        assert_int_equal(create_ok(F1, u, NULL), i);
        free(u);
    }
    char *u = random_uuid();
    create_error(F1, module_data(u, "full", NULL));
    free(u);
    free(a);
}

static void test_create_on_reg_runtime_is_refused(void **state)
{
    (void)state;
    char *a = random_uuid();
    create_error(REG, module_data(a, "nowhere", NULL));
    assert_true(proc_alive(&S.manager));
    free(a);
}

static void test_create_missing_fields_takes_no_slot(void **state)
{
    (void)state;
    char *a = random_uuid();
    create_error(F1, json_pack("{s:s, s:s}", "type", "module", "uuid", a)); /* no name, file */
    char *b = random_uuid();
    create_error(F1, json_pack("{s:s, s:s, s:s}", "type", "module", "uuid", b, "name", "x"));
    create_error(F1, json_pack("{s:s, s:s, s:i, s:s}", "type", "module", "uuid", b, "name", 5,
                               "file", "f.wasm"));
    fill_to_limit(F1);
    assert_true(proc_alive(&S.manager));
    free(a);
    free(b);
}

static void test_exited_json_published_and_slot_freed(void **state)
{
    (void)state;
    char *a = random_uuid();
    assert_int_equal(create_ok(F1, a, "[{\"exit\": 3}]"), 0);
    struct message *m = stack_wait_exited(&S, F1, a, WAIT_MS);
    assert_non_null(m);
    assert_true(json_at_equals(m->json, "type", "req"));
    assert_true(json_at_equals(m->json, "data.type", "module"));
    assert_true(json_at_equals(m->json, "data.status", "exited"));
    assert_true(json_at_equals(m->json, "data.exit_code", "3"));
    message_free(m);
    fill_to_limit(F1);
    free(a);
}

static void test_exited_not_json_reported_failed_and_slot_freed(void **state)
{
    (void)state;
    char *a = random_uuid();
    assert_int_equal(create_ok(F1, a, "[{\"exit_raw\": \"this is not json\"}]"), 0);
    struct message *m = stack_wait_exited(&S, F1, a, WAIT_MS);
    assert_non_null(m);
    assert_true(json_at_equals(m->json, "data.type", "module"));
    assert_true(json_at_equals(m->json, "data.status", "failed"));
    const char *reason = json_str_at(m->json, "data.reason");
    assert_non_null(reason);
    assert_true(strlen(reason) > 0);
    message_free(m);
    fill_to_limit(F1);
    assert_true(proc_alive(&S.manager));
    free(a);
}

static void test_delete_unknown_module_is_an_error(void **state)
{
    (void)state;
    char *nobody = random_uuid();
    struct message *r = stack_delete(&S, F1, nobody);
    assert_non_null(r);
    assert_true(json_at_equals(r->json, "data.result", "error"));
    assert_non_null(json_str_at(r->json, "data.details.reason"));
    message_free(r);
    assert_true(proc_alive(&S.manager));
    char *a = random_uuid();
    assert_int_equal(create_ok(F1, a, NULL), 0);
    free(a);
    free(nobody);
}

/* After a bad request: an "error" message is published somewhere in the
 * realm, and the manager still answers a good request. */
static void expect_error_then_still_serving(void)
{
    char filter[128];
    snprintf(filter, sizeof filter, "%s/#", S.realm);
    struct message *m = NULL;
    assert_int_equal(client_wait_json(S.client, filter, WAIT_MS, &m, "action", "error", NULL), 0);
    message_free(m);
    assert_true(proc_alive(&S.manager));
    char *a = random_uuid();
    assert_int_equal(create_ok(F1, a, NULL), 0);
    free(a);
}

static void test_malformed_json_request(void **state)
{
    (void)state;
    char topic[256];
    snprintf(topic, sizeof topic, "%s/proc/control/%s", S.realm, F1);
    assert_int_equal(client_publish_str(S.client, topic, "{\"action\": \"create\", oops"), 0);
    expect_error_then_still_serving();
}

static void test_unknown_action(void **state)
{
    (void)state;
    char topic[256];
    snprintf(topic, sizeof topic, "%s/proc/control/%s", S.realm, F1);
    char *a = random_uuid();
    json_t *req = request_new("explode", module_data(a, "m", NULL), NULL);
    assert_int_equal(client_publish_json(S.client, topic, req), 0);
    json_decref(req);
    expect_error_then_still_serving();
    free(a);
}

static void test_keepalive_and_logs_forwarded(void **state)
{
    (void)state;
    char *a = random_uuid();
    assert_int_equal(create_ok(F1, a,
                               "[{\"keepalive\": {\"probe\": 42}},"
                               " {\"log\": [40, \"module-log-marker\"]},"
                               " {\"rtlog\": [30, \"runtime-log-marker\"]}]"),
                     0);
    char topic[256];
    snprintf(topic, sizeof topic, "%s/proc/keepalive/%s", S.realm, F1);
    struct message *m = NULL;
    assert_int_equal(client_wait_json(S.client, topic, WAIT_MS, &m, "action", "update", "data.type",
                                      "runtime", "data.uuid", F1, "data.probe", "42", NULL),
                     0);
    assert_true(json_at_equals(m->json, "data.name", "f1"));
    message_free(m);
    assert_int_equal(proc_log_wait(&S.manager, "module-log-marker", WAIT_MS), 0);
    assert_int_equal(proc_log_wait(&S.manager, "runtime-log-marker", WAIT_MS), 0);
    free(a);
}

static int payload_is(const struct message *m, void *ctx)
{
    return m->len == strlen(ctx) && !memcmp(m->payload, ctx, m->len);
}

static void test_profile_forwarded(void **state)
{
    (void)state;
    char *a = random_uuid();
    /* The first module of a fresh runtime has index 0: h1 = 0x80 | 0. */
    assert_int_equal(
        create_ok(F1, a, "[{\"raw\": {\"h1\": 128, \"h2\": 6, \"data\": \"profile-record\"}}]"), 0);
    char filter[256];
    snprintf(filter, sizeof filter, "%s/proc/profile/+/%s/%s", S.realm, F1, a);
    assert_int_equal(client_wait(S.client, filter, WAIT_MS, payload_is, "profile-record", NULL), 0);
    free(a);
}

int main(void)
{
    harness_init();
#define T(name) cmocka_unit_test_setup_teardown(name, test_setup, test_teardown)
    const struct CMUnitTest tests[] = {
        T(test_create_routed_with_index),
        T(test_delete_acknowledged_and_index_reused),
        T(test_module_limit),
        T(test_repeated_create_is_idempotent),
        T(test_create_on_reg_runtime_is_refused),
        T(test_create_missing_fields_takes_no_slot),
        T(test_exited_json_published_and_slot_freed),
        T(test_exited_not_json_reported_failed_and_slot_freed),
        T(test_delete_unknown_module_is_an_error),
        T(test_malformed_json_request),
        T(test_unknown_action),
        T(test_keepalive_and_logs_forwarded),
        T(test_profile_forwarded),
    };
    return cmocka_run_group_tests(tests, group_setup, stack_fixture_group_teardown);
}
