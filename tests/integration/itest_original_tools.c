/* Integration tests of `stratus orchestrator` with the original Silverline
 * node manager and its command-line client (issue: drop-in compatibility),
 * replaying their exact message shapes against a real orchestrator over a
 * real broker. The shapes are those the original Python manager and client
 * put on the wire (json.dumps spacing included), as recorded when they ran
 * against `stratus orchestrator` (docs/compatibility.md); the answers they
 * parse are checked field by field:
 *  - the manager registers itself and a minimal runtime (no keepalives from
 *    it, ever): both answered on their topic, the runtime stays alive past 3
 *    keepalive periods, takes the modules placed on it, and ends with the
 *    manager's last will;
 *  - on the runtime's control topic the orchestrator sends only what the
 *    manager serves (create / delete of data.type "module" with a uuid), and
 *    never an answer;
 *  - the manager's exited messages (the minimal runtime's {"status":
 *    "exited"}, or the status a runtime gives) end modules;
 *  - the client's `run` (GET /api/runtimes/{q}/ for .uuid, then create or
 *    create_batch on proc/control at QoS 2), `stop` (GET /api/modules/{q}/
 *    for .uuid, then delete), `list` and `status` (GET /api/runtimes/:
 *    results[].uuid, name, runtime_type, children[].uuid/name,
 *    queued[].uuid/name) and the 404 of an unknown name. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "orc_stack.h"
#include "stack.h"

static struct stack S;
static struct orchestrator ORC;

static int setup(void **state)
{
    (void)state;
    if (stack_new_realm(&S)) return -1;
    /* Keepalive period 1 s: 3 silent seconds would end a runtime that is
     * expected to send keepalives. */
    const char *extra[] = {"--keepalive", "1", NULL};
    return orchestrator_start(&ORC, S.broker.port, S.realm, NULL, extra);
}

static int teardown(void **state)
{
    (void)state;
    proc_kill(&ORC.proc);
    return 0;
}

static int group_setup(void **state)
{
    (void)state;
    return stack_broker_up(&S);
}

/* ---- the original manager, message by message ---- */

struct original_node {
    char manager[40], runtime[40];
    char reg_topic[128], rt_reg_topic[128], control[160];
};

static void topic_in_realm(char *buf, size_t cap, const char *suffix, const char *id)
{
    snprintf(buf, cap, "%s/proc/%s/%s", S.realm, suffix, id);
}

/* The original manager's request text: its control_message() of json.dumps
 * (a space after every ':' and ','). data_text is the JSON of data. */
static char *original_request(const char *action, const char *data_text, char oid[40])
{
    char *u = random_uuid();
    snprintf(oid, 40, "%s", u);
    free(u);
    char *text = NULL;
    if (asprintf(&text,
                 "{\"object_id\": \"%s\", \"action\": \"%s\", \"type\": \"req\", \"data\": %s}",
                 oid, action, data_text) < 0)
        return NULL;
    return text;
}

/* Publish as the original does (QoS 0 for the manager, 2 for the client),
 * and for a registration wait for the answer on the same topic: any message
 * there releases the original manager's wait; this one must be an answer to
 * its object_id. */
static json_t *send_original(const char *topic, const char *action, const char *data_text, int qos,
                             int wait_answer)
{
    char oid[40];
    char *text = original_request(action, data_text, oid);
    assert_non_null(text);
    assert_int_equal(client_publish(S.client, topic, text, strlen(text), qos), 0);
    free(text);
    if (!wait_answer) return NULL;
    struct message *m = NULL;
    assert_int_equal(
        client_wait_json(S.client, topic, WAIT_MS, &m, "type", "resp", "object_id", oid, NULL), 0);
    json_t *answer = json_incref(m->json);
    message_free(m);
    return answer;
}

/* Start the original manager's registration: manager, then its one runtime
 * (linux/min/wamr: max_nmodules 1, the apis of that interface). */
