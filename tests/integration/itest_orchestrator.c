/* Integration tests of `stratus orchestrator` with a real mosquitto, real
 * managers hosting the scriptable fake runtime (and, in one test, the real
 * stratus-runtime with a hello module compiled at build time), real SQLite
 * files and the REST API over HTTP:
 * registration answered and accepted (no retries), repeated registration;
 * placement by load and by parent UUID / name / suffix, an ambiguous name;
 * runtime and realm queues with dequeue on exit and on a new runtime;
 * create_batch; delete of running and queued modules; duplicate UUIDs;
 * direct creates recorded and not repeated; a manager killed with kill -9
 * and started again (pinned modules re-created once, unpinned ones moved);
 * keepalive timeout; the orchestrator killed with kill -9 and restarted on
 * its database; malformed input on every topic and endpoint; REST lookups,
 * 404s and paging; /metrics; two brokers joined by a bridge; and real
 * linux/minimal and linux runtimes running hello.wasm, placed by apis, with
 * the output kept for GET /api/modules/{q}/output. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "orc_stack.h"
#include "stack.h"

static struct stack S;
static struct orchestrator ORC;
#define MAX_NODES 4
static struct proc NODES[MAX_NODES];
static int NODE_UP[MAX_NODES];

/* ---- helpers ---- */

/* Start manager `name` (node i) with one fake runtime `rt` on broker port. */
static char *start_node_on(int i, int port, const char *name, const char *rt)
{
    char spec[64], command[PATH_MAX + 32];
    snprintf(spec, sizeof spec, "test/fake:%s", rt);
    snprintf(command, sizeof command, "test/fake=%s", harness_fake_runtime_path());
    struct broker b = S.broker;
    b.port = port;
    const char *extra[] = {"--runtime",     spec,          "--runtime-command",
                           command,         "--log-level", "debug",
                           "--reg-timeout", "1",           NULL};
    if (manager_start(&NODES[i], &b, S.realm, name, extra)) return NULL;
    NODE_UP[i] = 1;
    char *uuid = stack_wait_registration(&S, "runtime", rt, NULL);
    if (!uuid) return NULL;
    char path[128];
    snprintf(path, sizeof path, "/api/runtimes/%s/", uuid);
    if (http_wait_field(ORC.http_port, path, "alive", "true", WAIT_MS)) {
        free(uuid);
        return NULL;
    }
    return uuid;
}

static char *start_node(int i, const char *name, const char *rt)
{
    return start_node_on(i, S.broker.port, name, rt);
}

static void kill_node(int i)
{
    if (NODE_UP[i]) proc_kill(&NODES[i]);
    NODE_UP[i] = 0;
}

static int setup(void **state)
{
    (void)state;
    if (stack_new_realm(&S)) return -1;
    const char *extra[] = {"--keepalive", "2", NULL};
    return orchestrator_start(&ORC, S.broker.port, S.realm, NULL, extra);
}

static int teardown(void **state)
{
    (void)state;
    for (int i = 0; i < MAX_NODES; i++)
        kill_node(i);
    proc_kill(&ORC.proc);
    return 0;
}

static int group_setup(void **state)
{
    (void)state;
    return stack_broker_up(&S);
}

/* POST a module; returns the HTTP status and *uuid (malloc'd) when created. */
static int post(const char *json_text, char **uuid, struct http_answer *out)
{
    struct http_answer a;
    if (http_request(ORC.http_port, "POST", "/api/modules/", json_text, strlen(json_text), &a) < 0)
        return 0;
    int status = a.status;
    if (uuid) {
        const char *u = json_str_at(a.json, "uuid");
        *uuid = u ? strdup(u) : NULL;
    }
    if (out)
        *out = a;
    else
        http_answer_free(&a);
    return status;
}

/* A fake module that runs `steps` (JSON text), optionally pinned. */
static char *module_json(const char *name, const char *parent, const char *steps)
{
    char *text;
    if (asprintf(&text, "{\"name\":\"%s\",\"file\":\"fake.wasm\"%s%s%s,\"args\":{\"fake\":%s}}",
                 name, parent ? ",\"parent\":\"" : "", parent ? parent : "", parent ? "\"" : "",
                 steps ? steps : "[]") < 0)
        return NULL;
    return text;
}

static char *run(const char *name, const char *parent, const char *steps)
{
    char *text = module_json(name, parent, steps), *uuid = NULL;
    int status = post(text, &uuid, NULL);
    free(text);
    assert_int_equal(status, 201);
    assert_non_null(uuid);
    return uuid;
}

static json_t *module_record(const char *q)
{
    char path[512];
    snprintf(path, sizeof path, "/api/modules/%s/", q);
    return http_get_json(ORC.http_port, path);
}

static int wait_module(const char *uuid, const char *field, const char *value)
{
    char path[128];
    snprintf(path, sizeof path, "/api/modules/%s/", uuid);
    return http_wait_field(ORC.http_port, path, field, value, WAIT_MS);
}

static const char *control_filter(const char *runtime)
{
    static char buf[256];
    snprintf(buf, sizeof buf, "%s/proc/control/%s", S.realm, runtime);
    return buf;
}

