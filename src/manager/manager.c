/* The node manager's top level (see stratus/manager.h): builds the event
 * loop, the MQTT link, the registration table, the channel table and the
 * runtimes from the configuration, routes MQTT messages to them, handles
 * signals (SIGINT/SIGTERM: clean shutdown; SIGCHLD: reap runtime processes)
 * and shuts everything down in order: modules reported, runtimes stopped,
 * deletes published, DISCONNECT sent, socket directory removed. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <mosquitto.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "channels.h"
#include "event_loop.h"
#include "identity.h"
#include "slog.h"
#include "mq_link.h"
#include "node_files.h"
#include "outbox.h"
#include "registration.h"
#include "runtime.h"
#include "signal_watch.h"
#include "stratus/envelope.h"
#include "stratus/manager.h"
#include "stratus/topic.h"
#include "stratus/uuid.h"

/* How long a shutdown may take before whatever still runs is killed. */
#define SHUTDOWN_DEADLINE_MS 5000
/* Keepalive periods are whole seconds; checking each second is enough. */
#define KEEPALIVE_TICK_MS 1000
/* While the broker is unreachable, control messages reach the spill file
 * at most this long after they were queued (a manager killed outright loses
 * no more than that); writing the file costs O(queued control bytes). */
#define SPILL_EVERY_MS 100

struct manager {
    const struct manager_config *cfg;
    struct event_loop *loop;
    struct mq_link *mq;
    struct reg_table *reg;
    struct channel_table *channels;
    struct runtime **runtimes;
    size_t nruntimes;
    struct identity *identity; /* NULL when no state directory can be named */
    struct node_files *files;  /* NULL without a state directory */
    char uuid[UUID_STR_LEN];
    const char *realm, *name;
    char socket_dir[PATH_MAX];
    char *spill_path; /* the outbox's spill file, or NULL */
    int spill_dirty;  /* control messages queued since the file was written */
    int spill_armed;  /* on_spill_timer pending */
    struct signal_watch *signals;
    loop_timer_id reg_timer;
    int shutting_down;
    int unregistered; /* shutdown deletes published */
};

/* ---- MQTT plumbing ---- */

static void arm_spill(struct manager *m);

/* Control messages and module output: through the outbox. */
static int post_bytes(void *ctx, const char *topic, const void *payload, size_t len, int qos,
                      const char *source)
{
    struct manager *m = ctx;
    if (m->cfg->no_outbox) return mq_link_publish(m->mq, topic, payload, len, qos, NULL);
    int rc = mq_link_post(m->mq, topic, payload, len, qos, source);
    if (rc == 0 && !source && m->spill_path && !mq_link_connected(m->mq)) {
        m->spill_dirty = 1;
        arm_spill(m);
    }
    return rc;
}

/* Now or never (keepalives). */
static int publish_now(void *ctx, const char *topic, const void *payload, size_t len, int qos,
                       const char *source)
{
    (void)source;
    struct manager *m = ctx;
    return mq_link_publish(m->mq, topic, payload, len, qos, NULL);
}

/* Registration requests are sent again by the table at every connect;
 * deletes are kept. */
static int publish_json(void *ctx, const char *topic, const json_t *msg, int keep)
{
    struct manager *m = ctx;
    if (!keep) return mq_link_publish_json(m->mq, topic, msg, 1, NULL);
    char *text = json_dumps(msg, JSON_COMPACT);
    int rc = text ? mq_link_post(m->mq, topic, text, strlen(text), 1, NULL) : -1;
    free(text);
    return rc;
}

static int ch_subscribe(void *ctx, const char *filter, int qos)
{
    struct manager *m = ctx;
    return mq_link_subscribe(m->mq, filter, qos);
}

static int ch_unsubscribe(void *ctx, const char *filter)
{
    struct manager *m = ctx;
    return mq_link_unsubscribe(m->mq, filter);
}

static void ch_deliver(void *ctx, void *owner, int module, int channel, const void *payload,
                       size_t len)
{
    (void)ctx;
    runtime_deliver(owner, module, channel, payload, len);
}

