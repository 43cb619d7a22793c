/* `stratus orchestrator` at run time (see stratus/orchestrator.h): the event
 * loop with the MQTT link, the HTTP server, signals and the tick timer, all
 * on one thread, driving the protocol logic of orc.h. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <malloc.h>
#include <mosquitto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dashboard.h"
#include "event_loop.h"
#include "file_serve.h"
#include "file_store.h"
#include "files_api.h"
#include "http_server.h"
#include "mq_link.h"
#include "mq_request.h"
#include "orc.h"
#include "rest_api.h"
#include "signal_watch.h"
#include "slog.h"
#include "store.h"
#include "stratus/orchestrator.h"
#include "stratus/topic.h"
#include "stratus/uuid.h"

/* How long a forwarded create or delete waits for the manager's answer. */
#define ANSWER_TIMEOUT_MS 5000
/* Output is written to the store at least this often. */
#define TICK_MAX_MS 1000
/* Memory freed after a burst (parsed messages, answered requests) is given
 * back to the system at most this often. */
#define TRIM_INTERVAL_MS 5000
/* The module store's retention is applied this often. */
#define SWEEP_INTERVAL_MS 60000

struct pending_answer;

struct daemon {
    const struct orchestrator_config *cfg;
    const char *realm;
    struct event_loop *loop;
    struct mq_link *mq;
    struct mq_waiter *waiter;
    struct store *store;
    struct orc *orc;
    struct http_server *http;
    struct dashboard *dashboard;
    struct file_store *files;
    struct file_server *file_server;
    struct files_api *files_api;
    char *files_tmp_dir; /* a private store for --db :memory:, removed at exit */
    uint64_t last_sweep_ms;
    struct signal_watch *signals;
    loop_timer_id tick_timer;
    uint64_t last_trim_ms;
    struct pending_answer *pending; /* requests whose answers are awaited */
};

/* ---- what the logic calls ---- */

static int io_publish(void *ctx, const char *topic, const json_t *msg)
{
    struct daemon *d = ctx;
    return mq_link_publish_json(d->mq, topic, msg, 1, NULL);
}

/* One awaited answer; listed so that those still waiting at exit are freed
 * (mq_waiter_free forgets them without a call). */
struct pending_answer {
    struct daemon *d;
    char object_id[UUID_STR_LEN];
    struct pending_answer *prev, *next;
};

static void pending_unlink(struct pending_answer *p)
{
    if (p->prev)
        p->prev->next = p->next;
    else
        p->d->pending = p->next;
    if (p->next) p->next->prev = p->prev;
}

static void on_answer(void *ctx, const struct envelope *answer)
{
    struct pending_answer *p = ctx;
    pending_unlink(p);
    orc_answer(p->d->orc, p->object_id, answer);
    free(p);
}

static int io_request(void *ctx, const char *topic, const json_t *msg, const char *object_id)
{
    struct daemon *d = ctx;
    struct pending_answer *p = malloc(sizeof *p);
    if (!p) return -1;
    p->d = d;
    snprintf(p->object_id, sizeof p->object_id, "%s", object_id);
    p->prev = NULL;
    p->next = d->pending;
    if (d->pending) d->pending->prev = p;
    d->pending = p;
    if (mq_request(d->waiter, topic, msg, topic, ANSWER_TIMEOUT_MS, on_answer, p) < 0) {
        pending_unlink(p);
        free(p);
        return -1;
    }
    return 0;
}

static double io_wall(void *ctx)
{
    (void)ctx;
    return loop_wall_seconds();
}

static int io_file_use(void *ctx, const char *sha256, uint64_t *size)
{
    struct daemon *d = ctx;
    const struct file_info *f = file_store_find(d->files, sha256);
    if (!f) return -1;
    *size = f->size;
    file_store_touch(d->files, sha256, io_wall(d));
    return 0;
}

static int chunk_publish(void *ctx, const char *topic, const void *payload, size_t len, int *mid)
{
    struct daemon *d = ctx;
    return mq_link_publish(d->mq, topic, payload, len, 1, mid);
}

static void on_published(void *ctx, int mid)
{
    struct daemon *d = ctx;
    file_server_published(d->file_server, mid);
}

static void on_file_request(void *ctx, const char *topic, const void *payload, size_t len)
{
    (void)topic;
    struct daemon *d = ctx;
    file_server_request(d->file_server, payload, len);
}

/* A file a module still names is in use, and that counts as a use now. */
static int file_in_use(void *ctx, const char *sha256)
{
    struct daemon *d = ctx;
    if (!orc_file_in_use(d->orc, sha256)) return 0;
    file_store_touch(d->files, sha256, io_wall(d));
    return 1;
}

static void sweep_files(struct daemon *d)
{
    file_store_sweep(d->files, io_wall(d), d->cfg->files_retention, file_in_use, d);
    d->last_sweep_ms = loop_now_ms();
}