static void original_node_up(struct original_node *n, const char *name)
{
    char *u = random_uuid(), *r = random_uuid();
    snprintf(n->manager, sizeof n->manager, "%s", u);
    snprintf(n->runtime, sizeof n->runtime, "%s", r);
    free(u);
    free(r);
    topic_in_realm(n->reg_topic, sizeof n->reg_topic, "reg", n->manager);
    topic_in_realm(n->rt_reg_topic, sizeof n->rt_reg_topic, "reg", n->runtime);
    topic_in_realm(n->control, sizeof n->control, "control", n->runtime);
    char data[1024];
    snprintf(data, sizeof data, "{\"type\": \"manager\", \"uuid\": \"%s\", \"name\": \"%s\"}",
             n->manager, name);
    json_t *a = send_original(n->reg_topic, "create", data, 0, 1);
    assert_true(json_at_equals(a, "data.result", "ok"));
    json_decref(a);
    snprintf(data, sizeof data,
             "{\"type\": \"runtime\", \"uuid\": \"%s\", \"name\": \"%s\", \"runtime_type\": "
             "\"linux/min/wamr\", \"max_nmodules\": 1, \"apis\": [\"wasm\", \"wasi\", "
             "\"stdio:out\"], \"platform\": {}, \"metadata\": {\"host\": \"vm\"}, \"parent\": "
             "\"%s\"}",
             n->runtime, name, n->manager);
    a = send_original(n->rt_reg_topic, "create", data, 0, 1);
    assert_true(json_at_equals(a, "data.result", "ok"));
    assert_true(json_at_equals(a, "data.details.uuid", n->runtime));
    json_decref(a);
}

/* The manager's report of a module's end: {"type": "module", "uuid"} and
 * what the runtime sent (the minimal runtime: {"status": "exited"}). */
static void original_exited(const struct original_node *n, const char *module, const char *status)
{
    char data[256];
    snprintf(data, sizeof data, "{\"type\": \"module\", \"uuid\": \"%s\", \"status\": \"%s\"}",
             module, status);
    send_original(n->control, "exited", data, 0, 0);
}

static int is_orc_request(const struct message *m, void *ctx)
{
    (void)ctx;
    return m->json && json_at_equals(m->json, "type", "req") &&
           (json_at_equals(m->json, "action", "create") ||
            json_at_equals(m->json, "action", "delete"));
}

/* What the orchestrator sent to the runtime next: a create or delete that
 * the original manager's handler serves (action and data.type "module",
 * data.uuid), for module uuid. */
static json_t *next_request_for(const struct original_node *n, const char *action,
                                const char *module)
{
    struct message *m = NULL;
    assert_int_equal(client_wait_json(S.client, n->control, WAIT_MS, &m, "type", "req", "action",
                                      action, "data.uuid", module, NULL),
                     0);
    assert_true(json_at_equals(m->json, "data.type", "module"));
    assert_non_null(json_str_at(m->json, "object_id"));
    json_t *j = json_incref(m->json);
    message_free(m);
    return j;
}

static int is_resp(const struct message *m, void *ctx)
{
    (void)ctx;
    return m->json && json_at_equals(m->json, "type", "resp");
}

/* ---- the original client ---- */

/* `infer_runtime` / `infer_module`: GET {api}/{kind}/{q}/ and .uuid, or
 * NULL on any status >= 400 (the client then says "Could not find"). */
static char *client_infer(const char *kind, const char *q)
{
    char path[256];
    snprintf(path, sizeof path, "/api/%s/%s/", kind, q);
    struct http_answer a;
    assert_int_equal(http_request(ORC.http_port, "GET", path, NULL, 0, &a), 0);
    char *uuid = NULL;
    if (a.status < 400) {
        assert_non_null(a.json);
        const char *u = json_str_at(a.json, "uuid");
        assert_non_null(u);
        uuid = strdup(u);
    }
    http_answer_free(&a);
    return uuid;
}

/* `create_module`: the client's create on proc/control at QoS 2, pinned to
 * the runtime UUID it inferred, with run.py's args. */
static char *client_run(const char *runtime, const char *name, const char *file)
{
    char *module = random_uuid();
    char data[1024], topic[128];
    snprintf(data, sizeof data,
             "{\"type\": \"module\", \"parent\": \"%s\", \"uuid\": \"%s\", \"name\": \"%s\", "
             "\"file\": \"%s\", \"args\": {\"argv\": [\"one\"], \"env\": [], \"limit\": 60.0}}",
             runtime, module, name, file);
    snprintf(topic, sizeof topic, "%s/proc/control", S.realm);
    send_original(topic, "create", data, 2, 0);
    return module;
}

