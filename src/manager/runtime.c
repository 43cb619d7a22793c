/* One runtime as the manager sees it (see runtime.h): MQTT control requests
 * in, acknowledgements and exits out, messages from the runtime dispatched by
 * their control code, and the crash / restart / stop life cycle. The type's
 * operations (runtime_iface.h) do the actual talking to the runtime. */
#define _GNU_SOURCE
#include "runtime.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "channels.h"
#include "event_loop.h"
#include "slog.h"
#include "module_table.h"
#include "stratus/envelope.h"
#include "stratus/file_transfer.h"
#include "stratus/topic.h"
#include "stratus/uuid.h"

/* A runtime that ran this long before dying starts with a fresh restart
 * budget: the limit is on crash loops, not on crashes over a lifetime. */
#define RESTART_BUDGET_RESET_MS 30000
#define RESTART_BASE_DELAY_MS 100
/* The original orchestrator publishes every create sent straight to a
 * runtime again, as its stored record (with `status`, `index`, ...), on the
 * same topic; one that comes after the module ended is not a new run if it
 * comes within this long (and only once). */
#define REPEAT_WINDOW_MS 30000
#define DELETE_TIMEOUT_DEFAULT_MS 5000
#define RECENT_ENDS 64

/* The context of one module's delete deadline. */
struct delete_wait {
    struct runtime *rt;
    int index;
};

enum runtime_state {
    RT_NEW,
    RT_RUNNING,  /* started; the backend may still be waiting for the process */
    RT_DOWN,     /* died; a restart is scheduled */
    RT_GONE,     /* died too often; unregistered */
    RT_STOPPING, /* shutdown asked */
    RT_STOPPED,
};

struct runtime {
    const struct runtime_type *type;
    char *name;
    char uuid[UUID_STR_LEN];
    char *command;
    struct runtime_host host;
    char component[96];    /* "if.NAME": the manager's side */
    char rt_component[96]; /* "rt.NAME": what the runtime itself logs */
    char control_topic[TOPIC_LAYOUT_MAX];
    json_t *registration;
    struct module_table modules;
    void *backend;
    enum runtime_state state;
    int restarts;
    uint64_t started_ms;
    loop_timer_id restart_timer;
    uint64_t ka_interval_ms; /* from the registration answer; 0 = none */
    uint64_t last_ka_ms;     /* last keepalive published for this runtime */
    size_t dropped_in;       /* channel messages the runtime's queue refused */
    size_t dropped_out;      /* messages from modules with no such channel */
    uint64_t output_dropped; /* module output the outbox dropped (keepalive) */
    int index;               /* among the manager's runtimes */
    /* Per index: a delete was sent and no exit came yet. */
    loop_timer_id delete_timer[MODULE_TABLE_MAX];
    struct delete_wait delete_ctx[MODULE_TABLE_MAX];
    /* Per index: the create came from a client, not as an orchestrator's
     * record; and that record has been seen since (see REPEAT_WINDOW_MS). */
    struct {
        uint8_t direct, echoed;
    } notes[MODULE_TABLE_MAX];
    /* Direct creates that ran and ended with no echo seen yet, a ring. */
    struct {
        char uuid[UUID_STR_LEN];
        uint64_t ended_ms;
    } recent[RECENT_ENDS];
    size_t recent_next;
    uint32_t max_memory_mib; /* told to the runtime process; 0 = its default */
    /* Per index: the module's file by content, when it has one: waiting
     * for its transfer (the create frame kept until then) or pinned in the
     * node's file cache until the module ends. */
    struct {
        char sha256[FILE_HASH_HEX + 1];
        char *payload;
        enum { FILE_NONE, FILE_WAITING, FILE_PINNED } state;
    } files[MODULE_TABLE_MAX];
};

/* ---- accessors of runtime_iface.h ---- */

const struct runtime_type *runtime_get_type(const struct runtime *rt)
{
    return rt->type;
}
uint32_t runtime_max_memory(const struct runtime *rt)
{
    return rt->max_memory_mib;
}
void runtime_set_max_memory(struct runtime *rt, uint32_t mib)
{
    rt->max_memory_mib = mib;
}
const char *runtime_name(const struct runtime *rt)
{
    return rt->name;
}
const char *runtime_uuid(const struct runtime *rt)
{
    return rt->uuid;
}
const char *runtime_realm(const struct runtime *rt)
{
    return rt->host.realm;
}
const char *runtime_module_dir(const struct runtime *rt)
{
    return rt->host.module_dir;
}
const char *runtime_file_dir(const struct runtime *rt)
{
    return rt->host.file_dir;
}
const char *runtime_socket_dir(const struct runtime *rt)
{
    return rt->host.socket_dir;
}
const char *runtime_command(const struct runtime *rt)
{
    return rt->command;
}
int runtime_index(const struct runtime *rt)
{
    return rt->index;
}
void runtime_set_index(struct runtime *rt, int index)
{
    rt->index = index;
}
uint64_t runtime_delete_timeout_ms(const struct runtime *rt)
{
    return rt->host.delete_timeout_ms ? rt->host.delete_timeout_ms : DELETE_TIMEOUT_DEFAULT_MS;
}
const char *runtime_log_component(const struct runtime *rt)
{
    return rt->component;
}
struct event_loop *runtime_loop(const struct runtime *rt)
{
    return rt->host.loop;
}
void *runtime_backend(const struct runtime *rt)
{
    return rt->backend;
}
void runtime_set_backend(struct runtime *rt, void *backend)
{
    rt->backend = backend;
}
json_t *runtime_registration(const struct runtime *rt)
{
    return rt->registration;
}
int runtime_is_stopped(const struct runtime *rt)
{
    return rt->state == RT_STOPPED;
}
int runtime_is_stopping(const struct runtime *rt)
{
    return rt->state == RT_STOPPING || rt->state == RT_STOPPED;
}
int runtime_module_count(const struct runtime *rt)
{
    return rt->modules.count;
}

