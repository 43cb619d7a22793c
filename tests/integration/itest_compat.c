/* Integration tests of compatibility with the original Silverline
 * orchestrator (issue: drop-in compatibility), replaying its exact message
 * shapes (../shared/PROTOCOL.md and the issue text) against a real manager:
 *  - its registration answer {object_id, type: "resp", data} has no action:
 *    accepted, the keepalive period it gives applied, no re-registration;
 *  - it refuses delete responses: a delete carried out is answered by the
 *    exited message alone;
 *  - it publishes a direct create again, as its stored record (index,
 *    status, apis, channels: []), after the module ended: run once only,
 *    while a genuine new run of the same UUID later still runs;
 *  - harmless alignments: metadata.host, client id {name}:{uuid}. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "stack.h"

static struct stack S;

static int group_setup(void **state)
{
    (void)state;
    return stack_broker_up(&S);
}

static int is_request(const struct message *m, void *ctx)
{
    (void)ctx;
    return m->json && json_at_equals(m->json, "type", "req") &&
           json_at_equals(m->json, "action", "create");
}

/* Answer a registration as the original orchestrator does: no action. */
static void answer_like_original(const struct message *req, int ka_interval_sec)
{
    json_t *details = json_deep_copy(json_at(req->json, "data"));
    json_object_set_new(details, "ka_interval_sec", json_integer(ka_interval_sec));
    json_t *ans =
        json_pack("{s:s, s:s, s:{s:s, s:o}}", "object_id", json_str_at(req->json, "object_id"),
                  "type", "resp", "data", "result", "ok", "details", details);
    assert_int_equal(client_publish_json(S.client, req->topic, ans), 0);
    json_decref(ans);
}

static void test_registration_answer_without_action(void **state)
{
    (void)state;
    const char *extra[] = {"--runtime", "test/fake:f", "--reg-timeout", "1", NULL};
    assert_int_equal(stack_manager_start(&S, "node", extra), 0);
    struct message *mreq = NULL, *rreq = NULL;
    char *mgr = stack_wait_registration(&S, "manager", "node", &mreq);
    char *f = stack_wait_registration(&S, "runtime", "f", &rreq);
    assert_non_null(mgr);
    assert_non_null(f);
    /* The harmless alignments of the registration. */
    char host[256];
    assert_int_equal(gethostname(host, sizeof host), 0);
    assert_true(json_at_equals(rreq->json, "data.metadata.host", host));
    answer_like_original(mreq, 1);
    answer_like_original(rreq, 1);
    message_free(mreq);
    message_free(rreq);

    /* Registered: no retry although the timeout is 1 s, and keepalives come
     * every second as the answer says. */
    char reg[256], ka[256];
    snprintf(reg, sizeof reg, "%s/proc/reg/+", S.realm);
    snprintf(ka, sizeof ka, "%s/proc/keepalive/%s", S.realm, f);
    client_discard(S.client, reg, is_request, NULL);
    sleep(3);
    assert_int_equal(client_count(S.client, reg, is_request, NULL), 0);
    assert_in_range(client_count(S.client, ka, NULL, NULL), 2, 4);
    assert_int_equal(proc_log_wait(&S.manager, "missing field 'action'", 0), -1);
    /* The MQTT client id is {name}:{uuid}, as the original manager's. */
    struct proc broker_log = {0};
    snprintf(broker_log.log_path, sizeof broker_log.log_path, "%s", S.broker.log_path);
    char id[128];
    snprintf(id, sizeof id, " as node:%s ", mgr);
    assert_int_equal(proc_log_wait(&broker_log, id, WAIT_MS), 0);
    free(mgr);
    free(f);
}

static int is_delete_response(const struct message *m, void *ctx)
{
    (void)ctx;
    return m->json && json_at_equals(m->json, "type", "resp") &&
           json_at_equals(m->json, "action", "delete");
}