struct match {
    const char *action, *type, *uuid;
};

static int matches(const struct message *m, void *ctx)
{
    struct match *w = ctx;
    return m->json && json_at_equals(m->json, "action", w->action) &&
           json_at_equals(m->json, "type", w->type) &&
           (!w->uuid || json_at_equals(m->json, "data.uuid", w->uuid));
}

/* Creates (requests) for module uuid seen on runtime's control topic. */
static int creates_seen(const char *runtime, const char *uuid)
{
    struct match w = {"create", "req", uuid};
    return client_count(S.client, control_filter(runtime), matches, &w);
}

/* Like creates_seen for a create that must have been sent: the orchestrator
 * records a module's parent before its create reaches our client, so wait up
 * to WAIT_MS for the first one, then count. */
static int creates_arrived(const char *runtime, const char *uuid)
{
    for (int waited = 0; creates_seen(runtime, uuid) == 0 && waited < WAIT_MS; waited += 20)
        usleep(20 * 1000);
    return creates_seen(runtime, uuid);
}

static const char *SLEEP = "[{\"sleep_ms\":60000}]";

/* ---- tests ---- */

static void test_registration_accepted(void **state)
{
    (void)state;
    char *rt = start_node(0, "n1", "rt1");
    assert_non_null(rt);
    /* The manager took the answer: no retry. */
    char needle[96];
    snprintf(needle, sizeof needle, "registered %s", rt);
    assert_int_equal(proc_log_wait(&NODES[0], needle, WAIT_MS), 0);
    usleep(1500 * 1000);
    char *log = proc_log_read(&NODES[0]);
    assert_null(strstr(log, "no answer to the registration"));
    free(log);
    /* A repeated registration (same data, new object_id) is answered ok and
     * stores nothing new. */
    char topic[256];
    snprintf(topic, sizeof topic, "%s/proc/reg/%s", S.realm, rt);
    char *oid = NULL;
    json_t *req =
        request_new("create",
                    json_pack("{s:s, s:s, s:s, s:s, s:i}", "type", "runtime", "uuid", rt, "name",
                              "rt1", "runtime_type", "test/fake", "max_nmodules", 4),
                    &oid);
    assert_int_equal(client_publish_json(S.client, topic, req), 0);
    json_decref(req);
    struct message *m = NULL;
    assert_int_equal(client_wait_json(S.client, topic, WAIT_MS, &m, "type", "resp", "object_id",
                                      oid, "data.result", "ok", "data.details.ka_interval_sec", "2",
                                      NULL),
                     0);
    message_free(m);
    free(oid);
    json_t *list = http_get_json(ORC.http_port, "/api/runtimes/");
    assert_int_equal(json_integer_value(json_object_get(list, "count")), 1);
    json_decref(list);
    list = http_get_json(ORC.http_port, "/api/managers/");
    assert_int_equal(json_integer_value(json_object_get(list, "count")), 1);
    assert_true(json_at_equals(list, "results.0.alive", "true"));
    json_decref(list);
    free(rt);
}

static int uuid_of_result_is(json_t *list, size_t i, const char *field, const char *value)
{
    json_t *item = json_array_get(json_object_get(list, "results"), i);
    return json_at_equals(item, field, value);
}

static void test_placement(void **state)
{
    (void)state;
    char *a = start_node(0, "n1", "rt-a");
    char *b = start_node(1, "n2", "rt-b");
    assert_non_null(a);
    assert_non_null(b);
    /* By load: four unpinned modules spread two and two. */
    for (int i = 0; i < 4; i++) {
        char *u = run("spread", NULL, SLEEP);
        assert_int_equal(wait_module(u, "state", "A"), 0);
        free(u);
    }
    char path[128];
    snprintf(path, sizeof path, "/api/runtimes/%s/", a);
    json_t *ra = http_get_json(ORC.http_port, path);
    assert_int_equal(json_integer_value(json_object_get(ra, "nmodules")), 2);
    assert_int_equal(json_array_size(json_object_get(ra, "children")), 2);
    json_decref(ra);
    /* By parent UUID, name and UUID suffix (each on a fresh pair of nodes'
     * free slots: rt-b has two left). */
    kill_node(0);
    char *c = start_node(2, "n3", "rt-c");
    const char *suffix = c + strlen(c) - 6;
    char *u1 = run("by-uuid", c, SLEEP), *u2 = run("by-name", "rt-c", SLEEP),
         *u3 = run("by-suffix", suffix, SLEEP);
    const char *us[] = {u1, u2, u3};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(wait_module(us[i], "parent", c), 0);
        assert_int_equal(creates_arrived(c, us[i]), 1);
        free((void *)us[i]);
    }
    /* A name two runtimes share is refused, naming both. */
    char *d = start_node(3, "n4", "rt-c");
    struct http_answer ans;
    char *text = module_json("ambiguous", "rt-c", SLEEP);
    assert_int_equal(post(text, NULL, &ans), 409);
    free(text);
    const char *err = json_str_at(ans.json, "error");
    assert_non_null(err);
    assert_non_null(strstr(err, c));
    assert_non_null(strstr(err, d));
    http_answer_free(&ans);
    free(a);
    free(b);
    free(c);
    free(d);
}

