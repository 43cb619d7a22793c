/* Unit tests of the orchestrator's logic (orc.h) with a fake clock, fake
 * I/O and a fake store, plus the SQLite store for the restart case:
 * registration and its answer, placement by apis, load and parent, queues,
 * create_batch, delete, duplicates, direct creates, lost runtimes and the
 * re-creation of their modules, keepalive deadlines, managers' answers, bad
 * input, restarts, metrics and kept output. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "fake_io.h"
#include "orc.h"
#include "store.h"
#include "stratus/envelope.h"
#include "stratus/topic.h"

#define REALM "realm"
#define M1 "00000000-0000-4000-8000-0000000000a1"
#define M2 "00000000-0000-4000-8000-0000000000a2"
#define RT1 "00000000-0000-4000-8000-000000000001"
#define RT2 "00000000-0000-4000-8000-000000000002"
#define RT3 "00000000-0000-4000-8000-000000000003"
#define MOD1 "00000000-0000-4000-8000-00000000f001"
#define MOD2 "00000000-0000-4000-8000-00000000f002"

static struct fake_io IO;
static struct store *STORE;
static struct orc *O;

static int setup_with(struct store *s)
{
    memset(&IO, 0, sizeof IO);
    IO.now_ms = 1000;
    IO.wall = 1.7e9;
    STORE = s;
    struct orc_options opt = {.realm = REALM, .ka_interval_sec = 5, .io = fake_io_bind(&IO)};
    char err[ORC_ERR_LEN];
    if (orc_new(&opt, STORE, &O, err) < 0) {
        fprintf(stderr, "orc_new: %s\n", err);
        return -1;
    }
    orc_connected(O);
    return 0;
}

static int setup(void **state)
{
    (void)state;
    return setup_with(fake_store_new());
}

static int teardown(void **state)
{
    (void)state;
    orc_free(O);
    O = NULL;
    fake_io_clear(&IO);
    return 0;
}

/* ---- helpers ---- */

static const char *topic_of(enum topic_kind kind, const char *id)
{
    static char buf[4][TOPIC_LAYOUT_MAX];
    static int n;
    char *b = buf[n++ % 4];
    assert_int_equal(topic_format(b, TOPIC_LAYOUT_MAX, REALM, kind, id), 0);
    return b;
}

static void send_raw(const char *topic, const char *text)
{
    orc_handle_message(O, topic, text, strlen(text));
}

/* Send a request envelope (data stolen); returns its object_id (static). */
static const char *send_req(const char *topic, const char *action, json_t *data)
{
    static char oid[8][64];
    static int n;
    char *o = oid[n++ % 8];
    snprintf(o, 64, "00000000-0000-4000-9000-%012d", n);
    json_t *msg = envelope_request(o, action, data);
    char *text = json_dumps(msg, JSON_COMPACT);
    send_raw(topic, text);
    free(text);
    json_decref(msg);
    return o;
}

static void reg_manager(const char *uuid, const char *name)
{
    send_req(topic_of(TOPIC_REG, uuid), "create",
             json_pack("{s:s, s:s, s:s}", "type", "manager", "uuid", uuid, "name", name));
}

static const char *reg_runtime(const char *uuid, const char *name, int max, const char *apis,
                               const char *manager)
{
    json_t *d = json_pack("{s:s, s:s, s:s, s:s, s:i}", "type", "runtime", "uuid", uuid, "name",
                          name, "runtime_type", "test/x", "max_nmodules", max);
    if (apis) json_object_set_new(d, "apis", json_loads(apis, 0, NULL));
    if (manager) json_object_set_new(d, "parent", json_string(manager));
    return send_req(topic_of(TOPIC_REG, uuid), "create", d);
}

/* The last message sent on topic (of the given kind: 1 request, 0 publish,
 * -1 either) whose action is `action` (NULL: any); NULL if none. */
static json_t *last_sent(const char *topic, const char *action, int is_request)
{
    for (size_t i = IO.nsent; i-- > 0;) {
        struct sent *s = &IO.sent[i];
        if (strcmp(s->topic, topic)) continue;
        if (is_request >= 0 && s->is_request != is_request) continue;
        const char *a = json_string_value(json_object_get(s->msg, "action"));
        if (action && (!a || strcmp(a, action))) continue;
        return s->msg;
    }
    return NULL;
}

static int count_sent(const char *topic, const char *action)
{
    int n = 0;
    for (size_t i = 0; i < IO.nsent; i++) {
        const char *a = json_string_value(json_object_get(IO.sent[i].msg, "action"));
        n += !strcmp(IO.sent[i].topic, topic) && a && !strcmp(a, action);
    }
    return n;
}

static const char *str_at(json_t *msg, const char *a, const char *b, const char *c)
{
    json_t *v = json_object_get(msg, a);
    if (b) v = json_object_get(v, b);
    if (c) v = json_object_get(v, c);
    return json_string_value(v);
}

/* Create a module on {realm}/proc/control; returns the answer's details. */
static json_t *create(const char *json_data)
{
    json_t *data = json_loads(json_data, 0, NULL);
    assert_non_null(data);
    const char *oid = send_req(topic_of(TOPIC_CONTROL, NULL), "create", data);
    json_t *ans = last_sent(topic_of(TOPIC_CONTROL, NULL), "create", 0);
    assert_non_null(ans);
    assert_string_equal(str_at(ans, "object_id", NULL, NULL), oid);
    assert_string_equal(str_at(ans, "type", NULL, NULL), "resp");
    return ans;
}

static const char *result_of(json_t *ans)
{
    return str_at(ans, "data", "result", NULL);
}

static struct orc_module *module(const char *q)
{
    struct orc_module *m = NULL;
    char err[ORC_ERR_LEN];
    assert_int_equal(orc_find_module(O, q, &m, err), ORC_OK);
    return m;
}

/* Every stored field of the module (read from the store when not in memory). */
static const struct orc_module_detail *detail(const char *q)
{
    return orc_module_detail(O, module(q));
}

static struct orc_runtime *runtime(const char *q)
{
    struct orc_runtime *r = NULL;
    char err[ORC_ERR_LEN];
    assert_int_equal(orc_find_runtime(O, q, &r, err), ORC_OK);
    return r;
}

