/* Messages to the orchestrator (PROTOCOL.md §4): registrations, keepalives,
 * module requests on {realm}/proc/control, and what managers and others say
 * on {realm}/proc/control/{runtime} (exits, answers, direct creates). Every
 * message is checked before it changes anything; bad input is answered on
 * {realm}/proc/log/orchestrator. One store transaction per message. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "orc_internal.h"
#include "slog.h"
#include "stratus/envelope.h"
#include "stratus/file_transfer.h"
#include "stratus/topic.h"
#include "stratus/uuid.h"

/* A create_batch holds at most this many modules. */
#define ORC_MAX_BATCH 1024

void orc_count(struct orc *o, const char *action, int ok)
{
    for (size_t i = 0; i < o->nrequests; i++) {
        struct orc_request_count *c = &o->requests[i];
        if (c->ok == ok && !strcmp(c->action, action)) {
            c->count++;
            return;
        }
    }
    /* Only known actions are counted by name; the table cannot fill up. */
    if (o->nrequests == sizeof o->requests / sizeof o->requests[0]) return;
    struct orc_request_count *c = &o->requests[o->nrequests++];
    snprintf(c->action, sizeof c->action, "%s", action);
    c->ok = ok;
    c->count = 1;
}

int orc_file_in_use(const struct orc *o, const char *sha256)
{
    /* Every module that has not ended is in memory (ended ones may be
     * too): a walk of the UUID map's slots. Cost: O(modules in memory). */
    const struct strmap *map = &o->module_by_uuid;
    for (size_t i = 0; i < map->cap; i++) {
        const struct orc_module *m = map->keys[i] ? map->values[i] : NULL;
        if (m && m->state != MOD_DEAD && m->file_sha256 && !strcmp(m->file_sha256, sha256))
            return 1;
    }
    return 0;
}

int orc_broker_connected(struct orc *o)
{
    return o->io.connected ? o->io.connected(o->io.ctx) : o->connected;
}

void orc_report_error(struct orc *o, const char *topic, const char *object_id, const char *action,
                      const char *reason)
{
    o->bad_messages++;
    slog(SLOG_WARNING, "orc", "bad request on %s%s%s: %s", topic, object_id ? " object_id " : "",
         object_id ? object_id : "", reason);
    json_t *details = json_pack("{s:s, s:s}", "reason", reason, "topic", topic);
    if (details && object_id) json_object_set_new(details, "object_id", json_string(object_id));
    if (details && action) json_object_set_new(details, "action", json_string(action));
    char oid[UUID_STR_LEN], log_topic[TOPIC_LAYOUT_MAX];
    if (!object_id) {
        if (uuid_v4_generate(oid) < 0) oid[0] = '\0';
        object_id = oid;
    }
    json_t *msg = envelope_response(object_id, "error", 0, details);
    if (msg && topic_format(log_topic, sizeof log_topic, o->realm, TOPIC_LOG, "orchestrator") == 0)
        o->io.publish(o->io.ctx, log_topic, msg);
    json_decref(msg);
}

static void answer(struct orc *o, const char *topic, const struct envelope *env, int ok,
                   json_t *details)
{
    json_t *msg = envelope_response(env->object_id, env->action, ok, details);
    if (msg) o->io.publish(o->io.ctx, topic, msg);
    json_decref(msg);
}

/* Refuse a request: answered on its topic, and reported on the log topic. */
static void refuse(struct orc *o, const char *topic, const struct envelope *env, const char *reason)
{
    answer(o, topic, env, 0, json_pack("{s:s}", "reason", reason));
    orc_report_error(o, topic, env->object_id, env->action, reason);
    orc_count(o, env->action, 0);
}

/* The object_id of a message that failed validation, if it has a readable one. */
static char *salvage_object_id(const void *payload, size_t len)
{
    json_t *root = json_loadb(payload, len, 0, NULL);
    const char *oid = json_string_value(json_object_get(root, "object_id"));
    char *copy = oid ? strndup(oid, 64) : NULL;
    json_decref(root);
    return copy;
}

/* Read an optional string field: absent or null leaves *out NULL. */
static int opt_string(json_t *obj, const char *field, const char **out, char *err)
{
    json_t *v = json_object_get(obj, field);
    *out = NULL;
    if (!v || json_is_null(v)) return 0;
    if (!json_is_string(v)) {
        snprintf(err, ORC_ERR_LEN, "field 'data.%s' must be a string, not %s", field,
                 json_kind_name(v));
        return -1;
    }
    *out = json_string_value(v);
    return 0;
}

static int req_string(json_t *obj, const char *field, const char **out, char *err)
{
    if (opt_string(obj, field, out, err) < 0) return -1;
    if (!*out || !**out) {
        snprintf(err, ORC_ERR_LEN, "missing field 'data.%s'", field);
        return -1;
    }
    return 0;
}

