/* Create-message parsing and path confinement for the runtime process (see
 * module_spec.h). The manager validates create requests too, but the runtime
 * does not rely on it: whatever arrives on the socket is checked again here. */
#define _GNU_SOURCE
#include "module_spec.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Bounds on what one module may ask for. */
#define MAX_LIST 1024

void module_spec_free(struct module_spec *spec)
{
    free(spec->uuid);
    free(spec->file);
    for (size_t i = 0; i < spec->argc; i++)
        free(spec->argv[i]);
    free(spec->argv);
    for (size_t i = 0; i < spec->envc; i++)
        free(spec->env[i]);
    free(spec->env);
    for (size_t i = 0; i < spec->ndirs; i++)
        free(spec->dirs[i]);
    free(spec->dirs);
    memset(spec, 0, sizeof *spec);
}

/* Append the strings of args[key] (absent or null: nothing) to *list. */
static int take_strings(json_t *args, const char *key, char ***list, size_t *n,
                        char reason[SPEC_REASON_LEN])
{
    json_t *arr = args ? json_object_get(args, key) : NULL;
    if (!arr || json_is_null(arr)) return 0;
    if (!json_is_array(arr)) {
        snprintf(reason, SPEC_REASON_LEN, "field 'args.%s' must be an array of strings", key);
        return -1;
    }
    size_t count = json_array_size(arr);
    if (count > MAX_LIST) {
        snprintf(reason, SPEC_REASON_LEN, "field 'args.%s' has more than %d entries", key,
                 MAX_LIST);
        return -1;
    }
    char **grown = realloc(*list, (*n + count + 1) * sizeof *grown);
    if (!grown) {
        snprintf(reason, SPEC_REASON_LEN, "out of memory");
        return -1;
    }
    *list = grown;
    for (size_t i = 0; i < count; i++) {
        json_t *v = json_array_get(arr, i);
        const char *s = json_string_value(v);
        if (!s || strlen(s) != json_string_length(v)) {
            snprintf(reason, SPEC_REASON_LEN,
                     "field 'args.%s[%zu]' must be a string without NUL bytes", key, i);
            return -1;
        }
        if (!(grown[*n] = strdup(s))) {
            snprintf(reason, SPEC_REASON_LEN, "out of memory");
            return -1;
        }
        (*n)++;
    }
    grown[*n] = NULL;
    return 0;
}

int module_spec_parse(const uint8_t *payload, size_t len, struct module_spec *out,
                      char reason[SPEC_REASON_LEN])
{
    memset(out, 0, sizeof *out);
    json_error_t jerr;
    json_t *root = json_loadb((const char *)payload, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        snprintf(reason, SPEC_REASON_LEN, "create message is not JSON: %s", jerr.text);
        return -1;
    }
    int rc = -1;
    if (!json_is_object(root)) {
        snprintf(reason, SPEC_REASON_LEN, "create message is not a JSON object");
        goto done;
    }
    json_t *file = json_object_get(root, "file");
    const char *f = json_string_value(file);
    if (!f || !*f || strlen(f) != json_string_length(file)) {
        snprintf(reason, SPEC_REASON_LEN, "field 'file' must be a non-empty string");
        goto done;
    }
    json_t *uuid = json_object_get(root, "uuid");
    if (json_is_string(uuid) && !(out->uuid = strdup(json_string_value(uuid)))) goto oom;
    if (!(out->file = strdup(f))) goto oom;
    json_t *args = json_object_get(root, "args");
    if (args && !json_is_null(args) && !json_is_object(args)) {
        snprintf(reason, SPEC_REASON_LEN, "field 'args' must be an object");
        goto done;
    }
    if (json_is_null(args)) args = NULL;
    if (!(out->argv = calloc(2, sizeof *out->argv)) || !(out->argv[0] = strdup(f))) goto oom;
    out->argc = 1;
    if (take_strings(args, "argv", &out->argv, &out->argc, reason) ||
        take_strings(args, "env", &out->env, &out->envc, reason) ||
        take_strings(args, "dirs", &out->dirs, &out->ndirs, reason))
        goto done;
    for (size_t i = 0; i < out->envc; i++)
        if (!strchr(out->env[i], '=') || out->env[i][0] == '=') {
            snprintf(reason, SPEC_REASON_LEN, "field 'args.env[%zu]' must be NAME=value", i);
            goto done;
        }
    rc = 0;
    goto done;
oom:
    snprintf(reason, SPEC_REASON_LEN, "out of memory");
done:
    json_decref(root);
    if (rc) module_spec_free(out);
    return rc;
}

int module_path_resolve(const char *root, const char *rel, int want_dir, char **out,
                        char reason[SPEC_REASON_LEN])
{
    *out = NULL;
    if (!*rel || rel[0] == '/') {
        snprintf(reason, SPEC_REASON_LEN,
                 "'%.200s' must be a path relative to the module directory", rel);
        return -1;
    }
    char *joined = NULL;
    if (asprintf(&joined, "%s/%s", root, rel) < 0) {
        snprintf(reason, SPEC_REASON_LEN, "out of memory");
        return -1;
    }
    char *real = realpath(joined, NULL);
    int err = errno;
    free(joined);
    if (!real) {
        snprintf(reason, SPEC_REASON_LEN, "cannot open '%.200s': %s", rel, strerror(err));
        return -1;
    }
    size_t n = strlen(root);
    /* root "/" contains everything; otherwise root itself or root + "/...". */
    int inside =
        !strcmp(root, "/") || (!strncmp(real, root, n) && (real[n] == '\0' || real[n] == '/'));
    if (!inside) {
        snprintf(reason, SPEC_REASON_LEN, "'%.200s' leaves the module directory", rel);
        free(real);
        return -1;
    }
    struct stat st;
    if (stat(real, &st) < 0) {
        snprintf(reason, SPEC_REASON_LEN, "cannot open '%.200s': %s", rel, strerror(errno));
        free(real);
        return -1;
    }
    if (want_dir ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode)) {
        snprintf(reason, SPEC_REASON_LEN, "'%.200s' is not a %s", rel,
                 want_dir ? "directory" : "regular file");
        free(real);
        return -1;
    }
    *out = real;
    return 0;
}