static void exited(const char *rt, const char *uuid, const char *status, int code)
{
    json_t *d = json_pack("{s:s, s:s, s:s, s:i}", "type", "module", "uuid", uuid, "status", status,
                          "exit_code", code);
    send_req(topic_of(TOPIC_CONTROL_RUNTIME, rt), "exited", d);
}

/* Answer the last create (or delete) the orchestrator sent to rt. */
static void answer_last(const char *rt, const char *action, int ok, const char *reason)
{
    json_t *req = last_sent(topic_of(TOPIC_CONTROL_RUNTIME, rt), action, 1);
    assert_non_null(req);
    json_t *details = json_object();
    if (reason) json_object_set_new(details, "reason", json_string(reason));
    json_t *resp = envelope_response(str_at(req, "object_id", NULL, NULL), action, ok, details);
    char *text = json_dumps(resp, JSON_COMPACT);
    struct envelope env;
    char err[ENVELOPE_ERR_LEN];
    assert_int_equal(envelope_parse(text, strlen(text), &env, err), 0);
    orc_answer(O, str_at(req, "object_id", NULL, NULL), &env);
    envelope_clear(&env);
    free(text);
    json_decref(resp);
}

static int log_errors(void)
{
    return count_sent(topic_of(TOPIC_LOG, "orchestrator"), "error");
}

/* ---- tests ---- */

static void test_registration_answer(void **state)
{
    (void)state;
    reg_manager(M1, "node");
    json_t *ans = last_sent(topic_of(TOPIC_REG, M1), NULL, 0);
    assert_non_null(ans);
    assert_string_equal(result_of(ans), "ok");
    const char *oid = reg_runtime(RT1, "rt1", 4, NULL, M1);
    ans = last_sent(topic_of(TOPIC_REG, RT1), NULL, 0);
    assert_string_equal(str_at(ans, "object_id", NULL, NULL), oid);
    assert_string_equal(str_at(ans, "action", NULL, NULL), "create");
    assert_string_equal(str_at(ans, "type", NULL, NULL), "resp");
    assert_string_equal(result_of(ans), "ok");
    json_t *details = json_object_get(json_object_get(ans, "data"), "details");
    assert_int_equal(json_integer_value(json_object_get(details, "ka_interval_sec")), 5);
    assert_string_equal(json_string_value(json_object_get(details, "uuid")), RT1);
    assert_string_equal(json_string_value(json_object_get(details, "parent")), M1);

    /* A retry: same answer, no duplicate, no error. */
    oid = reg_runtime(RT1, "rt1", 4, NULL, M1);
    ans = last_sent(topic_of(TOPIC_REG, RT1), NULL, 0);
    assert_string_equal(str_at(ans, "object_id", NULL, NULL), oid);
    assert_string_equal(result_of(ans), "ok");
    assert_int_equal(orc_runtime_count(O), 1);
    assert_int_equal(orc_manager_count(O), 1);
    assert_int_equal(log_errors(), 0);
}

static void test_placement_by_apis_and_load(void **state)
{
    (void)state;
    reg_runtime(RT1, "plain", 4, "[\"wasm\",\"wasi\"]", NULL);
    reg_runtime(RT2, "chan", 4, "[\"wasm\",\"wasi\",\"channels\"]", NULL);
    json_t *ans = create("{\"name\":\"c\",\"file\":\"c.wasm\",\"apis\":[\"wasm\",\"channels\"]}");
    assert_string_equal(result_of(ans), "ok");
    assert_string_equal(str_at(ans, "data", "details", "parent"), RT2);
    assert_non_null(last_sent(topic_of(TOPIC_CONTROL_RUNTIME, RT2), "create", 1));
    /* Without apis: wasm and wasi, on the least loaded runtime. */
    for (int i = 0; i < 3; i++)
        create("{\"name\":\"p\",\"file\":\"p.wasm\"}");
    assert_int_equal(runtime(RT1)->nlive, 2);
    assert_int_equal(runtime(RT2)->nlive, 2);
    /* An api nobody offers: queued, with the reason. */
    ans = create("{\"name\":\"g\",\"file\":\"g.wasm\",\"apis\":[\"gpu\"]}");
    assert_string_equal(str_at(ans, "data", "details", "state"), "Q");
    assert_non_null(strstr(str_at(ans, "data", "details", "reason"), "no runtime offers [gpu]"));
}

static void test_parent_lookup(void **state)
{
    (void)state;
    reg_runtime(RT1, "same", 4, NULL, NULL);
    reg_runtime(RT2, "same", 4, NULL, NULL);
    reg_runtime(RT3, "solo", 4, NULL, NULL);
    json_t *ans = create("{\"name\":\"a\",\"file\":\"a.wasm\",\"parent\":\"" RT2 "\"}");
    assert_string_equal(str_at(ans, "data", "details", "parent"), RT2);
    ans = create("{\"name\":\"b\",\"file\":\"a.wasm\",\"parent\":\"solo\"}");
    assert_string_equal(str_at(ans, "data", "details", "parent"), RT3);
    ans = create("{\"name\":\"c\",\"file\":\"a.wasm\",\"parent\":\"0001\"}");
    assert_string_equal(str_at(ans, "data", "details", "parent"), RT1);
    int errors = log_errors();
    ans = create("{\"name\":\"d\",\"file\":\"a.wasm\",\"parent\":\"same\"}");
    assert_string_equal(result_of(ans), "error");
    const char *reason = str_at(ans, "data", "details", "reason");
    assert_non_null(strstr(reason, "ambiguous"));
    assert_non_null(strstr(reason, RT1));
    assert_non_null(strstr(reason, RT2));
    assert_int_equal(log_errors(), errors + 1);
    ans = create("{\"name\":\"e\",\"file\":\"a.wasm\",\"parent\":\"nowhere\"}");
    assert_string_equal(result_of(ans), "error");
    assert_non_null(strstr(str_at(ans, "data", "details", "reason"), "no runtime 'nowhere'"));
    assert_int_equal(orc_module_count(O), 3);
}

