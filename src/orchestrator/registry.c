/* The registry (see orc.h, orc_internal.h): the tables of managers, runtimes
 * and modules, loading them from the store and writing the changed ones at
 * the end of each request, lookups by UUID, name or suffix, and the JSON of
 * each record. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "orc_internal.h"
#include "slog.h"

const double orc_latency_bounds[ORC_LATENCY_BUCKETS] = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.1, 1, 10, 60, 600,
};

int ptrvec_push(struct ptrvec *pv, void *p)
{
    if (pv->n == pv->cap) {
        size_t cap = pv->cap ? pv->cap * 2 : 16;
        void **v = realloc(pv->v, cap * sizeof *v);
        if (!v) return -1;
        pv->v = v;
        pv->cap = cap;
    }
    pv->v[pv->n++] = p;
    return 0;
}

void ptrvec_free(struct ptrvec *pv)
{
    free(pv->v);
    memset(pv, 0, sizeof *pv);
}

uint64_t orc_now(struct orc *o)
{
    return o->io.now_ms(o->io.ctx);
}

double orc_wall(struct orc *o)
{
    return o->io.wall(o->io.ctx);
}

int orc_set_str(char **field, const char *value)
{
    char *copy = value ? strdup(value) : NULL;
    if (value && !copy) return -1;
    free(*field);
    *field = copy;
    return 0;
}

void orc_set_reason(struct orc *o, struct orc_module *m, const char *fmt, ...)
{
    char *text = NULL;
    va_list ap;
    va_start(ap, fmt);
    int n = vasprintf(&text, fmt, ap);
    va_end(ap);
    struct orc_module_detail *d = orc_detail(o, m);
    free(d->reason);
    d->reason = n >= 0 ? text : NULL;
}

const char *orc_module_name(struct orc *o, struct orc_module *m)
{
    const char *name = orc_detail(o, m)->name;
    return name ? name : "?";
}

/* ---- records ---- */

static void free_manager(struct orc_manager *m)
{
    free(m->name);
    free(m);
}

static void free_runtime(struct orc_runtime *r)
{
    free(r->name);
    free(r->runtime_type);
    orc_strv_free(r->apis);
    free(r->registration);
    free(r);
}

/* Used when a detail cannot be had at all (out of memory): never written,
 * never freed. */
static struct orc_module_detail no_detail = {.unreadable = 1, .active = -1};

static void drop_detail(struct orc_module *m)
{
    if (m->detail && m->detail != &no_detail) {
        orc_detail_clear(m->detail);
        free(m->detail);
    }
    m->detail = NULL;
}

/* The detail of m from the store into d (strings malloc'd). A module the
 * store does not have (a new one, or a store that failed to write it) gets
 * an empty detail. */
static void read_detail(struct orc *o, const struct orc_module *m, struct orc_module_detail *d)
{
    int found = 0;
    struct store_module_row row;
    if (o->store->ops->get_module(o->store, m->uuid, &row, &found) < 0) {
        o->store_errors++;
        slog(SLOG_ERROR, "db", "reading module %s: %s", m->uuid, store_error(o->store));
        memset(d, 0, sizeof *d);
        d->active = -1;
        d->unreadable = 1;
        return;
    }
    *d = row.detail;
}

struct orc_module_detail *orc_detail(struct orc *o, struct orc_module *m)
{
    if (m->detail) return m->detail;
    struct orc_module_detail *d = malloc(sizeof *d);
    if (!d || ptrvec_push(&o->detailed, m) < 0) {
        free(d);
        m->detail = &no_detail;
        slog(SLOG_ERROR, "orc", "out of memory reading module %s", m->uuid);
        return m->detail;
    }
    read_detail(o, m, d);
    m->detail = d;
    return d;
}

struct orc_module_detail *orc_detail_new(struct orc *o, struct orc_module *m)
{
    if (m->detail && m->detail != &no_detail) {
        /* Already listed in o->detailed: emptied in place. */
        orc_detail_clear(m->detail);
        m->detail->active = -1;
        return m->detail;
    }
    m->detail = NULL;
    struct orc_module_detail *d = calloc(1, sizeof *d);
    if (!d || ptrvec_push(&o->detailed, m) < 0) {
        free(d);
        m->detail = &no_detail;
        return m->detail;
    }
    d->active = -1;
    m->detail = d;
    return d;
}

/* Details read only to be looked at, outside requests: in tmp, which the
 * caller clears when the returned pointer is tmp. */
static const struct orc_module_detail *
detail_to_read(const struct orc *o, const struct orc_module *m, struct orc_module_detail *tmp)
{
    if (m->detail) return m->detail;
    read_detail((struct orc *)o, m, tmp);
    return tmp;
}

/* Details not waiting to be written go back to the store only. */
static void release_details(struct orc *o)
{
    size_t kept = 0;
    for (size_t i = 0; i < o->detailed.n; i++) {
        struct orc_module *m = o->detailed.v[i];
        if (!m->detail) continue;
        if (m->dirty && m->detail != &no_detail)
            o->detailed.v[kept++] = m;
        else
            drop_detail(m);
    }
    o->detailed.n = kept;
    if (!kept && o->detailed.cap > 256) ptrvec_free(&o->detailed);
}

static void free_module(struct orc_module *m)
{
    drop_detail(m);
    orc_strv_free(m->apis);
    free(m->file_sha256);
    if (m->out) {
        output_ring_clear(m->out);
        free(m->out);
    }
    free(m->ack);
}

struct orc_manager *orc_manager_get(struct orc *o, const char *uuid)
{
    return strmap_get(&o->manager_by_uuid, uuid);
}

struct orc_runtime *orc_runtime_get(struct orc *o, const char *uuid)
{
    return strmap_get(&o->runtime_by_uuid, uuid);
}