static void test_queues(void **state)
{
    (void)state;
    char *a = start_node(0, "n1", "rt-a");
    assert_non_null(a);
    /* Four slots: the fifth pinned module waits in the runtime's queue. */
    char *pinned[5];
    for (int i = 0; i < 5; i++)
        pinned[i] = run("p", "rt-a", i == 0 ? "[{\"sleep_ms\":400},{\"exit\":0}]" : SLEEP);
    assert_int_equal(wait_module(pinned[4], "state", "Q"), 0);
    json_t *rec = module_record(pinned[4]);
    assert_true(json_at_equals(rec, "queue", "runtime"));
    assert_non_null(strstr(json_str_at(rec, "reason"), "is full"));
    json_decref(rec);
    /* An unpinned one waits in the realm's queue. */
    char *free_one = run("f", NULL, SLEEP);
    rec = module_record(free_one);
    assert_true(json_at_equals(rec, "state", "Q"));
    assert_true(json_at_equals(rec, "queue", "realm"));
    json_decref(rec);
    /* The reason is in the log too. */
    char needle[128];
    snprintf(needle, sizeof needle, "(%s) queued (realm queue): all 1 live runtimes", free_one);
    assert_int_equal(proc_log_wait(&ORC.proc, needle, WAIT_MS), 0);
    json_t *queued = http_get_json(ORC.http_port, "/api/queued/");
    assert_int_equal(json_integer_value(json_object_get(queued, "count")), 2);
    json_decref(queued);
    /* The first exit starts the oldest queued module (the pinned one). */
    assert_int_equal(wait_module(pinned[0], "state", "D"), 0);
    assert_int_equal(wait_module(pinned[4], "state", "A"), 0);
    assert_int_equal(creates_arrived(a, pinned[4]), 1);
    rec = module_record(free_one);
    assert_true(json_at_equals(rec, "state", "Q"));
    json_decref(rec);
    /* A new runtime takes the realm's queue. */
    char *b = start_node(1, "n2", "rt-b");
    assert_int_equal(wait_module(free_one, "parent", b), 0);
    assert_int_equal(wait_module(free_one, "state", "A"), 0);
    for (int i = 0; i < 5; i++)
        free(pinned[i]);
    free(free_one);
    free(a);
    free(b);
}

static void test_batch_delete_duplicate(void **state)
{
    (void)state;
    char *a = start_node(0, "n1", "rt-a");
    assert_non_null(a);
    /* create_batch on the control topic. */
    char topic[256], *oid = NULL;
    snprintf(topic, sizeof topic, "%s/proc/control", S.realm);
    json_t *data =
        json_pack("{s:s, s:[{s:s, s:s, s:s, s:{s:o}}, {s:s, s:s, s:s}]}", "parent", "rt-a",
                  "modules", "type", "module", "name", "b1", "file", "fake.wasm", "args", "fake",
                  json_loads(SLEEP, 0, NULL), "type", "module", "name", "b2", "file", "fake.wasm");
    json_t *req = request_new("create_batch", data, &oid);
    assert_int_equal(client_publish_json(S.client, topic, req), 0);
    json_decref(req);
    struct message *m = NULL;
    assert_int_equal(client_wait_json(S.client, topic, WAIT_MS, &m, "type", "resp", "object_id",
                                      oid, "data.result", "ok", NULL),
                     0);
    const char *b1 = json_str_at(m->json, "data.details.modules.0.details.uuid");
    assert_non_null(b1);
    char *b1u = strdup(b1);
    message_free(m);
    free(oid);
    assert_int_equal(wait_module("b2", "state", "A"), 0);
    /* Delete of a running module: 202, then it ends killed. */
    struct http_answer ans;
    char path[128];
    snprintf(path, sizeof path, "/api/modules/%s/", b1u);
    assert_int_equal(http_request(ORC.http_port, "DELETE", path, NULL, 0, &ans), 0);
    assert_int_equal(ans.status, 202);
    http_answer_free(&ans);
    assert_int_equal(wait_module(b1u, "state", "D"), 0);
    assert_int_equal(wait_module(b1u, "status", "killed"), 0);
    /* Delete of a queued module: it leaves the queue at once. */
    char *q[4];
    for (int i = 0; i < 4; i++)
        q[i] = run("fill", "rt-a", SLEEP);
    assert_int_equal(wait_module(q[3], "state", "Q"), 0);
    snprintf(path, sizeof path, "/api/modules/%s/", q[3]);
    assert_int_equal(http_request(ORC.http_port, "DELETE", path, NULL, 0, &ans), 0);
    assert_int_equal(ans.status, 202);
    assert_true(json_at_equals(ans.json, "state", "D"));
    http_answer_free(&ans);
    assert_int_equal(creates_seen(a, q[3]), 0);
    /* A second delete of an ended module is a conflict. */
    assert_int_equal(http_request(ORC.http_port, "DELETE", path, NULL, 0, &ans), 0);
    assert_int_equal(ans.status, 409);
    http_answer_free(&ans);
    /* Duplicate UUID of a live module: refused; of an ended one: a new run. */
    char body[512];
    snprintf(body, sizeof body,
             "{\"uuid\":\"%s\",\"name\":\"again\",\"file\":\"fake.wasm\",\"parent\":\"rt-a\"}",
             q[0]);
    assert_int_equal(post(body, NULL, NULL), 409);
    /* (A slot for the new run: b2 goes, deleted by name.) */
    assert_int_equal(http_request(ORC.http_port, "DELETE", "/api/modules/b2", NULL, 0, &ans), 0);
    assert_int_equal(ans.status, 202);
    http_answer_free(&ans);
    assert_int_equal(wait_module("b2", "state", "D"), 0);
    snprintf(body, sizeof body,
             "{\"uuid\":\"%s\",\"name\":\"again\",\"file\":\"fake.wasm\",\"parent\":\"rt-a\","
             "\"args\":{\"fake\":[{\"exit\":0}]}}",
             b1u);
    assert_int_equal(post(body, NULL, NULL), 201);
    assert_int_equal(wait_module(b1u, "runs", "2"), 0);
    assert_int_equal(wait_module(b1u, "status", "exited"), 0);
    for (int i = 0; i < 4; i++)
        free(q[i]);
    free(b1u);
    free(a);
}