static void test_queues_and_dequeue(void **state)
{
    (void)state;
    reg_runtime(RT1, "one", 1, NULL, NULL);
    json_t *a = create("{\"name\":\"a\",\"file\":\"a.wasm\",\"parent\":\"one\"}");
    char ua[64];
    snprintf(ua, sizeof ua, "%s", str_at(a, "data", "details", "uuid"));
    json_t *b = create("{\"name\":\"b\",\"file\":\"b.wasm\",\"parent\":\"one\"}");
    assert_string_equal(str_at(b, "data", "details", "state"), "Q");
    assert_string_equal(str_at(b, "data", "details", "queue"), "runtime");
    assert_non_null(strstr(str_at(b, "data", "details", "reason"), "runtime one is full"));
    json_t *c = create("{\"name\":\"c\",\"file\":\"c.wasm\"}");
    assert_string_equal(str_at(c, "data", "details", "queue"), "realm");
    assert_non_null(strstr(str_at(c, "data", "details", "reason"), "are full"));
    /* The exit of a starts b (older than c). */
    exited(RT1, ua, "exited", 0);
    assert_int_equal(module(ua)->state, MOD_DEAD);
    assert_int_equal(module("b")->state, MOD_ALIVE);
    assert_int_equal(module("c")->state, MOD_QUEUED);
    /* A new runtime takes c from the realm queue. */
    reg_runtime(RT2, "two", 1, NULL, NULL);
    assert_int_equal(module("c")->state, MOD_ALIVE);
    assert_ptr_equal(module("c")->runtime, runtime("two"));
    /* With nothing queued, a new create on a full realm waits; an exit
     * starts it on the runtime that freed the slot. */
    json_t *d = create("{\"name\":\"d\",\"file\":\"d.wasm\"}");
    assert_string_equal(str_at(d, "data", "details", "state"), "Q");
    exited(RT2, module("c")->uuid, "exited", 0);
    assert_int_equal(module("d")->state, MOD_ALIVE);
    assert_ptr_equal(module("d")->runtime, runtime("two"));
}

static void test_create_batch(void **state)
{
    (void)state;
    reg_runtime(RT1, "one", 4, NULL, NULL);
    reg_runtime(RT2, "two", 4, NULL, NULL);
    json_t *data =
        json_loads("{\"parent\":\"two\",\"modules\":[{\"name\":\"x\",\"file\":\"x.wasm\"},"
                   "{\"name\":\"y\"},{\"name\":\"z\",\"file\":\"z.wasm\"}]}",
                   0, NULL);
    send_req(topic_of(TOPIC_CONTROL, NULL), "create_batch", data);
    json_t *ans = last_sent(topic_of(TOPIC_CONTROL, NULL), "create_batch", 0);
    assert_non_null(ans);
    assert_string_equal(result_of(ans), "error");
    json_t *mods =
        json_object_get(json_object_get(json_object_get(ans, "data"), "details"), "modules");
    assert_int_equal(json_array_size(mods), 3);
    assert_string_equal(str_at(json_array_get(mods, 0), "result", NULL, NULL), "ok");
    assert_string_equal(str_at(json_array_get(mods, 1), "result", NULL, NULL), "error");
    assert_string_equal(str_at(json_array_get(mods, 2), "result", NULL, NULL), "ok");
    assert_ptr_equal(module("x")->runtime, runtime("two"));
    assert_ptr_equal(module("z")->runtime, runtime("two"));
    assert_int_equal(orc_module_count(O), 2);
    assert_int_equal(count_sent(topic_of(TOPIC_CONTROL_RUNTIME, RT2), "create"), 2);
}

static void test_delete_running_and_queued(void **state)
{
    (void)state;
    reg_runtime(RT1, "one", 1, NULL, NULL);
    create("{\"name\":\"run\",\"file\":\"a.wasm\",\"uuid\":\"" MOD1 "\"}");
    create("{\"name\":\"wait\",\"file\":\"a.wasm\",\"uuid\":\"" MOD2 "\"}");
    assert_int_equal(module(MOD2)->state, MOD_QUEUED);
    /* Queued: leaves the queue at once. */
    send_req(topic_of(TOPIC_CONTROL, NULL), "delete",
             json_pack("{s:s, s:s}", "type", "module", "uuid", MOD2));
    assert_string_equal(result_of(last_sent(topic_of(TOPIC_CONTROL, NULL), "delete", 0)), "ok");
    assert_int_equal(module(MOD2)->state, MOD_DEAD);
    /* Running: forwarded, exiting until the exit comes. */
    send_req(topic_of(TOPIC_CONTROL, NULL), "delete", json_pack("{s:s}", "uuid", MOD1));
    json_t *fwd = last_sent(topic_of(TOPIC_CONTROL_RUNTIME, RT1), "delete", 1);
    assert_non_null(fwd);
    assert_string_equal(str_at(fwd, "data", "uuid", NULL), MOD1);
    assert_int_equal(module(MOD1)->state, MOD_EXITING);
    exited(RT1, MOD1, "killed", 137);
    assert_int_equal(module(MOD1)->state, MOD_DEAD);
    assert_string_equal(detail(MOD1)->status, "killed");
    /* The deleted queued module did not take the freed slot. */
    assert_int_equal(module(MOD2)->state, MOD_DEAD);
    assert_int_equal(runtime(RT1)->nlive, 0);
    /* Deleting an ended module is refused. */
    json_t *rec = NULL;
    char err[ORC_ERR_LEN];
    assert_int_equal(orc_delete_module(O, MOD1, &rec, err), ORC_CONFLICT);
    assert_int_equal(orc_delete_module(O, "no-such", &rec, err), ORC_NOT_FOUND);
}