struct orc_module *orc_module_get(struct orc *o, const char *uuid)
{
    return strmap_get(&o->module_by_uuid, uuid);
}

int orc_add_manager(struct orc *o, const char *uuid, struct orc_manager **out)
{
    struct orc_manager *m = calloc(1, sizeof *m);
    if (!m) return -1;
    snprintf(m->uuid, sizeof m->uuid, "%s", uuid);
    m->seq = o->next_seq++;
    if (ptrvec_push(&o->managers, m) < 0) {
        free(m);
        return -1;
    }
    if (strmap_put(&o->manager_by_uuid, m->uuid, m) < 0) {
        o->managers.n--;
        free(m);
        return -1;
    }
    *out = m;
    return 0;
}

int orc_add_runtime(struct orc *o, const char *uuid, struct orc_runtime **out)
{
    struct orc_runtime *r = calloc(1, sizeof *r);
    if (!r) return -1;
    snprintf(r->uuid, sizeof r->uuid, "%s", uuid);
    r->seq = o->next_seq++;
    orc_list_init(&r->modules);
    orc_list_init(&r->queue);
    if (ptrvec_push(&o->runtimes, r) < 0) {
        free(r);
        return -1;
    }
    if (strmap_put(&o->runtime_by_uuid, r->uuid, r) < 0) {
        o->runtimes.n--;
        free(r);
        return -1;
    }
    *out = r;
    return 0;
}

int orc_add_module(struct orc *o, const char *uuid, struct orc_module **out)
{
    struct orc_module *m = record_pool_alloc(&o->module_pool);
    if (!m) return -1;
    snprintf(m->uuid, sizeof m->uuid, "%s", uuid);
    m->seq = o->next_seq++;
    m->state = MOD_DEAD;
    m->out_loaded = 1; /* a new module has no output anywhere */
    if (strmap_put(&o->module_by_uuid, m->uuid, m) < 0) {
        record_pool_free(&o->module_pool, m);
        return -1;
    }
    *out = m;
    return 0;
}

void orc_module_ended(struct orc *o, struct orc_module *m)
{
    if (m->ended_listed || ptrvec_push(&o->ended, m) < 0) return;
    m->ended_listed = 1;
}

struct orc_module *orc_module_lookup(struct orc *o, const char *uuid)
{
    struct orc_module *m = orc_module_get(o, uuid);
    if (m || !uuid_is_valid(uuid)) return m;
    struct store_module_row row;
    int found = 0;
    if (o->store->ops->get_module(o->store, uuid, &row, &found) < 0) {
        o->store_errors++;
        slog(SLOG_ERROR, "db", "reading module %s: %s", uuid, store_error(o->store));
        return NULL;
    }
    if (!found) return NULL;
    json_t *data = row.detail.data ? json_loads(row.detail.data, 0, NULL) : NULL;
    char **apis = orc_module_apis(data);
    json_decref(data);
    int pinned = row.detail.pinned != NULL;
    orc_detail_clear(&row.detail);
    if (!apis || orc_add_module(o, uuid, &m) < 0) {
        orc_strv_free(apis);
        return NULL;
    }
    /* Only ended modules are out of memory. */
    m->state = MOD_DEAD;
    m->seq = row.seq;
    m->queue_seq = row.queue_seq;
    m->runtime = row.runtime[0] ? orc_runtime_get(o, row.runtime) : NULL;
    m->apis = apis;
    m->pinned = pinned;
    m->out_loaded = 0;
    orc_module_ended(o, m);
    return m;
}

/* Ended modules that nothing holds leave memory (the store has them). */
static void evict_ended(struct orc *o)
{
    size_t kept = 0;
    for (size_t i = 0; i < o->ended.n; i++) {
        struct orc_module *m = o->ended.v[i];
        if (m->state != MOD_DEAD) {
            m->ended_listed = 0; /* a new run: it stays */
            continue;
        }
        if (m->dirty || m->out_dirty || m->ack || m->detail) {
            o->ended.v[kept++] = m;
            continue;
        }
        strmap_del(&o->module_by_uuid, m->uuid);
        free_module(m);
        record_pool_free(&o->module_pool, m);
    }
    o->ended.n = kept;
    if (!kept && o->ended.cap > 1024) ptrvec_free(&o->ended);
}

void orc_ack_set(struct orc *o, struct orc_module *m, const char *object_id, int direct,
                 int is_delete)
{
    orc_ack_clear(o, m);
    struct orc_ack *a = malloc(sizeof *a);
    if (!a) return;
    snprintf(a->object_id, sizeof a->object_id, "%s", object_id);
    a->direct = direct;
    a->is_delete = is_delete;
    if (strmap_put(&o->module_by_ack, a->object_id, m) < 0) {
        free(a);
        return;
    }
    m->ack = a;
}

void orc_ack_clear(struct orc *o, struct orc_module *m)
{
    if (!m->ack) return;
    if (strmap_get(&o->module_by_ack, m->ack->object_id) == m)
        strmap_del(&o->module_by_ack, m->ack->object_id);
    free(m->ack);
    m->ack = NULL;
}

char **orc_module_apis(json_t *data)
{
    json_t *apis = json_object_get(data, "apis");
    if (!json_is_array(apis)) return orc_default_apis();
    size_t n = json_array_size(apis);
    const char **v = calloc(n + 1, sizeof *v);
    if (!v) return NULL;
    for (size_t i = 0, k = 0; i < n; i++) {
        const char *s = json_string_value(json_array_get(apis, i));
        if (s) v[k++] = s;
    }
    char **dflt = orc_default_apis();
    int is_default = n == 2 && v[0] && v[1] && !strcmp(v[0], dflt[0]) && !strcmp(v[1], dflt[1]);
    char **out = is_default ? dflt : orc_strv_dup(v);
    free(v);
    return out;
}

