/* The manager's file cache and transfers on the event loop (see
 * node_files.h). */
#include "node_files.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event_loop.h"
#include "file_cache.h"
#include "file_fetch.h"
#include "mq_link.h"
#include "slog.h"

struct node_files {
    struct node_files_options opt;
    struct file_cache *cache;
    struct file_fetcher *fetch;
    loop_timer_id timer;
};

static int publish_request(void *ctx, const char *topic, const void *payload, size_t len)
{
    struct node_files *nf = ctx;
    /* Now or never: a request lost with the connection is made again by
     * the transfer's stall timer or at the reconnect. */
    return mq_link_publish(nf->opt.mq, topic, payload, len, 1, NULL);
}

static uint64_t now_ms(void *ctx)
{
    (void)ctx;
    return loop_now_ms();
}

static void on_done(void *ctx, const char *sha256, int ok, const char *reason)
{
    struct node_files *nf = ctx;
    nf->opt.ready(nf->opt.ctx, sha256, ok, reason);
}

/* The transfers' clock: a tick at every deadline while any transfer runs.
 * Ticks run from the timer alone, never inside a request's handling, so a
 * transfer failing never re-enters the code that started another. */
static void on_timer(void *ctx)
{
    struct node_files *nf = ctx;
    nf->timer = 0;
    uint64_t next = file_fetch_tick(nf->fetch);
    if (next == UINT64_MAX || nf->timer) return;
    uint64_t now = loop_now_ms();
    loop_timer_add(nf->opt.loop, next > now ? next - now : 0, on_timer, nf, &nf->timer);
}

static void ensure_timer(struct node_files *nf)
{
    if (!nf->timer) loop_timer_add(nf->opt.loop, FILE_FETCH_STALL_MS, on_timer, nf, &nf->timer);
}

static void on_data(void *ctx, const char *topic, const void *payload, size_t len)
{
    (void)topic;
    struct node_files *nf = ctx;
    file_fetch_on_message(nf->fetch, payload, len);
}

int node_files_new(const struct node_files_options *opt, struct node_files **out,
                   char err[RUNTIME_REASON_LEN])
{
    *out = NULL;
    struct node_files *nf = calloc(1, sizeof *nf);
    if (!nf) {
        snprintf(err, RUNTIME_REASON_LEN, "out of memory");
        return -1;
    }
    nf->opt = *opt;
    char cerr[FILE_CACHE_ERR_LEN];
    if (file_cache_open(opt->dir, opt->cache_limit ? opt->cache_limit : FILE_CACHE_DEFAULT_LIMIT,
                        &nf->cache, cerr) < 0) {
        snprintf(err, RUNTIME_REASON_LEN, "%s", cerr);
        free(nf);
        return -1;
    }
    struct file_fetch_options fo = {
        .realm = opt->realm,
        .node = opt->node,
        .max_size = opt->max_size,
        .io = {.publish = publish_request, .now_ms = now_ms, .done = on_done, .ctx = nf},
    };
    if (file_fetcher_new(&fo, nf->cache, &nf->fetch) < 0 ||
        mq_link_route(opt->mq, file_fetcher_topic(nf->fetch), 1, on_data, nf) < 0) {
        snprintf(err, RUNTIME_REASON_LEN, "cannot set up file transfers");
        node_files_free(nf);
        return -1;
    }
    slog(SLOG_INFO, "files", "file cache %s: %zu file(s), %llu of %llu MiB", opt->dir,
         file_cache_count(nf->cache), (unsigned long long)(file_cache_used(nf->cache) >> 20),
         (unsigned long long)(file_cache_limit(nf->cache) >> 20));
    *out = nf;
    return 0;
}

void node_files_free(struct node_files *nf)
{
    if (!nf) return;
    if (nf->timer) loop_timer_cancel(nf->opt.loop, nf->timer);
    file_fetcher_free(nf->fetch);
    file_cache_close(nf->cache);
    free(nf);
}

const char *node_files_dir(const struct node_files *nf)
{
    return file_cache_dir(nf->cache);
}

int node_files_acquire(struct node_files *nf, const char *sha256, uint64_t size,
                       char reason[RUNTIME_REASON_LEN])
{
    if (file_cache_acquire(nf->cache, sha256)) return 1;
    char why[FILE_ERR_LEN];
    if (file_fetch_start(nf->fetch, sha256, size, why) < 0) {
        snprintf(reason, RUNTIME_REASON_LEN, "%s", why);
        return -1;
    }
    ensure_timer(nf);
    return 0;
}

void node_files_release(struct node_files *nf, const char *sha256, int pinned)
{
    if (pinned)
        file_cache_release(nf->cache, sha256);
    else
        file_fetch_forget(nf->fetch, sha256);
}

void node_files_connected(struct node_files *nf)
{
    file_fetch_connected(nf->fetch);
    if (file_fetch_active(nf->fetch)) ensure_timer(nf);
}