static void test_duplicate_uuid(void **state)
{
    (void)state;
    reg_runtime(RT1, "one", 4, NULL, NULL);
    assert_string_equal(
        result_of(create("{\"name\":\"a\",\"file\":\"a.wasm\",\"uuid\":\"" MOD1 "\"}")), "ok");
    json_t *ans = create("{\"name\":\"a\",\"file\":\"a.wasm\",\"uuid\":\"" MOD1 "\"}");
    assert_string_equal(result_of(ans), "error");
    assert_non_null(strstr(str_at(ans, "data", "details", "reason"), "already exists"));
    assert_int_equal(count_sent(topic_of(TOPIC_CONTROL_RUNTIME, RT1), "create"), 1);
    exited(RT1, MOD1, "exited", 0);
    ans = create("{\"name\":\"a\",\"file\":\"a.wasm\",\"uuid\":\"" MOD1 "\"}");
    assert_string_equal(result_of(ans), "ok");
    assert_int_equal(detail(MOD1)->runs, 2);
    assert_int_equal(module(MOD1)->state, MOD_ALIVE);
    assert_null(detail(MOD1)->status);
    assert_int_equal(count_sent(topic_of(TOPIC_CONTROL_RUNTIME, RT1), "create"), 2);
    assert_int_equal(orc_module_count(O), 1);
}

static void test_direct_create_recorded(void **state)
{
    (void)state;
    reg_runtime(RT1, "one", 4, NULL, NULL);
    size_t before = IO.nsent;
    send_req(topic_of(TOPIC_CONTROL_RUNTIME, RT1), "create",
             json_pack("{s:s, s:s, s:s, s:s}", "type", "module", "uuid", MOD1, "name", "direct",
                       "file", "d.wasm"));
    assert_int_equal(IO.nsent, before); /* nothing sent: not repeated */
    assert_int_equal(module(MOD1)->state, MOD_ALIVE);
    assert_ptr_equal(module(MOD1)->runtime, runtime(RT1));
    assert_int_equal(runtime(RT1)->nlive, 1);
    /* The same create again (the original re-sent them): still one record. */
    send_req(topic_of(TOPIC_CONTROL_RUNTIME, RT1), "create",
             json_pack("{s:s, s:s, s:s, s:s}", "type", "module", "uuid", MOD1, "name", "direct",
                       "file", "d.wasm"));
    assert_int_equal(IO.nsent, before);
    assert_int_equal(runtime(RT1)->nlive, 1);
    exited(RT1, MOD1, "exited", 0);
    assert_int_equal(module(MOD1)->state, MOD_DEAD);
    /* Our own forward, echoed back by a broker without no-local, is ignored. */
    create("{\"name\":\"ours\",\"file\":\"o.wasm\",\"uuid\":\"" MOD2 "\"}");
    json_t *fwd = json_incref(last_sent(topic_of(TOPIC_CONTROL_RUNTIME, RT1), "create", 1));
    char *text = json_dumps(fwd, JSON_COMPACT);
    send_raw(topic_of(TOPIC_CONTROL_RUNTIME, RT1), text);
    free(text);
    json_decref(fwd);
    assert_int_equal(runtime(RT1)->nlive, 1);
    assert_int_equal(detail(MOD2)->runs, 1);
    assert_int_equal(log_errors(), 0);
}

static void test_direct_create_without_uuid(void **state)
{
    (void)state;
    reg_runtime(RT1, "one", 4, NULL, NULL);
    const char *oid =
        send_req(topic_of(TOPIC_CONTROL_RUNTIME, RT1), "create",
                 json_pack("{s:s, s:s, s:s}", "type", "module", "name", "anon", "file", "a.wasm"));
    assert_int_equal(orc_module_count(O), 0);
    /* The manager's answer names the uuid it chose: now it is recorded. */
    char text[512];
    snprintf(text, sizeof text,
             "{\"object_id\":\"%s\",\"action\":\"create\",\"type\":\"resp\",\"data\":{"
             "\"result\":\"ok\",\"details\":{\"uuid\":\"" MOD1 "\",\"index\":0}}}",
             oid);
    send_raw(topic_of(TOPIC_CONTROL_RUNTIME, RT1), text);
    assert_int_equal(orc_module_count(O), 1);
    assert_int_equal(module(MOD1)->state, MOD_ALIVE);
    assert_string_equal(detail(MOD1)->name, "anon");
    assert_ptr_equal(module(MOD1)->runtime, runtime(RT1));
    /* A refused one is not recorded; an unanswered one is forgotten. */
    oid = send_req(topic_of(TOPIC_CONTROL_RUNTIME, RT1), "create",
                   json_pack("{s:s, s:s, s:s}", "type", "module", "name", "no", "file", "a.wasm"));
    snprintf(text, sizeof text,
             "{\"object_id\":\"%s\",\"action\":\"create\",\"type\":\"resp\",\"data\":{"
             "\"result\":\"error\",\"details\":{\"reason\":\"full\"}}}",
             oid);
    send_raw(topic_of(TOPIC_CONTROL_RUNTIME, RT1), text);
    send_req(topic_of(TOPIC_CONTROL_RUNTIME, RT1), "create",
             json_pack("{s:s, s:s, s:s}", "type", "module", "name", "late", "file", "a.wasm"));
    IO.now_ms += 20000;
    orc_tick(O);
    assert_int_equal(orc_module_count(O), 1);
}

static void test_lost_runtime_and_return(void **state)
{
    (void)state;
    reg_manager(M1, "n1");
    reg_runtime(RT1, "r1", 4, NULL, M1);
    create("{\"name\":\"pinned\",\"file\":\"a.wasm\",\"parent\":\"r1\"}");
    create("{\"name\":\"free\",\"file\":\"a.wasm\"}");
    assert_ptr_equal(module("free")->runtime, runtime(RT1));
    reg_manager(M2, "n2");
    reg_runtime(RT2, "r2", 4, NULL, M2);
    /* The manager goes (its last will): its runtime ends. */
    send_req(topic_of(TOPIC_REG, M1), "delete",
             json_pack("{s:s, s:s, s:s}", "type", "manager", "uuid", M1, "name", "n1"));
    assert_false(runtime(RT1)->alive);
    assert_int_equal(module("pinned")->state, MOD_KILLED);
    assert_non_null(strstr(detail("pinned")->reason, "its manager n1 ended"));
    /* The module we placed moved to the other node. */
    assert_int_equal(module("free")->state, MOD_ALIVE);
    assert_ptr_equal(module("free")->runtime, runtime(RT2));
    assert_int_equal(detail("free")->restarts, 1);
    /* The node returns: the pinned module is re-created once, however many
     * times the registration is repeated. */
    int creates = count_sent(topic_of(TOPIC_CONTROL_RUNTIME, RT1), "create");
    reg_manager(M1, "n1");
    reg_runtime(RT1, "r1", 4, NULL, M1);
    assert_int_equal(module("pinned")->state, MOD_ALIVE);
    assert_int_equal(count_sent(topic_of(TOPIC_CONTROL_RUNTIME, RT1), "create"), creates + 1);
    reg_runtime(RT1, "r1", 4, NULL, M1);
    reg_runtime(RT1, "r1", 4, NULL, M1);
    assert_int_equal(count_sent(topic_of(TOPIC_CONTROL_RUNTIME, RT1), "create"), creates + 1);
    assert_int_equal(detail("pinned")->restarts, 1);
    assert_int_equal(runtime(RT1)->nlive, 1);
}

