/* Test doubles (see fake_io.h). */
#include "fake_io.h"

#include <stdlib.h>
#include <string.h>

static struct fake_store the_store;

static int f_begin(struct store *s)
{
    fake_store_of(s)->begins++;
    return fake_store_of(s)->fail ? -1 : 0;
}
static int f_commit(struct store *s)
{
    fake_store_of(s)->commits++;
    return fake_store_of(s)->fail ? -1 : 0;
}
static void f_rollback(struct store *s)
{
    fake_store_of(s)->rollbacks++;
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
    (void)m;
    return f_put(s);
}
static int f_put_runtime(struct store *s, const struct orc_runtime *r)
{
    (void)r;
    return f_put(s);
}
static int f_put_module(struct store *s, const struct orc_module *m)
{
    (void)m;
    return f_put(s);
}
static int f_put_output(struct store *s, const char *uuid, const void *data, size_t len)
{
    (void)uuid;
    (void)data;
    (void)len;
    return f_put(s);
}
static int f_get_output(struct store *s, const char *uuid, char **data, size_t *len)
{
    (void)s;
    (void)uuid;
    *data = NULL;
    *len = 0;
    return 0;
}
static int f_load(struct store *s, const struct store_loader *l)
{
    (void)s;
    (void)l;
    return 0;
}
static void f_close(struct store *s)
{
    (void)s;
}

static const struct store_ops fake_ops = {f_begin,       f_commit,     f_rollback,   f_put_manager,
                                          f_put_runtime, f_put_module, f_put_output, f_get_output,
                                          f_load,        f_close};

struct store *fake_store_new(void)
{
    memset(&the_store, 0, sizeof the_store);
    the_store.base.ops = &fake_ops;
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