static void on_reg_timer(void *ctx)
{
    struct manager *m = ctx;
    m->reg_timer = 0;
    if (m->shutting_down) return;
    uint64_t now = loop_now_ms();
    uint64_t next = reg_table_tick(m->reg, now);
    if (next != UINT64_MAX)
        loop_timer_add(m->loop, next > now ? next - now : 0, on_reg_timer, m, &m->reg_timer);
}

static void arm_reg_timer(struct manager *m)
{
    if (m->reg_timer) loop_timer_cancel(m->loop, m->reg_timer);
    m->reg_timer = 0;
    uint64_t now = loop_now_ms();
    uint64_t next = reg_table_tick(m->reg, now);
    if (next != UINT64_MAX)
        loop_timer_add(m->loop, next > now ? next - now : 0, on_reg_timer, m, &m->reg_timer);
}

static void on_connected(void *ctx)
{
    struct manager *m = ctx;
    if (m->shutting_down) return;
    channels_set_broker_echoes(m->channels, !mq_link_is_v5(m->mq));
    if (m->files) node_files_connected(m->files);
    /* A new session: the orchestrator may have lost us, so register afresh. */
    reg_table_send_all(m->reg, loop_now_ms());
    arm_reg_timer(m);
}

static struct runtime *runtime_by_uuid(struct manager *m, const char *uuid)
{
    for (size_t i = 0; i < m->nruntimes; i++)
        if (!strcmp(runtime_uuid(m->runtimes[i]), uuid)) return m->runtimes[i];
    return NULL;
}

/* The orchestrator's answer to a runtime's registration sets its keepalive
 * period. */
static void apply_answer(struct manager *m, const char *uuid)
{
    struct runtime *rt = runtime_by_uuid(m, uuid);
    json_t *ka = json_object_get(reg_table_answer(m->reg, uuid), "ka_interval_sec");
    if (!rt || !json_is_number(ka)) return;
    double sec = json_number_value(ka);
    runtime_set_keepalive_interval(rt, sec > 0 && sec < 86400 ? (uint64_t)(sec * 1000) : 0);
}

static void on_keepalive_timer(void *ctx)
{
    struct manager *m = ctx;
    if (m->shutting_down) return;
    uint64_t now = loop_now_ms();
    for (size_t i = 0; i < m->nruntimes; i++)
        runtime_keepalive_tick(m->runtimes[i], now);
    loop_timer_add(m->loop, KEEPALIVE_TICK_MS, on_keepalive_timer, m, NULL);
}

/* An answer (or anything else) on {realm}/proc/reg/{uuid} of this node. */
static void on_reg_message(void *ctx, const char *topic, const void *payload, size_t len)
{
    struct manager *m = ctx;
    struct topic_ref ref;
    if (topic_parse(m->realm, topic, &ref) != TOPIC_REG) return;
    struct envelope env;
    char err[ENVELOPE_ERR_LEN];
    if (envelope_parse(payload, len, &env, err) < 0) {
        slog(SLOG_DEBUG, "mgr", "ignored message on %s: %s", topic, err);
        return;
    }
    if (reg_table_handle(m->reg, ref.id, &env)) {
        arm_reg_timer(m);
        apply_answer(m, ref.id);
    }
    envelope_clear(&env);
}

/* A request on {realm}/proc/control/{runtime}: the route's context is the
 * runtime. */
static void on_control_message(void *ctx, const char *topic, const void *payload, size_t len)
{
    (void)topic;
    struct runtime *rt = ctx;
    /* Answered in every state: a stopping or given-up runtime says so. */
    runtime_handle_control(rt, payload, len);
}

/* Every message may also be for module channels. */
static void on_message(void *ctx, const char *topic, const void *payload, size_t len)
{
    struct manager *m = ctx;
    channels_deliver_mqtt(m->channels, topic, payload, len);
}

/* ---- runtimes ---- */

/* Output of a module was dropped from the outbox: its runtime counts and
 * logs it. */
static void on_output_dropped(void *ctx, const char *source, uint64_t count)
{
    struct manager *m = ctx;
    for (size_t i = 0; i < m->nruntimes; i++)
        if (runtime_output_dropped(m->runtimes[i], source, count)) return;
    if (!(count & (count - 1)))
        slog(SLOG_WARNING, "mgr",
             "%llu message(s) of ended module %s dropped while the broker is unreachable",
             (unsigned long long)count, source);
}

