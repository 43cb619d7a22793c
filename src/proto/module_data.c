/* Validation of the data of create-module and delete-module requests
 * (PROTOCOL.md §4): the rules of a create that the manager applies before it
 * answers and the runtime process applies again before it runs anything
 * (module_create_check), so that a request missing a field or asking for
 * something that can never run is refused up front with a message naming
 * the field. */
#include <stdio.h>
#include <string.h>

#include "envelope_util.h"
#include "stratus/envelope.h"
#include "stratus/file_transfer.h"
#include "stratus/frame.h"
#include "stratus/uuid.h"

static int require_module_type(json_t *data, char *err)
{
    const char *type;
    if (envelope_string_field(data, "", "type", 1, &type, err)) return -1;
    if (strcmp(type, "module") != 0) return envelope_fail(err, "field 'type' must be 'module'");
    return 0;
}

/* A string field without NUL bytes (they would cut it short in C). */
static int clean_string(json_t *obj, const char *prefix, const char *field, int required,
                        const char **out, char *err)
{
    if (envelope_string_field(obj, prefix, field, required, out, err)) return -1;
    if (*out && strlen(*out) != json_string_length(json_object_get(obj, field)))
        return envelope_fail(err, "field '%s%s' may not hold NUL bytes", prefix, field);
    return 0;
}

static int non_empty_string(json_t *obj, const char *prefix, const char *field, int required,
                            const char **out, char *err)
{
    if (clean_string(obj, prefix, field, required, out, err)) return -1;
    if (*out && !**out) return envelope_fail(err, "field '%s%s' must not be empty", prefix, field);
    return 0;
}

/* obj[field], if present and not null, must be an array of at most
 * MODULE_LIST_MAX strings without NUL bytes. Returns the array (or NULL). */
static int string_array(json_t *obj, const char *prefix, const char *field, json_t **out, char *err)
{
    json_t *arr = json_object_get(obj, field);
    *out = NULL;
    if (!arr || json_is_null(arr)) return 0;
    if (!json_is_array(arr))
        return envelope_fail(err, "field '%s%s' must be an array of strings", prefix, field);
    if (json_array_size(arr) > MODULE_LIST_MAX)
        return envelope_fail(err, "field '%s%s' has more than %d entries", prefix, field,
                             MODULE_LIST_MAX);
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
    {
        if (!json_is_string(v))
            return envelope_fail(err, "field '%s%s[%zu]' must be a string", prefix, field, i);
        if (strlen(json_string_value(v)) != json_string_length(v))
            return envelope_fail(err, "field '%s%s[%zu]' may not hold NUL bytes", prefix, field, i);
    }
    *out = arr;
    return 0;
}

int module_path_check(const char *rel)
{
    if (!*rel) return MODULE_PATH_EMPTY;
    if (rel[0] == '/') return MODULE_PATH_ABSOLUTE;
    for (const char *l = rel; l;) {
        const char *slash = strchr(l, '/');
        size_t n = slash ? (size_t)(slash - l) : strlen(l);
        if (n == 2 && l[0] == '.' && l[1] == '.') return MODULE_PATH_PARENT;
        l = slash ? slash + 1 : NULL;
    }
    return MODULE_PATH_OK;
}

const char *module_path_strerror(int result)
{
    switch (result) {
    case MODULE_PATH_OK: return "is inside the module directory";
    case MODULE_PATH_EMPTY: return "must not be empty";
    case MODULE_PATH_ABSOLUTE: return "must be a path relative to the module directory";
    case MODULE_PATH_PARENT: return "may not leave the module directory ('..')";
    }
    return "is not a valid path";
}

int channel_mode_parse(const char *mode, unsigned *bits)
{
    if (!strcmp(mode, "r"))
        *bits = CHANNEL_READ;
    else if (!strcmp(mode, "w"))
        *bits = CHANNEL_WRITE;
    else if (!strcmp(mode, "rw") || !strcmp(mode, "wr"))
        *bits = CHANNEL_READ | CHANNEL_WRITE;
    else
        return -1;
    return 0;
}

static int check_policies(json_t *args, char *err)
{
    json_t *fault = json_object_get(args, "fault_crash");
    if (fault && !json_is_null(fault)) {
        const char *f = json_string_value(fault);
        if (!f || (strcmp(f, "ignore") && strcmp(f, "restart")))
            return envelope_fail(err, "field 'args.fault_crash' must be \"ignore\" or \"restart\"");
    }
    json_t *res = json_object_get(args, "resources");
    if (!res || json_is_null(res)) return 0;
    json_t *period = json_object_get(res, "period"), *runtime = json_object_get(res, "runtime");
    if (!json_is_object(res) || !json_is_integer(period) || !json_is_integer(runtime))
        return envelope_fail(err, "field 'args.resources' must be {\"period\": ns, \"runtime\": "
                                  "ns} with integers");
    json_int_t p = json_integer_value(period), r = json_integer_value(runtime);
    if (p < (json_int_t)MODULE_RES_PERIOD_MIN_NS || p > (json_int_t)MODULE_RES_PERIOD_MAX_NS ||
        r < (json_int_t)MODULE_RES_RUNTIME_MIN_NS || r > p)
        return envelope_fail(err, "field 'args.resources': the period must lie within 100 us..10 "
                                  "s and the runtime within 1024 ns..period");
    return 0;
}

