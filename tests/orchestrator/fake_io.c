/* Test doubles (see fake_io.h). */
#include "fake_io.h"

#include <stdlib.h>
#include <string.h>

static struct fake_store the_store;

/* Each operation counts, fails when told to, and otherwise passes on to a
 * SQLite store in memory, so that what the logic writes can be read back. */
static struct store *inner(struct store *s)
{
    return fake_store_of(s)->inner;
}

static int f_begin(struct store *s)
{
    fake_store_of(s)->begins++;
    return fake_store_of(s)->fail ? -1 : inner(s)->ops->begin(inner(s));
}
static int f_commit(struct store *s)
{
    fake_store_of(s)->commits++;
    return fake_store_of(s)->fail ? -1 : inner(s)->ops->commit(inner(s));
}
static void f_rollback(struct store *s)
{
    fake_store_of(s)->rollbacks++;
    inner(s)->ops->rollback(inner(s));
}
static int f_put(struct store *s)
{
    struct fake_store *f = fake_store_of(s);
    f->puts++;
    if (f->fail) {
        strcpy(s->err, "fake store told to fail");
        return -1;
    }
    return 0;
}
static int f_put_manager(struct store *s, const struct orc_manager *m)
{
    return f_put(s) < 0 ? -1 : inner(s)->ops->put_manager(inner(s), m);
}
static int f_put_runtime(struct store *s, const struct orc_runtime *r)
{
    return f_put(s) < 0 ? -1 : inner(s)->ops->put_runtime(inner(s), r);
}
static int f_put_module(struct store *s, const struct orc_module *m)
{
    return f_put(s) < 0 ? -1 : inner(s)->ops->put_module(inner(s), m);
}
static int f_get_module(struct store *s, const char *uuid, struct store_module_row *r, int *found)
{
    return inner(s)->ops->get_module(inner(s), uuid, r, found);
}
static int f_list_modules(struct store *s, char state, size_t start, size_t limit,
                          int (*row)(void *ctx, const struct store_module_row *r), void *ctx,
                          size_t *total)
{
    return inner(s)->ops->list_modules(inner(s), state, start, limit, row, ctx, total);
}
static int f_find_modules(struct store *s, const char *name, const char *suffix,
                          int (*hit)(void *ctx, const char *uuid), void *ctx)
{
    return inner(s)->ops->find_modules(inner(s), name, suffix, hit, ctx);
}
static int f_recent_modules(struct store *s, int ended, size_t max,
                            int (*row)(void *ctx, const struct store_module_row *r), void *ctx)
{
    return inner(s)->ops->recent_modules(inner(s), ended, max, row, ctx);
}
static int f_put_output(struct store *s, const char *uuid, const void *data, size_t len)
{
    return f_put(s) < 0 ? -1 : inner(s)->ops->put_output(inner(s), uuid, data, len);
}
static int f_get_output(struct store *s, const char *uuid, char **data, size_t *len)
{
    return inner(s)->ops->get_output(inner(s), uuid, data, len);
}
static int f_load(struct store *s, const struct store_loader *l)
{
    return inner(s)->ops->load(inner(s), l);
}
static void f_close(struct store *s)
{
    (void)s; /* the inner store lives until the next fake_store_new */
}

static const struct store_ops fake_ops = {
    .begin = f_begin,
    .commit = f_commit,
    .rollback = f_rollback,
    .put_manager = f_put_manager,
    .put_runtime = f_put_runtime,
    .put_module = f_put_module,
    .get_module = f_get_module,
    .list_modules = f_list_modules,
    .recent_modules = f_recent_modules,
    .find_modules = f_find_modules,
    .put_output = f_put_output,
    .get_output = f_get_output,
    .load = f_load,
    .close = f_close,
};

struct store *fake_store_new(void)
{
    if (the_store.inner) the_store.inner->ops->close(the_store.inner);
    memset(&the_store, 0, sizeof the_store);
    the_store.base.ops = &fake_ops;
    char err[STORE_ERR_LEN];
    if (store_sqlite_open(":memory:", &the_store.inner, err) < 0) abort();
    return &the_store.base;
}

struct fake_store *fake_store_of(struct store *s)
{
    return (struct fake_store *)s;
}

static int record(struct fake_io *f, const char *topic, const json_t *msg, int is_request)
{
    if (f->offline) return -1;
    if (f->nsent == FAKE_MAX_SENT) return 0; /* kept quiet: only the first ones are looked at */
    struct sent *s = &f->sent[f->nsent++];
    s->topic = strdup(topic);
    s->msg = json_deep_copy(msg);
    s->is_request = is_request;
    return 0;
}

static int f_publish(void *ctx, const char *topic, const json_t *msg)
{
    return record(ctx, topic, msg, 0);
}

static int f_request(void *ctx, const char *topic, const json_t *msg, const char *object_id)
{
    (void)object_id;
    return record(ctx, topic, msg, 1);
}

static uint64_t f_now(void *ctx)
{
    return ((struct fake_io *)ctx)->now_ms;
}

static double f_wall(void *ctx)
{
    return ((struct fake_io *)ctx)->wall;
}

static int f_connected(void *ctx)
{
    return !((struct fake_io *)ctx)->offline;
}

struct orc_io fake_io_bind(struct fake_io *f)
{
    struct orc_io io = {.publish = f_publish,
                        .request = f_request,
                        .now_ms = f_now,
                        .connected = f_connected,
                        .wall = f_wall,
                        .ctx = f};
    return io;
}

void fake_io_clear(struct fake_io *f)
{
    for (size_t i = 0; i < f->nsent; i++) {
        free(f->sent[i].topic);
        json_decref(f->sent[i].msg);
    }
    f->nsent = 0;
}