int runtime_owns_uuid(const struct runtime *rt, const char *uuid)
{
    return !strcmp(rt->uuid, uuid) || module_table_find(&rt->modules, uuid) >= 0;
}

int runtime_output_dropped(struct runtime *rt, const char *uuid, uint64_t count)
{
    int index = module_table_find(&rt->modules, uuid);
    if (index < 0) return 0;
    rt->output_dropped++;
    /* Logged at powers of two so that a flood cannot flood the log. */
    if (!(count & (count - 1)))
        slog(SLOG_WARNING, rt->rt_component,
             "[%d:%.8s] %llu output message(s) of this module dropped: the broker is "
             "unreachable and the module's share of the outbox is full",
             index, uuid, (unsigned long long)count);
    return 1;
}

/* ---- life cycle ---- */

int runtime_new(const struct runtime_type *type, const char *name, const char *uuid,
                const char *command, const struct runtime_host *host, struct runtime **out)
{
    struct runtime *rt = calloc(1, sizeof *rt);
    if (!rt) return -1;
    rt->type = type;
    rt->host = *host;
    rt->name = strdup(name ? name : type->default_name);
    rt->command = command ? strdup(command) : NULL;
    if (!rt->name || (command && !rt->command)) goto fail;
    if (uuid) {
        if (!uuid_is_valid(uuid)) goto fail;
        snprintf(rt->uuid, sizeof rt->uuid, "%s", uuid);
    } else if (uuid_v4_generate(rt->uuid) < 0) {
        goto fail;
    }
    snprintf(rt->component, sizeof rt->component, "if.%s", rt->name);
    snprintf(rt->rt_component, sizeof rt->rt_component, "rt.%s", rt->name);
    if (topic_format(rt->control_topic, sizeof rt->control_topic, host->realm,
                     TOPIC_CONTROL_RUNTIME, rt->uuid) < 0)
        goto fail;
    module_table_init(&rt->modules, type->max_nmodules);
    *out = rt;
    return 0;
fail:
    free(rt->name);
    free(rt->command);
    free(rt);
    return -1;
}

void runtime_free(struct runtime *rt)
{
    if (!rt) return;
    if (rt->restart_timer) loop_timer_cancel(rt->host.loop, rt->restart_timer);
    for (int i = 0; i < MODULE_TABLE_MAX; i++)
        if (rt->delete_timer[i]) loop_timer_cancel(rt->host.loop, rt->delete_timer[i]);
    if (rt->host.channels) channels_close_owner(rt->host.channels, rt);
    if (rt->type->ops->release) rt->type->ops->release(rt);
    for (int i = 0; i < MODULE_TABLE_MAX; i++)
        free(rt->files[i].payload);
    json_decref(rt->registration);
    free(rt->name);
    free(rt->command);
    free(rt);
}

static json_t *platform_info(void)
{
    struct utsname u;
    json_t *p = json_object();
    if (!p) return NULL;
    if (uname(&u) == 0) {
        json_object_set_new(p, "os", json_string(u.sysname));
        json_object_set_new(p, "release", json_string(u.release));
        json_object_set_new(p, "machine", json_string(u.machine));
        json_object_set_new(p, "node", json_string(u.nodename));
    }
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    if (cpus > 0) json_object_set_new(p, "cpus", json_integer(cpus));
    if (pages > 0 && page > 0)
        json_object_set_new(p, "mem_total_kb", json_integer((json_int_t)(pages / 1024 * page)));
    return p;
}

static json_t *build_registration(struct runtime *rt)
{
    json_t *apis = json_array();
    for (const char *const *a = rt->type->apis; a && *a; a++)
        json_array_append_new(apis, json_string(*a));
    /* `host` as the original manager reports it: the node's name. */
    char host[256] = "";
    if (gethostname(host, sizeof host - 1) < 0) host[0] = '\0';
    json_t *metadata =
        json_pack("{s:s, s:s, s:s}", "manager", "stratus", "shortname",
                  rt->type->default_shortname ? rt->type->default_shortname : "", "host", host);
    return json_pack("{s:s, s:s, s:s, s:s, s:i, s:o, s:s, s:o, s:o}", "type", "runtime", "uuid",
                     rt->uuid, "name", rt->name, "runtime_type", rt->type->type, "max_nmodules",
                     rt->type->max_nmodules, "apis", apis, "parent", rt->host.manager_uuid,
                     "platform", platform_info(), "metadata", metadata);
}

static void lost(struct runtime *rt, const char *why);

