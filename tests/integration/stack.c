/* Test stack helpers (see stack.h): broker, realm, manager and the protocol
 * exchanges every integration test repeats. */
#define _GNU_SOURCE
#include "stack.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The stack the shared fixtures act on. */
static struct stack *fixture_stack;

void stack_adopt(struct stack *s)
{
    fixture_stack = s;
}

int stack_fixture_group_teardown(void **state)
{
    (void)state;
    if (fixture_stack) stack_broker_down(fixture_stack);
    harness_cleanup();
    return 0;
}

int stack_fixture_new_realm(void **state)
{
    (void)state;
    return fixture_stack ? stack_new_realm(fixture_stack) : -1;
}

int stack_fixture_kill_manager(void **state)
{
    (void)state;
    if (fixture_stack) stack_manager_kill(fixture_stack);
    return 0;
}

int stack_broker_up(struct stack *s)
{
    memset(s, 0, sizeof *s);
    stack_adopt(s);
    harness_init();
    if (broker_start(&s->broker, 0)) return -1;
    char id[64];
    snprintf(id, sizeof id, "itest-%d", (int)getpid());
    return client_connect(&s->client, s->broker.port, id);
}

void stack_broker_down(struct stack *s)
{
    stack_manager_kill(s);
    client_free(s->client);
    s->client = NULL;
    broker_stop(&s->broker);
}

int stack_new_realm(struct stack *s)
{
    static int counter;
    char filter[128];
    if (s->realm[0]) {
        snprintf(filter, sizeof filter, "%s/#", s->realm);
        client_unsubscribe(s->client, filter);
    }
    snprintf(s->realm, sizeof s->realm, "it%dr%d", (int)getpid(), ++counter);
    snprintf(filter, sizeof filter, "%s/#", s->realm);
    client_clear(s->client);
    return client_subscribe(s->client, filter, 1);
}

int stack_manager_start(struct stack *s, const char *name, const char *const *extra)
{
    char fake[PATH_MAX + 16], legacy[PATH_MAX + 32];
    snprintf(fake, sizeof fake, "test/fake=%s", harness_fake_runtime_path());
    snprintf(legacy, sizeof legacy, "test/fake-legacy=%s", harness_fake_runtime_path());
    const char *args[48];
    int n = 0;
    args[n++] = "--runtime-command";
    args[n++] = fake;
    args[n++] = "--runtime-command";
    args[n++] = legacy;
    args[n++] = "--log-level";
    args[n++] = "debug";
    for (int i = 0; extra && extra[i] && n < 46; i++)
        args[n++] = extra[i];
    args[n] = NULL;
    if (manager_start(&s->manager, &s->broker, s->realm, name, args)) return -1;
    s->manager_started = 1;
    return 0;
}

char *stack_start_runtime(struct stack *s, const char *type, const char *program,
                          const char *module_dir, const char *const *more)
{
    if (stack_new_realm(s)) return NULL;
    char spec[64], command[PATH_MAX + 32];
    snprintf(spec, sizeof spec, "%s:rt", type);
    snprintf(command, sizeof command, "%s=%s", type, program);
    const char *extra[24] = {"--runtime", spec, "--runtime-command", command, "--module-dir",
                             module_dir,  NULL};
    for (int n = 6, i = 0; more && more[i] && n < 23; i++)
        extra[n++] = more[i];
    if (stack_manager_start(s, "node", extra)) return NULL;
    return stack_wait_registration(s, "runtime", "rt", NULL);
}

void stack_manager_kill(struct stack *s)
{
    if (s->manager_started) {
        proc_kill(&s->manager);
        s->manager_started = 0;
    }
}

char *stack_wait_registration(struct stack *s, const char *type, const char *name,
                              struct message **out)
{
    char filter[128];
    struct message *m = NULL;
    snprintf(filter, sizeof filter, "%s/proc/reg/+", s->realm);
    if (client_wait_json(s->client, filter, WAIT_MS, &m, "action", "create", "type", "req",
                         "data.type", type, "data.name", name, NULL))
        return NULL;
    const char *uuid = json_str_at(m->json, "data.uuid");
    char *copy = uuid ? strdup(uuid) : NULL;
    if (out)
        *out = m;
    else
        message_free(m);
    return copy;
}

