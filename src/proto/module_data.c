/* Validation of the data of create-module and delete-module requests
 * (PROTOCOL.md §4), so that a request missing a field is refused before any
 * module slot is taken, with a message naming the field. */
#include <stdio.h>
#include <string.h>

#include "envelope_util.h"
#include "stratus/envelope.h"
#include "stratus/uuid.h"

static int require_module_type(json_t *data, char *err)
{
    const char *type;
    if (envelope_string_field(data, "", "type", 1, &type, err)) return -1;
    if (strcmp(type, "module") != 0) return envelope_fail(err, "field 'type' must be 'module'");
    return 0;
}

static int non_empty_string(json_t *obj, const char *prefix, const char *field, int required,
                            const char **out, char *err)
{
    if (envelope_string_field(obj, prefix, field, required, out, err)) return -1;
    if (*out && !**out) return envelope_fail(err, "field '%s%s' must not be empty", prefix, field);
    return 0;
}

/* obj[field], if present and not null, must be an array of strings. */
static int string_array(json_t *obj, const char *prefix, const char *field, char *err)
{
    json_t *arr = json_object_get(obj, field);
    if (!arr || json_is_null(arr)) return 0;
    if (!json_is_array(arr))
        return envelope_fail(err, "field '%s%s' must be an array of strings", prefix, field);
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
    {
        if (!json_is_string(v))
            return envelope_fail(err, "field '%s%s[%zu]' must be a string", prefix, field, i);
    }
    return 0;
}

/* The module file is relative to the runtime's module directory and may
 * not leave it. */
static int file_stays_inside(const char *file)
{
    if (file[0] == '/') return 0;
    for (const char *l = file; l;) {
        const char *slash = strchr(l, '/');
        size_t n = slash ? (size_t)(slash - l) : strlen(l);
        if (n == 2 && l[0] == '.' && l[1] == '.') return 0;
        l = slash ? slash + 1 : NULL;
    }
    return 1;
}

static int check_args(json_t *data, char *err)
{
    json_t *args = json_object_get(data, "args");
    if (!args || json_is_null(args)) return 0;
    if (!json_is_object(args)) return envelope_fail(err, "field 'args' must be an object");
    /* Only the keys every runtime reads are checked; the rest go on to the
     * runtime untouched. */
    if (string_array(args, "args.", "argv", err) || string_array(args, "args.", "env", err) ||
        string_array(args, "args.", "dirs", err))
        return -1;
    return 0;
}

static int check_channels(json_t *data, char *err)
{
    json_t *chans = json_object_get(data, "channels");
    if (!chans || json_is_null(chans)) return 0;
    if (!json_is_array(chans)) return envelope_fail(err, "field 'channels' must be an array");
    size_t i;
    json_t *ch;
    json_array_foreach(chans, i, ch)
    {
        char prefix[48];
        snprintf(prefix, sizeof prefix, "channels[%zu].", i);
        if (!json_is_object(ch))
            return envelope_fail(err, "field 'channels[%zu]' must be an object", i);
        const char *path, *mode, *topic;
        if (non_empty_string(ch, prefix, "path", 1, &path, err) ||
            envelope_string_field(ch, prefix, "mode", 1, &mode, err))
            return -1;
        if (strcmp(mode, "r") != 0 && strcmp(mode, "w") != 0 && strcmp(mode, "rw") != 0)
            return envelope_fail(err, "field '%smode' must be 'r', 'w' or 'rw'", prefix);
        if (non_empty_string(ch, prefix, "topic", 1, &topic, err)) return -1;
    }
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
    if (envelope_string_field(data, "", "uuid", 0, &m.uuid, err) ||
        non_empty_string(data, "", "name", 1, &m.name, err) ||
        non_empty_string(data, "", "file", 1, &m.file, err) ||
        envelope_string_field(data, "", "parent", 0, &parent, err))
        return -1;
    if (m.uuid && !uuid_is_valid(m.uuid)) return envelope_fail(err, "field 'uuid' must be a UUID");
    if (!file_stays_inside(m.file))
        return envelope_fail(err, "field 'file' must be a relative path without '..'");
    if (string_array(data, "", "apis", err) || check_args(data, err) || check_channels(data, err))
        return -1;
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