/* Control messages the broker never got are kept for the next start. */
static void spill_outbox(struct manager *m)
{
    if (!m->spill_path || !m->mq) return;
    struct outbox *ob = mq_link_outbox(m->mq);
    if (outbox_spill_write(ob, m->spill_path) < 0)
        slog(SLOG_ERROR, "mgr", "cannot write %s: %s", m->spill_path, strerror(errno));
    else if (outbox_count(ob))
        slog(SLOG_WARNING, "mgr",
             "the broker never got %zu message(s); control messages kept in %s for the next "
             "start",
             outbox_count(ob), m->spill_path);
}

/* During an outage: the queued control messages written to the spill file
 * (so that a manager killed outright still sends them at its next start);
 * once the broker has everything again, the file goes. */
static void on_spill_timer(void *ctx)
{
    struct manager *m = ctx;
    m->spill_armed = 0;
    if (m->shutting_down || !m->spill_path) return; /* teardown writes it */
    /* Connected, what the outbox handed to the broker leaves the file (it
     * goes with the last control message). */
    if (m->spill_dirty || mq_link_connected(m->mq)) {
        if (outbox_spill_write(mq_link_outbox(m->mq), m->spill_path) < 0)
            slog(SLOG_ERROR, "mgr", "cannot write %s: %s", m->spill_path, strerror(errno));
        else if (m->spill_dirty)
            slog(SLOG_DEBUG, "mgr", "unsent control messages written to %s", m->spill_path);
        m->spill_dirty = 0;
    }
    if (access(m->spill_path, F_OK) == 0) arm_spill(m);
}

static void arm_spill(struct manager *m)
{
    if (m->spill_armed) return;
    if (loop_timer_add(m->loop, SPILL_EVERY_MS, on_spill_timer, m, NULL) == 0) m->spill_armed = 1;
}

static void load_spill(struct manager *m)
{
    if (!m->spill_path) return;
    size_t n = 0;
    char err[OUTBOX_ERR_LEN];
    if (outbox_spill_load(mq_link_outbox(m->mq), m->spill_path, &n, err) < 0) {
        slog(SLOG_ERROR, "mgr", "%s; its messages are not sent", err);
    } else if (n) {
        slog(SLOG_INFO, "mgr", "%zu control message(s) from the last run will be sent", n);
    }
    /* Sent from memory now; the file stays until the broker has them (a
     * manager killed before that sends them at its next start). */
    if (n) {
        m->spill_dirty = 1;
        arm_spill(m);
    } else {
        unlink(m->spill_path);
    }
}

/* Its control topic stays routed: requests still get an error answer. */
static void runtime_gone(void *ctx, struct runtime *rt)
{
    struct manager *m = ctx;
    reg_table_unregister(m->reg, runtime_uuid(rt));
}

static int uuid_taken(void *ctx, const struct runtime *rt, const char *uuid)
{
    struct manager *m = ctx;
    if (!strcmp(uuid, m->uuid)) return 1;
    for (size_t i = 0; i < m->nruntimes; i++) {
        const struct runtime *o = m->runtimes[i];
        if (!strcmp(runtime_uuid(o), uuid) || (o != rt && runtime_owns_uuid(o, uuid))) return 1;
    }
    return 0;
}

/* Shutdown ends in steps: every runtime stopped; then the deletes published
 * (runtimes first, the manager last, so the orchestrator sees an orderly
 * exit); then, once the broker acknowledged them, DISCONNECT. */
static void finish_shutdown(struct manager *m)
{
    for (size_t i = 0; i < m->nruntimes; i++)
        if (!runtime_is_stopped(m->runtimes[i])) return;
    if (!m->unregistered) {
        m->unregistered = 1;
        reg_table_unregister_all(m->reg);
    }
    /* Connected: wait until the broker has everything. Disconnected: what
     * is left goes to the spill file (a later start sends it). */
    if (mq_link_connected(m->mq) && mq_link_unsettled(m->mq) > 0) return;
    mq_link_disconnect(m->mq);
    loop_stop(m->loop);
}

