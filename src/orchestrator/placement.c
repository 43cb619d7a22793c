/* Placement and the life of modules on runtimes (see orc_internal.h):
 * choosing a runtime, the per-runtime and realm queues (oldest first),
 * forwarding creates and deletes, what happens to modules when a runtime
 * ends, and their re-creation when it comes back.
 *
 * Costs: choosing a runtime is O(runtimes); starting from the realm queue
 * looks for the first fitting module, O(queue length) at worst. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "orc_internal.h"
#include "slog.h"
#include "stratus/envelope.h"
#include "stratus/topic.h"
#include "stratus/uuid.h"

static int fits(const struct orc_runtime *r, const struct orc_module *m)
{
    return r->max_nmodules > 0 && orc_strv_covers(r->apis, m->apis);
}

static int has_room(const struct orc_runtime *r)
{
    return r->alive && r->nlive < r->max_nmodules;
}

/* The least loaded live runtime that fits and has room: by the share of its
 * slots in use, then the number of modules, then registration order. */
static struct orc_runtime *best_runtime(struct orc *o, const struct orc_module *m)
{
    struct orc_runtime *best = NULL;
    for (size_t i = 0; i < o->runtimes.n; i++) {
        struct orc_runtime *r = o->runtimes.v[i];
        if (!has_room(r) || !fits(r, m)) continue;
        if (!best) {
            best = r;
            continue;
        }
        /* r->nlive / r->max < best->nlive / best->max, without division. */
        long long a = (long long)r->nlive * best->max_nmodules;
        long long b = (long long)best->nlive * r->max_nmodules;
        if (a < b || (a == b && r->nlive < best->nlive)) best = r;
    }
    return best;
}

static void apis_text(char *buf, size_t cap, char *const *apis)
{
    size_t n = 0;
    buf[0] = '\0';
    for (char *const *a = apis; a && *a && n < cap; a++)
        n += (size_t)snprintf(buf + n, cap - n, "%s%s", a == apis ? "" : ", ", *a);
}

/* Why an unpinned module cannot be placed now. */
static void unplaced_reason(struct orc *o, struct orc_module *m)
{
    int fit = 0, fit_alive = 0;
    for (size_t i = 0; i < o->runtimes.n; i++) {
        struct orc_runtime *r = o->runtimes.v[i];
        if (!fits(r, m)) continue;
        fit++;
        fit_alive += r->alive;
    }
    char apis[256];
    apis_text(apis, sizeof apis, m->apis);
    if (!o->connected)
        orc_set_reason(o, m, "waiting for the connection to the broker");
    else if (fit_alive)
        orc_set_reason(o, m, "all %d live runtimes that offer [%s] are full", fit_alive, apis);
    else if (fit)
        orc_set_reason(o, m, "no live runtime offers [%s] (%d that do are not alive)", apis, fit);
    else
        orc_set_reason(o, m, "no runtime offers [%s]", apis);
}

/* Insert in queue order (queue_seq), so a module put back keeps its turn. */
static void queue_insert(struct orc_link *head, struct orc_module *m)
{
    struct orc_link *l = head->prev;
    while (l != head && ORC_CONTAINER(l, struct orc_module, in_queue)->queue_seq > m->queue_seq)
        l = l->prev;
    /* After l. */
    m->in_queue.prev = l;
    m->in_queue.next = l->next;
    l->next->prev = &m->in_queue;
    l->next = &m->in_queue;
}

static void enqueue(struct orc *o, struct orc_module *m, int keep_turn)
{
    m->state = MOD_QUEUED;
    if (!keep_turn || !m->queue_seq) m->queue_seq = o->next_queue_seq++;
    queue_insert(m->pinned && m->runtime ? &m->runtime->queue : &o->realm_queue, m);
    orc_mark_module(o, m);
    const char *reason = orc_detail(o, m)->reason;
    slog(SLOG_INFO, "orc", "module %s (%s) queued (%s queue): %s", orc_module_name(o, m), m->uuid,
         m->pinned && m->runtime ? m->runtime->name : "realm", reason ? reason : "no room");
}