static void client_stop(const char *module)
{
    char data[256], topic[128];
    snprintf(data, sizeof data, "{\"type\": \"module\", \"uuid\": \"%s\"}", module);
    snprintf(topic, sizeof topic, "%s/proc/control", S.realm);
    send_original(topic, "delete", data, 2, 0);
}

/* The runtime's entry of GET /api/runtimes/ (what `list` and `status`
 * read), checked for the fields they index; NULL if absent. */
static json_t *listed_runtime(const char *uuid)
{
    json_t *list = http_get_json(ORC.http_port, "/api/runtimes/");
    assert_non_null(list);
    json_t *results = json_object_get(list, "results"), *found = NULL;
    assert_true(json_is_array(results));
    size_t i;
    json_t *rt;
    json_array_foreach(results, i, rt)
    {
        assert_true(json_is_string(json_object_get(rt, "uuid")));
        assert_true(json_is_string(json_object_get(rt, "name")));
        assert_true(json_is_string(json_object_get(rt, "runtime_type")));
        assert_true(json_is_array(json_object_get(rt, "children")));
        assert_true(json_is_array(json_object_get(rt, "queued")));
        if (json_at_equals(rt, "uuid", uuid)) found = json_incref(rt);
    }
    json_decref(list);
    return found;
}

/* Whether the list `field` (children, queued) of the runtime's entry holds
 * module uuid with name; each entry has the uuid and name the client shows. */
static int listed_in(json_t *rt, const char *field, const char *uuid, const char *name)
{
    json_t *a = json_object_get(rt, field), *m;
    size_t i;
    int hit = 0;
    json_array_foreach(a, i, m)
    {
        assert_true(json_is_string(json_object_get(m, "uuid")));
        assert_true(json_is_string(json_object_get(m, "name")));
        if (json_at_equals(m, "uuid", uuid) && json_at_equals(m, "name", name)) hit = 1;
    }
    return hit;
}

static void wait_module_state(const char *uuid, const char *state)
{
    char path[128];
    snprintf(path, sizeof path, "/api/modules/%s/", uuid);
    assert_int_equal(http_wait_field(ORC.http_port, path, "state", state, WAIT_MS), 0);
}

/* ---- tests ---- */

static void test_original_manager(void **state)
{
    (void)state;
    struct original_node n;
    original_node_up(&n, "node1");
    char path[128];
    snprintf(path, sizeof path, "/api/runtimes/%s/", n.runtime);
    json_t *rt = http_get_json(ORC.http_port, path);
    assert_true(json_at_equals(rt, "alive", "true"));
    assert_true(json_at_equals(rt, "parent", n.manager));
    assert_true(json_at_equals(rt, "max_nmodules", "1"));
    json_decref(rt);

    /* A minimal runtime sends no keepalives: 3.5 periods later it is alive. */
    usleep(3500 * 1000);
    assert_int_equal(http_wait_field(ORC.http_port, path, "alive", "true", 100), 0);

    /* A module placed by the orchestrator reaches the manager as a create it
     * serves; the module ends with the exited the manager forwards. */
    char *m1 = client_run(n.runtime, "hi", "hello.wasm");
    json_t *create = next_request_for(&n, "create", m1);
    assert_true(json_at_equals(create, "data.file", "hello.wasm"));
    assert_true(json_at_equals(create, "data.args.argv.0", "one"));
    json_decref(create);
    wait_module_state(m1, "A");
    original_exited(&n, m1, "exited");
    wait_module_state(m1, "D");
    char mpath[128];
    snprintf(mpath, sizeof mpath, "/api/modules/%s/", m1);
    json_t *rec = http_get_json(ORC.http_port, mpath);
    assert_true(json_at_equals(rec, "status", "exited"));
    json_decref(rec);

    /* One running, then the manager's last will: the runtime ends, its
     * module waits killed. */
    char *m2 = client_run(n.runtime, "long", "spin.wasm");
    json_decref(next_request_for(&n, "create", m2));
    wait_module_state(m2, "A");
    char data[256];
    snprintf(data, sizeof data, "{\"type\": \"manager\", \"uuid\": \"%s\", \"name\": \"node1\"}",
             n.manager);
    json_t *a = send_original(n.reg_topic, "delete", data, 2, 1);
    assert_true(json_at_equals(a, "data.result", "ok"));
    json_decref(a);
    assert_int_equal(http_wait_field(ORC.http_port, path, "alive", "false", WAIT_MS), 0);
    wait_module_state(m2, "K");

    /* Nothing the original manager would refuse was sent to the runtime:
     * requests only of module creates and deletes, and no answers. */
    client_discard(S.client, n.control, is_orc_request, NULL);
    assert_int_equal(client_count(S.client, n.control, is_resp, NULL), 0);
    free(m1);
    free(m2);
}