/* ---- transactions ---- */

static void mark(struct ptrvec *dirty, int *flag, void *rec)
{
    if (*flag) return;
    if (ptrvec_push(dirty, rec) == 0) *flag = 1;
}

void orc_mark_manager(struct orc *o, struct orc_manager *m)
{
    mark(&o->dirty_managers, &m->dirty, m);
}

void orc_mark_runtime(struct orc *o, struct orc_runtime *r)
{
    mark(&o->dirty_runtimes, &r->dirty, r);
}

void orc_mark_module(struct orc *o, struct orc_module *m)
{
    if (m->dirty) return;
    orc_detail(o, m); /* the whole record is written */
    if (ptrvec_push(&o->dirty_modules, m) == 0) m->dirty = 1;
}

/* The store's transaction opens at the end, around the writes: a request
 * that changed nothing (an answer, a keepalive of an unknown runtime) costs
 * the store nothing; what the request read meanwhile is what was written
 * last, as the orchestrator is the store's only writer. */
void orc_begin(struct orc *o)
{
    o->in_request++;
}

void orc_end(struct orc *o)
{
    if (--o->in_request) return;
    struct store *s = o->store;
    if (!o->dirty_managers.n && !o->dirty_runtimes.n && !o->dirty_modules.n) {
        release_details(o);
        evict_ended(o);
        return;
    }
    int rc = s->ops->begin(s);
    for (size_t i = 0; i < o->dirty_managers.n && !rc; i++)
        rc = s->ops->put_manager(s, o->dirty_managers.v[i]);
    for (size_t i = 0; i < o->dirty_runtimes.n && !rc; i++)
        rc = s->ops->put_runtime(s, o->dirty_runtimes.v[i]);
    for (size_t i = 0; i < o->dirty_modules.n && !rc; i++) {
        struct orc_module *m = o->dirty_modules.v[i];
        if (!m->detail->unreadable) rc = s->ops->put_module(s, m);
    }
    if (!rc) rc = s->ops->commit(s);
    if (rc) {
        /* The records in memory stay right (details included, so nothing
         * is lost) and are written again at the end of the next request. */
        o->store_errors++;
        slog(SLOG_ERROR, "db", "could not store a change: %s", store_error(s));
        s->ops->rollback(s);
        return;
    }
    for (size_t i = 0; i < o->dirty_managers.n; i++)
        ((struct orc_manager *)o->dirty_managers.v[i])->dirty = 0;
    for (size_t i = 0; i < o->dirty_runtimes.n; i++)
        ((struct orc_runtime *)o->dirty_runtimes.v[i])->dirty = 0;
    for (size_t i = 0; i < o->dirty_modules.n; i++)
        ((struct orc_module *)o->dirty_modules.v[i])->dirty = 0;
    o->dirty_managers.n = o->dirty_runtimes.n = o->dirty_modules.n = 0;
    release_details(o);
    evict_ended(o);
}

/* ---- loading ---- */

static int load_manager(void *ctx, const struct orc_manager *src)
{
    struct orc *o = ctx;
    struct orc_manager *m;
    if (orc_add_manager(o, src->uuid, &m) < 0 || orc_set_str(&m->name, src->name) < 0) return -1;
    m->alive = src->alive;
    m->registered_at = src->registered_at;
    m->seen_at = src->seen_at;
    m->seq = src->seq;
    if (src->seq >= o->next_seq) o->next_seq = src->seq + 1;
    return 0;
}

static int load_runtime(void *ctx, const struct orc_runtime *src)
{
    struct orc *o = ctx;
    struct orc_runtime *r;
    if (orc_add_runtime(o, src->uuid, &r) < 0) return -1;
    if (orc_set_str(&r->name, src->name) < 0 ||
        orc_set_str(&r->runtime_type, src->runtime_type) < 0 ||
        orc_set_str(&r->registration, src->registration) < 0 ||
        !(r->apis = orc_strv_dup((const char *const *)src->apis)))
        return -1;
    r->max_nmodules = src->max_nmodules;
    snprintf(r->manager_uuid, sizeof r->manager_uuid, "%s", src->manager_uuid);
    r->alive = src->alive;
    r->keepalives = src->keepalives;
    r->registered_at = src->registered_at;
    r->last_seen = src->last_seen;
    r->seq = src->seq;
    if (src->seq >= o->next_seq) o->next_seq = src->seq + 1;
    /* The runtime could not be heard while we were down: it gets a full
     * deadline from now. */
    if (r->alive && r->keepalives && o->ka_interval_sec > 0)
        r->ka_deadline_ms = orc_now(o) + 3000u * (uint64_t)o->ka_interval_sec;
    return 0;
}

static int copy_detail(struct orc_module_detail *to, const struct orc_module_detail *from)
{
    *to = *from;
    to->name = to->file = to->data = to->pinned = to->reason = to->status = NULL;
    return orc_set_str(&to->name, from->name) < 0 || orc_set_str(&to->file, from->file) < 0 ||
                   orc_set_str(&to->data, from->data) < 0 ||
                   orc_set_str(&to->pinned, from->pinned) < 0 ||
                   orc_set_str(&to->reason, from->reason) < 0 ||
                   orc_set_str(&to->status, from->status) < 0
               ? -1
               : 0;
}

/* src->detail is the stored detail (borrowed); only what the logic needs is
 * kept in memory. */