static int check_args(json_t *data, char *err)
{
    json_t *args = json_object_get(data, "args");
    if (!args || json_is_null(args)) return 0;
    if (!json_is_object(args)) return envelope_fail(err, "field 'args' must be an object");
    /* Only the keys Stratus runtimes read are checked; the rest go on to the
     * runtime untouched. */
    json_t *argv, *env, *dirs;
    if (string_array(args, "args.", "argv", &argv, err) ||
        string_array(args, "args.", "env", &env, err) ||
        string_array(args, "args.", "dirs", &dirs, err))
        return -1;
    size_t i;
    json_t *v;
    json_array_foreach(env, i, v)
    {
        const char *e = json_string_value(v);
        if (!strchr(e, '=') || e[0] == '=')
            return envelope_fail(err, "field 'args.env[%zu]' must be NAME=value", i);
    }
    json_array_foreach(dirs, i, v)
    {
        int rc = module_path_check(json_string_value(v));
        if (rc) return envelope_fail(err, "field 'args.dirs[%zu]' %s", i, module_path_strerror(rc));
    }
    return check_policies(args, err);
}

static int check_channels(json_t *data, char *err)
{
    json_t *chans = json_object_get(data, "channels");
    if (!chans || json_is_null(chans)) return 0;
    if (!json_is_array(chans)) return envelope_fail(err, "field 'channels' must be an array");
    if (json_array_size(chans) > MODULE_CHANNELS_MAX)
        return envelope_fail(err, "field 'channels' has more than %d entries", MODULE_CHANNELS_MAX);
    size_t i;
    json_t *ch;
    json_array_foreach(chans, i, ch)
    {
        char prefix[48];
        snprintf(prefix, sizeof prefix, "channels[%zu].", i);
        if (!json_is_object(ch))
            return envelope_fail(err, "field 'channels[%zu]' must be an object", i);
        const char *path, *mode, *topic;
        unsigned bits;
        if (non_empty_string(ch, prefix, "path", 1, &path, err) ||
            clean_string(ch, prefix, "mode", 1, &mode, err))
            return -1;
        if (channel_mode_parse(mode, &bits) < 0)
            return envelope_fail(err, "field '%smode' must be 'r', 'w' or 'rw'", prefix);
        if (non_empty_string(ch, prefix, "topic", 1, &topic, err)) return -1;
        if ((bits & CHANNEL_WRITE) && strpbrk(topic, "+#"))
            return envelope_fail(err, "field '%stopic': a writable channel may not hold + or #",
                                 prefix);
    }
    return 0;
}

int module_create_check(json_t *data, char err[ENVELOPE_ERR_LEN])
{
    if (!json_is_object(data)) return envelope_fail(err, "field 'data' must be an object");
    const char *uuid, *file;
    if (clean_string(data, "", "uuid", 0, &uuid, err) ||
        non_empty_string(data, "", "file", 1, &file, err))
        return -1;
    if (uuid && !uuid_is_valid(uuid)) return envelope_fail(err, "field 'uuid' must be a UUID");
    int rc = module_path_check(file);
    if (rc) return envelope_fail(err, "field 'file' %s", module_path_strerror(rc));
    json_t *hash = json_object_get(data, "file_sha256"), *size = json_object_get(data, "file_size");
    if (hash && !json_is_null(hash) && !file_hash_is_valid(json_string_value(hash)))
        return envelope_fail(err, "field 'file_sha256' must be 64 lower-case hex digits");
    if (size && !json_is_null(size) && (!json_is_integer(size) || json_integer_value(size) < 1))
        return envelope_fail(err, "field 'file_size' must be an integer >= 1");
    json_t *apis;
    if (string_array(data, "", "apis", &apis, err) || check_args(data, err) ||
        check_channels(data, err))
        return -1;
    return 0;
}

int envelope_module_create_parse(json_t *data, struct module_create *out,
                                 char err[ENVELOPE_ERR_LEN])
{
    memset(out, 0, sizeof *out);
    if (!json_is_object(data)) return envelope_fail(err, "field 'data' must be an object");
    if (require_module_type(data, err)) return -1;

    struct module_create m = {.data = data};
    const char *parent;
    if (non_empty_string(data, "", "name", 1, &m.name, err) ||
        envelope_string_field(data, "", "parent", 0, &parent, err) ||
        module_create_check(data, err))
        return -1;
    envelope_string_field(data, "", "uuid", 0, &m.uuid, err);
    envelope_string_field(data, "", "file", 1, &m.file, err);
    m.file_sha256 = json_string_value(json_object_get(data, "file_sha256"));
    json_t *size = json_object_get(data, "file_size");
    if (json_is_integer(size)) m.file_size = (uint64_t)json_integer_value(size);
    *out = m;
    return 0;
}

int envelope_module_delete_parse(json_t *data, const char **uuid, char err[ENVELOPE_ERR_LEN])
{
    *uuid = NULL;
    if (!json_is_object(data)) return envelope_fail(err, "field 'data' must be an object");
    if (require_module_type(data, err)) return -1;
    return non_empty_string(data, "", "uuid", 1, uuid, err);
}
