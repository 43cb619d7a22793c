/* JSON envelopes of the MQTT control protocol (PROTOCOL.md §3): parsing with
 * validation that names the offending field, and building requests and
 * responses. Create/delete module data lives in module_data.c. */
#include "stratus/envelope.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "envelope_util.h"
#include "stratus/uuid.h"

int envelope_fail(char *err, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, ENVELOPE_ERR_LEN, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* Deepest array/object nesting in the text, stopping early past `limit`.
 * Checked before jansson sees the bytes, so hostile nesting costs neither
 * parser recursion nor a deep tree to free. */
static int nesting_exceeds(const char *s, size_t len, int limit)
{
    int depth = 0, in_string = 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (in_string) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_string = 0;
        } else if (c == '"') {
            in_string = 1;
        } else if (c == '[' || c == '{') {
            if (++depth > limit) return 1;
        } else if (c == ']' || c == '}') {
            depth--;
        }
    }
    return 0;
}

int envelope_string_field(json_t *obj, const char *prefix, const char *field, int required,
                          const char **out, char *err)
{
    json_t *v = json_object_get(obj, field);
    *out = NULL;
    if (!v || (!required && json_is_null(v))) {
        if (required) return envelope_fail(err, "missing field '%s%s'", prefix, field);
        return 0;
    }
    if (!json_is_string(v))
        return envelope_fail(err, "field '%s%s' must be a string", prefix, field);
    *out = json_string_value(v);
    return 0;
}

int envelope_parse(const char *bytes, size_t len, struct envelope *out, char err[ENVELOPE_ERR_LEN])
{
    memset(out, 0, sizeof *out);
    if (!bytes && len) return envelope_fail(err, "no input");
    if (len > ENVELOPE_MAX_BYTES)
        return envelope_fail(err, "envelope larger than %u bytes", ENVELOPE_MAX_BYTES);
    if (nesting_exceeds(bytes, len, ENVELOPE_MAX_DEPTH))
        return envelope_fail(err, "JSON nested deeper than %d levels", ENVELOPE_MAX_DEPTH);

    json_error_t jerr;
    json_t *root = json_loadb(bytes ? bytes : "", len, JSON_DECODE_ANY, &jerr);
    if (!root)
        return envelope_fail(err, "invalid JSON at line %d column %d: %s", jerr.line, jerr.column,
                             jerr.text);
    if (!json_is_object(root)) {
        json_decref(root);
        return envelope_fail(err, "envelope must be a JSON object");
    }

    const char *type = NULL;
    /* `action` is optional in a response: the original orchestrator answers
     * registrations with {object_id, type, data} only (PROTOCOL.md §3). */
    if (envelope_string_field(root, "", "object_id", 1, &out->object_id, err) ||
        envelope_string_field(root, "", "action", 0, &out->action, err))
        goto bad;
    if (out->action && !*out->action) {
        envelope_fail(err, "field 'action' must not be empty");
        goto bad;
    }
    json_t *t = json_object_get(root, "type");
    if (!t) {
        envelope_fail(err, "missing field 'type'");
        goto bad;
    }
    type = json_string_value(t); /* NULL when not a string */
    if (type && strcmp(type, "req") == 0) {
        out->type = ENVELOPE_REQ;
    } else if (type && strcmp(type, "resp") == 0) {
        out->type = ENVELOPE_RESP;
    } else {
        envelope_fail(err, "field 'type' must be 'req' or 'resp'");
        goto bad;
    }
    if (!out->action) {
        if (out->type == ENVELOPE_REQ) {
            envelope_fail(err, "missing field 'action'");
            goto bad;
        }
        out->action = "";
    }
    out->data = json_object_get(root, "data");
    if (!out->data) {
        envelope_fail(err, "missing field 'data'");
        goto bad;
    }
    if (!json_is_object(out->data)) {
        envelope_fail(err, "field 'data' must be an object");
        goto bad;
    }
    out->root = root;
    return 0;

bad:
    json_decref(root);
    memset(out, 0, sizeof *out);
    return -1;
}

void envelope_clear(struct envelope *env)
{
    if (!env) return;
    json_decref(env->root);
    memset(env, 0, sizeof *env);
}

/* {"object_id", "action", "type", "data"} in that order; steals data. */
static json_t *build(const char *object_id, const char *action, const char *type, json_t *data)
{
    char fresh[UUID_STR_LEN];
    if (!object_id) {
        if (uuid_v4_generate(fresh) != 0) {
            json_decref(data);
            return NULL;
        }
        object_id = fresh;
    }
    json_t *msg = json_object();
    if (!data || !msg || !action || json_object_set_new(msg, "object_id", json_string(object_id)) ||
        json_object_set_new(msg, "action", json_string(action)) ||
        json_object_set_new(msg, "type", json_string(type))) {
        json_decref(data);
        json_decref(msg);
        return NULL;
    }
    if (json_object_set_new(msg, "data", data)) {
        json_decref(msg);
        return NULL;
    }
    return msg;
}

json_t *envelope_request(const char *object_id, const char *action, json_t *data)
{
    return build(object_id, action, "req", data ? data : json_object());
}

json_t *envelope_response(const char *object_id, const char *action, int ok, json_t *details)
{
    if (!details) details = json_object();
    json_t *data = json_object();
    if (!data || !details ||
        json_object_set_new(data, "result", json_string(ok ? "ok" : "error"))) {
        json_decref(details);
        json_decref(data);
        return NULL;
    }
    if (json_object_set_new(data, "details", details)) {
        json_decref(data);
        return NULL;
    }
    return build(object_id, action, "resp", data);
}

char *envelope_dump(const json_t *msg)
{
    return msg ? json_dumps(msg, JSON_COMPACT) : NULL;
}

const char *json_kind_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    case JSON_NULL: return "null";
    }
    return "?";
}
