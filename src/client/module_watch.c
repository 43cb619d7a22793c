/* Modules' starts and ends seen on the runtimes' control topics (see
 * module_watch.h). */
#define _GNU_SOURCE
#include "module_watch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stratus/envelope.h"
#include "stratus/topic.h"

int module_watch_init(struct module_watch *w, size_t n)
{
    memset(w, 0, sizeof *w);
    w->mods = calloc(n ? n : 1, sizeof *w->mods);
    if (!w->mods) return -1;
    w->n = n;
    return 0;
}

void module_watch_clear(struct module_watch *w)
{
    for (size_t i = 0; i < w->n; i++)
        json_decref(w->mods[i].exit);
    free(w->mods);
    memset(w, 0, sizeof *w);
}

struct watched_module *module_watch_find(struct module_watch *w, const char *uuid)
{
    if (!uuid) return NULL;
    for (size_t i = 0; i < w->n; i++)
        if (!strcmp(w->mods[i].uuid, uuid)) return &w->mods[i];
    return NULL;
}

void module_watch_end(struct module_watch *w, struct watched_module *m, json_t *exit_data)
{
    if (m->ended) {
        json_decref(exit_data);
        return;
    }
    m->ended = 1;
    m->exit = exit_data;
    if (++w->ended == w->n) w->all_ended = 1;
    if (w->ended_fn) w->ended_fn(w->ctx, m);
}

static int result_is_error(json_t *data)
{
    const char *result = json_string_value(json_object_get(data, "result"));
    return result && !strcmp(result, "error");
}

static void on_control(void *ctx, const char *topic, const void *payload, size_t len)
{
    struct module_watch *w = ctx;
    struct envelope env;
    char err[ENVELOPE_ERR_LEN];
    if (envelope_parse(payload, len, &env, err) < 0) return;
    const char *runtime = strrchr(topic, '/');
    runtime = runtime ? runtime + 1 : "";
    if (env.type == ENVELOPE_REQ) {
        struct watched_module *m =
            module_watch_find(w, json_string_value(json_object_get(env.data, "uuid")));
        if (m && !m->ended && !strcmp(env.action, "exited")) {
            snprintf(m->runtime, sizeof m->runtime, "%s", runtime);
            module_watch_end(w, m, json_copy(env.data));
        } else if (m && !m->ended && !strcmp(env.action, "create")) {
            snprintf(m->runtime, sizeof m->runtime, "%s", runtime);
            if (w->started) w->started(w->ctx, m);
        }
    } else if (!strcmp(env.action, "create") && result_is_error(env.data)) {
        json_t *details = json_object_get(env.data, "details");
        struct watched_module *m =
            module_watch_find(w, json_string_value(json_object_get(details, "uuid")));
        if (m && !m->ended) {
            const char *reason = json_string_value(json_object_get(details, "reason"));
            module_watch_end(w, m,
                             json_pack("{s:s, s:s+}", "status", "failed", "reason",
                                       "the runtime refused it: ", reason ? reason : "no reason"));
        }
    }
    envelope_clear(&env);
}

int module_watch_start(struct module_watch *w, struct client_session *s, char err[CLIENT_ERR_LEN])
{
    char filter[TOPIC_LAYOUT_MAX];
    if (topic_format(filter, sizeof filter, client_session_realm(s), TOPIC_CONTROL_RUNTIME, "+") <
        0) {
        snprintf(err, CLIENT_ERR_LEN, "realm '%s' makes no topic", client_session_realm(s));
        return -1;
    }
    return client_session_route(s, filter, on_control, w, err);
}