static void test_delete_has_no_response(void **state)
{
    (void)state;
    const char *extra[] = {"--runtime", "test/fake:f", NULL};
    assert_int_equal(stack_manager_start(&S, "node", extra), 0);
    char *f = stack_wait_registration(&S, "runtime", "f", NULL);
    assert_non_null(f);
    char *u = random_uuid();
    struct message *r = stack_create(&S, f, module_data(u, "m", NULL));
    assert_non_null(r);
    assert_true(json_at_equals(r->json, "action", "create")); /* create/resp: accepted */
    message_free(r);
    /* The original orchestrator's delete, as it sends it. */
    char topic[256];
    snprintf(topic, sizeof topic, "%s/proc/control/%s", S.realm, f);
    assert_int_equal(stack_publish_delete(&S, f, u), 0);
    struct message *e = stack_wait_exited(&S, f, u, WAIT_MS);
    assert_non_null(e);
    assert_true(json_at_equals(e->json, "data.status", "killed"));
    message_free(e);
    usleep(QUIET_MS * 1000);
    assert_int_equal(client_count(S.client, topic, is_delete_response, NULL), 0);
    free(u);
    free(f);
}

static void test_direct_create_repeat_runs_once(void **state)
{
    (void)state;
    const char *extra[] = {"--runtime", "test/fake:f", NULL};
    assert_int_equal(stack_manager_start(&S, "node", extra), 0);
    char *f = stack_wait_registration(&S, "runtime", "f", NULL);
    assert_non_null(f);
    char topic[256];
    snprintf(topic, sizeof topic, "%s/proc/control/%s", S.realm, f);
    char *u = random_uuid();

    /* A client's direct create; the module runs and ends at once. */
    struct message *r = stack_create(&S, f, module_data(u, "once", steps("[{\"exit\": 0}]")));
    assert_non_null(r);
    assert_true(json_at_equals(r->json, "data.result", "ok"));
    message_free(r);
    struct message *e = NULL;
    assert_int_equal(client_wait(S.client, topic, WAIT_MS, stack_is_exit_of, u, &e), 0);
    message_free(e);

    /* The original orchestrator's repeat: its stored record of the module. */
    json_t *record = module_data(u, "once", steps("[{\"exit\": 0}]"));
    json_object_set_new(record, "index", json_integer(0));
    json_object_set_new(record, "status", json_string("A"));
    json_object_set_new(record, "apis", json_pack("[s, s]", "wasm", "wasi"));
    json_object_set_new(record, "channels", json_array());
    json_object_set_new(record, "parent", json_string(f));
    r = stack_create(&S, f, record);
    assert_non_null(r);
    assert_true(json_at_equals(r->json, "data.result", "ok"));
    assert_true(json_at_equals(r->json, "data.details.repeat", "true"));
    message_free(r);
    usleep(QUIET_MS * 1000);
    assert_int_equal(client_count(S.client, topic, stack_is_exit_of, u), 0);

    /* A genuine new run of the same UUID later: it runs. */
    r = stack_create(&S, f, module_data(u, "again", steps("[{\"exit\": 3}]")));
    assert_non_null(r);
    assert_true(json_at_equals(r->json, "data.result", "ok"));
    assert_non_null(json_at(r->json, "data.details.index"));
    message_free(r);
    assert_int_equal(client_wait(S.client, topic, WAIT_MS, stack_is_exit_of, u, &e), 0);
    assert_true(json_at_equals(e->json, "data.exit_code", "3"));
    message_free(e);

    /* The record arriving while the module still runs: not a second run,
     * and no later suppression either. */
    char *v = random_uuid();
    r = stack_create(&S, f, module_data(v, "slow", steps("[{\"sleep_ms\": 300}, {\"exit\": 0}]")));
    message_free(r);
    json_t *rec2 = module_data(v, "slow", NULL);
    json_object_set_new(rec2, "status", json_string("A"));
    r = stack_create(&S, f, rec2);
    assert_non_null(r);
    assert_true(json_at_equals(r->json, "data.result", "ok"));
    message_free(r);
    assert_int_equal(client_wait(S.client, topic, WAIT_MS, stack_is_exit_of, v, &e), 0);
    message_free(e);
    usleep(QUIET_MS * 1000);
    assert_int_equal(client_count(S.client, topic, stack_is_exit_of, v), 0);
    free(v);
    free(u);
    free(f);
}

int main(void)
{
    harness_init();
#define T(name)                                                                                    \
    cmocka_unit_test_setup_teardown(name, stack_fixture_new_realm, stack_fixture_kill_manager)
    const struct CMUnitTest tests[] = {
        T(test_registration_answer_without_action),
        T(test_delete_has_no_response),
        T(test_direct_create_repeat_runs_once),
    };
    return cmocka_run_group_tests(tests, group_setup, stack_fixture_group_teardown);
}