static void on_finish_timer(void *ctx)
{
    finish_shutdown(ctx);
}

static void on_published(void *ctx, int mid)
{
    (void)mid;
    struct manager *m = ctx;
    /* Inside a libmosquitto callback: disconnecting here would deadlock on
     * its locks, so the next step runs from the loop. */
    if (m->unregistered && mq_link_unsettled(m->mq) == 0)
        loop_timer_add(m->loop, 0, on_finish_timer, m, NULL);
}

static void on_runtime_stopped(void *ctx, struct runtime *rt)
{
    (void)rt;
    struct manager *m = ctx;
    if (m->shutting_down) finish_shutdown(m);
}

static void on_shutdown_deadline(void *ctx)
{
    struct manager *m = ctx;
    slog(SLOG_WARNING, "mgr", "runtimes did not stop in time; leaving anyway");
    /* runtime_free() below kills what still runs. */
    reg_table_unregister_all(m->reg);
    mq_link_disconnect(m->mq);
    loop_stop(m->loop);
}

static void begin_shutdown(struct manager *m, const char *why)
{
    if (m->shutting_down) return;
    m->shutting_down = 1;
    slog(SLOG_INFO, "mgr", "%s: shutting down", why);
    if (m->reg_timer) loop_timer_cancel(m->loop, m->reg_timer);
    m->reg_timer = 0;
    loop_timer_add(m->loop, SHUTDOWN_DEADLINE_MS, on_shutdown_deadline, m, NULL);
    for (size_t i = 0; i < m->nruntimes; i++)
        runtime_shutdown(m->runtimes[i]);
    finish_shutdown(m);
}

static void reap_children(struct manager *m)
{
    for (;;) {
        int status;
        pid_t pid = waitpid(-1, &status, WNOHANG);
        if (pid <= 0) return;
        int claimed = 0;
        for (size_t i = 0; i < m->nruntimes && !claimed; i++)
            claimed = runtime_child_exited(m->runtimes[i], pid, status);
        if (!claimed) slog(SLOG_DEBUG, "mgr", "reaped process %d", (int)pid);
    }
}

static void on_signal(void *ctx, int signo)
{
    struct manager *m = ctx;
    if (signo == SIGCHLD)
        reap_children(m);
    else
        begin_shutdown(m, signal_watch_name(signo));
}

/* ---- set-up ---- */

static const char *command_for(const struct manager_config *cfg, const char *type)
{
    for (size_t i = 0; i < cfg->ncommands; i++)
        if (!strcmp(cfg->commands[i].type, type)) return cfg->commands[i].path;
    return NULL;
}

/* Check the configuration before anything starts, so a mistake is one clear
 * message and a non-zero exit. */
static int check_config(const struct manager_config *cfg)
{
    if (cfg->uuid && !uuid_is_valid(cfg->uuid)) {
        slog(SLOG_ERROR, "mgr", "--uuid '%s' is not a UUID", cfg->uuid);
        return -1;
    }
    for (size_t i = 0; i < cfg->nruntimes; i++) {
        const struct runtime_type *t = runtime_type_find(cfg->runtimes[i].type);
        if (!t) {
            slog(SLOG_ERROR, "mgr", "unknown runtime type '%s' (see --help for the types)",
                 cfg->runtimes[i].type);
            return -1;
        }
        if (t->ops == &runtime_socket_ops && !t->default_command && !command_for(cfg, t->type)) {
            slog(SLOG_ERROR, "mgr", "runtime type '%s' needs --runtime-command %s=PATH", t->type,
                 t->type);
            return -1;
        }
    }
    for (size_t i = 0; i < cfg->ncommands; i++)
        if (!runtime_type_find(cfg->commands[i].type)) {
            slog(SLOG_ERROR, "mgr", "--runtime-command for unknown runtime type '%s'",
                 cfg->commands[i].type);
            return -1;
        }
    if (!cfg->nruntimes) slog(SLOG_WARNING, "mgr", "no runtimes configured");
    return 0;
}

