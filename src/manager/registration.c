/* Registration state machine (see registration.h). Entries live in an array
 * in the order they were added; each request gets a fresh object_id, so an
 * answer to an earlier attempt is recognised as stale. */
#include "registration.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "slog.h"
#include "stratus/envelope.h"
#include "stratus/topic.h"
#include "stratus/uuid.h"

struct reg_entry {
    json_t *data;
    const char *uuid; /* points into data */
    char object_id[UUID_STR_LEN];
    int state;
    int attempts;
    uint64_t due_ms; /* next retry while pending */
    json_t *answer;
};

struct reg_table {
    struct reg_options opt;
    char *realm;
    struct reg_entry *entries;
    size_t n, cap;
};

int reg_table_new(const struct reg_options *opt, struct reg_table **out)
{
    struct reg_table *t = calloc(1, sizeof *t);
    if (!t) return -1;
    t->opt = *opt;
    t->realm = strdup(opt->realm);
    if (!t->realm) {
        free(t);
        return -1;
    }
    t->opt.realm = t->realm;
    if (!t->opt.timeout_ms) t->opt.timeout_ms = 5000;
    if (t->opt.max_backoff_ms < t->opt.timeout_ms) t->opt.max_backoff_ms = t->opt.timeout_ms * 8;
    *out = t;
    return 0;
}

static void entry_clear(struct reg_entry *e)
{
    json_decref(e->data);
    json_decref(e->answer);
}

void reg_table_free(struct reg_table *t)
{
    if (!t) return;
    for (size_t i = 0; i < t->n; i++)
        entry_clear(&t->entries[i]);
    free(t->entries);
    free(t->realm);
    free(t);
}

static struct reg_entry *find(const struct reg_table *t, const char *uuid)
{
    for (size_t i = 0; i < t->n; i++)
        if (!strcmp(t->entries[i].uuid, uuid)) return &t->entries[i];
    return NULL;
}

int reg_table_add(struct reg_table *t, json_t *data)
{
    const char *uuid = json_string_value(json_object_get(data, "uuid"));
    if (!uuid || find(t, uuid)) {
        json_decref(data);
        return -1;
    }
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 8;
        struct reg_entry *e = realloc(t->entries, cap * sizeof *e);
        if (!e) {
            json_decref(data);
            return -1;
        }
        t->entries = e;
        t->cap = cap;
    }
    struct reg_entry *e = &t->entries[t->n++];
    memset(e, 0, sizeof *e);
    e->data = data;
    e->uuid = uuid;
    return 0;
}

static int topic_for(const struct reg_table *t, const char *uuid, char *buf, size_t len)
{
    return topic_format(buf, len, t->realm, TOPIC_REG, uuid);
}

/* The retry delay doubles with each unanswered attempt, up to the cap. */
static uint64_t backoff(const struct reg_table *t, int attempts)
{
    uint64_t d = t->opt.timeout_ms;
    for (int i = 1; i < attempts && d < t->opt.max_backoff_ms; i++)
        d *= 2;
    return d > t->opt.max_backoff_ms ? t->opt.max_backoff_ms : d;
}

static void send_request(struct reg_table *t, struct reg_entry *e, uint64_t now)
{
    if (uuid_v4_generate(e->object_id) < 0) {
        slog(SLOG_ERROR, "mgr", "no randomness for an object_id");
        return;
    }
    json_t *req = envelope_request(e->object_id, "create", json_incref(e->data));
    if (!req) return;
    char topic[TOPIC_LAYOUT_MAX];
    int ok = topic_for(t, e->uuid, topic, sizeof topic) == 0 &&
             t->opt.publish(t->opt.ctx, topic, req, 0) == 0;
    json_decref(req);
    if (!ok) {
        e->state = REG_UNSENT;
        return;
    }
    e->attempts++;
    e->state = REG_PENDING;
    e->due_ms = now + backoff(t, e->attempts);
    const char *type = json_string_value(json_object_get(e->data, "type"));
    const char *name = json_string_value(json_object_get(e->data, "name"));
    if (e->attempts > 1)
        slog(SLOG_WARNING, "mgr", "no answer to the registration of %s %s (%s); retry %d",
             type ? type : "?", name ? name : "?", e->uuid, e->attempts - 1);
    else
        slog(SLOG_DEBUG, "mgr", "registering %s %s (%s)", type ? type : "?", name ? name : "?",
             e->uuid);
}