/* ---- registration ---- */

static json_t *with_ka(struct orc *o, json_t *details)
{
    if (details) json_object_set_new(details, "ka_interval_sec", json_integer(o->ka_interval_sec));
    return details;
}

static int register_manager(struct orc *o, const char *uuid, json_t *data, json_t **details,
                            char *err)
{
    const char *name;
    if (req_string(data, "name", &name, err) < 0) return -1;
    struct orc_manager *m = orc_manager_get(o, uuid);
    if (!m && orc_add_manager(o, uuid, &m) < 0) goto oom;
    if (orc_set_str(&m->name, name) < 0) goto oom;
    double now = orc_wall(o);
    if (!m->registered_at) m->registered_at = now;
    m->seen_at = now;
    if (!m->alive) slog(SLOG_INFO, "orc", "manager %s (%s) registered", name, uuid);
    m->alive = 1;
    orc_mark_manager(o, m);
    *details = with_ka(o, orc_manager_json(o, m));
    return 0;
oom:
    snprintf(err, ORC_ERR_LEN, "out of memory");
    return -1;
}

static int check_apis(json_t *apis, char *err)
{
    if (!apis || json_is_null(apis)) return 0;
    if (!json_is_array(apis)) {
        snprintf(err, ORC_ERR_LEN, "field 'data.apis' must be an array, not %s",
                 json_kind_name(apis));
        return -1;
    }
    size_t i;
    json_t *a;
    json_array_foreach(apis, i, a) if (!json_is_string(a))
    {
        snprintf(err, ORC_ERR_LEN, "field 'data.apis[%zu]' must be a string, not %s", i,
                 json_kind_name(a));
        return -1;
    }
    return 0;
}

static int register_runtime(struct orc *o, const char *uuid, json_t *data, json_t **details,
                            struct orc_runtime **up, char *err)
{
    const char *name, *type, *parent;
    json_t *max = json_object_get(data, "max_nmodules");
    json_t *apis = json_object_get(data, "apis");
    if (req_string(data, "name", &name, err) < 0 ||
        opt_string(data, "runtime_type", &type, err) < 0 ||
        opt_string(data, "parent", &parent, err) < 0 || check_apis(apis, err) < 0)
        return -1;
    if (max && !json_is_null(max) &&
        (!json_is_integer(max) || json_integer_value(max) < 0 ||
         json_integer_value(max) > 1000000)) {
        snprintf(err, ORC_ERR_LEN, "field 'data.max_nmodules' must be an integer 0-1000000");
        return -1;
    }
    char **apiv = orc_module_apis(data);
    char *text = json_dumps(data, JSON_COMPACT);
    struct orc_runtime *r = orc_runtime_get(o, uuid);
    if (!apiv || !text || (!r && orc_add_runtime(o, uuid, &r) < 0) ||
        orc_set_str(&r->name, name) < 0 || orc_set_str(&r->runtime_type, type) < 0) {
        orc_strv_free(apiv);
        free(text);
        snprintf(err, ORC_ERR_LEN, "out of memory");
        return -1;
    }
    orc_strv_free(r->apis);
    r->apis = apiv;
    free(r->registration);
    r->registration = text;
    r->max_nmodules = max && json_is_integer(max) ? (int)json_integer_value(max) : 1;
    snprintf(r->manager_uuid, sizeof r->manager_uuid, "%s",
             parent && uuid_is_valid(parent) ? parent : "");
    double now = orc_wall(o);
    if (!r->registered_at) r->registered_at = now;
    r->last_seen = now;
    if (!r->alive)
        slog(SLOG_INFO, "orc", "runtime %s (%s, %s, %d modules) registered", name, uuid,
             type ? type : "?", r->max_nmodules);
    r->alive = 1;
    /* Silence ends only runtimes known to send keepalives: the minimal
     * runtimes of an original manager never do (their end is their
     * manager's last will). */
    if (o->ka_interval_sec > 0 && r->keepalives)
        r->ka_deadline_ms = orc_now(o) + 3000u * (uint64_t)o->ka_interval_sec;
    orc_mark_runtime(o, r);
    *details = with_ka(o, orc_runtime_json(o, r, 1));
    *up = r;
    return 0;
}