static int needs_socket_dir(const struct manager_config *cfg)
{
    for (size_t i = 0; i < cfg->nruntimes; i++) {
        const struct runtime_type *t = runtime_type_find(cfg->runtimes[i].type);
        if (t && t->ops == &runtime_socket_ops) return 1;
    }
    return 0;
}

static int make_socket_dir(struct manager *m)
{
    const char *tmp = getenv("TMPDIR");
    if (!tmp || !*tmp || strlen(tmp) > 40) tmp = "/tmp";
    snprintf(m->socket_dir, sizeof m->socket_dir, "%s/stratus-mgr-XXXXXX", tmp);
    if (!mkdtemp(m->socket_dir)) {
        slog(SLOG_ERROR, "mgr", "socket directory: %s", strerror(errno));
        m->socket_dir[0] = '\0';
        return -1;
    }
    return 0;
}

/* The socket directory of this manager's last run is named in
 * {identity}.sockdir. Holding the identity lock means that run is over, so
 * a directory it left behind (after a kill -9) is removed now. */
static void remove_stale_socket_dir(struct manager *m)
{
    if (!m->identity) return;
    char record[PATH_MAX + 16], old[PATH_MAX];
    snprintf(record, sizeof record, "%s.sockdir", identity_path(m->identity));
    FILE *f = fopen(record, "r");
    if (!f) return;
    int ok = fgets(old, sizeof old, f) != NULL;
    fclose(f);
    unlink(record);
    if (!ok) return;
    old[strcspn(old, "\n")] = '\0';
    const char *base = strrchr(old, '/');
    struct stat st;
    /* Only a directory of ours that looks like one we make. */
    if (!base || strncmp(base + 1, "stratus-mgr-", 12) || lstat(old, &st) < 0 ||
        !S_ISDIR(st.st_mode) || st.st_uid != geteuid())
        return;
    DIR *d = opendir(old);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char path[PATH_MAX * 2];
        snprintf(path, sizeof path, "%s/%s", old, e->d_name);
        unlink(path);
    }
    closedir(d);
    if (rmdir(old) == 0)
        slog(SLOG_INFO, "mgr", "removed %s, left behind by this manager's last run", old);
}

static void record_socket_dir(struct manager *m)
{
    if (!m->identity || !m->socket_dir[0]) return;
    char record[PATH_MAX + 16];
    snprintf(record, sizeof record, "%s.sockdir", identity_path(m->identity));
    FILE *f = fopen(record, "w");
    if (!f || fprintf(f, "%s\n", m->socket_dir) < 0 || fclose(f) != 0)
        slog(SLOG_WARNING, "mgr", "cannot write %s", record);
}

static int setup_signals(struct manager *m)
{
    static const int also[] = {SIGCHLD, 0};
    return signal_watch_start(m->loop, also, on_signal, m, &m->signals);
}

static int subscribe_runtime(struct manager *m, struct runtime *rt)
{
    char topic[TOPIC_LAYOUT_MAX];
    if (topic_format(topic, sizeof topic, m->realm, TOPIC_REG, runtime_uuid(rt)) < 0 ||
        mq_link_route(m->mq, topic, 1, on_reg_message, m) < 0)
        return -1;
    if (topic_format(topic, sizeof topic, m->realm, TOPIC_CONTROL_RUNTIME, runtime_uuid(rt)) < 0)
        return -1;
    return mq_link_route(m->mq, topic, 1, on_control_message, rt);
}

/* The stored UUID of the i-th configured runtime, known by its type and name
 * (and its rank among runtimes of the same type and name). Without a state
 * directory the runtime gets a fresh UUID. */
static int runtime_identity(struct manager *m, size_t i, char uuid[UUID_STR_LEN])
{
    if (!m->identity) return 0;
    const struct manager_config *cfg = m->cfg;
    const struct manager_runtime_spec *r = &cfg->runtimes[i];
    const char *name = r->name ? r->name : runtime_type_find(r->type)->default_name;
    int rank = 1;
    for (size_t j = 0; j < i; j++) {
        const struct manager_runtime_spec *o = &cfg->runtimes[j];
        const char *oname = o->name ? o->name : runtime_type_find(o->type)->default_name;
        rank += !strcmp(o->type, r->type) && !strcmp(oname, name);
    }
    char key[512], err[IDENTITY_ERR_LEN];
    if (rank == 1)
        snprintf(key, sizeof key, "%s:%s", r->type, name);
    else
        snprintf(key, sizeof key, "%s:%s#%d", r->type, name, rank);
    if (identity_runtime_uuid(m->identity, key, uuid, err) < 0) {
        slog(SLOG_ERROR, "mgr", "%s", err);
        return -1;
    }
    return 0;
}