void reg_table_send_all(struct reg_table *t, uint64_t now_ms)
{
    for (size_t i = 0; i < t->n; i++) {
        struct reg_entry *e = &t->entries[i];
        e->attempts = 0;
        send_request(t, e, now_ms);
    }
}

uint64_t reg_table_tick(struct reg_table *t, uint64_t now_ms)
{
    uint64_t next = UINT64_MAX;
    for (size_t i = 0; i < t->n; i++) {
        struct reg_entry *e = &t->entries[i];
        if (e->state == REG_UNSENT || (e->state == REG_PENDING && e->due_ms <= now_ms))
            send_request(t, e, now_ms);
        if (e->state == REG_PENDING && e->due_ms < next) next = e->due_ms;
    }
    return next;
}

int reg_table_handle(struct reg_table *t, const char *uuid, const struct envelope *env)
{
    struct reg_entry *e = find(t, uuid);
    if (!e || env->type != ENVELOPE_RESP || e->state != REG_PENDING) return 0;
    if (strcmp(env->object_id, e->object_id)) return 0;
    const char *result = json_string_value(json_object_get(env->data, "result"));
    json_decref(e->answer);
    e->answer = json_incref(json_object_get(env->data, "details"));
    if (result && !strcmp(result, "ok")) {
        e->state = REG_REGISTERED;
        slog(SLOG_INFO, "mgr", "registered %s", uuid);
    } else {
        e->state = REG_REFUSED;
        char *details = e->answer ? json_dumps(e->answer, JSON_COMPACT) : NULL;
        slog(SLOG_ERROR, "mgr", "registration of %s refused: %s", uuid,
             details ? details : "(no details)");
        free(details);
    }
    return 1;
}

int reg_table_state(const struct reg_table *t, const char *uuid)
{
    struct reg_entry *e = find(t, uuid);
    return e ? e->state : -1;
}

json_t *reg_table_answer(const struct reg_table *t, const char *uuid)
{
    struct reg_entry *e = find(t, uuid);
    return e ? e->answer : NULL;
}

int reg_table_attempts(const struct reg_table *t, const char *uuid)
{
    struct reg_entry *e = find(t, uuid);
    return e ? e->attempts : -1;
}

json_t *reg_delete_request(const json_t *data)
{
    json_t *d = json_object();
    if (!d) return NULL;
    static const char *const keys[] = {"type", "uuid", "name"};
    for (size_t i = 0; i < 3; i++) {
        json_t *v = json_object_get(data, keys[i]);
        if (v) json_object_set(d, keys[i], v);
    }
    return envelope_request(NULL, "delete", d);
}

static void publish_delete(struct reg_table *t, struct reg_entry *e)
{
    json_t *req = reg_delete_request(e->data);
    if (!req) return;
    char topic[TOPIC_LAYOUT_MAX];
    if (topic_for(t, e->uuid, topic, sizeof topic) < 0 ||
        t->opt.publish(t->opt.ctx, topic, req, 1) != 0)
        slog(SLOG_WARNING, "mgr", "could not publish the delete of %s", e->uuid);
    json_decref(req);
}

int reg_table_unregister(struct reg_table *t, const char *uuid)
{
    struct reg_entry *e = find(t, uuid);
    if (!e) return -1;
    publish_delete(t, e);
    entry_clear(e);
    size_t i = (size_t)(e - t->entries);
    memmove(e, e + 1, (t->n - i - 1) * sizeof *e);
    t->n--;
    return 0;
}

void reg_table_unregister_all(struct reg_table *t)
{
    while (t->n) {
        struct reg_entry *e = &t->entries[t->n - 1];
        publish_delete(t, e);
        entry_clear(e);
        t->n--;
    }
}