static void keepalive(const char *runtime)
{
    send_req(topic_of(TOPIC_KEEPALIVE, runtime), "update",
             json_pack("{s:s, s:s}", "type", "runtime", "uuid", runtime));
}

/* An original manager's minimal runtime never sends keepalives: silence
 * does not end it (its manager's last will does); once it has sent one,
 * deadlines apply. */
static void test_runtime_without_keepalives(void **state)
{
    (void)state;
    reg_manager(M1, "n1");
    reg_runtime(RT1, "quiet", 1, NULL, M1);
    assert_int_equal(orc_tick(O), UINT64_MAX);
    IO.now_ms += 600000;
    orc_tick(O);
    assert_true(runtime(RT1)->alive);
    create("{\"name\":\"q\",\"file\":\"a.wasm\",\"parent\":\"quiet\"}");
    assert_int_equal(module("q")->state, MOD_ALIVE);
    /* A registration again changes nothing about that. */
    reg_runtime(RT1, "quiet", 1, NULL, M1);
    IO.now_ms += 600000;
    orc_tick(O);
    assert_true(runtime(RT1)->alive);
    /* Its first keepalive: from now on silence ends it. */
    keepalive(RT1);
    assert_int_equal(orc_tick(O), IO.now_ms + 15000);
    IO.now_ms += 15001;
    orc_tick(O);
    assert_false(runtime(RT1)->alive);
    assert_int_equal(module("q")->state, MOD_KILLED);
    /* The manager's last will ends such a runtime too. */
    reg_runtime(RT2, "quiet2", 1, NULL, M1);
    send_req(topic_of(TOPIC_REG, M1), "delete",
             json_pack("{s:s, s:s, s:s}", "type", "manager", "uuid", M1, "name", "n1"));
    assert_false(runtime(RT2)->alive);
}

struct seen_rows {
    int n;
    char states[8];
    char names[8][16];
    char uuids[8][UUID_STR_LEN];
};

static int collect_row(void *ctx, json_t *m)
{
    struct seen_rows *r = ctx;
    if (r->n == 7) return 1;
    r->states[r->n] = json_string_value(json_object_get(m, "state"))[0];
    snprintf(r->names[r->n], sizeof r->names[0], "%s",
             json_string_value(json_object_get(m, "name")));
    snprintf(r->uuids[r->n], UUID_STR_LEN, "%s", json_string_value(json_object_get(m, "uuid")));
    r->n++;
    return 0;
}

/* An ended module leaves memory at the end of the request that ended it;
 * the store keeps it: found by UUID, name and suffix (its record and output
 * read back), counted, listed, and a new run of its UUID starts from it. */
static void test_ended_modules_leave_memory(void **state)
{
    (void)state;
    reg_runtime(RT1, "one", 4, NULL, NULL);
    create("{\"name\":\"short\",\"file\":\"a.wasm\",\"uuid\":\"" MOD1 "\"}");
    create("{\"name\":\"long\",\"file\":\"b.wasm\"}");
    assert_int_equal(orc_modules_in_memory(O), 2);
    send_raw(topic_of(TOPIC_STDIO, MOD1), "said it");
    exited(RT1, MOD1, "exited", 3);
    orc_tick(O); /* the output is written; nothing holds the record */
    assert_int_equal(orc_modules_in_memory(O), 1);
    assert_int_equal(orc_module_count(O), 2);
    assert_int_equal(orc_module_count_in(O, MOD_DEAD), 1);
    /* Read back by UUID, by name and by suffix. */
    struct orc_module *m = module(MOD1);
    assert_int_equal(m->state, MOD_DEAD);
    assert_ptr_equal(m->runtime, runtime("one"));
    json_t *rec = orc_module_json(O, m, 1);
    assert_string_equal(json_string_value(json_object_get(rec, "name")), "short");
    assert_string_equal(json_string_value(json_object_get(rec, "status")), "exited");
    assert_int_equal(json_integer_value(json_object_get(rec, "exit_code")), 3);
    json_decref(rec);
    char *data;
    size_t len;
    assert_int_equal(orc_module_output(O, m, &data, &len), 0);
    assert_int_equal(len, 7);
    assert_memory_equal(data, "said it", 7);
    free(data);
    orc_tick(O);
    assert_int_equal(orc_modules_in_memory(O), 1);
    assert_string_equal(module("short")->uuid, MOD1);
    orc_tick(O);
    assert_string_equal(module("f001")->uuid, MOD1);
    orc_tick(O);
    /* Listed from the store, ended ones included, in order. */
    json_t *page = orc_module_page(O, 0, 0, 10);
    assert_int_equal(json_integer_value(json_object_get(page, "count")), 2);
    json_t *first = json_array_get(json_object_get(page, "results"), 0);
    assert_string_equal(json_string_value(json_object_get(first, "uuid")), MOD1);
    assert_string_equal(json_string_value(json_object_get(first, "state")), "D");
    assert_string_equal(json_string_value(json_object_get(first, "parent")), RT1);
    json_decref(page);
    /* A late line of output of the ended module is kept too. */
    send_raw(topic_of(TOPIC_STDIO, MOD1), "!");
    orc_tick(O);
    assert_int_equal(orc_modules_in_memory(O), 1);
    assert_int_equal(orc_module_output(O, module(MOD1), &data, &len), 0);
    assert_int_equal(len, 8);
    free(data);
    orc_tick(O);
    /* A new run of the UUID: back in memory, alive, its second run. */
    json_t *ans = create("{\"name\":\"short\",\"file\":\"a.wasm\",\"uuid\":\"" MOD1 "\"}");
    assert_string_equal(result_of(ans), "ok");
    assert_int_equal(orc_modules_in_memory(O), 2);
    assert_int_equal(module(MOD1)->state, MOD_ALIVE);
    assert_int_equal(detail(MOD1)->runs, 2);
    /* Many ended runs of one name and one live: the name finds the live one. */
    for (int i = 0; i < 20; i++) {
        create("{\"name\":\"many\",\"file\":\"a.wasm\"}");
        json_t *req = last_sent(topic_of(TOPIC_CONTROL_RUNTIME, RT1), "create", 1);
        exited(RT1, str_at(req, "data", "uuid", NULL), "exited", 0);
    }
    assert_int_equal(orc_modules_in_memory(O), 2);
    create("{\"name\":\"many\",\"file\":\"a.wasm\"}");
    assert_int_equal(module("many")->state, MOD_ALIVE);
    char err[ORC_ERR_LEN];
    struct orc_module *none;
    char last[UUID_STR_LEN];
    snprintf(last, sizeof last, "%s", module("many")->uuid);
    exited(RT1, last, "exited", 0);
    assert_int_equal(orc_find_module(O, "many", &none, err), ORC_CONFLICT);
    assert_non_null(strstr(err, "ambiguous"));
    assert_non_null(strstr(err, "(many), ..."));
    /* The newest modules, for the dashboard: ended ones, newest first, and
     * the one still alive. */
    struct seen_rows rows = {0};
    assert_int_equal(orc_recent_modules(O, 1, 3, collect_row, &rows), 0);
    assert_int_equal(rows.n, 3);
    assert_string_equal(rows.states, "DDD");
    assert_string_equal(rows.names[0], "many");
    assert_string_equal(rows.uuids[0], last); /* the one that ended last */
    memset(&rows, 0, sizeof rows);
    assert_int_equal(orc_recent_modules(O, 0, 10, collect_row, &rows), 0);
    assert_int_equal(rows.n, 2);
    assert_string_equal(rows.states, "AA");
    /* In the order first stored, newest first: a new run keeps its place. */
    assert_string_equal(rows.names[0], "long");
    assert_string_equal(rows.names[1], "short");
}