/* The manager's UUID: from the state directory's identity file when one can
 * be named, else --uuid, else a fresh one (said in the log, since the
 * orchestrator will then see a new node at every start). */
static int open_identity(struct manager *m)
{
    const struct manager_config *cfg = m->cfg;
    char *dir = identity_default_dir(cfg->state_dir);
    if (dir) {
        /* The runtimes keep the compiled tier's cache in the node's state
         * directory too, unless the environment names another. */
        char aot[PATH_MAX];
        if ((size_t)snprintf(aot, sizeof aot, "%s/aot", dir) < sizeof aot)
            setenv("STRATUS_AOT_CACHE", aot, 0);
        char err[IDENTITY_ERR_LEN];
        int rc = identity_open(dir, m->name, cfg->uuid, &m->identity, err);
        free(dir);
        if (rc < 0) {
            slog(SLOG_ERROR, "mgr", "%s", err);
            return -1;
        }
        snprintf(m->uuid, sizeof m->uuid, "%s", identity_manager_uuid(m->identity));
        slog(SLOG_DEBUG, "mgr", "identity in %s", identity_path(m->identity));
        return 0;
    }
    if (cfg->uuid) {
        snprintf(m->uuid, sizeof m->uuid, "%s", cfg->uuid);
        return 0;
    }
    slog(SLOG_WARNING, "mgr",
         "no state directory (no --state-dir, $STRATUS_STATE_DIR or $HOME): this node gets "
         "new UUIDs at every start");
    return uuid_v4_generate(m->uuid);
}

/* ---- module files named by content ---- */

static int file_acquire(void *ctx, struct runtime *rt, const char *sha256, uint64_t size,
                        char reason[RUNTIME_REASON_LEN])
{
    (void)rt;
    struct manager *m = ctx;
    return node_files_acquire(m->files, sha256, size, reason);
}

static void file_release(void *ctx, struct runtime *rt, const char *sha256, int pinned)
{
    (void)rt;
    struct manager *m = ctx;
    node_files_release(m->files, sha256, pinned);
}

static void files_ready(void *ctx, const char *sha256, int ok, const char *reason)
{
    struct manager *m = ctx;
    for (size_t i = 0; i < m->nruntimes; i++)
        runtime_file_ready(m->runtimes[i], sha256, ok, reason);
}

/* The file cache lives in {state_dir}/files-{name}. */
static int open_files(struct manager *m)
{
    const struct manager_config *cfg = m->cfg;
    if (!m->identity) return 0;
    char *dir = identity_default_dir(cfg->state_dir);
    char path[PATH_MAX];
    int fits =
        dir && (size_t)snprintf(path, sizeof path, "%s/files-%s", dir, m->name) < sizeof path;
    free(dir);
    if (!fits) return -1;
    struct node_files_options fo = {
        .dir = path,
        .cache_limit = cfg->file_cache_size,
        .max_size = cfg->file_max_size,
        .realm = m->realm,
        .node = m->uuid,
        .loop = m->loop,
        .mq = m->mq,
        .ready = files_ready,
        .ctx = m,
    };
    char err[RUNTIME_REASON_LEN];
    if (node_files_new(&fo, &m->files, err) < 0) {
        slog(SLOG_ERROR, "mgr", "%s", err);
        return -1;
    }
    return 0;
}