static int load_module(void *ctx, const struct orc_module *src, const char *runtime_uuid)
{
    struct orc *o = ctx;
    struct orc_module *m;
    const struct orc_module_detail *d = src->detail;
    if (src->seq >= o->next_seq) o->next_seq = src->seq + 1;
    if (src->state != MOD_ALIVE && src->state != MOD_EXITING && src->state != MOD_KILLED &&
        src->state != MOD_QUEUED)
        return 0; /* ended: it stays in the store */
    if (orc_add_module(o, src->uuid, &m) < 0) return -1;
    json_t *data = d->data ? json_loads(d->data, 0, NULL) : NULL;
    m->apis = orc_module_apis(data);
    const char *hash = json_string_value(json_object_get(data, "file_sha256"));
    m->file_sha256 = hash ? strdup(hash) : NULL;
    json_decref(data);
    if (!m->apis || (hash && !m->file_sha256)) return -1;
    m->pinned = d->pinned != NULL;
    m->runtime = *runtime_uuid ? orc_runtime_get(o, runtime_uuid) : NULL;
    m->state = src->state;
    m->seq = src->seq;
    m->queue_seq = src->queue_seq;
    m->out_loaded = 0;
    m->wait_since_ms = orc_now(o);
    if (src->seq >= o->next_seq) o->next_seq = src->seq + 1;
    if (src->queue_seq >= o->next_queue_seq) o->next_queue_seq = src->queue_seq + 1;
    switch (m->state) {
    case MOD_ALIVE:
    case MOD_EXITING:
    case MOD_KILLED:
        if (!m->runtime) {
            /* Cannot happen with a consistent store; keep the record honest. */
            struct orc_module_detail *mine = orc_detail_new(o, m);
            if (mine->unreadable || copy_detail(mine, d) < 0) return -1;
            m->state = MOD_DEAD;
            orc_set_str(&mine->status, "killed");
            orc_set_reason(o, m, "its runtime is not in the store");
            orc_mark_module(o, m);
            orc_module_ended(o, m);
            break;
        }
        orc_list_append(&m->runtime->modules, &m->on_runtime);
        if (m->state != MOD_KILLED) m->runtime->nlive++;
        break;
    case MOD_QUEUED: break; /* queued below, in queue order */
    default: m->state = MOD_DEAD; break;
    }
    return 0;
}

static int by_queue_seq(const void *a, const void *b)
{
    const struct orc_module *x = *(struct orc_module *const *)a;
    const struct orc_module *y = *(struct orc_module *const *)b;
    return x->queue_seq < y->queue_seq ? -1 : x->queue_seq > y->queue_seq;
}

/* Call fn for every module in memory. O(map capacity). */
static int each_module(struct orc *o, int (*fn)(void *ctx, struct orc_module *m), void *ctx)
{
    const struct strmap *map = &o->module_by_uuid;
    for (size_t i = 0; i < map->cap; i++)
        if (map->keys[i] && fn(ctx, map->values[i]) < 0) return -1;
    return 0;
}

static int push_any(void *ctx, struct orc_module *m)
{
    return ptrvec_push(ctx, m);
}

static int push_queued(void *ctx, struct orc_module *m)
{
    return m->state == MOD_QUEUED ? ptrvec_push(ctx, m) : 0;
}

static int restore_queues(struct orc *o)
{
    struct ptrvec q = {0};
    if (each_module(o, push_queued, &q) < 0) {
        ptrvec_free(&q);
        return -1;
    }
    if (q.n) qsort(q.v, q.n, sizeof *q.v, by_queue_seq);
    for (size_t i = 0; i < q.n; i++) {
        struct orc_module *m = q.v[i];
        if (m->pinned && m->runtime)
            orc_list_append(&m->runtime->queue, &m->in_queue);
        else
            orc_list_append(&o->realm_queue, &m->in_queue);
    }
    ptrvec_free(&q);
    return 0;
}

int orc_new(const struct orc_options *opt, struct store *store, struct orc **out,
            char err[ORC_ERR_LEN])
{
    struct orc *o = calloc(1, sizeof *o);
    if (!o || !(o->realm = strdup(opt->realm))) {
        free(o);
        snprintf(err, ORC_ERR_LEN, "out of memory");
        return -1;
    }
    o->ka_interval_sec = opt->ka_interval_sec;
    o->io = opt->io;
    o->store = store;
    o->next_seq = 1;
    o->next_queue_seq = 1;
    record_pool_init(&o->module_pool, sizeof(struct orc_module));
    orc_list_init(&o->realm_queue);
    struct store_loader loader = {load_manager, load_runtime, load_module, o};
    orc_begin(o); /* records the load had to correct are written at its end */
    int rc = store->ops->load(store, &loader) < 0 || restore_queues(o) < 0 ? -1 : 0;
    orc_end(o);
    if (rc < 0) {
        snprintf(err, ORC_ERR_LEN, "loading the store: %s",
                 store_error(store)[0] ? store_error(store) : "out of memory");
        orc_free(o);
        return -1;
    }
    *out = o;
    return 0;
}

static void flush_outputs(struct orc *o);

void orc_free(struct orc *o)
{
    if (!o) return;
    flush_outputs(o);
    orc_pending_direct_expire(o, 1);
    for (size_t i = 0; i < o->managers.n; i++)
        free_manager(o->managers.v[i]);
    for (size_t i = 0; i < o->runtimes.n; i++)
        free_runtime(o->runtimes.v[i]);
    struct ptrvec all = {0};
    each_module(o, push_any, &all);
    for (size_t i = 0; i < all.n; i++) {
        free_module(all.v[i]);
        record_pool_free(&o->module_pool, all.v[i]);
    }
    ptrvec_free(&all);
    record_pool_clear(&o->module_pool);
    ptrvec_free(&o->managers);
    ptrvec_free(&o->runtimes);
    ptrvec_free(&o->ended);
    ptrvec_free(&o->dirty_managers);
    ptrvec_free(&o->dirty_runtimes);
    ptrvec_free(&o->dirty_modules);
    ptrvec_free(&o->dirty_outputs);
    ptrvec_free(&o->detailed);
    strmap_clear(&o->manager_by_uuid);
    strmap_clear(&o->runtime_by_uuid);
    strmap_clear(&o->module_by_uuid);
    strmap_clear(&o->module_by_ack);
    free(o->realm);
    free(o);
}