static void test_keepalive_deadline(void **state)
{
    (void)state;
    reg_runtime(RT1, "r1", 4, NULL, NULL);
    keepalive(RT1);
    create("{\"name\":\"p\",\"file\":\"a.wasm\",\"parent\":\"r1\"}");
    IO.now_ms += 10000;
    send_req(topic_of(TOPIC_KEEPALIVE, RT1), "update",
             json_pack("{s:s, s:s, s:[{s:s, s:b, s:f, s:i}]}", "type", "runtime", "uuid", RT1,
                       "children", "uuid", module("p")->uuid, "active", 1, "cpu_usage_percent",
                       12.5, "mem_usage", 4096));
    assert_int_equal(detail("p")->mem_usage, 4096);
    assert_int_equal(detail("p")->active, 1);
    IO.now_ms += 14900;
    uint64_t next = orc_tick(O);
    assert_true(runtime(RT1)->alive);
    assert_int_equal(next, IO.now_ms + 100);
    IO.now_ms += 200;
    orc_tick(O);
    assert_false(runtime(RT1)->alive);
    assert_int_equal(module("p")->state, MOD_KILLED);
    assert_non_null(strstr(detail("p")->reason, "no keepalive"));
    /* Heard again: alive, and its module re-created. */
    send_req(topic_of(TOPIC_KEEPALIVE, RT1), "update",
             json_pack("{s:s, s:s}", "type", "runtime", "uuid", RT1));
    assert_true(runtime(RT1)->alive);
    assert_int_equal(module("p")->state, MOD_ALIVE);
}

static void test_manager_answers(void **state)
{
    (void)state;
    reg_runtime(RT1, "one", 1, NULL, NULL);
    create("{\"name\":\"bad\",\"file\":\"missing.wasm\"}");
    create("{\"name\":\"next\",\"file\":\"a.wasm\"}");
    assert_int_equal(module("next")->state, MOD_QUEUED);
    answer_last(RT1, "create", 0, "cannot open missing.wasm");
    assert_int_equal(module("bad")->state, MOD_DEAD);
    assert_string_equal(detail("bad")->status, "failed");
    assert_non_null(strstr(detail("bad")->reason, "cannot open missing.wasm"));
    /* Its slot went to the queued one, whose manager never answers. */
    assert_int_equal(module("next")->state, MOD_ALIVE);
    json_t *req = last_sent(topic_of(TOPIC_CONTROL_RUNTIME, RT1), "create", 1);
    orc_answer(O, str_at(req, "object_id", NULL, NULL), NULL);
    assert_int_equal(module("next")->state, MOD_ALIVE);
    /* A delete the runtime does not know ends the module. */
    json_t *rec = NULL;
    char err[ORC_ERR_LEN];
    assert_int_equal(orc_delete_module(O, "next", &rec, err), ORC_OK);
    json_decref(rec);
    assert_int_equal(module("next")->state, MOD_EXITING);
    answer_last(RT1, "delete", 0, "no module on this runtime");
    assert_int_equal(module("next")->state, MOD_DEAD);
    assert_int_equal(runtime(RT1)->nlive, 0);
}