/* The module store: --files-dir, else beside the database. */
static int open_files(struct daemon *d, const char *db)
{
    const struct orchestrator_config *cfg = d->cfg;
    char *dir = NULL;
    if (cfg->files_dir) {
        dir = strdup(cfg->files_dir);
    } else if (!strcmp(db, ":memory:")) {
        const char *tmp = getenv("TMPDIR");
        if (asprintf(&dir, "%s/stratus-files-XXXXXX", tmp && *tmp ? tmp : "/tmp") >= 0 &&
            !mkdtemp(dir)) {
            free(dir);
            dir = NULL;
        }
        d->files_tmp_dir = dir ? strdup(dir) : NULL;
    } else if (asprintf(&dir, "%s.files", db) < 0) {
        dir = NULL;
    }
    if (!dir) {
        slog(SLOG_ERROR, "files", "cannot name the module store's directory");
        return -1;
    }
    char err[FILE_STORE_ERR_LEN];
    int rc = file_store_open(dir, (uint64_t)cfg->file_max_size, &d->files, err);
    if (rc < 0)
        slog(SLOG_ERROR, "files", "%s", err);
    else
        slog(SLOG_INFO, "files", "module store %s: %zu file(s), at most %lld bytes each", dir,
             file_store_count(d->files), cfg->file_max_size);
    free(dir);
    struct file_server_io io = {.publish = chunk_publish, .ctx = d};
    if (rc == 0 && file_server_new(d->realm, d->files, &io, &d->file_server) < 0) rc = -1;
    return rc;
}

/* The private store of a :memory: orchestrator keeps nothing either. */
static void remove_tmp_files(struct daemon *d)
{
    if (!d->files_tmp_dir) return;
    DIR *dir = opendir(d->files_tmp_dir);
    struct dirent *de;
    while (dir && (de = readdir(dir)))
        if (de->d_name[0] != '.' || strncmp(de->d_name, ".tmp-", 5) == 0)
            unlinkat(dirfd(dir), de->d_name, 0);
    if (dir) closedir(dir);
    rmdir(d->files_tmp_dir);
    free(d->files_tmp_dir);
}

static uint64_t io_now(void *ctx)
{
    (void)ctx;
    return loop_now_ms();
}

static int io_connected(void *ctx)
{
    struct daemon *d = ctx;
    return d->mq && mq_link_subscribed(d->mq);
}

/* ---- loop plumbing ---- */

static void on_tick(void *ctx);

static void arm_tick(struct daemon *d, uint64_t next)
{
    uint64_t now = loop_now_ms();
    uint64_t delay = next == UINT64_MAX || next > now + TICK_MAX_MS ? TICK_MAX_MS
                     : next > now                                   ? next - now
                                                                    : 0;
    if (d->tick_timer) loop_timer_cancel(d->loop, d->tick_timer);
    d->tick_timer = 0;
    loop_timer_add(d->loop, delay, on_tick, d, &d->tick_timer);
}

static void on_tick(void *ctx)
{
    struct daemon *d = ctx;
    d->tick_timer = 0;
    uint64_t next = orc_tick(d->orc);
    uint64_t now = loop_now_ms();
    if (now - d->last_trim_ms >= TRIM_INTERVAL_MS) {
        /* Cost: a walk of the heap's free chunks, a few ms at most. */
        malloc_trim(0);
        d->last_trim_ms = now;
    }
    if (now - d->last_sweep_ms >= SWEEP_INTERVAL_MS) sweep_files(d);
    arm_tick(d, next);
}

static void on_mqtt_message(void *ctx, const char *topic, const void *payload, size_t len)
{
    struct daemon *d = ctx;
    orc_handle_message(d->orc, topic, payload, len);
}

static void on_connected(void *ctx)
{
    struct daemon *d = ctx;
    slog(SLOG_INFO, "orc", "connected to the broker");
    file_server_connected(d->file_server);
    orc_connected(d->orc);
}

static void on_signal(void *ctx, int signo)
{
    struct daemon *d = ctx;
    slog(SLOG_INFO, "orc", "%s: shutting down", signal_watch_name(signo));
    loop_stop(d->loop);
}

/* The topics the orchestrator listens to, as filters of the layout. */
static int route_topics(struct daemon *d)
{
    char get[TOPIC_LAYOUT_MAX];
    if (topic_format(get, sizeof get, d->realm, TOPIC_FILE_GET, NULL) < 0 ||
        mq_link_route(d->mq, get, 1, on_file_request, d) < 0)
        return -1;
    static const enum topic_kind kinds[] = {TOPIC_REG, TOPIC_KEEPALIVE, TOPIC_CONTROL,
                                            TOPIC_CONTROL_RUNTIME, TOPIC_STDIO};
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        char filter[TOPIC_LAYOUT_MAX];
        if (topic_format(filter, sizeof filter, d->realm, kinds[i],
                         kinds[i] == TOPIC_CONTROL ? NULL : "+") < 0 ||
            mq_link_route(d->mq, filter, 1, on_mqtt_message, d) < 0) {
            slog(SLOG_ERROR, "orc", "cannot subscribe to the topics of realm '%s'", d->realm);
            return -1;
        }
    }
    return 0;
}