static void test_direct_create_recorded(void **state)
{
    (void)state;
    char *a = start_node(0, "n1", "rt-a");
    assert_non_null(a);
    char *uuid = random_uuid();
    json_t *data = json_pack("{s:s, s:s, s:s, s:s, s:{s:[{s:i}, {s:i}]}}", "type", "module", "uuid",
                             uuid, "name", "direct", "file", "fake.wasm", "args", "fake",
                             "sleep_ms", 300, "exit", 5);
    struct message *resp = stack_create(&S, a, data);
    assert_non_null(resp);
    assert_true(json_at_equals(resp->json, "data.result", "ok"));
    message_free(resp);
    assert_int_equal(wait_module(uuid, "state", "A"), 0);
    assert_int_equal(wait_module(uuid, "parent", a), 0);
    assert_int_equal(wait_module(uuid, "exit_code", "5"), 0);
    usleep(QUIET_MS * 1000);
    /* Sent once (by us), never again by the orchestrator; it ran once. */
    assert_int_equal(creates_arrived(a, uuid), 1);
    struct match w = {"exited", "req", uuid};
    assert_int_equal(client_count(S.client, control_filter(a), matches, &w), 1);
    /* Without a uuid: recorded under the one the manager's answer names. */
    resp = stack_create(&S, a,
                        json_pack("{s:s, s:s, s:s, s:{s:[{s:i}]}}", "type", "module", "name",
                                  "anonymous", "file", "fake.wasm", "args", "fake", "sleep_ms",
                                  60000));
    assert_non_null(resp);
    const char *chosen = json_str_at(resp->json, "data.details.uuid");
    assert_non_null(chosen);
    assert_int_equal(wait_module(chosen, "name", "anonymous"), 0);
    assert_int_equal(wait_module(chosen, "state", "A"), 0);
    message_free(resp);
    free(uuid);
    free(a);
}

static void test_manager_killed_and_back(void **state)
{
    (void)state;
    char *a = start_node(0, "n1", "rt-a");
    char *b = start_node(1, "n2", "rt-b");
    assert_non_null(a);
    assert_non_null(b);
    char *pinned = run("pinned", "rt-a", SLEEP);
    /* Fill rt-b so the unpinned module lands on rt-a. */
    char *fill[4];
    for (int i = 0; i < 4; i++)
        fill[i] = run("fill", "rt-b", i == 3 ? "[{\"sleep_ms\":1500},{\"exit\":0}]" : SLEEP);
    char *loose = run("loose", NULL, SLEEP);
    assert_int_equal(wait_module(loose, "parent", a), 0);
    assert_int_equal(wait_module(pinned, "state", "A"), 0);
    kill(NODES[0].pid, SIGKILL);
    /* Its last will ends the runtime: pinned waits killed, the loose one
     * queues (rt-b is full) and moves when rt-b frees a slot. */
    assert_int_equal(wait_module(pinned, "state", "K"), 0);
    assert_int_equal(wait_module(loose, "parent", b), 0);
    assert_int_equal(wait_module(loose, "state", "A"), 0);
    proc_kill(&NODES[0]);
    NODE_UP[0] = 0;
    client_clear(S.client);
    /* The same manager again (same state directory, same UUIDs). */
    char *again = start_node(0, "n1", "rt-a");
    assert_string_equal(again, a);
    assert_int_equal(wait_module(pinned, "state", "A"), 0);
    usleep(2500 * 1000); /* registration retries and keepalives pass */
    assert_int_equal(creates_arrived(a, pinned), 1);
    assert_int_equal(creates_seen(a, loose), 0);
    json_t *rec = module_record(pinned);
    assert_true(json_at_equals(rec, "restarts", "1"));
    json_decref(rec);
    for (int i = 0; i < 4; i++)
        free(fill[i]);
    free(pinned);
    free(loose);
    free(again);
    free(a);
    free(b);
}