/* ---- output ---- */

static void drop_output(struct orc_module *m)
{
    if (m->out) {
        output_ring_clear(m->out);
        free(m->out);
        m->out = NULL;
    }
}

static int load_output(struct orc *o, struct orc_module *m)
{
    if (!m->out && !(m->out = calloc(1, sizeof *m->out))) return -1;
    if (m->out_loaded) return 0;
    char *data;
    size_t len;
    if (o->store->ops->get_output(o->store, m->uuid, &data, &len) < 0) {
        slog(SLOG_ERROR, "db", "%s", store_error(o->store));
        return -1;
    }
    output_ring_clear(m->out);
    int rc = len ? output_ring_append(m->out, data, len) : 0;
    free(data);
    if (rc == 0) m->out_loaded = 1;
    return rc;
}

int orc_module_append_output(struct orc *o, struct orc_module *m, const void *data, size_t len)
{
    if (load_output(o, m) < 0 || output_ring_append(m->out, data, len) < 0) return -1;
    if (!m->out_dirty && ptrvec_push(&o->dirty_outputs, m) == 0) m->out_dirty = 1;
    return 0;
}

void orc_module_reset_output(struct orc *o, struct orc_module *m)
{
    drop_output(m);
    m->out_loaded = 1;
    if (!m->out_dirty && ptrvec_push(&o->dirty_outputs, m) == 0) m->out_dirty = 1;
}

static void flush_outputs(struct orc *o)
{
    if (!o->dirty_outputs.n) return;
    struct store *s = o->store;
    int rc = s->ops->begin(s);
    char *buf = rc ? NULL : malloc(OUTPUT_RING_CAP);
    if (!buf) rc = -1;
    for (size_t i = 0; i < o->dirty_outputs.n; i++) {
        struct orc_module *m = o->dirty_outputs.v[i];
        m->out_dirty = 0;
        if (rc) continue;
        size_t len = m->out ? m->out->len : 0;
        if (m->out) output_ring_copy(m->out, buf);
        rc = s->ops->put_output(s, m->uuid, buf, len);
        /* Output of ended modules is read from the store from now on, so
         * memory holds output of live modules only. */
        if (!rc && m->state == MOD_DEAD) {
            drop_output(m);
            m->out_loaded = 0;
        }
    }
    o->dirty_outputs.n = 0;
    free(buf);
    if (!rc) rc = s->ops->commit(s);
    if (rc) {
        o->store_errors++;
        slog(SLOG_ERROR, "db", "could not store module output: %s", store_error(s));
        s->ops->rollback(s);
    }
}

void orc_flush_outputs(struct orc *o)
{
    flush_outputs(o);
    /* Ended modules whose last output this wrote, or that a reader had read
     * back, leave memory now. */
    if (!o->in_request) {
        release_details(o);
        evict_ended(o);
    }
}

int orc_module_output(struct orc *o, struct orc_module *m, char **data, size_t *len)
{
    if (load_output(o, m) < 0) return -1;
    *data = malloc(m->out->len ? m->out->len : 1);
    if (!*data) return -1;
    output_ring_copy(m->out, *data);
    *len = m->out->len;
    /* An ended module's output was loaded only to be read. */
    if (m->state == MOD_DEAD && !m->out_dirty) {
        drop_output(m);
        m->out_loaded = 0;
    }
    return 0;
}

/* ---- iteration ---- */

size_t orc_manager_count(const struct orc *o)
{
    return o->managers.n;
}
struct orc_manager *orc_manager_at(const struct orc *o, size_t i)
{
    return i < o->managers.n ? o->managers.v[i] : NULL;
}
size_t orc_runtime_count(const struct orc *o)
{
    return o->runtimes.n;
}
struct orc_runtime *orc_runtime_at(const struct orc *o, size_t i)
{
    return i < o->runtimes.n ? o->runtimes.v[i] : NULL;
}
size_t orc_module_count(const struct orc *o)
{
    return orc_module_count_in(o, 0);
}

static int no_row(void *ctx, const struct store_module_row *r)
{
    (void)ctx;
    (void)r;
    return 0;
}

size_t orc_module_count_in(const struct orc *o, char state)
{
    size_t total = 0;
    if (o->store->ops->list_modules(o->store, state, 0, 0, no_row, NULL, &total) < 0)
        slog(SLOG_ERROR, "db", "counting modules: %s", store_error(o->store));
    return total;
}

size_t orc_modules_in_memory(const struct orc *o)
{
    return o->module_by_uuid.count;
}

/* ---- lookups ---- */

/* How a lookup sees a record. */
struct lookup_view {
    const char *(*uuid)(const void *rec);
    void (*name)(const struct orc *o, const void *rec, char *buf, size_t cap);
    int (*live)(const void *rec);
    const char *what; /* "module", "runtime" */
};

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return k <= n && !memcmp(s + n - k, suffix, k);
}

/* Decide among the records that matched the query by name (pass 0) or by
 * UUID suffix (pass 1): ORC_OK with *out, ORC_CONFLICT listing them, or
 * ORC_NOT_FOUND when none matched. */
