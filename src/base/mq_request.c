/* Requests waiting for their answers (see mq_request.h). */
#include "mq_request.h"

#include <stdlib.h>
#include <string.h>

#include "event_loop.h"
#include "mq_link.h"
#include "slog.h"
#include "stratus/envelope.h"

struct pending {
    char *object_id;
    struct reply_topic *reply;
    mq_answer_fn fn;
    void *ctx;
    loop_timer_id timer;
    struct mq_waiter *w;
    struct pending *next; /* hash chain */
};

/* A routed reply topic and the number of requests waiting on it. */
struct reply_topic {
    char *topic;
    size_t refs;
    struct reply_topic *next;
};

struct mq_waiter {
    struct event_loop *loop;
    struct mq_link *link;
    struct pending **buckets;
    size_t nbuckets, count;
    struct reply_topic *replies;
};

static size_t hash_id(const char *s, size_t nbuckets)
{
    uint64_t h = 1469598103934665603u; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 1099511628211u;
    return (size_t)(h % nbuckets);
}

int mq_waiter_new(struct event_loop *loop, struct mq_link *link, struct mq_waiter **out)
{
    struct mq_waiter *w = calloc(1, sizeof *w);
    if (!w) return -1;
    w->nbuckets = 64;
    w->buckets = calloc(w->nbuckets, sizeof *w->buckets);
    if (!w->buckets) {
        free(w);
        return -1;
    }
    w->loop = loop;
    w->link = link;
    *out = w;
    return 0;
}

static void on_reply(void *ctx, const char *topic, const void *payload, size_t len);

static void release_reply(struct mq_waiter *w, struct reply_topic *r)
{
    if (--r->refs > 0) return;
    mq_link_unroute(w->link, r->topic, on_reply, w);
    for (struct reply_topic **pp = &w->replies; *pp; pp = &(*pp)->next) {
        if (*pp == r) {
            *pp = r->next;
            break;
        }
    }
    free(r->topic);
    free(r);
}

static struct reply_topic *acquire_reply(struct mq_waiter *w, const char *topic)
{
    for (struct reply_topic *r = w->replies; r; r = r->next) {
        if (!strcmp(r->topic, topic)) {
            r->refs++;
            return r;
        }
    }
    struct reply_topic *r = calloc(1, sizeof *r);
    if (!r || !(r->topic = strdup(topic))) {
        free(r);
        return NULL;
    }
    if (mq_link_route(w->link, topic, 1, on_reply, w) < 0) {
        free(r->topic);
        free(r);
        return NULL;
    }
    r->refs = 1;
    r->next = w->replies;
    w->replies = r;
    return r;
}

/* Unlink p from its chain; the caller frees it. */
static void unlink_pending(struct mq_waiter *w, struct pending *p)
{
    struct pending **pp = &w->buckets[hash_id(p->object_id, w->nbuckets)];
    while (*pp && *pp != p)
        pp = &(*pp)->next;
    if (*pp) *pp = p->next;
    w->count--;
}

static void free_pending(struct mq_waiter *w, struct pending *p)
{
    if (p->timer) loop_timer_cancel(w->loop, p->timer);
    release_reply(w, p->reply);
    free(p->object_id);
    free(p);
}

static struct pending *find_pending(struct mq_waiter *w, const char *object_id)
{
    for (struct pending *p = w->buckets[hash_id(object_id, w->nbuckets)]; p; p = p->next)
        if (!strcmp(p->object_id, object_id)) return p;
    return NULL;
}

void mq_waiter_free(struct mq_waiter *w)
{
    if (!w) return;
    for (size_t i = 0; i < w->nbuckets; i++) {
        while (w->buckets[i]) {
            struct pending *p = w->buckets[i];
            w->buckets[i] = p->next;
            free_pending(w, p);
        }
    }
    free(w->buckets);
    free(w);
}