static void unregister(struct orc *o, const char *type, const char *uuid, json_t **details, int *ok)
{
    *ok = 0;
    if (!strcmp(type, "manager")) {
        struct orc_manager *m = orc_manager_get(o, uuid);
        if (!m) {
            *details = json_pack("{s:s}", "reason", "unknown manager");
            return;
        }
        if (m->alive) slog(SLOG_INFO, "orc", "manager %s (%s) ended", m->name, uuid);
        m->alive = 0;
        m->seen_at = orc_wall(o);
        orc_mark_manager(o, m);
        char why[256];
        snprintf(why, sizeof why, "its manager %s ended", m->name ? m->name : uuid);
        for (size_t i = 0; i < o->runtimes.n; i++) {
            struct orc_runtime *r = o->runtimes.v[i];
            if (!strcmp(r->manager_uuid, uuid)) orc_runtime_down(o, r, why);
        }
        *details = orc_manager_json(o, m);
    } else {
        struct orc_runtime *r = orc_runtime_get(o, uuid);
        if (!r) {
            *details = json_pack("{s:s}", "reason", "unknown runtime");
            return;
        }
        orc_runtime_down(o, r, "unregistered");
        *details = orc_runtime_json(o, r, 1);
    }
    *ok = 1;
}

static void on_reg(struct orc *o, const char *topic, const char *uuid, struct envelope *env)
{
    char err[ORC_ERR_LEN];
    int is_create = !strcmp(env->action, "create");
    if (!is_create && strcmp(env->action, "delete")) {
        snprintf(err, sizeof err,
                 "unknown action '%.64s' on a registration topic (expected create or delete)",
                 env->action);
        refuse(o, topic, env, err);
        return;
    }
    const char *type, *data_uuid;
    if (req_string(env->data, "type", &type, err) < 0 ||
        opt_string(env->data, "uuid", &data_uuid, err) < 0) {
        refuse(o, topic, env, err);
        return;
    }
    if (strcmp(type, "manager") && strcmp(type, "runtime")) {
        refuse(o, topic, env, "field 'data.type' must be 'manager' or 'runtime'");
        return;
    }
    if (!uuid_is_valid(uuid)) {
        refuse(o, topic, env, "the topic does not end in a UUID");
        return;
    }
    if (data_uuid && strcmp(data_uuid, uuid)) {
        snprintf(err, sizeof err, "field 'data.uuid' (%.40s) is not the topic's UUID (%s)",
                 data_uuid, uuid);
        refuse(o, topic, env, err);
        return;
    }
    json_t *details = NULL;
    if (!is_create) {
        int ok;
        unregister(o, type, uuid, &details, &ok);
        answer(o, topic, env, ok, details);
        orc_count(o, "unregister", ok);
        return;
    }
    struct orc_runtime *up = NULL;
    int rc = !strcmp(type, "manager") ? register_manager(o, uuid, env->data, &details, err)
                                      : register_runtime(o, uuid, env->data, &details, &up, err);
    if (rc < 0) {
        refuse(o, topic, env, err);
        return;
    }
    answer(o, topic, env, 1, details);
    orc_count(o, "register", 1);
    /* After the answer: the killed modules of a runtime that came back, and
     * what waits for room. */
    if (up) orc_runtime_up(o, up);
}

/* ---- keepalives ---- */

static void update_children(struct orc *o, struct orc_runtime *r, json_t *children)
{
    size_t i;
    json_t *c;
    json_array_foreach(children, i, c)
    {
        struct orc_module *m =
            orc_module_get(o, json_string_value(json_object_get(c, "uuid")) ?: "");
        if (!m || m->runtime != r) continue;
        json_t *active = json_object_get(c, "active"),
               *cpu = json_object_get(c, "cpu_usage_percent");
        json_t *mem = json_object_get(c, "mem_usage");
        if (!json_is_boolean(active) && !json_is_number(cpu) && !json_is_integer(mem)) continue;
        struct orc_module_detail *d = orc_detail(o, m);
        if (json_is_boolean(active)) d->active = json_is_true(active);
        if (json_is_number(cpu)) d->cpu_usage_percent = json_number_value(cpu);
        if (json_is_integer(mem)) d->mem_usage = json_integer_value(mem);
        orc_mark_module(o, m);
    }
}

static void on_keepalive(struct orc *o, const char *topic, const char *uuid, struct envelope *env)
{
    if (strcmp(env->action, "update")) {
        char err[ORC_ERR_LEN];
        snprintf(err, sizeof err, "unknown action '%.64s' on a keepalive topic (expected update)",
                 env->action);
        orc_report_error(o, topic, env->object_id, env->action, err);
        orc_count(o, "keepalive", 0);
        return;
    }
    json_t *children = json_object_get(env->data, "children");
    if (children && !json_is_array(children)) {
        orc_report_error(o, topic, env->object_id, env->action,
                         "field 'data.children' must be an array");
        orc_count(o, "keepalive", 0);
        return;
    }
    struct orc_runtime *r = orc_runtime_get(o, uuid);
    if (!r) {
        slog(SLOG_DEBUG, "orc", "keepalive of unknown runtime %s ignored", uuid);
        return;
    }
    orc_count(o, "keepalive", 1);
    r->last_seen = orc_wall(o);
    r->keepalives = 1;
    if (o->ka_interval_sec > 0)
        r->ka_deadline_ms = orc_now(o) + 3000u * (uint64_t)o->ka_interval_sec;
    orc_mark_runtime(o, r);
    if (children) update_children(o, r, children);
    if (!r->alive) {
        slog(SLOG_INFO, "orc", "runtime %s (%s) is heard again", r->name, r->uuid);
        r->alive = 1;
        orc_runtime_up(o, r);
    }
}