void orc_observe_latency(struct orc *o, double seconds)
{
    size_t i = 0;
    while (i < ORC_LATENCY_BUCKETS && seconds > orc_latency_bounds[i])
        i++;
    o->latency_counts[i]++;
    o->latency_sum += seconds;
    o->latency_total++;
}

/* Send the create of m to r, with its create data: `parsed` (borrowed, the
 * parsed form of the detail's data, which a new request has at hand) or the
 * stored data parsed here. If the request cannot go out (no broker
 * connection), -1. */
static int send_create(struct orc *o, struct orc_module *m, struct orc_runtime *r, json_t *parsed)
{
    const char *text = parsed ? NULL : orc_detail(o, m)->data;
    json_t *data = parsed ? json_incref(parsed) : json_loads(text ? text : "", 0, NULL);
    if (!json_is_object(data)) {
        json_decref(data);
        data = json_pack("{s:s}", "uuid", m->uuid);
    }
    char oid[UUID_STR_LEN], topic[TOPIC_LAYOUT_MAX];
    if (uuid_v4_generate(oid) < 0 ||
        topic_format(topic, sizeof topic, o->realm, TOPIC_CONTROL_RUNTIME, r->uuid) < 0) {
        json_decref(data);
        return -1;
    }
    json_t *req = envelope_request(oid, "create", data);
    int rc = req ? o->io.request(o->io.ctx, topic, req, oid) : -1;
    json_decref(req);
    if (rc < 0) {
        o->connected = 0;
        return -1;
    }
    orc_ack_set(o, m, oid, 0, 0);
    return 0;
}

/* Start m on r (which has room): forwarded, alive. Returns -1 when it could
 * not be sent (m untouched). */
static int start_on(struct orc *o, struct orc_module *m, struct orc_runtime *r, int resurrect,
                    json_t *parsed)
{
    if (send_create(o, m, r, parsed) < 0) return -1;
    if (m->runtime != r || !orc_list_linked(&m->on_runtime)) {
        orc_list_remove(&m->on_runtime);
        orc_list_append(&r->modules, &m->on_runtime);
    }
    m->runtime = r;
    m->state = MOD_ALIVE;
    r->nlive++;
    struct orc_module_detail *d = orc_detail(o, m);
    free(d->reason);
    d->reason = NULL;
    d->started_at = orc_wall(o);
    if (resurrect) d->restarts++;
    orc_observe_latency(o, (double)(orc_now(o) - m->wait_since_ms) / 1000.0);
    orc_mark_module(o, m);
    slog(SLOG_INFO, "orc", "module %s (%s) %s runtime %s (%s)", orc_module_name(o, m), m->uuid,
         resurrect ? "re-created on" : "placed on", r->name ? r->name : "?", r->uuid);
    return 0;
}

int orc_pin_check(const struct orc_runtime *r, char *const *apis, char err[ORC_ERR_LEN])
{
    if (r->max_nmodules <= 0) {
        snprintf(err, ORC_ERR_LEN, "runtime %s (%s) runs no modules", r->name, r->uuid);
        return ORC_BAD_REQUEST;
    }
    if (!orc_strv_covers(r->apis, apis)) {
        char text[256];
        apis_text(text, sizeof text, apis);
        snprintf(err, ORC_ERR_LEN, "runtime %s (%s) does not offer every api of [%s]", r->name,
                 r->uuid, text);
        return ORC_BAD_REQUEST;
    }
    return ORC_OK;
}

void orc_place_new(struct orc *o, struct orc_module *m, struct orc_runtime *pinned, json_t *data)
{
    if (pinned) {
        m->runtime = pinned;
        /* Oldest first: a free slot goes to the queue before a newcomer. */
        if (has_room(pinned) && orc_list_empty(&pinned->queue) &&
            start_on(o, m, pinned, 0, data) == 0)
            return;
        if (!pinned->alive)
            orc_set_reason(o, m, "runtime %s is not alive", pinned->name);
        else if (!o->connected)
            orc_set_reason(o, m, "waiting for the connection to the broker");
        else
            orc_set_reason(o, m, "runtime %s is full (%d of %d)", pinned->name, pinned->nlive,
                           pinned->max_nmodules);
        enqueue(o, m, 0);
        return;
    }
    m->runtime = NULL;
    struct orc_runtime *r = best_runtime(o, m);
    if (r && start_on(o, m, r, 0, data) == 0) return;
    unplaced_reason(o, m);
    enqueue(o, m, 0);
}