static void test_keepalive_timeout(void **state)
{
    (void)state;
    char *a = start_node(0, "n1", "rt-a");
    assert_non_null(a);
    char *p = run("p", "rt-a", SLEEP);
    assert_int_equal(wait_module(p, "state", "A"), 0);
    char path[128];
    snprintf(path, sizeof path, "/api/runtimes/%s/", a);
    /* Deadlines apply to runtimes heard sending keepalives: wait for one. */
    long long until = harness_now_ms() + WAIT_MS;
    int heard = 0;
    while (!heard && harness_now_ms() < until) {
        json_t *rt = http_get_json(ORC.http_port, path);
        heard = json_number_value(json_object_get(rt, "last_seen")) >
                json_number_value(json_object_get(rt, "registered_at"));
        json_decref(rt);
        if (!heard) usleep(100 * 1000);
    }
    assert_true(heard);
    /* A stopped manager keeps its broker connection but sends nothing. */
    assert_int_equal(proc_signal(&NODES[0], SIGSTOP), 0);
    assert_int_equal(http_wait_field(ORC.http_port, path, "alive", "false", WAIT_MS), 0);
    assert_int_equal(wait_module(p, "state", "K"), 0);
    json_t *rec = module_record(p);
    assert_non_null(strstr(json_str_at(rec, "reason"), "no keepalive"));
    json_decref(rec);
    assert_int_equal(proc_signal(&NODES[0], SIGCONT), 0);
    assert_int_equal(http_wait_field(ORC.http_port, path, "alive", "true", WAIT_MS), 0);
    assert_int_equal(wait_module(p, "state", "A"), 0);
    free(p);
    free(a);
}

static void test_orchestrator_restart(void **state)
{
    (void)state;
    char *a = start_node(0, "n1", "rt-a");
    assert_non_null(a);
    char *first = run("first", "rt-a", "[{\"sleep_ms\":2500},{\"exit\":0}]");
    char *mods[3];
    for (int i = 0; i < 3; i++)
        mods[i] = run("more", "rt-a", SLEEP);
    char *waiting = run("waiting", "rt-a", "[{\"exit\":0}]");
    assert_int_equal(wait_module(waiting, "state", "Q"), 0);
    kill(ORC.proc.pid, SIGKILL);
    assert_int_equal(proc_wait_exit(&ORC.proc, WAIT_MS), 0);
    char db[PATH_MAX + 16];
    snprintf(db, sizeof db, "%s", ORC.db);
    const char *extra[] = {"--keepalive", "2", NULL};
    assert_int_equal(orchestrator_start(&ORC, S.broker.port, S.realm, db, extra), 0);
    json_t *list = http_get_json(ORC.http_port, "/api/modules/");
    assert_int_equal(json_integer_value(json_object_get(list, "count")), 5);
    json_decref(list);
    json_t *rec = module_record(waiting);
    assert_true(json_at_equals(rec, "state", "Q"));
    json_decref(rec);
    /* The queue resumes: the first exit starts the waiting module. */
    assert_int_equal(wait_module(first, "state", "D"), 0);
    assert_int_equal(wait_module(waiting, "status", "exited"), 0);
    assert_int_equal(creates_arrived(a, waiting), 1);
    for (int i = 0; i < 3; i++)
        free(mods[i]);
    free(first);
    free(waiting);
    free(a);
}