/* Keep chains short: double the table when it holds two entries a bucket. */
static void maybe_grow(struct mq_waiter *w)
{
    if (w->count < 2 * w->nbuckets) return;
    size_t n = w->nbuckets * 2;
    struct pending **b = calloc(n, sizeof *b);
    if (!b) return; /* longer chains, still correct */
    for (size_t i = 0; i < w->nbuckets; i++) {
        while (w->buckets[i]) {
            struct pending *p = w->buckets[i];
            w->buckets[i] = p->next;
            size_t h = hash_id(p->object_id, n);
            p->next = b[h];
            b[h] = p;
        }
    }
    free(w->buckets);
    w->buckets = b;
    w->nbuckets = n;
}

static void on_deadline(void *ctx)
{
    struct pending *p = ctx;
    struct mq_waiter *w = p->w;
    p->timer = 0;
    unlink_pending(w, p);
    mq_answer_fn fn = p->fn;
    void *fctx = p->ctx;
    free_pending(w, p);
    fn(fctx, NULL);
}

static void on_reply(void *ctx, const char *topic, const void *payload, size_t len)
{
    struct mq_waiter *w = ctx;
    struct envelope env;
    char err[ENVELOPE_ERR_LEN];
    if (envelope_parse(payload, len, &env, err) < 0) {
        slog(SLOG_DEBUG, "mq", "not an answer on %s: %s", topic, err);
        return;
    }
    struct pending *p = env.type == ENVELOPE_RESP ? find_pending(w, env.object_id) : NULL;
    if (p) {
        unlink_pending(w, p);
        mq_answer_fn fn = p->fn;
        void *fctx = p->ctx;
        free_pending(w, p);
        fn(fctx, &env);
    }
    envelope_clear(&env);
}

int mq_request(struct mq_waiter *w, const char *topic, const json_t *request,
               const char *reply_topic, uint64_t timeout_ms, mq_answer_fn fn, void *ctx)
{
    const char *oid = json_string_value(json_object_get(request, "object_id"));
    if (!oid || !*oid || find_pending(w, oid)) return -1;
    struct pending *p = calloc(1, sizeof *p);
    if (!p || !(p->object_id = strdup(oid))) {
        free(p);
        return -1;
    }
    p->fn = fn;
    p->ctx = ctx;
    p->w = w;
    /* Routed before publishing, so that a fast answer is not missed. */
    if (!(p->reply = acquire_reply(w, reply_topic))) {
        free(p->object_id);
        free(p);
        return -1;
    }
    if (loop_timer_add(w->loop, timeout_ms, on_deadline, p, &p->timer) < 0 ||
        mq_link_publish_json(w->link, topic, request, 1, NULL) < 0) {
        free_pending(w, p);
        return -1;
    }
    size_t h = hash_id(oid, w->nbuckets);
    p->next = w->buckets[h];
    w->buckets[h] = p;
    w->count++;
    maybe_grow(w);
    return 0;
}

size_t mq_waiter_pending(const struct mq_waiter *w)
{
    return w->count;
}

struct run_until {
    struct event_loop *loop;
    const int *done;
    int timed_out;
};

static void check_done(void *ctx)
{
    struct run_until *r = ctx;
    if (*r->done) loop_stop(r->loop);
}

static void on_run_timeout(void *ctx)
{
    struct run_until *r = ctx;
    r->timed_out = 1;
    loop_stop(r->loop);
}

int mq_run_until(struct event_loop *loop, const int *done, uint64_t timeout_ms)
{
    if (*done) return 0;
    struct run_until r = {.loop = loop, .done = done};
    loop_timer_id timer;
    if (loop_timer_add(loop, timeout_ms, on_run_timeout, &r, &timer) < 0) return -1;
    if (loop_add_prepare(loop, check_done, &r) < 0) {
        loop_timer_cancel(loop, timer);
        return -1;
    }
    int rc = loop_run(loop);
    loop_del_prepare(loop, check_done, &r);
    loop_timer_cancel(loop, timer);
    if (rc < 0) return -1;
    return *done ? 0 : 1;
}