static int decide(const struct orc *o, const struct ptrvec *hits, const struct lookup_view *v,
                  const char *query, int pass, void **out, char *err)
{
    void *only_live = NULL;
    size_t live = 0;
    for (size_t i = 0; i < hits->n; i++)
        if (v->live(hits->v[i])) {
            live++;
            only_live = hits->v[i];
        }
    if (hits->n == 1 || live == 1) {
        *out = hits->n == 1 ? hits->v[0] : only_live;
        return ORC_OK;
    }
    if (!hits->n) return ORC_NOT_FOUND;
    int n = snprintf(err, ORC_ERR_LEN, "%s '%s' is ambiguous: %s matches", v->what, query,
                     pass == 0 ? "its name" : "the UUID suffix");
    size_t shown = 0;
    for (size_t i = 0; i < hits->n && n > 0 && n < ORC_ERR_LEN; i++) {
        void *rec = hits->v[i];
        if (live > 1 && !v->live(rec)) continue;
        if (++shown > 8) {
            n += snprintf(err + n, ORC_ERR_LEN - (size_t)n, ", ...");
            break;
        }
        char name[128];
        v->name(o, rec, name, sizeof name);
        n += snprintf(err + n, ORC_ERR_LEN - (size_t)n, "%s %s (%s)", shown == 1 ? "" : ",",
                      v->uuid(rec), name);
    }
    return ORC_CONFLICT;
}

static void module_name(const struct orc *o, const void *r, char *buf, size_t cap)
{
    struct orc_module_detail tmp;
    const struct orc_module_detail *d = detail_to_read(o, r, &tmp);
    snprintf(buf, cap, "%s", d->name ? d->name : "");
    if (d == &tmp) orc_detail_clear(&tmp);
}
static const char *runtime_uuid_of(const void *r)
{
    return ((const struct orc_runtime *)r)->uuid;
}
static void runtime_name_of(const struct orc *o, const void *r, char *buf, size_t cap)
{
    (void)o;
    const char *name = ((const struct orc_runtime *)r)->name;
    snprintf(buf, cap, "%s", name ? name : "");
}
static int runtime_live(const void *r)
{
    return ((const struct orc_runtime *)r)->alive;
}

/* What a name or suffix matched, counted as the store hands the matches
 * over (there may be many ended runs of a name): in all and live, the first
 * few of each kept for the answer. Every live module is in memory. */
#define HITS_SHOWN 8
struct module_hits {
    struct orc *o;
    size_t count, live;
    char first[HITS_SHOWN + 1][UUID_STR_LEN]; /* the first matches */
    struct orc_module *lives[HITS_SHOWN + 1]; /* the first live ones */
};

static void count_hit(struct module_hits *h, const char *uuid, struct orc_module *m)
{
    if (h->count <= HITS_SHOWN) snprintf(h->first[h->count], UUID_STR_LEN, "%s", uuid);
    h->count++;
    if (m && m->state != MOD_DEAD) {
        if (h->live <= HITS_SHOWN) h->lives[h->live] = m;
        h->live++;
    }
}

static int module_hit(void *ctx, const char *uuid)
{
    struct module_hits *h = ctx;
    struct orc_module *m = orc_module_get(h->o, uuid);
    /* A module whose detail is in memory is counted from memory below. */
    if (!m || !m->detail) count_hit(h, uuid, m);
    return 0;
}

static void stored_name(struct orc *o, const char *uuid, char *buf, size_t cap)
{
    struct store_module_row row;
    int found = 0;
    buf[0] = '\0';
    if (o->store->ops->get_module(o->store, uuid, &row, &found) == 0) {
        snprintf(buf, cap, "%s", row.detail.name ? row.detail.name : "");
        orc_detail_clear(&row.detail);
    }
}

/* The decision of decide() for modules, most of which may be in the store
 * only (ended: not live). */
static int decide_module(struct orc *o, struct module_hits *h, const char *query, int pass,
                         struct orc_module **out, char *err)
{
    if (h->count == 1 || h->live == 1) {
        *out = h->live == 1 ? h->lives[0] : orc_module_lookup(o, h->first[0]);
        if (*out) return ORC_OK;
        snprintf(err, ORC_ERR_LEN, "module %s cannot be read from the store", h->first[0]);
        return ORC_INTERNAL;
    }
    if (!h->count) return ORC_NOT_FOUND;
    int n = snprintf(err, ORC_ERR_LEN, "module '%s' is ambiguous: %s matches", query,
                     pass == 0 ? "its name" : "the UUID suffix");
    size_t many = h->live > 1 ? h->live : h->count;
    for (size_t i = 0; i < many && n > 0 && n < ORC_ERR_LEN; i++) {
        if (i == HITS_SHOWN) {
            n += snprintf(err + n, ORC_ERR_LEN - (size_t)n, ", ...");
            break;
        }
        char name[128];
        const char *uuid = h->live > 1 ? h->lives[i]->uuid : h->first[i];
        if (h->live > 1)
            module_name(o, h->lives[i], name, sizeof name);
        else
            stored_name(o, uuid, name, sizeof name);
        n +=
            snprintf(err + n, ORC_ERR_LEN - (size_t)n, "%s %s (%s)", i == 0 ? "" : ",", uuid, name);
    }
    return ORC_CONFLICT;
}