/* ---- module requests ---- */

/* Start a new run of module uuid (recorded anew, or an ended record
 * reused) from a create: its name, file, pin, data text and apis (both
 * taken, freed on failure), every field of an earlier run cleared. Returns
 * 0 and *out, or -1 on OOM. */
static int begin_run(struct orc *o, const char *uuid, const struct module_create *mc,
                     const char *pinned, char *text, char **apis, struct orc_module **out)
{
    struct orc_module *m = orc_module_get(o, uuid);
    int is_new = !m, runs = 0;
    if (!text || !apis || (!m && orc_add_module(o, uuid, &m) < 0)) {
        free(text);
        orc_strv_free(apis);
        return -1;
    }
    if (!is_new) runs = orc_detail(o, m)->runs;
    struct orc_module_detail *d = orc_detail_new(o, m);
    if (d->unreadable || orc_set_str(&d->name, mc->name) < 0 ||
        orc_set_str(&d->file, mc->file) < 0 || orc_set_str(&d->pinned, pinned) < 0) {
        free(text);
        orc_strv_free(apis);
        return -1;
    }
    d->data = text;
    orc_strv_free(m->apis);
    m->apis = apis;
    free(m->file_sha256);
    m->file_sha256 = mc->file_sha256 ? strdup(mc->file_sha256) : NULL;
    if (mc->file_sha256 && !m->file_sha256) return -1;
    m->pinned = pinned != NULL;
    d->created_at = orc_wall(o);
    d->runs = runs + 1;
    d->active = -1;
    m->wait_since_ms = orc_now(o);
    m->queue_seq = 0;
    if (!is_new) orc_module_reset_output(o, m);
    *out = m;
    return 0;
}

/* Create one module from create data (borrowed; its top level gains "type"
 * when absent and "uuid"). */
static int create_module(struct orc *o, json_t *data, json_t **record, char *err)
{
    if (!json_is_object(data)) {
        snprintf(err, ORC_ERR_LEN, "the create data must be a JSON object");
        return ORC_BAD_REQUEST;
    }
    /* The type may be left out: the create of a module is meant. */
    if (!json_object_get(data, "type")) json_object_set_new(data, "type", json_string("module"));
    struct module_create mc;
    char perr[ENVELOPE_ERR_LEN];
    if (envelope_module_create_parse(data, &mc, perr) < 0) {
        snprintf(err, ORC_ERR_LEN, "%s", perr);
        return ORC_BAD_REQUEST;
    }
    json_t *pv = json_object_get(data, "parent");
    if (pv && !json_is_null(pv) && !json_is_string(pv)) {
        snprintf(err, ORC_ERR_LEN, "field 'parent' must be a string, not %s", json_kind_name(pv));
        return ORC_BAD_REQUEST;
    }
    if (mc.file_sha256 && o->io.file_use) {
        uint64_t size;
        if (o->io.file_use(o->io.ctx, mc.file_sha256, &size) < 0) {
            snprintf(err, ORC_ERR_LEN,
                     "no file %s in the module store: upload it first (POST /api/files/)",
                     mc.file_sha256);
            return ORC_BAD_REQUEST;
        }
        if (mc.file_size && mc.file_size != size) {
            snprintf(err, ORC_ERR_LEN,
                     "field 'file_size' is %llu, but the stored file %.16s... has %llu bytes",
                     (unsigned long long)mc.file_size, mc.file_sha256, (unsigned long long)size);
            return ORC_BAD_REQUEST;
        }
        /* The node checks its limits before it fetches anything. */
        json_object_set_new(data, "file_size", json_integer((json_int_t)size));
    }
    const char *parent = json_string_value(pv);
    if (parent && !*parent) parent = NULL;
    struct orc_runtime *pinned = NULL;
    char **apis = orc_module_apis(data);
    int rc = apis ? ORC_OK : ORC_INTERNAL;
    if (rc == ORC_OK && parent && (rc = orc_find_runtime(o, parent, &pinned, err)) == ORC_OK)
        rc = orc_pin_check(pinned, apis, err);
    char uuid[UUID_STR_LEN];
    if (rc == ORC_OK) {
        if (mc.uuid)
            snprintf(uuid, sizeof uuid, "%s", mc.uuid);
        else if (uuid_v4_generate(uuid) < 0)
            rc = ORC_INTERNAL;
    }
    struct orc_module *m = rc == ORC_OK ? orc_module_lookup(o, uuid) : NULL;
    if (m && m->state != MOD_DEAD) {
        snprintf(err, ORC_ERR_LEN, "module %s already exists (state %s)", uuid,
                 orc_state_name(m->state));
        rc = ORC_CONFLICT;
    }
    if (rc != ORC_OK) {
        if (rc == ORC_INTERNAL) snprintf(err, ORC_ERR_LEN, "out of memory");
        orc_strv_free(apis);
        return rc;
    }
    /* mc.name, mc.file and parent point into values of data that setting
     * "uuid" leaves alone (mc.uuid was copied above). */
    json_object_set_new(data, "uuid", json_string(uuid));
    if (begin_run(o, uuid, &mc, parent, json_dumps(data, JSON_COMPACT), apis, &m) < 0) {
        snprintf(err, ORC_ERR_LEN, "out of memory");
        return ORC_INTERNAL;
    }
    orc_place_new(o, m, pinned, data);
    orc_mark_module(o, m);
    *record = orc_module_json_data(o, m, data);
    return ORC_OK;
}

