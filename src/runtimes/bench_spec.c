/* The benchmarking arguments of a create (see bench_spec.h). */
#define _GNU_SOURCE
#include "bench_spec.h"

#include "stratus/envelope.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void bench_spec_free(struct bench_spec *spec)
{
    for (size_t i = 0; i < spec->nargvs; i++) {
        for (size_t k = 0; spec->argvs[i] && spec->argvs[i][k]; k++)
            free(spec->argvs[i][k]);
        free(spec->argvs[i]);
    }
    free(spec->argvs);
    for (size_t i = 0; i < spec->nengines; i++)
        free(spec->engines[i]);
    free(spec->engines);
    for (size_t i = 0; i < spec->nfiles; i++)
        free(spec->files[i]);
    free(spec->files);
    memset(spec, 0, sizeof *spec);
}

/* A NULL-terminated copy of the strings of arr. */
static char **copy_strings(json_t *arr)
{
    size_t n = json_array_size(arr);
    char **list = calloc(n + 1, sizeof *list);
    for (size_t i = 0; list && i < n; i++)
        if (!(list[i] = strdup(json_string_value(json_array_get(arr, i))))) {
            for (size_t k = 0; k < i; k++)
                free(list[k]);
            free(list);
            return NULL;
        }
    return list;
}

static int take_argvs(json_t *argv, struct bench_spec *out)
{
    /* A plain list of strings is the module's own argv for every run. */
    if (!json_is_array(json_array_get(argv, 0))) return 0;
    size_t n = json_array_size(argv);
    if (!(out->argvs = calloc(n, sizeof *out->argvs))) return -1;
    for (size_t i = 0; i < n; i++) {
        if (!(out->argvs[i] = copy_strings(json_array_get(argv, i)))) return -1;
        out->nargvs++;
    }
    return 0;
}

static int take_engines(json_t *engine, struct bench_spec *out)
{
    size_t n = json_is_array(engine) ? json_array_size(engine) : 1;
    if (!(out->engines = calloc(n, sizeof *out->engines))) return -1;
    for (size_t i = 0; i < n; i++) {
        const char *name = json_is_array(engine)    ? json_string_value(json_array_get(engine, i))
                           : json_is_string(engine) ? json_string_value(engine)
                                                    : BENCH_DEFAULT_ENGINE;
        if (!(out->engines[i] = strdup(name))) return -1;
        out->nengines++;
    }
    return 0;
}

static int take_all(const char *file, json_t *args, struct bench_spec *out, char *reason,
                    size_t reason_cap);

static int take_files(const char *file, struct bench_spec *out, char *reason, size_t cap)
{
    size_t n = 1;
    for (const char *p = file; *p; p++)
        n += *p == ':';
    if (n > BENCH_FILES_MAX) {
        snprintf(reason, cap, "field 'file' names more than %d modules", BENCH_FILES_MAX);
        return -1;
    }
    if (!(out->files = calloc(n, sizeof *out->files))) goto oom;
    for (const char *p = file;;) {
        size_t len = strcspn(p, ":");
        if (!len) {
            snprintf(reason, cap, "field 'file' has an empty module name between ':'");
            return -1;
        }
        if (!(out->files[out->nfiles] = strndup(p, len))) goto oom;
        out->nfiles++;
        if (!p[len]) break;
        p += len + 1;
    }
    return 0;
oom:
    snprintf(reason, cap, "out of memory");
    return -1;
}

int bench_spec_parse(const uint8_t *payload, size_t len, struct bench_spec *out, char *reason,
                     size_t reason_cap)
{
    memset(out, 0, sizeof *out);
    json_t *root = json_loadb((const char *)payload, len, JSON_REJECT_DUPLICATES, NULL);
    char err[ENVELOPE_ERR_LEN];
    if (!json_is_object(root) || module_create_check(root, err) < 0) {
        snprintf(reason, reason_cap, "%s",
                 json_is_object(root) ? err : "create message is not a JSON object");
        json_decref(root);
        return -1;
    }
    int rc = take_all(json_string_value(json_object_get(root, "file")),
                      json_object_get(root, "args"), out, reason, reason_cap);
    json_decref(root);
    return rc;
}

static int take_all(const char *file, json_t *args, struct bench_spec *out, char *reason,
                    size_t reason_cap)
{
    out->repeat = 1;
    out->limit_s = BENCH_DEFAULT_LIMIT_S;
    json_t *repeat = json_object_get(args, "repeat");
    if (json_is_integer(repeat)) {
        out->repeat = (unsigned)json_integer_value(repeat);
        out->repeat_given = true;
    }
    json_t *limit = json_object_get(args, "limit"), *ilimit = json_object_get(args, "ilimit");
    if (json_is_number(limit)) out->limit_s = json_number_value(limit);
    if (json_is_number(ilimit)) out->ilimit_s = json_number_value(ilimit);
    if (take_files(file, out, reason, reason_cap) < 0) goto fail;
    if (take_argvs(json_object_get(args, "argv"), out) < 0 ||
        take_engines(json_object_get(args, "engine"), out) < 0) {
        snprintf(reason, reason_cap, "out of memory");
        goto fail;
    }
    return 0;
fail:
    bench_spec_free(out);
    return -1;
}

char **bench_spec_argv(const struct bench_spec *spec, size_t run)
{
    return spec->nargvs ? spec->argvs[run % spec->nargvs] : NULL;
}