int runtime_start(struct runtime *rt)
{
    if (!rt->registration) {
        rt->registration = build_registration(rt);
        if (!rt->registration) return -1;
    }
    rt->state = RT_RUNNING;
    rt->started_ms = loop_now_ms();
    if (rt->type->ops->start(rt, rt->registration) < 0) {
        slog(SLOG_ERROR, rt->component, "could not start the runtime");
        rt->state = RT_NEW;
        return -1;
    }
    slog(SLOG_INFO, rt->component, "started %s runtime %s (%s)", rt->type->type, rt->name,
         rt->uuid);
    return 0;
}

static void on_restart_timer(void *ctx)
{
    struct runtime *rt = ctx;
    rt->restart_timer = 0;
    if (rt->state != RT_DOWN) return;
    slog(SLOG_INFO, rt->component, "restarting the runtime (attempt %d of %d)", rt->restarts,
         RUNTIME_MAX_RESTARTS);
    rt->state = RT_RUNNING;
    rt->started_ms = loop_now_ms();
    if (rt->type->ops->start(rt, rt->registration) < 0) lost(rt, "restart failed");
}

/* ---- publishing ---- */

/* Publish a control message (stolen): kept across broker outages. Or, with
 * now set, only if it can go out at once (keepalives). */
static void publish_json_how(struct runtime *rt, const char *topic, json_t *msg, int now)
{
    if (!msg) return;
    char *text = json_dumps(msg, JSON_COMPACT);
    int (*fn)(void *, const char *, const void *, size_t, int, const char *) =
        now && rt->host.publish_now ? rt->host.publish_now : rt->host.publish;
    if (text && fn(rt->host.ctx, topic, text, strlen(text), 1, NULL) != 0)
        slog(now ? SLOG_DEBUG : SLOG_ERROR, rt->component, "could not publish a message for %s",
             topic);
    free(text);
    json_decref(msg);
}

static void publish_json(struct runtime *rt, const char *topic, json_t *msg)
{
    publish_json_how(rt, topic, msg, 0);
}

static void respond(struct runtime *rt, const char *object_id, const char *action, int ok,
                    json_t *details)
{
    publish_json(rt, rt->control_topic, envelope_response(object_id, action, ok, details));
}

/* A request the manager cannot act on: logged, and answered with action
 * "error" on the topic it came in on (keeping its object_id when it had
 * one), so the sender learns of it and no one waits for nothing. */
static void publish_error(struct runtime *rt, const char *object_id, const char *action,
                          const char *reason)
{
    slog(SLOG_ERROR, rt->component, "bad request on %s: %s", rt->control_topic, reason);
    json_t *details = json_pack("{s:s}", "reason", reason);
    if (details && action) json_object_set_new(details, "action", json_string(action));
    char oid[UUID_STR_LEN];
    if (!object_id) {
        if (uuid_v4_generate(oid) < 0) oid[0] = '\0';
        object_id = oid;
    }
    json_t *msg = envelope_response(object_id, "error", 0, details);
    publish_json(rt, rt->control_topic, msg);
}

/* ---- default module operations ---- */

/* A direct create of uuid ended within the window and no record of it came
 * yet: forget it and return 1. Cost: the ring's length. */
static int take_recent_end(struct runtime *rt, const char *uuid)
{
    uint64_t now = loop_now_ms();
    for (size_t i = 0; i < RECENT_ENDS; i++)
        if (rt->recent[i].uuid[0] && !strcmp(rt->recent[i].uuid, uuid)) {
            int fresh = now - rt->recent[i].ended_ms <= REPEAT_WINDOW_MS;
            rt->recent[i].uuid[0] = '\0';
            return fresh;
        }
    return 0;
}

/* A module that ran from a client's create ended: its record may follow. */
static void note_end(struct runtime *rt, int index, const char *uuid, const char *status)
{
    if (!rt->notes[index].direct || rt->notes[index].echoed || !uuid) return;
    /* Crashed modules are brought back by the orchestrator: never suppress. */
    if (status && !strcmp(status, "crashed")) return;
    snprintf(rt->recent[rt->recent_next].uuid, UUID_STR_LEN, "%s", uuid);
    rt->recent[rt->recent_next].ended_ms = loop_now_ms();
    rt->recent_next = (rt->recent_next + 1) % RECENT_ENDS;
}

/* Why a runtime that is not running takes no request now, or NULL. */
static const char *not_running_reason(const struct runtime *rt, char *buf, size_t cap)
{
    switch (rt->state) {
    case RT_RUNNING: return NULL;
    case RT_DOWN: return "the runtime crashed and is restarting; try again shortly";
    case RT_GONE:
        snprintf(buf, cap,
                 "the runtime was given up after crashing %d times in a row; restart the "
                 "manager to bring it back",
                 RUNTIME_MAX_RESTARTS + 1);
        return buf;
    case RT_STOPPING:
    case RT_STOPPED: return "the manager is shutting down";
    case RT_NEW: break;
    }
    return "the runtime is not running";
}

/* The file of a create that names it by content: 1 cached (pinned), 0 a
 * transfer under way, -1 with reason. */
