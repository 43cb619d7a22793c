/* The dashboard's state and its server-sent events (see dashboard.h). */
#define _GNU_SOURCE
#include "dashboard.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "event_loop.h"
#include "http_server.h"
#include "orc.h"
#include "rest_api.h"

struct dashboard_stream {
    struct http_stream *st;
    struct dashboard_stream *next;
};

struct dashboard {
    struct event_loop *loop;
    struct orc *orc;
    struct dashboard_stream *streams;
    size_t nstreams;
    loop_timer_id timer;
    char *last; /* the state last sent, JSON text */
    uint64_t last_heartbeat_ms;
};

/* Copy the named fields of src into a new object. */
static json_t *pick(json_t *src, const char *const *keys)
{
    json_t *o = json_object();
    for (; *keys; keys++) {
        json_t *v = json_object_get(src, *keys);
        if (v) json_object_set(o, *keys, v);
    }
    return o;
}

static const char *const module_keys[] = {"uuid",
                                          "name",
                                          "parent",
                                          "parent_name",
                                          "file",
                                          "state",
                                          "reason",
                                          "status",
                                          "exit_code",
                                          "created_at",
                                          "started_at",
                                          "ended_at",
                                          "cpu_usage_percent",
                                          "mem_usage",
                                          "queue",
                                          "runs",
                                          NULL};
static const char *const runtime_keys[] = {
    "uuid",     "name",      "runtime_type",    "alive",  "max_nmodules",
    "nmodules", "last_seen", "ka_interval_sec", "parent", "apis",
    NULL};

struct shown {
    json_t *modules; /* rows shown */
    json_t *usage;   /* runtime uuid -> {cpu, mem} of its live modules */
};

static int show_module(void *ctx, json_t *full)
{
    struct shown *sh = ctx;
    json_t *row = pick(full, module_keys);
    const char *parent = json_string_value(json_object_get(row, "parent"));
    if (parent && strcmp(json_string_value(json_object_get(row, "state")) ?: "", "D")) {
        json_t *u = json_object_get(sh->usage, parent);
        if (!u) {
            u = json_pack("{s:f, s:I}", "cpu", 0.0, "mem", (json_int_t)0);
            json_object_set_new(sh->usage, parent, u);
        }
        json_t *cpu = json_object_get(u, "cpu"), *mem = json_object_get(u, "mem");
        json_real_set(cpu, json_real_value(cpu) +
                               json_number_value(json_object_get(row, "cpu_usage_percent")));
        json_integer_set(mem, json_integer_value(mem) +
                                  json_integer_value(json_object_get(row, "mem_usage")));
    }
    json_array_append_new(sh->modules, row);
    return 0;
}

/* The state as JSON text (malloc'd). Cost: O(managers + runtimes) and
 * two store queries for the shown modules. */
static char *build_state(struct orc *o)
{
    json_t *root = json_object();
    json_t *managers = json_array(), *runtimes = json_array(), *modules = json_array();
    json_t *counts = json_pack("{s:i, s:i, s:i, s:i, s:i}", "A", 0, "E", 0, "K", 0, "Q", 0, "D", 0);
    for (size_t i = 0; i < orc_manager_count(o); i++)
        json_array_append_new(managers, orc_manager_json(o, orc_manager_at(o, i)));
    size_t nmodules = orc_module_count(o);
    static const char states[] = {MOD_ALIVE, MOD_EXITING, MOD_KILLED, MOD_QUEUED, MOD_DEAD};
    for (size_t k = 0; k < sizeof states; k++) {
        char state[2] = {states[k], '\0'};
        json_integer_set(json_object_get(counts, state),
                         (json_int_t)orc_module_count_in(o, states[k]));
    }
    /* Runtime load from the modules shown: cpu and memory summed. The
     * modules come from the store, newest first: those that have not
     * ended, then the latest ended ones. */
    struct shown shown = {modules, json_object()};
    orc_recent_modules(o, 0, DASHBOARD_LIVE_MAX, show_module, &shown);
    orc_recent_modules(o, 1, DASHBOARD_ENDED_MAX, show_module, &shown);
    json_t *usage = shown.usage;
    for (size_t i = 0; i < orc_runtime_count(o); i++) {
        json_t *full = orc_runtime_json(o, orc_runtime_at(o, i), 1);
        json_t *row = pick(full, runtime_keys);
        json_t *queued = json_object_get(full, "queued");
        json_object_set_new(row, "queued", json_integer((json_int_t)json_array_size(queued)));
        json_t *u = json_object_get(usage, json_string_value(json_object_get(row, "uuid")) ?: "");
        json_object_set_new(row, "cpu_usage_percent",
                            json_real(u ? json_real_value(json_object_get(u, "cpu")) : 0.0));
        json_object_set_new(row, "mem_usage",
                            json_integer(u ? json_integer_value(json_object_get(u, "mem")) : 0));
        json_decref(full);
        json_array_append_new(runtimes, row);
    }
    json_decref(usage);
    json_object_set_new(root, "managers", managers);
    json_object_set_new(root, "runtimes", runtimes);
    json_object_set_new(root, "modules", modules);
    json_object_set_new(root, "counts", counts);
    json_object_set_new(root, "total_modules", json_integer((json_int_t)nmodules));
    json_object_set_new(root, "broker", json_boolean(orc_broker_connected(o)));
    char *text = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    return text;
}

/* {"now": wall time, "state": ...}: the time lets the page show ages
 * without trusting the browser's clock. */