static int setup(struct daemon *d)
{
    const struct orchestrator_config *cfg = d->cfg;
    d->realm = cfg->realm ? cfg->realm : "realm";
    const char *db = cfg->db ? cfg->db : "stratus.db";
    if (loop_new(&d->loop) < 0 || signal_watch_start(d->loop, NULL, on_signal, d, &d->signals) < 0)
        return -1;
    char err[ORC_ERR_LEN];
    if (store_sqlite_open(db, &d->store, err) < 0) {
        slog(SLOG_ERROR, "db", "%s", err);
        return -1;
    }
    if (open_files(d, db) < 0) return -1;
    struct orc_options oo = {
        .realm = d->realm,
        .ka_interval_sec = cfg->keepalive,
        .io = {.publish = io_publish,
               .request = io_request,
               .now_ms = io_now,
               .connected = io_connected,
               .wall = io_wall,
               .file_use = io_file_use,
               .ctx = d},
    };
    if (orc_new(&oo, d->store, &d->orc, err) < 0) {
        slog(SLOG_ERROR, "orc", "%s", err);
        return -1;
    }
    struct mq_link_options mo = {
        .host = cfg->host ? cfg->host : "localhost",
        .port = cfg->port,
        .username = cfg->username,
        .password = cfg->password,
        .tls = cfg->tls,
        .tls_ca = cfg->tls_ca,
        .tls_cert = cfg->tls_cert,
        .tls_key = cfg->tls_key,
        .tls_insecure = cfg->tls_insecure,
        .keepalive_sec = 30,
    };
    struct mq_link_callbacks cb = {.connected = on_connected, .published = on_published, .ctx = d};
    if (mq_link_new(d->loop, &mo, &cb, &d->mq) < 0 || mq_waiter_new(d->loop, d->mq, &d->waiter) < 0)
        return -1;
    if (route_topics(d) < 0) return -1;
    char herr[HTTP_ERR_LEN];
    const char *http_addr = cfg->http_addr ? cfg->http_addr : "127.0.0.1";
    if (http_server_start(d->loop, http_addr, cfg->http_port, rest_api_routes, rest_api_nroutes,
                          d->orc, &d->http, herr) < 0) {
        slog(SLOG_ERROR, "http", "%s", herr);
        return -1;
    }
    if (dashboard_new(d->loop, d->orc, &d->dashboard) < 0 ||
        http_server_add_routes(d->http, dashboard_routes, dashboard_nroutes, d->dashboard) < 0) {
        slog(SLOG_ERROR, "http", "cannot set up the dashboard");
        return -1;
    }
    const struct rest_route *file_routes;
    size_t nfile_routes;
    if (files_api_new(d->files, d->orc, &d->files_api) < 0 ||
        (file_routes = files_api_routes(d->files_api, &nfile_routes),
         http_server_add_routes_max(d->http, file_routes, nfile_routes, d->files_api,
                                    (size_t)file_store_max_size(d->files)) < 0)) {
        slog(SLOG_ERROR, "http", "cannot set up the module store's routes");
        return -1;
    }
    sweep_files(d);
    slog(SLOG_INFO, "orc",
         "orchestrator in realm %s; broker %s:%d; database %s (%zu managers, %zu runtimes, %zu "
         "modules); keepalive %d s",
         d->realm, mo.host, cfg->port, db, orc_manager_count(d->orc), orc_runtime_count(d->orc),
         orc_module_count(d->orc), cfg->keepalive);
    slog(SLOG_INFO, "http", "REST API on http://%s:%d/api/, dashboard on http://%s:%d/", http_addr,
         http_server_port(d->http), http_addr, http_server_port(d->http));
    arm_tick(d, orc_tick(d->orc));
    return mq_link_start(d->mq);
}

static void teardown(struct daemon *d)
{
    http_server_free(d->http); /* ends the dashboard's streams */
    dashboard_free(d->dashboard);
    mq_waiter_free(d->waiter);
    while (d->pending) {
        struct pending_answer *p = d->pending;
        d->pending = p->next;
        free(p);
    }
    if (d->mq) {
        mq_link_disconnect(d->mq);
        mq_link_free(d->mq);
    }
    orc_free(d->orc); /* writes pending output */
    files_api_free(d->files_api);
    file_server_free(d->file_server);
    file_store_close(d->files);
    remove_tmp_files(d);
    if (d->store) d->store->ops->close(d->store);
    signal_watch_free(d->signals);
    loop_free(d->loop);
}

int orchestrator_run(const struct orchestrator_config *cfg)
{
    slog_set_level(cfg->log_level);
    mosquitto_lib_init();
    struct daemon d = {.cfg = cfg};
    int code = 0;
    if (setup(&d) < 0) {
        slog(SLOG_ERROR, "orc", "could not start the orchestrator");
        code = 1;
    } else if (loop_run(d.loop) < 0) {
        slog(SLOG_ERROR, "orc", "event loop failed: %s", strerror(errno));
        code = 1;
    }
    teardown(&d);
    mosquitto_lib_cleanup();
    if (!code) slog(SLOG_INFO, "orc", "stopped");
    return code;
}