static int delete_module(struct orc *o, struct orc_module *m, char *err)
{
    switch (m->state) {
    case MOD_ALIVE: orc_forward_delete(o, m); break;
    case MOD_EXITING: break; /* already on its way out */
    case MOD_QUEUED: orc_module_end(o, m, "killed", "deleted while queued"); break;
    case MOD_KILLED: orc_module_end(o, m, "killed", "deleted while its runtime was away"); break;
    default:
        snprintf(err, ORC_ERR_LEN, "module %s has already ended (%s)", m->uuid,
                 orc_detail(o, m)->status ? orc_detail(o, m)->status : "dead");
        return ORC_CONFLICT;
    }
    return ORC_OK;
}

int orc_create_module(struct orc *o, json_t *data, json_t **record, char err[ORC_ERR_LEN])
{
    orc_begin(o);
    int rc = create_module(o, data, record, err);
    orc_end(o);
    orc_count(o, "create", rc == ORC_OK);
    return rc;
}

int orc_delete_module(struct orc *o, const char *query, json_t **record, char err[ORC_ERR_LEN])
{
    struct orc_module *m;
    int rc = orc_find_module(o, query, &m, err);
    if (rc == ORC_OK) {
        orc_begin(o);
        rc = delete_module(o, m, err);
        if (rc == ORC_OK) *record = orc_module_json(o, m, 1);
        orc_end(o);
    }
    orc_count(o, "delete", rc == ORC_OK);
    return rc;
}

static void on_create_batch(struct orc *o, const char *topic, struct envelope *env)
{
    json_t *modules = json_object_get(env->data, "modules");
    json_t *parent = json_object_get(env->data, "parent");
    if (!json_is_array(modules) || !json_array_size(modules)) {
        refuse(o, topic, env, "field 'data.modules' must be a non-empty array");
        return;
    }
    if (json_array_size(modules) > ORC_MAX_BATCH) {
        refuse(o, topic, env, "field 'data.modules' holds more than 1024 modules");
        return;
    }
    if (parent && !json_is_null(parent) && !json_is_string(parent)) {
        refuse(o, topic, env, "field 'data.parent' must be a string");
        return;
    }
    json_t *results = json_array();
    int all_ok = 1;
    size_t i;
    json_t *item;
    json_array_foreach(modules, i, item)
    {
        char err[ORC_ERR_LEN];
        json_t *record = NULL;
        int rc;
        if (!json_is_object(item)) {
            snprintf(err, sizeof err, "modules[%zu] must be an object", i);
            rc = ORC_BAD_REQUEST;
        } else {
            json_t *one = json_copy(item);
            if (one && json_is_string(parent) && !json_object_get(one, "parent"))
                json_object_set(one, "parent", parent);
            rc = one ? create_module(o, one, &record, err) : ORC_INTERNAL;
            json_decref(one);
        }
        if (rc != ORC_OK) {
            all_ok = 0;
            char reason[ORC_ERR_LEN + 32];
            snprintf(reason, sizeof reason, "modules[%zu]: %s", i, err);
            orc_report_error(o, topic, env->object_id, env->action, reason);
            record = json_pack("{s:s}", "reason", err);
        }
        json_array_append_new(results,
                              json_pack("{s:s, s:o}", "result", rc == ORC_OK ? "ok" : "error",
                                        "details", record ? record : json_null()));
    }
    answer(o, topic, env, all_ok, json_pack("{s:o}", "modules", results));
    orc_count(o, "create_batch", all_ok);
}