static int take_file(struct runtime *rt, int index, const struct module_create *mc,
                     char reason[RUNTIME_REASON_LEN])
{
    if (!rt->host.file_acquire || !rt->host.file_dir) {
        snprintf(reason, RUNTIME_REASON_LEN,
                 "this node keeps no file cache (it has no state directory), so it cannot run "
                 "files named by file_sha256");
        return -1;
    }
    int got = rt->host.file_acquire(rt->host.ctx, rt, mc->file_sha256, mc->file_size, reason);
    if (got < 0) return -1;
    memcpy(rt->files[index].sha256, mc->file_sha256, FILE_HASH_HEX + 1);
    rt->files[index].state = got ? FILE_PINNED : FILE_WAITING;
    return got;
}

/* The module at index is done with its file (its pin, or its wait). */
static void give_back_file(struct runtime *rt, int index)
{
    if (index < 0 || index >= MODULE_TABLE_MAX || rt->files[index].state == FILE_NONE) return;
    int pinned = rt->files[index].state == FILE_PINNED;
    rt->files[index].state = FILE_NONE;
    free(rt->files[index].payload);
    rt->files[index].payload = NULL;
    if (rt->host.file_release)
        rt->host.file_release(rt->host.ctx, rt, rt->files[index].sha256, pinned);
}

int runtime_default_create_module(struct runtime *rt, json_t *data, int *index,
                                  char reason[RUNTIME_REASON_LEN])
{
    struct module_create mc;
    char err[ENVELOPE_ERR_LEN];
    if (envelope_module_create_parse(data, &mc, err) < 0) {
        snprintf(reason, RUNTIME_REASON_LEN, "%s", err);
        return -1;
    }
    if (rt->type->max_nmodules == 0) {
        snprintf(reason, RUNTIME_REASON_LEN, "runtime runs no modules");
        return -1;
    }
    char generated[UUID_STR_LEN];
    const char *uuid = mc.uuid;
    if (!uuid) {
        if (uuid_v4_generate(generated) < 0) {
            snprintf(reason, RUNTIME_REASON_LEN, "no randomness for a module uuid");
            return -1;
        }
        json_object_set_new(data, "uuid", json_string(generated));
        uuid = json_string_value(json_object_get(data, "uuid"));
    }
    char buf[RUNTIME_REASON_LEN];
    const char *why = not_running_reason(rt, buf, sizeof buf);
    if (why) {
        snprintf(reason, RUNTIME_REASON_LEN, "%s", why);
        return -1;
    }
    /* The original orchestrator's stored record of a module carries its
     * state; a client's create does not. */
    int record = json_object_get(data, "status") != NULL;
    int existing = module_table_find(&rt->modules, uuid);
    if (existing >= 0) {
        /* Idempotent: the module already runs with this index. */
        *index = existing;
        if (record) rt->notes[existing].echoed = 1;
        slog(SLOG_INFO, rt->component, "module %s already runs (index %d)", uuid, *index);
        return 0;
    }
    if (record && take_recent_end(rt, uuid)) {
        *index = -1;
        slog(SLOG_INFO, rt->component,
             "create of module %s repeats a direct create that already ran (the orchestrator's "
             "record of it): not run again",
             uuid);
        return 0;
    }
    /* A module's UUID names its topics: it may not be anything else's. */
    if (rt->host.uuid_taken && rt->host.uuid_taken(rt->host.ctx, rt, uuid)) {
        snprintf(reason, RUNTIME_REASON_LEN,
                 "uuid %s is taken on this node (the manager, a runtime or another module)", uuid);
        return -1;
    }
    int rc = module_table_insert(&rt->modules, uuid, index);
    if (rc == MT_ERR_FULL) {
        snprintf(reason, RUNTIME_REASON_LEN, "runtime is full (%d modules)",
                 rt->type->max_nmodules);
        return -1;
    }
    if (rc != MT_OK) {
        snprintf(reason, RUNTIME_REASON_LEN, "invalid module uuid");
        return -1;
    }
    rt->notes[*index].direct = (uint8_t)!record;
    rt->notes[*index].echoed = 0;
    json_object_set_new(data, "index", json_integer(*index));
    char *payload = json_dumps(data, JSON_COMPACT);
    if (!payload) {
        module_table_remove(&rt->modules, *index);
        snprintf(reason, RUNTIME_REASON_LEN, "out of memory");
        return -1;
    }
    if (mc.file_sha256) {
        int got = take_file(rt, *index, &mc, reason);
        if (got < 0) {
            free(payload);
            module_table_remove(&rt->modules, *index);
            return -1;
        }
        if (got == 0) {
            /* Sent to the runtime when the file is here (runtime_file_ready). */
            rt->files[*index].payload = payload;
            slog(SLOG_INFO, rt->component, "module %s (%s) waits for file %.16s... (index %d)",
                 uuid, mc.name ? mc.name : "?", mc.file_sha256, *index);
            return 0;
        }
    }
    if (rt->type->ops->send(rt, (uint8_t)(FRAME_CONTROL | (unsigned)*index), FRAME_CREATE_MODULE,
                            payload, strlen(payload)) < 0) {
        free(payload);
        give_back_file(rt, *index);
        module_table_remove(&rt->modules, *index);
        snprintf(reason, RUNTIME_REASON_LEN, "the runtime cannot take the module now");
        return -1;
    }
    free(payload);
    slog(SLOG_INFO, rt->component, "module %s (%s) created with index %d", uuid,
         mc.name ? mc.name : "?", *index);
    return 0;
}

static void cleanup(struct runtime *rt, int index, json_t *exit_data);