int orc_find_module(struct orc *o, const char *query, struct orc_module **out,
                    char err[ORC_ERR_LEN])
{
    if ((*out = orc_module_lookup(o, query))) return ORC_OK;
    if (!*query) {
        snprintf(err, ORC_ERR_LEN, "empty module name");
        return ORC_BAD_REQUEST;
    }
    /* Names live in the store: it finds them (by an index), and UUID
     * suffixes, O(modules) there. */
    int rc = ORC_NOT_FOUND;
    for (int pass = 0; pass < 2 && rc == ORC_NOT_FOUND; pass++) {
        struct module_hits hits = {.o = o};
        if (o->store->ops->find_modules(o->store, pass == 0 ? query : NULL,
                                        pass == 1 ? query : NULL, module_hit, &hits) < 0) {
            o->store_errors++;
            snprintf(err, ORC_ERR_LEN, "the store cannot be searched: %s", store_error(o->store));
            return ORC_INTERNAL;
        }
        /* Details in memory count as they are there (a record the store
         * could not take yet is only there). */
        for (size_t i = 0; i < o->detailed.n; i++) {
            struct orc_module *m = o->detailed.v[i];
            const char *name = m->detail ? m->detail->name : NULL;
            int hit = m->detail &&
                      (pass == 0 ? (name && !strcmp(name, query)) : ends_with(m->uuid, query));
            if (hit) count_hit(&hits, m->uuid, m);
        }
        rc = decide_module(o, &hits, query, pass, out, err);
    }
    if (rc == ORC_NOT_FOUND) snprintf(err, ORC_ERR_LEN, "no module '%s'", query);
    return rc;
}

int orc_find_runtime(struct orc *o, const char *query, struct orc_runtime **out,
                     char err[ORC_ERR_LEN])
{
    static const struct lookup_view view = {runtime_uuid_of, runtime_name_of, runtime_live,
                                            "runtime"};
    if ((*out = orc_runtime_get(o, query))) return ORC_OK;
    if (!*query) {
        snprintf(err, ORC_ERR_LEN, "empty runtime name");
        return ORC_BAD_REQUEST;
    }
    int rc = ORC_NOT_FOUND;
    for (int pass = 0; pass < 2 && rc == ORC_NOT_FOUND; pass++) {
        struct ptrvec hits = {0};
        for (size_t i = 0; i < o->runtimes.n; i++) {
            struct orc_runtime *r = o->runtimes.v[i];
            int hit = pass == 0 ? (r->name && !strcmp(r->name, query)) : ends_with(r->uuid, query);
            if (hit && ptrvec_push(&hits, r) < 0) {
                ptrvec_free(&hits);
                snprintf(err, ORC_ERR_LEN, "out of memory");
                return ORC_INTERNAL;
            }
        }
        void *rec;
        rc = decide(o, &hits, &view, query, pass, &rec, err);
        if (rc == ORC_OK) *out = rec;
        ptrvec_free(&hits);
    }
    if (rc == ORC_NOT_FOUND) snprintf(err, ORC_ERR_LEN, "no runtime '%s'", query);
    return rc;
}

/* ---- JSON ---- */

static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

static json_t *time_or_null(double t)
{
    return t > 0 ? json_real(t) : json_null();
}

static json_t *strv_json(char *const *v)
{
    json_t *a = json_array();
    for (char *const *p = v; p && *p; p++)
        json_array_append_new(a, json_string(*p));
    return a;
}

json_t *orc_manager_json(const struct orc *o, const struct orc_manager *m)
{
    json_t *runtimes = json_array();
    for (size_t i = 0; i < o->runtimes.n; i++) {
        struct orc_runtime *r = o->runtimes.v[i];
        if (!strcmp(r->manager_uuid, m->uuid))
            json_array_append_new(runtimes, json_string(r->uuid));
    }
    return json_pack("{s:s, s:s, s:s, s:b, s:o, s:o, s:o}", "type", "manager", "uuid", m->uuid,
                     "name", m->name ? m->name : "", "alive", m->alive, "registered_at",
                     time_or_null(m->registered_at), "seen_at", time_or_null(m->seen_at),
                     "runtimes", runtimes);
}

json_t *orc_runtime_json(const struct orc *o, const struct orc_runtime *r, int full)
{
    json_t *children = json_array(), *queued = json_array();
    for (struct orc_link *l = r->modules.next; l != &r->modules; l = l->next) {
        struct orc_module *m = ORC_CONTAINER(l, struct orc_module, on_runtime);
        char name[256];
        module_name(o, m, name, sizeof name);
        json_array_append_new(children, json_pack("{s:s, s:s, s:s}", "uuid", m->uuid, "name", name,
                                                  "state", orc_state_name(m->state)));
    }
    for (struct orc_link *l = r->queue.next; l != &r->queue; l = l->next) {
        struct orc_module *m = ORC_CONTAINER(l, struct orc_module, in_queue);
        char name[256];
        module_name(o, m, name, sizeof name);
        json_array_append_new(queued, json_pack("{s:s, s:s}", "uuid", m->uuid, "name", name));
    }
    json_t *j = json_pack(
        "{s:s, s:s, s:s, s:o, s:o, s:b, s:i, s:i}", "uuid", r->uuid, "name", r->name ? r->name : "",
        "runtime_type", r->runtime_type ? r->runtime_type : "", "children", children, "queued",
        queued, "alive", r->alive, "max_nmodules", r->max_nmodules, "nmodules", r->nlive);
    if (!j || !full) return j;
    json_t *reg = r->registration ? json_loads(r->registration, 0, NULL) : NULL;
    json_object_set_new(j, "type", json_string("runtime"));
    json_object_set_new(j, "apis", strv_json(r->apis));
    json_object_set_new(j, "parent", str_or_null(r->manager_uuid[0] ? r->manager_uuid : NULL));
    json_object_set_new(j, "registered_at", time_or_null(r->registered_at));
    json_object_set_new(j, "last_seen", time_or_null(r->last_seen));
    json_object_set_new(j, "ka_interval_sec", json_integer(o->ka_interval_sec));
    json_t *platform = json_object_get(reg, "platform");
    json_t *metadata = json_object_get(reg, "metadata");
    json_object_set_new(j, "platform", platform ? json_incref(platform) : json_null());
    json_object_set_new(j, "metadata", metadata ? json_incref(metadata) : json_null());
    json_decref(reg);
    return j;
}