static void on_control(struct orc *o, const char *topic, struct envelope *env)
{
    char err[ORC_ERR_LEN];
    json_t *record = NULL;
    int rc;
    if (!strcmp(env->action, "create")) {
        rc = create_module(o, env->data, &record, err);
    } else if (!strcmp(env->action, "delete")) {
        const char *uuid;
        char perr[ENVELOPE_ERR_LEN];
        struct orc_module *m = NULL;
        json_t *data = env->data;
        int added_type = 0;
        if (!json_object_get(data, "type")) {
            json_object_set_new(data, "type", json_string("module"));
            added_type = 1;
        }
        if (envelope_module_delete_parse(data, &uuid, perr) < 0) {
            snprintf(err, sizeof err, "%s", perr);
            rc = ORC_BAD_REQUEST;
        } else if ((rc = orc_find_module(o, uuid, &m, err)) == ORC_OK) {
            rc = delete_module(o, m, err);
            if (rc == ORC_OK) record = orc_module_json(o, m, 1);
        }
        if (added_type) json_object_del(data, "type");
    } else if (!strcmp(env->action, "create_batch")) {
        on_create_batch(o, topic, env);
        return;
    } else {
        snprintf(err, sizeof err,
                 "unknown action '%.64s' on %s (expected create, create_batch or delete)",
                 env->action, topic);
        refuse(o, topic, env, err);
        return;
    }
    if (rc != ORC_OK) {
        refuse(o, topic, env, err);
        return;
    }
    answer(o, topic, env, 1, record);
    orc_count(o, env->action, 1);
}

/* ---- what is said on a runtime's control topic ---- */

/* The answer of a runtime's manager to a create or delete of m. */
static void module_answered(struct orc *o, struct orc_module *m, const struct envelope *answer)
{
    int is_delete = m->ack && m->ack->is_delete;
    orc_ack_clear(o, m);
    const char *result = json_string_value(json_object_get(answer->data, "result"));
    if (result && !strcmp(result, "ok")) return;
    json_t *details = json_object_get(answer->data, "details");
    const char *why = json_string_value(json_object_get(details, "reason"));
    char reason[ORC_ERR_LEN];
    if (is_delete) {
        /* The runtime does not have it (it ended before the delete came). */
        if (m->state != MOD_EXITING) return;
        snprintf(reason, sizeof reason, "deleted; its runtime did not know it: %s",
                 why ? why : "no reason given");
        orc_module_end(o, m, "killed", reason);
        return;
    }
    if (m->state != MOD_ALIVE) return;
    snprintf(reason, sizeof reason, "the runtime refused it: %s", why ? why : "no reason given");
    orc_module_end(o, m, "failed", reason);
}

void orc_answer(struct orc *o, const char *object_id, const struct envelope *env)
{
    struct orc_module *m = strmap_get(&o->module_by_ack, object_id);
    if (!m) return;
    if (!env) {
        /* A manager that does not acknowledge (an older one): keep it alive. */
        orc_ack_clear(o, m);
        return;
    }
    orc_begin(o);
    module_answered(o, m, env);
    orc_end(o);
}

/* Record a create sent straight to runtime r (data borrowed, with a uuid);
 * object_id, when given, is the create's, whose answer is then read. */
static void record_direct(struct orc *o, const char *topic, struct orc_runtime *r, json_t *data,
                          const char *object_id)
{
    struct module_create mc;
    char perr[ENVELOPE_ERR_LEN];
    if (envelope_module_create_parse(data, &mc, perr) < 0 || !mc.uuid) return;
    struct orc_module *m = orc_module_lookup(o, mc.uuid);
    if (m && m->state != MOD_DEAD) {
        /* A repeat (the manager runs it once) or a clash; either way no new record. */
        if (m->runtime != r)
            slog(SLOG_WARNING, "orc", "module %s sent to %s also lives on runtime %s", mc.uuid,
                 topic, m->runtime ? m->runtime->uuid : "-");
        return;
    }
    if (begin_run(o, mc.uuid, &mc, r->uuid, json_dumps(data, JSON_COMPACT), orc_module_apis(data),
                  &m) < 0) {
        slog(SLOG_ERROR, "orc", "out of memory recording a direct create");
        return;
    }
    orc_record_direct(o, m, r);
    if (object_id) orc_ack_set(o, m, object_id, 1, 0);
    orc_count(o, "direct_create", 1);
}

static void pending_direct_clear(struct orc_pending_direct *p)
{
    free(p->object_id);
    free(p->data);
    memset(p, 0, sizeof *p);
}

/* Keep a uuid-less direct create until its answer (the oldest goes when
 * every slot is taken). */