json_t *module_data(const char *uuid, const char *name, json_t *script)
{
    json_t *args = json_object();
    if (script) json_object_set_new(args, "fake", script);
    return json_pack("{s:s, s:s, s:s, s:s, s:o}", "type", "module", "uuid", uuid, "name", name,
                     "file", "fake.wasm", "args", args);
}

static struct message *send_and_wait_response(struct stack *s, const char *runtime,
                                              const char *action, json_t *data, int wait_ms)
{
    char topic[256], *oid = NULL;
    snprintf(topic, sizeof topic, "%s/proc/control/%s", s->realm, runtime);
    json_t *req = request_new(action, data, &oid);
    if (!req) return NULL;
    int rc = client_publish_json(s->client, topic, req);
    json_decref(req);
    struct message *m = NULL;
    if (rc == 0)
        client_wait_json(s->client, topic, wait_ms, &m, "type", "resp", "object_id", oid, NULL);
    free(oid);
    return m;
}

struct message *stack_create(struct stack *s, const char *runtime, json_t *data)
{
    return send_and_wait_response(s, runtime, "create", data, WAIT_MS);
}

struct message *stack_create_within(struct stack *s, const char *runtime, json_t *data, int wait_ms)
{
    return send_and_wait_response(s, runtime, "create", data, wait_ms);
}

struct delete_wait {
    const char *oid, *uuid;
};

int stack_is_exit_of(const struct message *m, void *uuid)
{
    return m->json && json_at_equals(m->json, "action", "exited") &&
           json_at_equals(m->json, "data.uuid", uuid);
}

int stack_publish_delete(struct stack *s, const char *runtime, const char *uuid)
{
    char topic[256];
    snprintf(topic, sizeof topic, "%s/proc/control/%s", s->realm, runtime);
    json_t *req =
        request_new("delete", json_pack("{s:s, s:s}", "type", "module", "uuid", uuid), NULL);
    int rc = req ? client_publish_json(s->client, topic, req) : -1;
    json_decref(req);
    return rc;
}

static int is_answer_to(const struct message *m, void *ctx)
{
    const struct delete_wait *w = ctx;
    return m->json && json_at_equals(m->json, "type", "resp") &&
           json_at_equals(m->json, "object_id", w->oid);
}

struct message *stack_delete(struct stack *s, const char *runtime, const char *uuid)
{
    char topic[256], *oid = NULL;
    snprintf(topic, sizeof topic, "%s/proc/control/%s", s->realm, runtime);
    json_t *req =
        request_new("delete", json_pack("{s:s, s:s}", "type", "module", "uuid", uuid), &oid);
    if (!req) return NULL;
    int rc = client_publish_json(s->client, topic, req);
    json_decref(req);
    struct delete_wait w = {oid, uuid};
    struct message *m = NULL;
    long long end = harness_now_ms() + WAIT_MS;
    while (rc == 0 && !m && harness_now_ms() < end) {
        if (client_wait(s->client, topic, 0, is_answer_to, &w, &m) == 0) break;
        if (client_count(s->client, topic, stack_is_exit_of, (void *)uuid) > 0) {
            /* Done: the exit stays queued for stack_wait_exited. */
            m = calloc(1, sizeof *m);
            if (m) {
                m->topic = strdup(topic);
                m->payload = strdup("{\"type\":\"resp\",\"data\":{\"result\":\"ok\"}}");
                m->len = m->payload ? strlen(m->payload) : 0;
                m->json = json_pack("{s:s, s:{s:s}}", "type", "resp", "data", "result", "ok");
            }
            break;
        }
        usleep(2000);
    }
    free(oid);
    return m;
}

struct message *stack_wait_exited(struct stack *s, const char *runtime, const char *uuid,
                                  int timeout_ms)
{
    char topic[256];
    struct message *m = NULL;
    snprintf(topic, sizeof topic, "%s/proc/control/%s", s->realm, runtime);
    client_wait_json(s->client, topic, timeout_ms, &m, "action", "exited", "data.uuid", uuid, NULL);
    return m;
}

json_t *steps(const char *json_text)
{
    json_error_t err;
    json_t *v = json_loads(json_text, 0, &err);
    if (!v) fprintf(stderr, "stack: bad steps JSON: %s: %s\n", err.text, json_text);
    return v;
}

void stack_die(struct stack *s, const char *prog, const char *what)
{
    fprintf(stderr, "%s: %s\n", prog, what);
    stack_manager_kill(s);
    stack_broker_down(s);
    harness_cleanup();
    exit(1);
}