static json_t *module_json(const struct orc_module *m, const struct orc_module_detail *d, int full,
                           json_t *parsed)
{
    json_t *j =
        json_pack("{s:s, s:o, s:o, s:o, s:s}", "uuid", m->uuid, "name", str_or_null(d->name),
                  "parent", str_or_null(m->runtime ? m->runtime->uuid : NULL), "file",
                  str_or_null(d->file), "state", orc_state_name(m->state));
    if (!j || !full) return j;
    json_t *data = parsed ? json_incref(parsed) : json_loads(d->data ? d->data : "{}", 0, NULL);
    json_object_set_new(j, "type", json_string("module"));
    json_object_set_new(j, "parent_name",
                        str_or_null(m->runtime && m->runtime->name ? m->runtime->name : NULL));
    json_object_set_new(j, "pinned", str_or_null(d->pinned));
    json_object_set_new(j, "reason", str_or_null(d->reason));
    json_object_set_new(j, "status", str_or_null(d->status));
    json_object_set_new(j, "exit_code",
                        d->has_exit_code ? json_integer(d->exit_code) : json_null());
    json_object_set_new(j, "apis", strv_json(m->apis));
    json_t *args = json_object_get(data, "args"), *channels = json_object_get(data, "channels");
    json_object_set_new(j, "args", args ? json_incref(args) : json_object());
    json_object_set_new(j, "channels", channels ? json_incref(channels) : json_array());
    json_object_set_new(j, "queue",
                        m->state != MOD_QUEUED ? json_null()
                                               : json_string(m->pinned ? "runtime" : "realm"));
    json_object_set_new(j, "created_at", time_or_null(d->created_at));
    json_object_set_new(j, "started_at", time_or_null(d->started_at));
    json_object_set_new(j, "ended_at", time_or_null(d->ended_at));
    json_object_set_new(j, "runs", json_integer(d->runs));
    json_object_set_new(j, "restarts", json_integer(d->restarts));
    json_object_set_new(j, "active", d->active < 0 ? json_null() : json_boolean(d->active));
    json_object_set_new(j, "cpu_usage_percent", json_real(d->cpu_usage_percent));
    json_object_set_new(j, "mem_usage", json_integer(d->mem_usage));
    json_decref(data);
    return j;
}

json_t *orc_module_json(const struct orc *o, const struct orc_module *m, int full)
{
    struct orc_module_detail tmp;
    const struct orc_module_detail *d = detail_to_read(o, m, &tmp);
    json_t *j = module_json(m, d, full, NULL);
    if (d == &tmp) orc_detail_clear(&tmp);
    return j;
}

json_t *orc_module_json_data(const struct orc *o, const struct orc_module *m, json_t *data)
{
    struct orc_module_detail tmp;
    const struct orc_module_detail *d = detail_to_read(o, m, &tmp);
    json_t *j = module_json(m, d, 1, data);
    if (d == &tmp) orc_detail_clear(&tmp);
    return j;
}

const struct orc_module_detail *orc_module_detail(struct orc *o, struct orc_module *m)
{
    return orc_detail(o, m);
}

struct page {
    json_t *results;
    int queued_only;
};

static int page_row(void *ctx, const struct store_module_row *r)
{
    struct page *p = ctx;
    const struct orc_module_detail *d = &r->detail;
    char state[2] = {r->state, '\0'};
    json_t *j =
        json_pack("{s:s, s:o, s:o, s:o, s:s}", "uuid", r->uuid, "name", str_or_null(d->name),
                  "parent", str_or_null(r->runtime[0] ? r->runtime : NULL), "file",
                  str_or_null(d->file), "state", state);
    if (j && p->queued_only) {
        json_object_set_new(j, "reason", str_or_null(d->reason));
        json_object_set_new(j, "queue", json_string(d->pinned ? "runtime" : "realm"));
    }
    return j ? json_array_append_new(p->results, j) : -1;
}

json_t *orc_module_page(struct orc *o, int queued_only, size_t start, size_t limit)
{
    struct page p = {json_array(), queued_only};
    size_t total = 0;
    if (!p.results || o->store->ops->list_modules(o->store, queued_only ? MOD_QUEUED : 0, start,
                                                  limit, page_row, &p, &total) < 0) {
        slog(SLOG_ERROR, "db", "listing modules: %s", store_error(o->store));
        json_decref(p.results);
        return NULL;
    }
    return json_pack("{s:I, s:I, s:o}", "count", (json_int_t)total, "start", (json_int_t)start,
                     "results", p.results);
}

struct recent {
    struct orc *o;
    int (*each)(void *ctx, json_t *module);
    void *ctx;
};

static int recent_row(void *ctx, const struct store_module_row *r)
{
    struct recent *rc = ctx;
    /* The row as a record, for the JSON of a lookup. */
    struct orc_module m = {.state = r->state, .pinned = r->detail.pinned != NULL};
    memcpy(m.uuid, r->uuid, sizeof m.uuid);
    m.runtime = r->runtime[0] ? orc_runtime_get(rc->o, r->runtime) : NULL;
    json_t *data = r->detail.data ? json_loads(r->detail.data, 0, NULL) : NULL;
    m.apis = orc_module_apis(data);
    json_t *j = m.apis ? module_json(&m, &r->detail, 1, data) : NULL;
    json_decref(data);
    orc_strv_free(m.apis);
    if (!j) return -1;
    int stop = rc->each(rc->ctx, j);
    json_decref(j);
    return stop;
}

int orc_recent_modules(struct orc *o, int ended, size_t max, int (*each)(void *ctx, json_t *module),
                       void *ctx)
{
    struct recent rc = {o, each, ctx};
    if (o->store->ops->recent_modules(o->store, ended, max, recent_row, &rc) < 0) {
        slog(SLOG_ERROR, "db", "listing modules: %s", store_error(o->store));
        return -1;
    }
    return 0;
}