static char *event_text(const char *state, size_t *len)
{
    char *out = NULL;
    int n = asprintf(&out, "event: state\ndata: {\"now\":%.3f,\"state\":%s}\n\n",
                     loop_wall_seconds(), state);
    if (n < 0) return NULL;
    *len = (size_t)n;
    return out;
}

static void on_check(void *ctx);

static void arm(struct dashboard *d)
{
    if (!d->timer && d->nstreams)
        loop_timer_add(d->loop, DASHBOARD_CHECK_MS, on_check, d, &d->timer);
}

static void broadcast(struct dashboard *d, const char *text, size_t len)
{
    for (struct dashboard_stream *s = d->streams; s; s = s->next)
        http_stream_write(s->st, text, len); /* a failing one ends, and is unlisted then */
}

static void on_check(void *ctx)
{
    struct dashboard *d = ctx;
    d->timer = 0;
    if (!d->nstreams) return;
    char *state = build_state(d->orc);
    if (state && (!d->last || strcmp(state, d->last))) {
        size_t len;
        char *ev = event_text(state, &len);
        if (ev) broadcast(d, ev, len);
        free(ev);
        free(d->last);
        d->last = state;
        d->last_heartbeat_ms = loop_now_ms();
    } else {
        free(state);
        if (loop_now_ms() - d->last_heartbeat_ms >= DASHBOARD_HEARTBEAT_MS) {
            static const char beat[] = ": still here\n\n";
            broadcast(d, beat, sizeof beat - 1);
            d->last_heartbeat_ms = loop_now_ms();
        }
    }
    arm(d);
}

static void on_stream_closed(void *ctx, struct http_stream *st)
{
    struct dashboard *d = ctx;
    for (struct dashboard_stream **pp = &d->streams; *pp; pp = &(*pp)->next) {
        if ((*pp)->st == st) {
            struct dashboard_stream *s = *pp;
            *pp = s->next;
            free(s);
            d->nstreams--;
            break;
        }
    }
    if (!d->nstreams) {
        free(d->last);
        d->last = NULL;
    }
}

static void on_stream_open(void *ctx, struct http_stream *st)
{
    struct dashboard *d = ctx;
    struct dashboard_stream *s = calloc(1, sizeof *s);
    if (!s) {
        http_stream_end(st);
        return;
    }
    s->st = st;
    s->next = d->streams;
    d->streams = s;
    d->nstreams++;
    http_stream_on_close(st, on_stream_closed, d);
    /* The browser retries after 1 s when the connection drops. */
    static const char hello[] = "retry: 1000\n\n";
    http_stream_write(st, hello, sizeof hello - 1);
    char *state = build_state(d->orc);
    size_t len;
    char *ev = state ? event_text(state, &len) : NULL;
    if (ev) http_stream_write(st, ev, len);
    free(ev);
    if (state && !d->last)
        d->last = state;
    else
        free(state);
    if (!d->last_heartbeat_ms) d->last_heartbeat_ms = loop_now_ms();
    arm(d);
}

static void get_events(void *ctx, const struct rest_request *req, struct rest_reply *reply)
{
    (void)req;
    struct dashboard *d = ctx;
    if (d->nstreams >= DASHBOARD_STREAMS_MAX) {
        rest_reply_error(reply, 503, "too many open dashboards");
        return;
    }
    reply->status = 200;
    reply->content_type = "text/event-stream";
    reply->stream = on_stream_open;
    reply->stream_ctx = d;
}

static void get_state(void *ctx, const struct rest_request *req, struct rest_reply *reply)
{
    (void)req;
    struct dashboard *d = ctx;
    char *state = build_state(d->orc);
    if (!state) {
        rest_reply_error(reply, 500, "out of memory");
        return;
    }
    size_t len;
    char *text = NULL;
    if (asprintf(&text, "{\"now\":%.3f,\"state\":%s}", loop_wall_seconds(), state) < 0) text = NULL;
    free(state);
    if (!text) {
        rest_reply_error(reply, 500, "out of memory");
        return;
    }
    len = strlen(text);
    reply->status = 200;
    reply->content_type = "application/json";
    reply->body = text;
    reply->len = len;
}

static void get_page(void *ctx, const struct rest_request *req, struct rest_reply *reply)
{
    (void)ctx;
    (void)req;
    reply->body = malloc(dashboard_page_len);
    if (!reply->body) {
        rest_reply_error(reply, 500, "out of memory");
        return;
    }
    memcpy(reply->body, dashboard_page, dashboard_page_len);
    reply->len = dashboard_page_len;
    reply->status = 200;
    reply->content_type = "text/html; charset=utf-8";
}

const struct rest_route dashboard_routes[] = {
    {"/", REST_GET, get_page},
    {"/api/dashboard", REST_GET, get_state},
    {"/api/events", REST_GET, get_events},
};
const size_t dashboard_nroutes = sizeof dashboard_routes / sizeof dashboard_routes[0];

int dashboard_new(struct event_loop *loop, struct orc *orc, struct dashboard **out)
{
    struct dashboard *d = calloc(1, sizeof *d);
    if (!d) return -1;
    d->loop = loop;
    d->orc = orc;
    *out = d;
    return 0;
}

void dashboard_free(struct dashboard *d)
{
    if (!d) return;
    if (d->timer) loop_timer_cancel(d->loop, d->timer);
    while (d->streams) {
        struct dashboard_stream *s = d->streams;
        d->streams = s->next;
        free(s);
    }
    free(d->last);
    free(d);
}