static void test_original_client(void **state)
{
    (void)state;
    struct original_node n;
    original_node_up(&n, "node2");

    /* run: the runtime by name, a module on it, one more queued (1 slot). */
    char *rt = client_infer("runtimes", "node2");
    assert_non_null(rt);
    assert_string_equal(rt, n.runtime);
    char *suffix = client_infer("runtimes", n.runtime + 32);
    assert_string_equal(suffix, n.runtime);
    free(suffix);
    assert_null(client_infer("runtimes", "no-such-node"));
    char *a = client_run(rt, "first", "spin.wasm");
    json_decref(next_request_for(&n, "create", a));
    wait_module_state(a, "A");
    char *b = client_run(rt, "second", "hello.wasm");
    wait_module_state(b, "Q");

    /* list: the running module among children, the waiting one queued. */
    json_t *entry = listed_runtime(n.runtime);
    assert_non_null(entry);
    assert_true(json_at_equals(entry, "name", "node2"));
    assert_true(json_at_equals(entry, "runtime_type", "linux/min/wamr"));
    assert_true(listed_in(entry, "children", a, "first"));
    assert_true(listed_in(entry, "queued", b, "second"));
    json_decref(entry);

    /* stop: the module by name, its delete forwarded as the manager takes
     * it; the runtime's exit ends it and the queued one starts. */
    char *found = client_infer("modules", "first");
    assert_string_equal(found, a);
    free(found);
    assert_null(client_infer("modules", "no-such-module"));
    client_stop(a);
    json_t *del = next_request_for(&n, "delete", a);
    json_decref(del);
    original_exited(&n, a, "killed");
    wait_module_state(a, "D");
    json_decref(next_request_for(&n, "create", b));
    wait_module_state(b, "A");
    original_exited(&n, b, "exited");
    wait_module_state(b, "D");

    /* run with several files: the client's create_batch, each module
     * forwarded in turn as the slot frees. */
    char *u1 = random_uuid(), *u2 = random_uuid();
    char data[1024], topic[128];
    snprintf(data, sizeof data,
             "{\"modules\": [{\"type\": \"module\", \"uuid\": \"%s\", \"name\": \"batch\", "
             "\"file\": \"hello.wasm\", \"args\": {\"argv\": [], \"env\": []}}, {\"type\": "
             "\"module\", \"uuid\": \"%s\", \"name\": \"batch\", \"file\": \"hello.wasm\", "
             "\"args\": {\"argv\": [], \"env\": []}}], \"parent\": \"%s\"}",
             u1, u2, rt);
    snprintf(topic, sizeof topic, "%s/proc/control", S.realm);
    send_original(topic, "create_batch", data, 2, 0);
    json_decref(next_request_for(&n, "create", u1));
    original_exited(&n, u1, "exited");
    json_decref(next_request_for(&n, "create", u2));
    original_exited(&n, u2, "exited");
    wait_module_state(u2, "D");
    assert_int_equal(client_count(S.client, n.control, is_resp, NULL), 0);
    free(u1);
    free(u2);
    free(a);
    free(b);
    free(rt);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_original_manager, setup, teardown),
        cmocka_unit_test_setup_teardown(test_original_client, setup, teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, stack_fixture_group_teardown);
}