/* A delete whose exit never came: the module is reported killed, its slot
 * freed (a runtime that ignores deletes must not hold it forever). */
static void on_delete_deadline(void *ctx)
{
    struct delete_wait *w = ctx;
    struct runtime *rt = w->rt;
    int index = w->index;
    rt->delete_timer[index] = 0;
    const char *uuid = module_table_uuid(&rt->modules, index);
    if (!uuid) return;
    char reason[160];
    snprintf(reason, sizeof reason,
             "the runtime reported no exit within %.1f s of the delete; reported killed and its "
             "slot freed",
             (double)runtime_delete_timeout_ms(rt) / 1000.0);
    slog(SLOG_WARNING, rt->component, "module %s (index %d): %s", uuid, index, reason);
    json_t *exit_data = json_pack("{s:s, s:s, s:s, s:s}", "type", "module", "uuid", uuid, "status",
                                  "killed", "reason", reason);
    if (exit_data) {
        cleanup(rt, index, exit_data);
        json_decref(exit_data);
    }
}

static void arm_delete_deadline(struct runtime *rt, int index)
{
    if (rt->delete_timer[index]) return; /* the first delete's deadline holds */
    rt->delete_ctx[index].rt = rt;
    rt->delete_ctx[index].index = index;
    loop_timer_add(rt->host.loop, runtime_delete_timeout_ms(rt), on_delete_deadline,
                   &rt->delete_ctx[index], &rt->delete_timer[index]);
}

int runtime_default_delete_module(struct runtime *rt, const char *uuid, int *index,
                                  char reason[RUNTIME_REASON_LEN])
{
    *index = module_table_find(&rt->modules, uuid);
    if (*index < 0) {
        char buf[RUNTIME_REASON_LEN];
        const char *why = not_running_reason(rt, buf, sizeof buf);
        snprintf(reason, RUNTIME_REASON_LEN, "no module %s on this runtime%s%s", uuid,
                 why ? ": " : "", why ? why : "");
        return -1;
    }
    if (rt->files[*index].state == FILE_WAITING) {
        /* Never sent to the runtime: it ends here. */
        json_t *exit_data =
            json_pack("{s:s, s:s, s:s, s:s}", "type", "module", "uuid", uuid, "status", "killed",
                      "reason", "deleted while its file was on its way to the node");
        if (exit_data) cleanup(rt, *index, exit_data);
        json_decref(exit_data);
        return 0;
    }
    if (rt->type->ops->send(rt, (uint8_t)(FRAME_CONTROL | (unsigned)*index), FRAME_DELETE_MODULE,
                            NULL, 0) < 0) {
        snprintf(reason, RUNTIME_REASON_LEN, "the runtime cannot take the request now");
        return -1;
    }
    slog(SLOG_INFO, rt->component, "delete of module %s (index %d) sent", uuid, *index);
    arm_delete_deadline(rt, *index);
    return 0;
}

void runtime_default_cleanup_module(struct runtime *rt, int index, json_t *exit_data)
{
    publish_json(rt, rt->control_topic, envelope_request(NULL, "exited", json_incref(exit_data)));
    if (rt->host.channels) channels_close_module(rt->host.channels, rt, index);
    module_table_remove(&rt->modules, index);
}

static void cleanup(struct runtime *rt, int index, json_t *exit_data)
{
    if (index >= 0 && index < MODULE_TABLE_MAX && rt->delete_timer[index]) {
        loop_timer_cancel(rt->host.loop, rt->delete_timer[index]);
        rt->delete_timer[index] = 0;
    }
    const char *status = json_string_value(json_object_get(exit_data, "status"));
    const char *uuid = json_string_value(json_object_get(exit_data, "uuid"));
    slog(SLOG_INFO, rt->component, "module %s (index %d) ended: %s", uuid ? uuid : "?", index,
         status ? status : "no status");
    if (rt->state == RT_RUNNING) note_end(rt, index, uuid, status);
    give_back_file(rt, index);
    if (rt->type->ops->cleanup_module)
        rt->type->ops->cleanup_module(rt, index, exit_data);
    else
        runtime_default_cleanup_module(rt, index, exit_data);
}

void runtime_file_ready(struct runtime *rt, const char *sha256, int ok, const char *reason)
{
    for (int i = 0; i < rt->modules.capacity && i < MODULE_TABLE_MAX; i++) {
        if (rt->files[i].state != FILE_WAITING || strcmp(rt->files[i].sha256, sha256)) continue;
        const char *uuid = module_table_uuid(&rt->modules, i);
        if (!uuid) continue;
        const char *why = reason;
        if (ok) {
            rt->files[i].state = FILE_PINNED;
            char *payload = rt->files[i].payload;
            rt->files[i].payload = NULL;
            int sent = rt->state == RT_RUNNING &&
                       rt->type->ops->send(rt, (uint8_t)(FRAME_CONTROL | (unsigned)i),
                                           FRAME_CREATE_MODULE, payload, strlen(payload)) == 0;
            free(payload);
            if (sent) {
                slog(SLOG_INFO, rt->component, "module %s (index %d): its file is here, started",
                     uuid, i);
                continue;
            }
            why = "the runtime cannot take the module now";
        }
        json_t *exit_data = json_pack("{s:s, s:s, s:s, s:s}", "type", "module", "uuid", uuid,
                                      "status", "failed", "reason", why ? why : "no file");
        if (exit_data) cleanup(rt, i, exit_data);
        json_decref(exit_data);
    }
}