static void test_malformed_input(void **state)
{
    (void)state;
    char *a = start_node(0, "n1", "rt-a");
    assert_non_null(a);
    char *keep = run("keep", "rt-a", SLEEP);
    assert_int_equal(wait_module(keep, "state", "A"), 0);
    char topics[4][256];
    snprintf(topics[0], 256, "%s/proc/reg/%s", S.realm, a);
    snprintf(topics[1], 256, "%s/proc/keepalive/%s", S.realm, a);
    snprintf(topics[2], 256, "%s/proc/control", S.realm);
    snprintf(topics[3], 256, "%s/proc/control/%s", S.realm, a);
    const char *bad[] = {
        "not json at all",
        "{\"object_id\":\"bad-1\",\"action\":\"create\",\"type\":\"req\",\"data\":\"\xc3\x28\"}",
        "{\"object_id\":\"bad-2\",\"action\":\"zap\",\"type\":\"req\",\"data\":{}}",
        "{\"object_id\":\"bad-3\",\"action\":\"create\",\"type\":\"req\",\"data\":{\"type\":[]}}",
        "{\"object_id\":\"bad-4\",\"type\":\"req\",\"data\":{}}",
    };
    char log_topic[256];
    snprintf(log_topic, sizeof log_topic, "%s/proc/log/orchestrator", S.realm);
    for (int t = 0; t < 4; t++)
        for (size_t b = 0; b < sizeof bad / sizeof bad[0]; b++) {
            assert_int_equal(client_publish_str(S.client, topics[t], bad[b]), 0);
            struct message *m = NULL;
            if (client_wait_json(S.client, log_topic, WAIT_MS, &m, "action", "error", "type",
                                 "resp", NULL))
                fail_msg("no error for %s on %s", bad[b], topics[t]);
            assert_non_null(json_str_at(m->json, "data.details.reason"));
            message_free(m);
        }
    /* Oversized: 2 MiB. */
    size_t big = 2u << 20;
    char *huge = malloc(big);
    memset(huge, '[', big);
    assert_int_equal(client_publish(S.client, topics[2], huge, big, 1), 0);
    free(huge);
    struct message *m = NULL;
    assert_int_equal(client_wait_json(S.client, log_topic, WAIT_MS, &m, "action", "error", NULL),
                     0);
    assert_non_null(strstr(json_str_at(m->json, "data.details.reason"), "larger than"));
    message_free(m);
    /* REST: each error with its status and a JSON body. */
    struct {
        const char *method, *path, *body;
        int status;
    } cases[] = {
        {"POST", "/api/modules/", "{not json", 400},
        {"POST", "/api/modules/", "{\"name\":1,\"file\":\"x.wasm\"}", 400},
        {"POST", "/api/modules/", "{\"name\":\"x\",\"file\":\"../x.wasm\"}", 400},
        {"POST", "/api/modules/", "{\"name\":\"x\",\"file\":\"x.wasm\",\"parent\":\"nope\"}", 404},
        {"GET", "/api/modules/nope/", NULL, 404},
        {"GET", "/api/runtimes/nope/", NULL, 404},
        {"GET", "/api/modules/?start=x", NULL, 400},
        {"GET", "/api/queued/?limit=0", NULL, 400},
        {"GET", "/api/nothing", NULL, 404},
        {"PUT", "/api/modules/", "{}", 405},
        {"DELETE", "/api/runtimes/", NULL, 405},
        {"DELETE", "/api/modules/nope/", NULL, 404},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct http_answer ans;
        assert_int_equal(http_request(ORC.http_port, cases[i].method, cases[i].path, cases[i].body,
                                      cases[i].body ? strlen(cases[i].body) : 0, &ans),
                         0);
        if (ans.status != cases[i].status)
            fail_msg("%s %s: status %d, expected %d", cases[i].method, cases[i].path, ans.status,
                     cases[i].status);
        assert_true(json_is_integer(json_object_get(ans.json, "status")));
        assert_non_null(json_str_at(ans.json, "error"));
        if (cases[i].status == 405) assert_non_null(strstr(ans.headers, "Allow:"));
        http_answer_free(&ans);
    }
    char *body = malloc(2u << 20);
    memset(body, ' ', 2u << 20);
    struct http_answer ans;
    assert_int_equal(http_request(ORC.http_port, "POST", "/api/modules/", body, 2u << 20, &ans), 0);
    assert_int_equal(ans.status, 413);
    http_answer_free(&ans);
    free(body);
    /* Nothing changed, and the orchestrator still serves. */
    json_t *list = http_get_json(ORC.http_port, "/api/modules/");
    assert_int_equal(json_integer_value(json_object_get(list, "count")), 1);
    json_decref(list);
    json_t *rec = module_record(keep);
    assert_true(json_at_equals(rec, "state", "A"));
    json_decref(rec);
    assert_true(proc_alive(&ORC.proc));
    free(keep);
    free(a);
}