void orc_record_direct(struct orc *o, struct orc_module *m, struct orc_runtime *r)
{
    orc_list_remove(&m->on_runtime);
    orc_list_remove(&m->in_queue);
    orc_list_append(&r->modules, &m->on_runtime);
    m->runtime = r;
    m->state = MOD_ALIVE;
    r->nlive++;
    orc_detail(o, m)->started_at = orc_wall(o);
    orc_mark_module(o, m);
    slog(SLOG_INFO, "orc", "module %s (%s) was sent straight to runtime %s: recorded",
         orc_module_name(o, m), m->uuid, r->name ? r->name : r->uuid);
}

void orc_killed_by_runtime(struct orc *o, struct orc_module *m, const char *reason)
{
    struct orc_runtime *r = m->runtime;
    r->nlive--;
    m->state = MOD_KILLED;
    orc_ack_clear(o, m);
    orc_set_reason(o, m, "killed by its runtime: %s", reason ? reason : "no reason given");
    orc_mark_module(o, m);
    slog(SLOG_INFO, "orc", "module %s (%s) was killed on runtime %s; it waits to be re-created",
         orc_module_name(o, m), m->uuid, r->name ? r->name : r->uuid);
    orc_slot_freed(o, r);
}

/* The first module of the realm queue that r can run, or NULL. */
static struct orc_module *realm_head_for(struct orc *o, const struct orc_runtime *r)
{
    for (struct orc_link *l = o->realm_queue.next; l != &o->realm_queue; l = l->next) {
        struct orc_module *m = ORC_CONTAINER(l, struct orc_module, in_queue);
        if (fits(r, m)) return m;
    }
    return NULL;
}

/* Fill r's free slots from its queue and the realm queue, oldest first. */
static void dequeue(struct orc *o, struct orc_runtime *r)
{
    while (has_room(r)) {
        struct orc_module *a = orc_list_empty(&r->queue)
                                   ? NULL
                                   : ORC_CONTAINER(r->queue.next, struct orc_module, in_queue);
        struct orc_module *b = realm_head_for(o, r);
        struct orc_module *m = !a ? b : !b ? a : (a->queue_seq < b->queue_seq ? a : b);
        if (!m) return;
        orc_list_remove(&m->in_queue);
        if (start_on(o, m, r, 0, NULL) < 0) {
            orc_set_reason(o, m, "waiting for the connection to the broker");
            queue_insert(m == a ? &r->queue : &o->realm_queue, m);
            orc_mark_module(o, m);
            return;
        }
    }
}

/* Re-create the killed modules of r, oldest placement first; those that
 * find no room wait in its queue. */
static void resurrect(struct orc *o, struct orc_runtime *r)
{
    struct orc_link *next;
    for (struct orc_link *l = r->modules.next; l != &r->modules; l = next) {
        next = l->next;
        struct orc_module *m = ORC_CONTAINER(l, struct orc_module, on_runtime);
        if (m->state != MOD_KILLED) continue;
        if (has_room(r) && start_on(o, m, r, 1, NULL) == 0) continue;
        if (!o->connected) return; /* stays killed; retried on reconnect */
        orc_list_remove(&m->on_runtime);
        orc_set_reason(o, m, "runtime %s is full (%d of %d)", r->name, r->nlive, r->max_nmodules);
        enqueue(o, m, 0);
    }
}

void orc_runtime_up(struct orc *o, struct orc_runtime *r)
{
    resurrect(o, r);
    dequeue(o, r);
}