static void test_bad_input_changes_nothing(void **state)
{
    (void)state;
    reg_runtime(RT1, "one", 4, NULL, NULL);
    create("{\"name\":\"a\",\"file\":\"a.wasm\"}");
    struct fake_store *fs = fake_store_of(STORE);
    int puts = fs->puts, errors = log_errors();
    char topics[4][TOPIC_LAYOUT_MAX];
    snprintf(topics[0], TOPIC_LAYOUT_MAX, "%s", topic_of(TOPIC_REG, RT2));
    snprintf(topics[1], TOPIC_LAYOUT_MAX, "%s", topic_of(TOPIC_KEEPALIVE, RT1));
    snprintf(topics[2], TOPIC_LAYOUT_MAX, "%s", topic_of(TOPIC_CONTROL, NULL));
    snprintf(topics[3], TOPIC_LAYOUT_MAX, "%s", topic_of(TOPIC_CONTROL_RUNTIME, RT1));
    const char *bad[] = {
        "not json",
        "{\"object_id\":\"x\",\"action\":\"create\",\"type\":\"req\",\"data\":\"\xff\xfe\"}",
        "[1,2]",
        "{\"object_id\":\"x\",\"type\":\"req\",\"data\":{}}",
        "{\"object_id\":\"x\",\"action\":\"frobnicate\",\"type\":\"req\",\"data\":{}}",
        "{\"object_id\":\"x\",\"action\":\"create\",\"type\":\"req\",\"data\":{\"type\":5}}",
    };
    int expected = errors;
    for (size_t t = 0; t < 4; t++)
        for (size_t b = 0; b < sizeof bad / sizeof bad[0]; b++) {
            send_raw(topics[t], bad[b]);
            expected += 1;
            if (log_errors() != expected)
                fail_msg("no single error for %s on %s", bad[b], topics[t]);
        }
    /* Oversized. */
    size_t big = ORC_MAX_MESSAGE + 1;
    char *huge = malloc(big);
    memset(huge, ' ', big);
    orc_handle_message(O, topic_of(TOPIC_CONTROL, NULL), huge, big);
    free(huge);
    assert_int_equal(log_errors(), expected + 1);
    json_t *last = last_sent(topic_of(TOPIC_LOG, "orchestrator"), "error", 0);
    assert_non_null(strstr(str_at(last, "data", "details", "reason"), "larger than the limit"));
    /* A wrong type names the field, with the request's object_id. */
    send_raw(topic_of(TOPIC_CONTROL, NULL),
             "{\"object_id\":\"oid-7\",\"action\":\"create\",\"type\":\"req\",\"data\":{\"type\":"
             "\"module\",\"name\":3,\"file\":\"a.wasm\"}}");
    last = last_sent(topic_of(TOPIC_LOG, "orchestrator"), "error", 0);
    assert_string_equal(str_at(last, "data", "details", "object_id"), "oid-7");
    assert_non_null(strstr(str_at(last, "data", "details", "reason"), "name"));
    /* Nothing stored, nothing new, the module still alive. */
    assert_int_equal(fs->puts, puts);
    assert_int_equal(orc_module_count(O), 1);
    assert_int_equal(orc_runtime_count(O), 1);
    assert_int_equal(module("a")->state, MOD_ALIVE);
    /* Answers are consumed without a word. */
    int now = log_errors();
    send_raw(topic_of(TOPIC_CONTROL_RUNTIME, RT1),
             "{\"object_id\":\"z\",\"action\":\"error\",\"type\":\"resp\",\"data\":{\"result\":"
             "\"error\"}}");
    send_raw(topic_of(TOPIC_CONTROL, NULL),
             "{\"object_id\":\"z\",\"action\":\"create\",\"type\":\"resp\",\"data\":{}}");
    assert_int_equal(log_errors(), now);
}

static void test_store_failure_keeps_running(void **state)
{
    (void)state;
    reg_runtime(RT1, "one", 4, NULL, NULL);
    fake_store_of(STORE)->fail = 1;
    json_t *ans = create("{\"name\":\"a\",\"file\":\"a.wasm\"}");
    assert_string_equal(result_of(ans), "ok");
    assert_int_equal(module("a")->state, MOD_ALIVE);
    char *m = orc_metrics_text(O);
    assert_null(strstr(m, "stratus_store_errors_total 0\n"));
    free(m);
}

static void test_broker_down_then_up(void **state)
{
    (void)state;
    reg_runtime(RT1, "one", 4, NULL, NULL);
    reg_runtime(RT2, "two", 4, NULL, NULL);
    /* Requests that cannot be sent wait, with the reason, and keep their turn. */
    IO.offline = 1;
    json_t *rec = NULL;
    char err[ORC_ERR_LEN];
    json_t *data = json_loads("{\"name\":\"a\",\"file\":\"a.wasm\"}", 0, NULL);
    assert_int_equal(orc_create_module(O, data, &rec, err), ORC_OK);
    json_decref(data);
    assert_string_equal(json_string_value(json_object_get(rec, "state")), "Q");
    assert_non_null(strstr(json_string_value(json_object_get(rec, "reason")), "broker"));
    json_decref(rec);
    data = json_loads("{\"name\":\"b\",\"file\":\"a.wasm\",\"parent\":\"two\"}", 0, NULL);
    assert_int_equal(orc_create_module(O, data, &rec, err), ORC_OK);
    json_decref(data);
    json_decref(rec);
    assert_int_equal(module("b")->state, MOD_QUEUED);
    /* Back: both start, and nothing is sent twice. */
    IO.offline = 0;
    orc_connected(O);
    assert_int_equal(module("a")->state, MOD_ALIVE);
    assert_int_equal(module("b")->state, MOD_ALIVE);
    assert_ptr_equal(module("b")->runtime, runtime("two"));
    assert_int_equal(count_sent(topic_of(TOPIC_CONTROL_RUNTIME, RT2), "create") +
                         count_sent(topic_of(TOPIC_CONTROL_RUNTIME, RT1), "create"),
                     2);
    orc_connected(O);
    assert_int_equal(count_sent(topic_of(TOPIC_CONTROL_RUNTIME, RT2), "create") +
                         count_sent(topic_of(TOPIC_CONTROL_RUNTIME, RT1), "create"),
                     2);
}