static void test_rest_lookups_paging_metrics(void **state)
{
    (void)state;
    char *a = start_node(0, "n1", "rt-a");
    assert_non_null(a);
    char *ended = run("alpha", "rt-a", "[{\"exit\":3}]");
    assert_int_equal(wait_module(ended, "state", "D"), 0);
    char *u[4];
    const char *names[] = {"alpha", "beta", "gamma", "delta"};
    for (int i = 0; i < 4; i++)
        u[i] = run(names[i], "rt-a", SLEEP);
    /* Paging. */
    json_t *page = http_get_json(ORC.http_port, "/api/modules/?start=1&limit=2");
    assert_int_equal(json_integer_value(json_object_get(page, "count")), 5);
    assert_int_equal(json_integer_value(json_object_get(page, "start")), 1);
    assert_int_equal(json_array_size(json_object_get(page, "results")), 2);
    assert_true(uuid_of_result_is(page, 0, "uuid", u[0]));
    assert_true(uuid_of_result_is(page, 1, "name", "beta"));
    json_t *first = json_array_get(json_object_get(page, "results"), 0);
    assert_non_null(json_object_get(first, "parent"));
    assert_non_null(json_object_get(first, "file"));
    json_decref(page);
    /* Lookups by UUID, by name (the live alpha over the ended one), by suffix. */
    json_t *rec = module_record("beta");
    assert_true(json_at_equals(rec, "uuid", u[1]));
    json_decref(rec);
    rec = module_record("alpha");
    assert_true(json_at_equals(rec, "uuid", u[0]));
    json_decref(rec);
    rec = module_record(u[2] + 24);
    assert_true(json_at_equals(rec, "name", "gamma"));
    assert_true(json_at_equals(rec, "parent_name", "rt-a"));
    json_decref(rec);
    rec = module_record(ended);
    assert_true(json_at_equals(rec, "exit_code", "3"));
    assert_true(json_at_equals(rec, "status", "exited"));
    json_decref(rec);
    char path[128];
    snprintf(path, sizeof path, "/api/runtimes/%s/", a + 30);
    rec = http_get_json(ORC.http_port, path);
    assert_true(json_at_equals(rec, "uuid", a));
    assert_true(json_at_equals(rec, "runtime_type", "test/fake"));
    assert_true(json_at_equals(rec, "ka_interval_sec", "2"));
    json_decref(rec);
    rec = http_get_json(ORC.http_port, "/api/runtimes/rt-a");
    assert_int_equal(json_array_size(json_object_get(rec, "children")), 4);
    json_decref(rec);
    /* Metrics. */
    struct http_answer ans;
    assert_int_equal(http_request(ORC.http_port, "GET", "/metrics", NULL, 0, &ans), 0);
    assert_int_equal(ans.status, 200);
    assert_non_null(strstr(ans.headers, "text/plain"));
    assert_non_null(strstr(ans.body, "stratus_modules{state=\"A\"} 4\n"));
    assert_non_null(strstr(ans.body, "stratus_modules{state=\"D\"} 1\n"));
    assert_non_null(strstr(ans.body, "stratus_managers{state=\"alive\"} 1\n"));
    assert_non_null(strstr(ans.body, "stratus_runtimes{state=\"alive\"} 1\n"));
    assert_non_null(
        strstr(ans.body, "stratus_requests_total{action=\"create\",result=\"ok\"} 5\n"));
    assert_non_null(
        strstr(ans.body, "stratus_requests_total{action=\"exited\",result=\"ok\"} 1\n"));
    assert_non_null(strstr(ans.body, "stratus_placement_latency_seconds_count 5\n"));
    assert_non_null(strstr(ans.body, "stratus_runtime_keepalive_age_seconds{runtime=\""));
    assert_non_null(strstr(ans.body, "stratus_queue_length{queue=\"realm\"} 0\n"));
    http_answer_free(&ans);
    /* A clean stop: exit status 0 (a leak found at exit would change it). */
    assert_int_equal(proc_signal(&ORC.proc, SIGTERM), 0);
    assert_int_equal(proc_wait_exit(&ORC.proc, WAIT_MS), 0);
    assert_true(WIFEXITED(ORC.proc.status));
    assert_int_equal(WEXITSTATUS(ORC.proc.status), 0);
    for (int i = 0; i < 4; i++)
        free(u[i]);
    free(ended);
    free(a);
}

/* Run `stratus orchestrator ARGS...`, wait for it, return its exit status;
 * *log gets its output (caller frees). */