void orc_slot_freed(struct orc *o, struct orc_runtime *r)
{
    if (r) dequeue(o, r);
}

void orc_dequeue_all(struct orc *o)
{
    for (size_t i = 0; i < o->runtimes.n && o->connected; i++) {
        struct orc_runtime *r = o->runtimes.v[i];
        if (r->alive) orc_runtime_up(o, r);
    }
}

void orc_module_end(struct orc *o, struct orc_module *m, const char *status, const char *reason)
{
    struct orc_runtime *freed = NULL;
    if (m->state == MOD_ALIVE || m->state == MOD_EXITING) {
        m->runtime->nlive--;
        freed = m->runtime;
    }
    orc_list_remove(&m->on_runtime);
    orc_list_remove(&m->in_queue);
    orc_ack_clear(o, m);
    m->state = MOD_DEAD;
    struct orc_module_detail *d = orc_detail(o, m);
    orc_set_str(&d->status, status);
    orc_set_str(&d->reason, reason);
    d->ended_at = orc_wall(o);
    orc_mark_module(o, m);
    orc_module_ended(o, m);
    slog(SLOG_INFO, "orc", "module %s (%s) ended: %s%s%s", orc_module_name(o, m), m->uuid,
         status ? status : "?", reason ? ": " : "", reason ? reason : "");
    if (freed) orc_slot_freed(o, freed);
}

void orc_forward_delete(struct orc *o, struct orc_module *m)
{
    struct orc_runtime *r = m->runtime;
    char oid[UUID_STR_LEN], topic[TOPIC_LAYOUT_MAX];
    m->state = MOD_EXITING;
    orc_mark_module(o, m);
    if (uuid_v4_generate(oid) < 0 ||
        topic_format(topic, sizeof topic, o->realm, TOPIC_CONTROL_RUNTIME, r->uuid) < 0)
        return;
    json_t *req =
        envelope_request(oid, "delete", json_pack("{s:s, s:s}", "type", "module", "uuid", m->uuid));
    if (req && o->io.request(o->io.ctx, topic, req, oid) == 0)
        orc_ack_set(o, m, oid, 0, 1);
    else
        slog(SLOG_WARNING, "orc", "could not send the delete of module %s", m->uuid);
    json_decref(req);
}

void orc_runtime_down(struct orc *o, struct orc_runtime *r, const char *why)
{
    if (!r->alive) return;
    r->alive = 0;
    r->ka_deadline_ms = 0;
    orc_mark_runtime(o, r);
    slog(SLOG_WARNING, "orc", "runtime %s (%s) ended: %s", r->name ? r->name : "?", r->uuid, why);
    struct orc_link *next;
    for (struct orc_link *l = r->modules.next; l != &r->modules; l = next) {
        next = l->next;
        struct orc_module *m = ORC_CONTAINER(l, struct orc_module, on_runtime);
        if (m->state == MOD_EXITING) {
            orc_module_end(o, m, "killed", "its runtime ended while it was being deleted");
            continue;
        }
        if (m->state == MOD_ALIVE) {
            r->nlive--;
            m->state = MOD_KILLED;
            orc_ack_clear(o, m);
            orc_set_reason(o, m, "runtime %s ended: %s", r->name ? r->name : r->uuid, why);
            orc_mark_module(o, m);
        }
        if (m->pinned) continue; /* waits, killed, for its runtime */
        /* Placed by us: placed again wherever it fits. */
        orc_list_remove(&m->on_runtime);
        m->runtime = NULL;
        m->wait_since_ms = orc_now(o);
        struct orc_runtime *to = best_runtime(o, m);
        if (to && start_on(o, m, to, 1, NULL) == 0) continue;
        unplaced_reason(o, m);
        enqueue(o, m, 0);
    }
    for (struct orc_link *l = r->queue.next; l != &r->queue; l = l->next) {
        struct orc_module *m = ORC_CONTAINER(l, struct orc_module, in_queue);
        orc_set_reason(o, m, "runtime %s is not alive", r->name ? r->name : r->uuid);
        orc_mark_module(o, m);
    }
}