static void test_metrics_text(void **state)
{
    (void)state;
    reg_manager(M1, "n1");
    reg_runtime(RT1, "one", 1, NULL, M1);
    create("{\"name\":\"a\",\"file\":\"a.wasm\"}");
    create("{\"name\":\"b\",\"file\":\"a.wasm\"}");
    send_raw(topic_of(TOPIC_CONTROL, NULL), "garbage");
    char *m = orc_metrics_text(O);
    assert_non_null(m);
    assert_non_null(strstr(m, "stratus_managers{state=\"alive\"} 1\n"));
    assert_non_null(strstr(m, "stratus_runtimes{state=\"alive\"} 1\n"));
    assert_non_null(strstr(m, "stratus_modules{state=\"A\"} 1\n"));
    assert_non_null(strstr(m, "stratus_modules{state=\"Q\"} 1\n"));
    assert_non_null(strstr(m, "stratus_queue_length{queue=\"realm\"} 1\n"));
    assert_non_null(strstr(m, "stratus_requests_total{action=\"create\",result=\"ok\"} 2\n"));
    assert_non_null(strstr(m, "stratus_requests_total{action=\"invalid\",result=\"error\"} 1\n"));
    assert_non_null(strstr(m, "stratus_placement_latency_seconds_count 1\n"));
    assert_non_null(
        strstr(m, "stratus_runtime_keepalive_age_seconds{runtime=\"" RT1 "\",name=\"one\"}"));
    assert_non_null(strstr(m, "# TYPE stratus_placement_latency_seconds histogram"));
    free(m);
}

static void test_output_kept(void **state)
{
    (void)state;
    reg_runtime(RT1, "one", 4, NULL, NULL);
    create("{\"name\":\"a\",\"file\":\"a.wasm\",\"uuid\":\"" MOD1 "\"}");
    send_raw(topic_of(TOPIC_STDIO, MOD1), "hello ");
    send_raw(topic_of(TOPIC_STDIO, MOD1), "world\n");
    send_raw(topic_of(TOPIC_STDIO, MOD2), "not a module we know");
    char *data;
    size_t len;
    assert_int_equal(orc_module_output(O, module(MOD1), &data, &len), 0);
    assert_int_equal(len, 12);
    assert_memory_equal(data, "hello world\n", 12);
    free(data);
    /* More than 64 KiB: the last 64 KiB stay. */
    char chunk[1000];
    for (int i = 0; i < 70; i++) {
        memset(chunk, 'a' + i % 26, sizeof chunk);
        orc_handle_message(O, topic_of(TOPIC_STDIO, MOD1), chunk, sizeof chunk);
    }
    assert_int_equal(orc_module_output(O, module(MOD1), &data, &len), 0);
    assert_int_equal(len, 64 * 1024);
    assert_int_equal(data[len - 1], 'a' + 69 % 26);
    assert_int_equal(data[len - 1000], 'a' + 69 % 26);
    assert_int_equal(data[len - 1001], 'a' + 68 % 26);
    free(data);
    orc_tick(O);
    assert_true(fake_store_of(STORE)->puts > 0);
}

/* The SQLite store under the logic: a restart keeps records and queues. */
static void test_restart_resumes_queues(void **state)
{
    (void)state;
    char path[] = "/tmp/stratus-orc-test-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    unlink(path);
    struct store *s;
    char err[STORE_ERR_LEN];
    assert_int_equal(store_sqlite_open(path, &s, err), 0);
    assert_int_equal(setup_with(s), 0);
    reg_manager(M1, "n1");
    reg_runtime(RT1, "one", 1, NULL, M1);
    keepalive(RT1); /* a runtime that sends keepalives: its deadline is kept */
    create("{\"name\":\"a\",\"file\":\"a.wasm\",\"uuid\":\"" MOD1 "\"}");
    create("{\"name\":\"b\",\"file\":\"a.wasm\",\"parent\":\"one\"}");
    create("{\"name\":\"c\",\"file\":\"a.wasm\"}");
    send_raw(topic_of(TOPIC_STDIO, MOD1), "kept output");
    orc_free(O); /* writes the output */
    O = NULL;
    s->ops->close(s);
    fake_io_clear(&IO);

    assert_int_equal(store_sqlite_open(path, &s, err), 0);
    assert_int_equal(setup_with(s), 0);
    assert_int_equal(orc_module_count(O), 3);
    assert_int_equal(orc_runtime_count(O), 1);
    assert_int_equal(orc_manager_count(O), 1);
    assert_true(runtime(RT1)->alive);
    assert_int_equal(runtime(RT1)->nlive, 1);
    assert_int_equal(module(MOD1)->state, MOD_ALIVE);
    assert_int_equal(module("b")->state, MOD_QUEUED);
    assert_int_equal(module("c")->state, MOD_QUEUED);
    char *data;
    size_t len;
    assert_int_equal(orc_module_output(O, module(MOD1), &data, &len), 0);
    assert_int_equal(len, 11);
    assert_memory_equal(data, "kept output", 11);
    free(data);
    /* The queues resume in order: b (pinned, older) before c. */
    exited(RT1, MOD1, "exited", 0);
    assert_int_equal(module("b")->state, MOD_ALIVE);
    assert_int_equal(module("c")->state, MOD_QUEUED);
    exited(RT1, module("b")->uuid, "exited", 0);
    assert_int_equal(module("c")->state, MOD_ALIVE);
    /* The keepalive deadline resumed too: silence ends the runtime. */
    IO.now_ms += 16000;
    orc_tick(O);
    assert_false(runtime(RT1)->alive);
    teardown(NULL);
    s->ops->close(s);
    char side[sizeof path + 8];
    unlink(path);
    snprintf(side, sizeof side, "%s-wal", path);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", path);
    unlink(side);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_registration_answer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_placement_by_apis_and_load, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parent_lookup, setup, teardown),
        cmocka_unit_test_setup_teardown(test_queues_and_dequeue, setup, teardown),
        cmocka_unit_test_setup_teardown(test_create_batch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete_running_and_queued, setup, teardown),
        cmocka_unit_test_setup_teardown(test_duplicate_uuid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_direct_create_recorded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_direct_create_without_uuid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lost_runtime_and_return, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keepalive_deadline, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ended_modules_leave_memory, setup, teardown),
        cmocka_unit_test_setup_teardown(test_runtime_without_keepalives, setup, teardown),
        cmocka_unit_test_setup_teardown(test_manager_answers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_input_changes_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_failure_keeps_running, setup, teardown),
        cmocka_unit_test_setup_teardown(test_broker_down_then_up, setup, teardown),
        cmocka_unit_test_setup_teardown(test_metrics_text, setup, teardown),
        cmocka_unit_test_setup_teardown(test_output_kept, setup, teardown),
        cmocka_unit_test(test_restart_resumes_queues),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
