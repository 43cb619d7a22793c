/* Create-message parsing and path confinement for the runtime process (see
 * module_spec.h). The manager validates create requests too, but the runtime
 * does not rely on it: whatever arrives on the socket is checked again here,
 * by the same rules (module_create_check in the protocol library), before
 * anything is taken from it. */
#define _GNU_SOURCE
#include "module_spec.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "stratus/envelope.h"
#include "stratus/frame.h"
#include "stratus/topic.h"
#include "stratus/wasi.h"

/* Bounds on what one module may ask for (checked by module_create_check). */
#define MAX_LIST MODULE_LIST_MAX
#define MAX_CHANNELS MODULE_CHANNELS_MAX

void module_spec_free(struct module_spec *spec)
{
    free(spec->uuid);
    free(spec->file);
    free(spec->file_sha256);
    for (size_t i = 0; i < spec->argc; i++)
        free(spec->argv[i]);
    free(spec->argv);
    for (size_t i = 0; i < spec->envc; i++)
        free(spec->env[i]);
    free(spec->env);
    for (size_t i = 0; i < spec->ndirs; i++)
        free(spec->dirs[i]);
    free(spec->dirs);
    for (size_t i = 0; i < spec->nchannels; i++) {
        free(spec->channels[i].path);
        free(spec->channels[i].topic);
    }
    free(spec->channels);
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

/* A string field of a channel entry, or NULL with a reason. */
static const char *channel_string(json_t *entry, size_t i, const char *key,
                                  char reason[SPEC_REASON_LEN])
{
    json_t *v = json_object_get(entry, key);
    const char *s = json_string_value(v);
    if (!s || !*s || strlen(s) != json_string_length(v)) {
        snprintf(reason, SPEC_REASON_LEN, "field 'channels[%zu].%s' must be a non-empty string", i,
                 key);
        return NULL;
    }
    return s;
}

/* The create message's `channels`: [{path, mode, topic}], mode "r", "w" or
 * "rw". A writable channel may not hold wildcards (PROTOCOL.md §6). */
static int take_channels(json_t *root, struct module_spec *out, char reason[SPEC_REASON_LEN])
{
    json_t *arr = json_object_get(root, "channels");
    if (!arr || json_is_null(arr)) return 0;
    if (!json_is_array(arr) || json_array_size(arr) > MAX_CHANNELS) {
        snprintf(reason, SPEC_REASON_LEN, "field 'channels' must be an array of at most %d entries",
                 MAX_CHANNELS);
        return -1;
    }
    size_t count = json_array_size(arr);
    if (!count) return 0;
    if (!(out->channels = calloc(count, sizeof *out->channels))) {
        snprintf(reason, SPEC_REASON_LEN, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < count; i++) {
        json_t *entry = json_array_get(arr, i);
        if (!json_is_object(entry)) {
            snprintf(reason, SPEC_REASON_LEN, "field 'channels[%zu]' must be an object", i);
            return -1;
        }
        const char *path = channel_string(entry, i, "path", reason);
        const char *topic = path ? channel_string(entry, i, "topic", reason) : NULL;
        const char *mode = topic ? channel_string(entry, i, "mode", reason) : NULL;
        if (!mode) return -1;
        unsigned bits = 0;
        if (channel_mode_parse(mode, &bits) < 0) {
            snprintf(reason, SPEC_REASON_LEN, "field 'channels[%zu].mode' must be r, w or rw", i);
            return -1;
        }
        if ((bits & CHANNEL_WRITE) && strpbrk(topic, "+#")) {
            snprintf(reason, SPEC_REASON_LEN,
                     "field 'channels[%zu].topic': a writable channel may not hold + or #", i);
            return -1;
        }
        struct spec_channel *c = &out->channels[out->nchannels];
        c->path = strdup(path);
        c->topic = strdup(topic);
        c->mode = (uint8_t)bits;
        out->nchannels++;
        if (!c->path || !c->topic) {
            snprintf(reason, SPEC_REASON_LEN, "out of memory");
            return -1;
        }
    }
    return 0;
}

/* args.fault_crash, args.max_memory, args.engine and args.resources. */
static int take_policies(json_t *args, struct module_spec *out, char reason[SPEC_REASON_LEN])
{
    out->engine = SPEC_ENGINE_AUTO;
    json_t *engine = args ? json_object_get(args, "engine") : NULL;
    if (engine && !json_is_null(engine)) {
        static const char *const names[] = {"interp", "aot", "auto"};
        const char *e = json_string_value(engine);
        int found = -1;
        for (int i = 0; e && i < 3; i++)
            if (!strcmp(e, names[i])) found = i;
        if (found < 0) {
            snprintf(reason, SPEC_REASON_LEN,
                     "field 'args.engine' must be \"interp\", \"aot\" or \"auto\"");
            return -1;
        }
        out->engine = (enum spec_engine)found;
    }
    json_t *fault = args ? json_object_get(args, "fault_crash") : NULL;
    if (fault && !json_is_null(fault)) {
        const char *f = json_string_value(fault);
        if (f && !strcmp(f, "restart"))
            out->fault = FAULT_RESTART;
        else if (f && !strcmp(f, "ignore"))
            out->fault = FAULT_IGNORE;
        else {
            snprintf(reason, SPEC_REASON_LEN,
                     "field 'args.fault_crash' must be \"ignore\" or \"restart\"");
            return -1;
        }
    }
    json_t *mem = args ? json_object_get(args, "max_memory") : NULL;
    if (mem && !json_is_null(mem)) {
        if (!json_is_integer(mem) || json_integer_value(mem) < 1 ||
            json_integer_value(mem) > 4096) {
            snprintf(reason, SPEC_REASON_LEN,
                     "field 'args.max_memory' must be a whole number of MiB from 1 to 4096");
            return -1;
        }
        out->max_memory_mib = (uint32_t)json_integer_value(mem);
    }
    json_t *res = args ? json_object_get(args, "resources") : NULL;
    if (!res || json_is_null(res)) return 0;
    json_t *period = json_object_get(res, "period"), *runtime = json_object_get(res, "runtime");
    if (!json_is_object(res) || !json_is_integer(period) || !json_is_integer(runtime) ||
        json_integer_value(period) <= 0 || json_integer_value(runtime) <= 0) {
        snprintf(reason, SPEC_REASON_LEN,
                 "field 'args.resources' must be {\"period\": ns, \"runtime\": ns} with "
                 "positive integers");
        return -1;
    }
    out->period_ns = (uint64_t)json_integer_value(period);
    out->runtime_ns = (uint64_t)json_integer_value(runtime);
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
    char err[ENVELOPE_ERR_LEN];
    if (module_create_check(root, err) < 0) {
        snprintf(reason, SPEC_REASON_LEN, "%s", err);
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
    const char *hash = json_string_value(json_object_get(root, "file_sha256"));
    if (hash && !(out->file_sha256 = strdup(hash))) goto oom;
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
    if (take_channels(root, out, reason) || take_policies(args, out, reason)) goto done;
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
    /* By its text first (the rule the manager applied too), then by where
     * it really leads. */
    int lexical = module_path_check(rel);
    if (lexical != MODULE_PATH_OK) {
        snprintf(reason, SPEC_REASON_LEN, "'%.200s' %s", rel, module_path_strerror(lexical));
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

int channel_topic_resolve(const struct module_spec *spec, const char *realm, bool free_topics,
                          const char *path, size_t len, uint8_t want, char **topic)
{
    *topic = NULL;
    want &= CHANNEL_READ | CHANNEL_WRITE;
    if (!want || !len || memchr(path, 0, len)) return SWASI_EINVAL;
    const struct spec_channel *best = NULL;
    size_t best_len = 0;
    for (size_t i = 0; i < spec->nchannels; i++) {
        const struct spec_channel *c = &spec->channels[i];
        size_t n = strlen(c->path);
        if (n > len || memcmp(c->path, path, n) || (n < len && path[n] != '/')) continue;
        if (!best || n > best_len) {
            best = c;
            best_len = n;
        }
    }
    char *t;
    if (best) {
        if ((want & best->mode) != want) return SWASI_EACCES;
        t = NULL;
        if (asprintf(&t, "%s%.*s", best->topic, (int)(len - best_len), path + best_len) < 0)
            return SWASI_ENOMEM;
    } else if ((len >= 4 && !memcmp(path, "$SL/", 4)) || free_topics) {
        if (!(t = strndup(path, len))) return SWASI_ENOMEM;
    } else {
        return SWASI_EACCES;
    }
    /* The manager's rule for opens (topic.h): a refused topic fails here,
     * before the module has a descriptor. */
    int rc =
        channel_open_check(realm, spec->uuid ? spec->uuid : "module", want, t, strlen(t), NULL);
    if (rc != CHANNEL_OPEN_OK) {
        free(t);
        return rc == CHANNEL_OPEN_NOMEM    ? SWASI_ENOMEM
               : rc == CHANNEL_OPEN_DENIED ? SWASI_EACCES
                                           : SWASI_EINVAL;
    }
    *topic = t;
    return 0;
}