static int run_command(const char *const *args, char **log)
{
    const char *argv[16] = {harness_stratus_path(), "orchestrator"};
    int n = 2;
    for (int i = 0; args[i] && n < 15; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    struct proc p;
    if (proc_start(&p, (char *const *)argv)) return -1;
    if (proc_wait_exit(&p, WAIT_MS)) {
        proc_kill(&p);
        return -1;
    }
    *log = proc_log_read(&p);
    return WIFEXITED(p.status) ? WEXITSTATUS(p.status) : -1;
}

static void test_command_line(void **state)
{
    (void)state;
    char *log = NULL;
    const char *help[] = {"--help", NULL};
    assert_int_equal(run_command(help, &log), 0);
    assert_non_null(strstr(log, "usage: stratus orchestrator"));
    assert_non_null(strstr(log, "--keepalive"));
    free(log);
    const char *bogus[] = {"--bogus", NULL};
    assert_int_equal(run_command(bogus, &log), 2);
    assert_non_null(strstr(log, "--bogus"));
    free(log);
    const char *bad_http[] = {"--http", "127.0.0.1:99999", NULL};
    assert_int_equal(run_command(bad_http, &log), 2);
    assert_non_null(strstr(log, "--http"));
    free(log);
    const char *bad_db[] = {"--db", "/nonexistent-dir/orc.db", "--http", "127.0.0.1:0", NULL};
    assert_int_equal(run_command(bad_db, &log), 1);
    assert_non_null(strstr(log, "/nonexistent-dir/orc.db"));
    free(log);
    char dir[PATH_MAX], cfg[PATH_MAX + 16];
    assert_int_equal(harness_tmpdir(dir), 0);
    snprintf(cfg, sizeof cfg, "%s/c.json", dir);
    FILE *f = fopen(cfg, "w");
    fputs("{\"keepalive\": \"often\"}", f);
    fclose(f);
    const char *bad_cfg[] = {"--config", cfg, NULL};
    assert_int_equal(run_command(bad_cfg, &log), 2);
    assert_non_null(strstr(log, "keepalive"));
    free(log);
}

static void test_bridged_brokers(void **state)
{
    (void)state;
    /* A site broker bridged to the central one (the stack's), a manager on
     * each, the orchestrator on the central broker. */
    char conf[512];
    snprintf(conf, sizeof conf,
             "connection central\naddress 127.0.0.1:%d\ntopic %s/# both 1\n"
             "cleansession true\nrestart_timeout 1\n",
             S.broker.port, S.realm);
    struct broker site;
    assert_int_equal(broker_start_conf(&site, conf), 0);
    char *central_rt = start_node(0, "central-node", "rt-central");
    char *site_rt = start_node_on(1, site.port, "site-node", "rt-site");
    assert_non_null(central_rt);
    assert_non_null(site_rt);
    char *u1 = run("c", "rt-central", "[{\"sleep_ms\":100},{\"exit\":0}]");
    char *u2 = run("s", "rt-site", "[{\"sleep_ms\":100},{\"exit\":4}]");
    assert_int_equal(wait_module(u1, "status", "exited"), 0);
    assert_int_equal(wait_module(u2, "status", "exited"), 0);
    assert_int_equal(wait_module(u2, "exit_code", "4"), 0);
    /* The site's manager took its registration answer over the bridge. */
    char needle[96];
    snprintf(needle, sizeof needle, "registered %s", site_rt);
    assert_int_equal(proc_log_wait(&NODES[1], needle, WAIT_MS), 0);
    usleep(QUIET_MS * 1000);
    assert_int_equal(creates_arrived(site_rt, u2), 1);
    kill_node(1);
    broker_stop(&site);
    free(u1);
    free(u2);
    free(central_rt);
    free(site_rt);
}

static void test_real_runtimes_and_output(void **state)
{
    (void)state;
    char moddir[PATH_MAX], from[PATH_MAX + 32], to[PATH_MAX + 32];
    assert_int_equal(harness_tmpdir(moddir), 0);
    snprintf(from, sizeof from, "%s/hello.wasm", ORC_EXAMPLES);
    snprintf(to, sizeof to, "%s/hello.wasm", moddir);
    assert_int_equal(harness_copy_file(from, to), 0);
    char lm[PATH_MAX + 32], lx[PATH_MAX + 32];
    snprintf(lm, sizeof lm, "linux/minimal=%s", ORC_RUNTIME);
    snprintf(lx, sizeof lx, "linux=%s", ORC_RUNTIME);
    const char *extra[] = {
        "--runtime", "linux/minimal:lm",  "--runtime", "linux:lx",     "--runtime-command",
        lm,          "--runtime-command", lx,          "--module-dir", moddir,
        NULL};
    assert_int_equal(manager_start(&NODES[0], &S.broker, S.realm, "wasm-node", extra), 0);
    NODE_UP[0] = 1;
    char *rlm = stack_wait_registration(&S, "runtime", "lm", NULL);
    char *rlx = stack_wait_registration(&S, "runtime", "lx", NULL);
    assert_non_null(rlm);
    assert_non_null(rlx);
    assert_int_equal(http_wait_field(ORC.http_port, "/api/runtimes/lx/", "alive", "true", WAIT_MS),
                     0);
    assert_int_equal(http_wait_field(ORC.http_port, "/api/runtimes/lm/", "alive", "true", WAIT_MS),
                     0);
    /* Channels are offered by linux only. */
    char *u1 = NULL, *u2 = NULL;
    assert_int_equal(post("{\"name\":\"hello-ch\",\"file\":\"hello.wasm\",\"apis\":[\"wasm\","
                          "\"wasi\",\"channels\"],\"args\":{\"argv\":[\"one\"]}}",
                          &u1, NULL),
                     201);
    assert_int_equal(wait_module(u1, "parent", rlx), 0);
    assert_int_equal(wait_module(u1, "status", "exited"), 0);
    assert_int_equal(wait_module(u1, "exit_code", "0"), 0);
    /* A file that is not there: the manager's answer ends the module. */
    assert_int_equal(
        post("{\"name\":\"missing\",\"file\":\"missing.wasm\",\"parent\":\"lm\"}", &u2, NULL), 201);
    assert_int_equal(wait_module(u2, "state", "D"), 0);
    json_t *rec = module_record(u2);
    const char *status = json_str_at(rec, "status");
    assert_non_null(status);
    assert_string_not_equal(status, "exited");
    assert_non_null(json_str_at(rec, "reason"));
    json_decref(rec);
    /* The output of the ended module, kept by the orchestrator. */
    char path[128];
    snprintf(path, sizeof path, "/api/modules/%s/output", u1);
    long long deadline = harness_now_ms() + WAIT_MS;
    struct http_answer ans = {0};
    for (;;) {
        assert_int_equal(http_request(ORC.http_port, "GET", path, NULL, 0, &ans), 0);
        if (ans.status == 200 && strstr(ans.body, "arg 1: one")) break;
        http_answer_free(&ans);
        assert_true(harness_now_ms() < deadline);
        usleep(50000);
    }
    assert_non_null(strstr(ans.body, "Hello from Stratus!"));
    http_answer_free(&ans);
    free(u1);
    free(u2);
    free(rlm);
    free(rlx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_registration_accepted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_placement, setup, teardown),
        cmocka_unit_test_setup_teardown(test_queues, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batch_delete_duplicate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_direct_create_recorded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_manager_killed_and_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keepalive_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_orchestrator_restart, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed_input, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rest_lookups_paging_metrics, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bridged_brokers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_real_runtimes_and_output, setup, teardown),
        cmocka_unit_test(test_command_line),
    };
    return cmocka_run_group_tests(tests, group_setup, stack_fixture_group_teardown);
}