static void pending_direct_add(struct orc *o, struct orc_runtime *r, const struct envelope *env)
{
    struct orc_pending_direct *slot = &o->pending_direct[0];
    for (size_t i = 0; i < ORC_PENDING_DIRECT; i++) {
        struct orc_pending_direct *p = &o->pending_direct[i];
        if (!p->object_id) {
            slot = p;
            break;
        }
        if (p->since_ms < slot->since_ms) slot = p;
    }
    pending_direct_clear(slot);
    slot->object_id = strdup(env->object_id);
    slot->data = json_dumps(env->data, JSON_COMPACT);
    if (!slot->object_id || !slot->data) {
        pending_direct_clear(slot);
        return;
    }
    snprintf(slot->runtime, sizeof slot->runtime, "%s", r->uuid);
    slot->since_ms = orc_now(o);
}

/* The answer to a uuid-less direct create: record the module under the uuid
 * the manager chose. Returns 1 if the answer was one of those. */
static int pending_direct_answered(struct orc *o, const char *topic, const struct envelope *env)
{
    for (size_t i = 0; i < ORC_PENDING_DIRECT; i++) {
        struct orc_pending_direct *p = &o->pending_direct[i];
        if (!p->object_id || strcmp(p->object_id, env->object_id)) continue;
        const char *result = json_string_value(json_object_get(env->data, "result"));
        const char *uuid =
            json_string_value(json_object_get(json_object_get(env->data, "details"), "uuid"));
        struct orc_runtime *r = orc_runtime_get(o, p->runtime);
        json_t *data = json_loads(p->data, 0, NULL);
        if (r && data && result && !strcmp(result, "ok") && uuid && uuid_is_valid(uuid)) {
            json_object_set_new(data, "uuid", json_string(uuid));
            record_direct(o, topic, r, data, NULL);
        }
        json_decref(data);
        pending_direct_clear(p);
        return 1;
    }
    return 0;
}

void orc_pending_direct_expire(struct orc *o, int all)
{
    uint64_t now = orc_now(o);
    for (size_t i = 0; i < ORC_PENDING_DIRECT; i++) {
        struct orc_pending_direct *p = &o->pending_direct[i];
        if (p->object_id && (all || now - p->since_ms >= ORC_PENDING_DIRECT_MS))
            pending_direct_clear(p);
    }
}

static void on_direct_create(struct orc *o, const char *topic, struct orc_runtime *r,
                             struct envelope *env)
{
    struct orc_module *ours = strmap_get(&o->module_by_ack, env->object_id);
    if (ours && ours->ack && !ours->ack->direct) return; /* our own forward, echoed back */
    struct module_create mc;
    char perr[ENVELOPE_ERR_LEN];
    if (envelope_module_create_parse(env->data, &mc, perr) < 0) {
        /* The manager answers the sender; we only say why we keep no record. */
        orc_report_error(o, topic, env->object_id, env->action, perr);
        return;
    }
    if (!r) {
        slog(SLOG_DEBUG, "orc", "create on %s for an unknown runtime: not recorded", topic);
        return;
    }
    if (!mc.uuid) {
        pending_direct_add(o, r, env); /* recorded when the answer names its uuid */
        return;
    }
    record_direct(o, topic, r, env->data, env->object_id);
}

static void on_exited(struct orc *o, const char *topic, struct orc_runtime *r, struct envelope *env)
{
    const char *uuid = json_string_value(json_object_get(env->data, "uuid"));
    if (!uuid) {
        orc_report_error(o, topic, env->object_id, env->action, "missing field 'data.uuid'");
        orc_count(o, "exited", 0);
        return;
    }
    struct orc_module *m = orc_module_get(o, uuid);
    if (!m || !r || m->runtime != r || (m->state != MOD_ALIVE && m->state != MOD_EXITING)) {
        slog(SLOG_DEBUG, "orc", "exit of module %s on %s ignored (not running there)", uuid, topic);
        return;
    }
    json_t *status = json_object_get(env->data, "status");
    json_t *code = json_object_get(env->data, "exit_code");
    json_t *reason = json_object_get(env->data, "reason");
    const char *st = json_is_string(status) ? json_string_value(status) : "exited";
    const char *why = json_is_string(reason) ? json_string_value(reason) : NULL;
    orc_count(o, "exited", 1);
    if (m->state == MOD_ALIVE && !strcmp(st, "killed")) {
        /* Killed without a delete from us (e.g. its manager is stopping). */
        orc_killed_by_runtime(o, m, why);
        return;
    }
    struct orc_module_detail *d = orc_detail(o, m);
    d->has_exit_code = json_is_integer(code);
    d->exit_code = json_is_integer(code) ? (int)json_integer_value(code) : 0;
    orc_module_end(o, m, st, why);
}