static int add_runtimes(struct manager *m)
{
    const struct manager_config *cfg = m->cfg;
    m->runtimes = calloc(cfg->nruntimes ? cfg->nruntimes : 1, sizeof *m->runtimes);
    if (!m->runtimes) return -1;
    struct runtime_host host = {
        .loop = m->loop,
        .channels = m->channels,
        .realm = m->realm,
        .manager_uuid = m->uuid,
        .module_dir = cfg->module_dir,
        .socket_dir = m->socket_dir,
        .engines_json = cfg->engines_json,
        .publish = post_bytes,
        .publish_now = publish_now,
        .runtime_gone = runtime_gone,
        .runtime_stopped = on_runtime_stopped,
        .uuid_taken = uuid_taken,
        .delete_timeout_ms = (uint64_t)(cfg->delete_timeout * 1000.0),
        .file_dir = m->files ? node_files_dir(m->files) : NULL,
        .file_acquire = m->files ? file_acquire : NULL,
        .file_release = m->files ? file_release : NULL,
        .ctx = m,
    };
    for (size_t i = 0; i < cfg->nruntimes; i++) {
        const struct runtime_type *t = runtime_type_find(cfg->runtimes[i].type);
        char uuid[UUID_STR_LEN];
        if (runtime_identity(m, i, uuid) < 0) return -1;
        struct runtime *rt;
        if (runtime_new(t, cfg->runtimes[i].name, m->identity ? uuid : NULL,
                        command_for(cfg, t->type), &host, &rt) < 0)
            return -1;
        runtime_set_index(rt, (int)i);
        m->runtimes[m->nruntimes++] = rt;
        runtime_set_max_memory(rt, cfg->runtimes[i].max_memory_mib);
        if (runtime_start(rt) < 0) return -1;
        if (reg_table_add(m->reg, json_incref(runtime_registration(rt))) < 0) return -1;
        if (subscribe_runtime(m, rt) < 0) return -1;
    }
    return 0;
}

static int setup(struct manager *m)
{
    const struct manager_config *cfg = m->cfg;
    m->realm = cfg->realm ? cfg->realm : "realm";
    m->name = cfg->name ? cfg->name : "manager";
    if (open_identity(m) < 0) return -1;
    char will_topic[TOPIC_LAYOUT_MAX];
    if (topic_format(will_topic, sizeof will_topic, m->realm, TOPIC_REG, m->uuid) < 0) {
        slog(SLOG_ERROR, "mgr", "realm too long");
        return -1;
    }
    if (loop_new(&m->loop) < 0 || setup_signals(m) < 0) return -1;
    remove_stale_socket_dir(m);
    if (needs_socket_dir(cfg) && make_socket_dir(m) < 0) return -1;
    record_socket_dir(m);

    struct channel_io io = {
        .publish = post_bytes,
        .subscribe = ch_subscribe,
        .unsubscribe = ch_unsubscribe,
        .deliver = ch_deliver,
        .ctx = m,
    };
    if (channels_new(m->realm, &io, &m->channels) < 0) return -1;

    struct reg_options ro = {
        .realm = m->realm,
        .timeout_ms = (uint64_t)(cfg->reg_timeout * 1000.0),
        .max_backoff_ms = 60000,
        .publish = publish_json,
        .ctx = m,
    };
    if (reg_table_new(&ro, &m->reg) < 0) return -1;
    json_t *mgr_data =
        json_pack("{s:s, s:s, s:s}", "type", "manager", "uuid", m->uuid, "name", m->name);
    if (!mgr_data) return -1;
    /* The last will: the same delete a clean shutdown sends. */
    json_t *will = reg_delete_request(mgr_data);
    char *will_text = will ? json_dumps(will, JSON_COMPACT) : NULL;
    json_decref(will);
    if (reg_table_add(m->reg, mgr_data) < 0 || !will_text) {
        free(will_text);
        return -1;
    }
    /* As the original manager names its client: {name}:{uuid}. */
    char client_id[256];
    snprintf(client_id, sizeof client_id, "%.200s:%.36s", m->name, m->uuid);
    struct mq_link_options mo = {
        .host = cfg->host ? cfg->host : "localhost",
        .port = cfg->port,
        .client_id = client_id,
        .username = cfg->username,
        .password = cfg->password,
        .tls = cfg->tls,
        .tls_ca = cfg->tls_ca,
        .tls_cert = cfg->tls_cert,
        .tls_key = cfg->tls_key,
        .tls_insecure = cfg->tls_insecure,
        .keepalive_sec = 30,
        .will_topic = will_topic,
        .will_payload = will_text,
        .will_qos = 2,
        .outbox_total = cfg->outbox_total,
        .outbox_per_source = cfg->outbox_per_module,
    };
    struct mq_link_callbacks cb = {
        .connected = on_connected,
        .message = on_message,
        .published = on_published,
        .dropped = on_output_dropped,
        .ctx = m,
    };
    int rc = mq_link_new(m->loop, &mo, &cb, &m->mq);
    free(will_text);
    if (rc < 0) return -1;
    if (mq_link_route(m->mq, will_topic, 1, on_reg_message, m) < 0) return -1;
    if (m->identity && cfg->outbox_spill &&
        asprintf(&m->spill_path, "%s.outbox", identity_path(m->identity)) < 0)
        m->spill_path = NULL;
    load_spill(m);
    if (open_files(m) < 0 || add_runtimes(m) < 0) return -1;
    slog(SLOG_INFO, "mgr", "manager %s (%s) in realm %s, %zu runtime(s); broker %s:%d", m->name,
         m->uuid, m->realm, m->nruntimes, mo.host, cfg->port);
    if (loop_timer_add(m->loop, KEEPALIVE_TICK_MS, on_keepalive_timer, m, NULL) < 0) return -1;
    return mq_link_start(m->mq);
}