/* ---- control requests from MQTT ---- */

static void handle_create(struct runtime *rt, struct envelope *env)
{
    char reason[RUNTIME_REASON_LEN] = "";
    int index = -1;
    int rc = rt->type->ops->create_module
                 ? rt->type->ops->create_module(rt, env->data, &index, reason)
                 : runtime_default_create_module(rt, env->data, &index, reason);
    json_t *uuid = json_object_get(env->data, "uuid");
    json_t *details = json_object();
    if (json_is_string(uuid)) json_object_set(details, "uuid", uuid);
    if (rc == 0 && index >= 0) {
        json_object_set_new(details, "index", json_integer(index));
    } else if (rc == 0) {
        /* The repeat of a direct create that already ran. */
        json_object_set_new(details, "repeat", json_true());
    } else {
        json_object_set_new(details, "reason", json_string(reason));
        slog(SLOG_WARNING, rt->component, "create refused: %s", reason);
    }
    respond(rt, env->object_id, "create", rc == 0, details);
}

static void handle_delete(struct runtime *rt, struct envelope *env)
{
    char reason[RUNTIME_REASON_LEN] = "";
    char err[ENVELOPE_ERR_LEN];
    const char *uuid = NULL;
    int index = -1, rc;
    if (envelope_module_delete_parse(env->data, &uuid, err) < 0) {
        snprintf(reason, sizeof reason, "%s", err);
        rc = -1;
    } else {
        rc = rt->type->ops->delete_module ? rt->type->ops->delete_module(rt, uuid, &index, reason)
                                          : runtime_default_delete_module(rt, uuid, &index, reason);
    }
    /* A delete carried out is answered by the module's exited message
     * alone: the original orchestrator refuses delete responses (it
     * publishes an error for each). A refused one is answered. */
    if (rc == 0) return;
    json_t *details = json_object();
    if (uuid) json_object_set_new(details, "uuid", json_string(uuid));
    json_object_set_new(details, "reason", json_string(reason));
    slog(SLOG_WARNING, rt->component, "delete refused: %s", reason);
    respond(rt, env->object_id, "delete", 0, details);
}

/* The object_id of a request that failed validation, if it has one. */
static char *salvage_object_id(const void *payload, size_t len)
{
    json_t *root = json_loadb(payload, len, 0, NULL);
    const char *oid = json_string_value(json_object_get(root, "object_id"));
    char *copy = oid ? strdup(oid) : NULL;
    json_decref(root);
    return copy;
}

void runtime_handle_control(struct runtime *rt, const void *payload, size_t len)
{
    struct envelope env;
    char err[ENVELOPE_ERR_LEN];
    if (envelope_parse(payload, len, &env, err) < 0) {
        char *oid = salvage_object_id(payload, len);
        publish_error(rt, oid, NULL, err);
        free(oid);
        return;
    }
    if (env.type == ENVELOPE_RESP) {
        /* Answers (ours, when the broker lacks no-local) are not requests. */
        envelope_clear(&env);
        return;
    }
    if (!strcmp(env.action, "create")) {
        handle_create(rt, &env);
    } else if (!strcmp(env.action, "delete")) {
        handle_delete(rt, &env);
    } else if (!strcmp(env.action, "exited") || !strcmp(env.action, "error")) {
        /* What this manager itself publishes here; nothing to do. */
    } else {
        char reason[RUNTIME_REASON_LEN];
        snprintf(reason, sizeof reason, "unknown action '%.64s'", env.action);
        publish_error(rt, env.object_id, env.action, reason);
    }
    envelope_clear(&env);
}

/* ---- messages from the runtime ---- */

static int is_power_of_two(size_t n)
{
    return n && !(n & (n - 1));
}

/* Length of the UTF-8 sequence at p (at most n bytes) if it is well formed
 * and encodes a printable code point (not a C1 control, surrogate or
 * overlong form), else 0. */