static void on_control_runtime(struct orc *o, const char *topic, const char *runtime,
                               struct envelope *env)
{
    struct orc_runtime *r = orc_runtime_get(o, runtime);
    if (!strcmp(env->action, "create")) {
        on_direct_create(o, topic, r, env);
    } else if (!strcmp(env->action, "exited")) {
        on_exited(o, topic, r, env);
    } else if (!strcmp(env->action, "delete")) {
        struct orc_module *ours = strmap_get(&o->module_by_ack, env->object_id);
        if (ours && ours->ack && !ours->ack->direct) return; /* our own, echoed back */
        const char *uuid = json_string_value(json_object_get(env->data, "uuid"));
        struct orc_module *m = uuid ? orc_module_get(o, uuid) : NULL;
        if (m && r && m->runtime == r && m->state == MOD_ALIVE) {
            m->state = MOD_EXITING;
            orc_mark_module(o, m);
        }
    } else {
        char err[ORC_ERR_LEN];
        snprintf(err, sizeof err,
                 "unknown action '%.64s' on a runtime's control topic (expected create, delete "
                 "or exited)",
                 env->action);
        orc_report_error(o, topic, env->object_id, env->action, err);
    }
}

/* ---- output ---- */

static void on_stdio(struct orc *o, const char *module, const void *payload, size_t len)
{
    /* An ended module's late output is kept too (read back from the store). */
    struct orc_module *m = len ? orc_module_lookup(o, module) : NULL;
    if (m) orc_module_append_output(o, m, payload, len);
}

/* ---- entry ---- */

void orc_handle_message(struct orc *o, const char *topic, const void *payload, size_t len)
{
    struct topic_ref ref;
    enum topic_kind kind = topic_parse(o->realm, topic, &ref);
    if (kind == TOPIC_STDIO) {
        on_stdio(o, ref.id, payload, len);
        return;
    }
    if (kind != TOPIC_REG && kind != TOPIC_KEEPALIVE && kind != TOPIC_CONTROL &&
        kind != TOPIC_CONTROL_RUNTIME)
        return;
    char err[ENVELOPE_ERR_LEN + 64];
    if (len > ORC_MAX_MESSAGE) {
        snprintf(err, sizeof err, "message of %zu bytes is larger than the limit (%u bytes)", len,
                 ORC_MAX_MESSAGE);
        orc_report_error(o, topic, NULL, NULL, err);
        orc_count(o, "invalid", 0);
        return;
    }
    struct envelope env;
    char perr[ENVELOPE_ERR_LEN];
    if (envelope_parse(payload, len, &env, perr) < 0) {
        char *oid = salvage_object_id(payload, len);
        orc_report_error(o, topic, oid, NULL, perr);
        orc_count(o, "invalid", 0);
        free(oid);
        return;
    }
    if (env.type == ENVELOPE_RESP) {
        /* Answers are consumed: ours echoed, or a manager's to a create or
         * delete (those of a direct create tell whether it runs). */
        if (kind == TOPIC_CONTROL_RUNTIME) {
            struct orc_module *m = strmap_get(&o->module_by_ack, env.object_id);
            orc_begin(o);
            if (m && m->ack && m->ack->direct)
                module_answered(o, m, &env);
            else if (!m)
                pending_direct_answered(o, topic, &env);
            orc_end(o);
        }
        envelope_clear(&env);
        return;
    }
    orc_begin(o);
    switch (kind) {
    case TOPIC_REG: on_reg(o, topic, ref.id, &env); break;
    case TOPIC_KEEPALIVE: on_keepalive(o, topic, ref.id, &env); break;
    case TOPIC_CONTROL: on_control(o, topic, &env); break;
    default: on_control_runtime(o, topic, ref.id, &env); break;
    }
    orc_end(o);
    envelope_clear(&env);
}

/* ---- time ---- */

uint64_t orc_tick(struct orc *o)
{
    uint64_t now = orc_now(o), next = UINT64_MAX;
    for (size_t i = 0; i < o->runtimes.n; i++) {
        struct orc_runtime *r = o->runtimes.v[i];
        if (!r->alive || !r->ka_deadline_ms) continue;
        if (r->ka_deadline_ms <= now) {
            char why[128];
            snprintf(why, sizeof why, "no keepalive for 3 intervals (%d s)",
                     3 * o->ka_interval_sec);
            orc_begin(o);
            orc_runtime_down(o, r, why);
            orc_end(o);
            continue;
        }
        if (r->ka_deadline_ms < next) next = r->ka_deadline_ms;
    }
    orc_flush_outputs(o);
    orc_pending_direct_expire(o, 0);
    return next;
}

void orc_connected(struct orc *o)
{
    o->connected = 1;
    orc_begin(o);
    orc_dequeue_all(o);
    orc_end(o);
}