static void teardown(struct manager *m)
{
    spill_outbox(m);
    free(m->spill_path);
    for (size_t i = 0; i < m->nruntimes; i++)
        runtime_free(m->runtimes[i]);
    free(m->runtimes);
    node_files_free(m->files);
    /* Processes killed by runtime_free are reaped here, not left as zombies. */
    while (waitpid(-1, NULL, WNOHANG) > 0)
        ;
    if (m->mq) mq_link_free(m->mq);
    reg_table_free(m->reg);
    channels_free(m->channels);
    signal_watch_free(m->signals);
    loop_free(m->loop);
    if (m->socket_dir[0] && m->identity) {
        char record[PATH_MAX + 16];
        snprintf(record, sizeof record, "%s.sockdir", identity_path(m->identity));
        unlink(record);
    }
    identity_close(m->identity);
    if (m->socket_dir[0] && rmdir(m->socket_dir) < 0)
        slog(SLOG_WARNING, "mgr", "cannot remove %s: %s", m->socket_dir, strerror(errno));
}

/* The configuration's runtime types, declared before anything looks types
 * up. */
static int declare_types(const struct manager_config *cfg)
{
    for (size_t i = 0; i < cfg->ntypes; i++) {
        const struct manager_runtime_decl *d = &cfg->types[i];
        struct runtime_type_decl decl = {
            .type = d->type,
            .name = d->name,
            .shortname = d->shortname,
            .command = d->command,
            .apis = (const char *const *)d->apis,
            .max_nmodules = d->max_nmodules,
            .header = d->legacy_header ? FRAME_HEADER_LEGACY : FRAME_HEADER_SEED,
            .launch = d->original_launch ? RUNTIME_LAUNCH_ORIGINAL : RUNTIME_LAUNCH_STRATUS,
            .socket_dir = d->socket_dir,
        };
        char err[RUNTIME_REASON_LEN];
        if (runtime_type_declare(&decl, err) < 0) {
            slog(SLOG_ERROR, "mgr", "%s", err);
            return -1;
        }
    }
    return 0;
}

int manager_run(const struct manager_config *cfg)
{
    slog_set_level(cfg->log_level);
    if (declare_types(cfg) < 0 || check_config(cfg) < 0) {
        runtime_types_forget_declared();
        return 2;
    }
    mosquitto_lib_init();
    struct manager m = {.cfg = cfg};
    int code = 0;
    if (setup(&m) < 0) {
        slog(SLOG_ERROR, "mgr", "could not start the manager");
        code = 1;
    } else if (loop_run(m.loop) < 0) {
        slog(SLOG_ERROR, "mgr", "event loop failed: %s", strerror(errno));
        code = 1;
    }
    teardown(&m);
    runtime_types_forget_declared();
    mosquitto_lib_cleanup();
    if (!code) slog(SLOG_INFO, "mgr", "stopped");
    return code;
}