static size_t printable_utf8(const uint8_t *p, size_t n)
{
    size_t len = p[0] >= 0xF0 ? 4 : p[0] >= 0xE0 ? 3 : p[0] >= 0xC2 ? 2 : 0;
    if (!len || len > n || p[0] > 0xF4) return 0;
    uint32_t cp = p[0] & (0x7F >> len);
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xC0) != 0x80) return 0;
        cp = cp << 6 | (p[i] & 0x3F);
    }
    static const uint32_t least[] = {0, 0, 0xA0, 0x800, 0x10000};
    if (cp < least[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return len;
}

/* Log text from a runtime made safe for a one-line log: control characters
 * become spaces, printable UTF-8 stays, every other byte is written \xNN.
 * Returns the input bytes taken (all of them unless out filled up). */
static size_t clean_log_text(const uint8_t *p, size_t len, char *out, size_t cap)
{
    size_t i = 0, o = 0;
    while (i < len) {
        size_t u = p[i] >= 0x80 ? printable_utf8(p + i, len - i) : 0;
        size_t need = p[i] < 0x80 ? 1 : u ? u : 4;
        if (o + need >= cap) break;
        if (p[i] < 0x80)
            out[o++] = (p[i] < 0x20 || p[i] == 0x7f) ? ' ' : (char)p[i];
        else if (u)
            memcpy(out + o, p + i, u), o += u;
        else
            o += (size_t)snprintf(out + o, cap - o, "\\x%02x", p[i]);
        i += p[i] < 0x80 || !u ? 1 : u;
    }
    out[o] = '\0';
    return i;
}

/* Log text from a runtime: the level byte (PROTOCOL.md §6), and the text made
 * safe for a one-line log. */
static void log_frame(struct runtime *rt, const char *prefix, const uint8_t *p, size_t len)
{
    int level = SLOG_DEBUG;
    if (len && (p[0] & 0x80)) {
        level = p[0] & 0x7f;
        p++;
        len--;
        if (level < SLOG_DEBUG) level = SLOG_DEBUG;
    }
    while (len && (p[len - 1] == '\n' || p[len - 1] == '\r'))
        len--;
    char text[1024];
    size_t n = clean_log_text(p, len, text, sizeof text);
    slog(level, rt->rt_component, "%s%s%s", prefix, text, n < len ? " [...]" : "");
}

/* Publish a keepalive: {type, uuid, name, apis} plus what the runtime sent
 * (extra, borrowed, may be NULL); the manager's fields win. */
static void publish_keepalive(struct runtime *rt, json_t *extra)
{
    json_t *data = json_pack("{s:s, s:s, s:s, s:O}", "type", "runtime", "uuid", rt->uuid, "name",
                             rt->name, "apis", json_object_get(rt->registration, "apis"));
    if (!data) return;
    json_object_set_new(data, "output_dropped", json_integer((json_int_t)rt->output_dropped));
    if (extra) json_object_update_missing(data, extra);
    char topic[TOPIC_LAYOUT_MAX];
    if (topic_format(topic, sizeof topic, rt->host.realm, TOPIC_KEEPALIVE, rt->uuid) < 0) {
        json_decref(data);
        return;
    }
    publish_json_how(rt, topic, envelope_request(NULL, "update", data), 1);
    rt->last_ka_ms = loop_now_ms();
}

static void handle_keepalive(struct runtime *rt, const struct frame_message *msg)
{
    json_t *extra = json_loadb((const char *)msg->payload, msg->len, 0, NULL);
    if (!json_is_object(extra)) {
        slog(SLOG_WARNING, rt->component, "keepalive is not a JSON object; ignored");
        json_decref(extra);
        return;
    }
    publish_keepalive(rt, extra);
    json_decref(extra);
}

void runtime_set_keepalive_interval(struct runtime *rt, uint64_t interval_ms)
{
    rt->ka_interval_ms = interval_ms;
}

void runtime_keepalive_tick(struct runtime *rt, uint64_t now_ms)
{
    /* Runtimes that send their own keepalives often enough get none extra. */
    if (rt->ka_interval_ms && rt->state == RT_RUNNING &&
        now_ms - rt->last_ka_ms >= rt->ka_interval_ms)
        publish_keepalive(rt, NULL);
}

static void handle_exited(struct runtime *rt, int index, const struct frame_message *msg)
{
    const char *uuid = module_table_uuid(&rt->modules, index);
    if (!uuid) {
        slog(SLOG_WARNING, rt->component, "exit of unknown module index %d ignored", index);
        return;
    }
    json_t *exit_data = json_loadb((const char *)msg->payload, msg->len, 0, NULL);
    if (!json_is_object(exit_data)) {
        json_decref(exit_data);
        exit_data = json_pack("{s:s, s:s}", "status", "failed", "reason",
                              "the runtime reported the exit with a message that is not a "
                              "JSON object");
        slog(SLOG_WARNING, rt->component, "module %s: exit message is not a JSON object", uuid);
    }
    if (!exit_data) return;
    /* The manager knows which module this is; the runtime cannot say otherwise. */
    json_object_set_new(exit_data, "type", json_string("module"));
    json_object_set_new(exit_data, "uuid", json_string(uuid));
    cleanup(rt, index, exit_data);
    json_decref(exit_data);
}

static void handle_profile(struct runtime *rt, int index, const struct frame_message *msg)
{
    const char *uuid = module_table_uuid(&rt->modules, index);
    if (!uuid) return;
    char topic[TOPIC_LAYOUT_MAX];
    if (topic_format_profile(topic, sizeof topic, rt->host.realm,
                             rt->type->profile_type ? rt->type->profile_type : "deployed", rt->uuid,
                             uuid) < 0)
        return;
    rt->host.publish(rt->host.ctx, topic, msg->payload, msg->len, 0, uuid);
}

void runtime_handle_frame(struct runtime *rt, const struct frame_message *msg)
{
    int index = msg->h1 & FRAME_INDEX_MASK;
    if (!(msg->h1 & FRAME_CONTROL)) {
        int rc =
            module_table_uuid(&rt->modules, index)
                ? channels_publish(rt->host.channels, rt, index, msg->h2, msg->payload, msg->len)
                : CH_ERR_UNKNOWN;
        /* Logged at powers of two so a flood cannot flood the log. */
        if (rc != CH_OK && is_power_of_two(++rt->dropped_out))
            slog(SLOG_WARNING, rt->component,
                 "message of module %d on channel %d dropped: %s (%zu so far)", index, msg->h2,
                 channels_strerror(rc), rt->dropped_out);
        return;
    }
    const char *uuid = module_table_uuid(&rt->modules, index);
    switch (msg->h2) {
    case FRAME_KEEPALIVE: handle_keepalive(rt, msg); break;
    case FRAME_RUNTIME_LOG: log_frame(rt, "", msg->payload, msg->len); break;
    case FRAME_MODULE_EXITED: handle_exited(rt, index, msg); break;
    case FRAME_OPEN_CHANNEL:
        if (!uuid || msg->len < 2) {
            slog(SLOG_WARNING, rt->component, "bad open-channel message for module %d", index);
            break;
        }
        channels_open(rt->host.channels, rt, index, uuid, msg->payload[0], msg->payload[1],
                      (const char *)msg->payload + 2, msg->len - 2);
        break;
    case FRAME_CLOSE_CHANNEL:
        if (!uuid || msg->len < 1 ||
            channels_close(rt->host.channels, rt, index, msg->payload[0]) != CH_OK)
            slog(SLOG_WARNING, rt->component, "bad close-channel message for module %d", index);
        break;
    case FRAME_MODULE_LOG: {
        char prefix[64];
        snprintf(prefix, sizeof prefix, "[%d:%.8s] ", index, uuid ? uuid : "?");
        log_frame(rt, prefix, msg->payload, msg->len);
        break;
    }
    case FRAME_PROFILE: handle_profile(rt, index, msg); break;
    default:
        slog(SLOG_WARNING, rt->component, "unknown control code 0x%02x from the runtime", msg->h2);
    }
}

void runtime_frames_ready(struct runtime *rt)
{
    struct frame_message msg;
    /* The state check stops draining when handling a message ended the
     * runtime (nothing does today, but a backend may). */
    while ((rt->state == RT_RUNNING || rt->state == RT_STOPPING) &&
           rt->type->ops->receive(rt, &msg) == RUNTIME_RECV_FRAME)
        runtime_handle_frame(rt, &msg);
}

void runtime_deliver(struct runtime *rt, int module, int channel, const void *payload, size_t len)
{
    if (rt->state != RT_RUNNING) return;
    if (rt->type->ops->send(rt, (uint8_t)module, (uint8_t)channel, payload, len) < 0 &&
        is_power_of_two(++rt->dropped_in))
        slog(SLOG_WARNING, rt->component,
             "runtime does not keep up: channel message dropped (%zu so far)", rt->dropped_in);
}

/* ---- crashes, restarts, stopping ---- */

static void report_all(struct runtime *rt, const char *status, const char *reason)
{
    for (int i = 0; i < rt->modules.capacity; i++) {
        const char *uuid = module_table_uuid(&rt->modules, i);
        if (!uuid) continue;
        json_t *exit_data = json_pack("{s:s, s:s, s:s, s:s}", "type", "module", "uuid", uuid,
                                      "status", status, "reason", reason);
        if (exit_data) {
            cleanup(rt, i, exit_data);
            json_decref(exit_data);
        } else {
            module_table_remove(&rt->modules, i);
        }
    }
}

static void lost(struct runtime *rt, const char *why)
{
    rt->state = RT_DOWN;
    report_all(rt, "crashed", why);
    if (rt->host.channels) channels_close_owner(rt->host.channels, rt);
    if (loop_now_ms() - rt->started_ms > RESTART_BUDGET_RESET_MS) rt->restarts = 0;
    if (rt->restarts < RUNTIME_MAX_RESTARTS) {
        uint64_t delay = (uint64_t)RESTART_BASE_DELAY_MS << rt->restarts;
        rt->restarts++;
        slog(SLOG_WARNING, rt->component, "runtime died (%s); restart in %llu ms", why,
             (unsigned long long)delay);
        loop_timer_add(rt->host.loop, delay, on_restart_timer, rt, &rt->restart_timer);
    } else {
        rt->state = RT_GONE;
        slog(SLOG_ERROR, rt->component, "runtime died (%s) %d times; giving it up", why,
             rt->restarts + 1);
        if (rt->host.runtime_gone) rt->host.runtime_gone(rt->host.ctx, rt);
    }
}

void runtime_connection_lost(struct runtime *rt, const char *why)
{
    if (rt->state != RT_RUNNING) return;
    lost(rt, why);
}

int runtime_child_exited(struct runtime *rt, pid_t pid, int status)
{
    return rt->type->ops->child_exited ? rt->type->ops->child_exited(rt, pid, status) : 0;
}

void runtime_shutdown(struct runtime *rt)
{
    if (rt->state == RT_STOPPING || rt->state == RT_STOPPED) return;
    if (rt->restart_timer) {
        loop_timer_cancel(rt->host.loop, rt->restart_timer);
        rt->restart_timer = 0;
    }
    report_all(rt, "killed", "the manager is shutting down");
    rt->state = RT_STOPPING;
    if (rt->type->ops->stop)
        rt->type->ops->stop(rt);
    else
        runtime_stopped(rt);
}

void runtime_stopped(struct runtime *rt)
{
    if (rt->state == RT_STOPPED) return;
    rt->state = RT_STOPPED;
    if (rt->host.channels) channels_close_owner(rt->host.channels, rt);
    slog(SLOG_DEBUG, rt->component, "stopped");
    if (rt->host.runtime_stopped) rt->host.runtime_stopped(rt->host.ctx, rt);
}
