/* The table of runtime types, found by path: the test types (Stratus's own
 * tests), the types of stratus-runtime (from the protocol library's table,
 * which the runtime process runs by too) and the types users declare in the
 * configuration. Adding a built-in type is one row: its configuration, its
 * operations (usually the shared socket-backed ones) and, for socket-backed
 * types, the frame header and launch convention of its process. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stratus/runtime_iface.h"
#include "stratus/runtime_types.h"

static const char *const no_apis[] = {NULL};
static const char *const fake_apis[] = {"wasm", "wasi", "channels", "stdio:in", "stdio:out", NULL};

static const struct runtime_type test_types[] = {
    {
        .type = "test/reg",
        .apis = no_apis,
        .max_nmodules = 0,
        .default_name = "test-reg",
        .default_shortname = "reg",
        .ops = &runtime_null_ops,
        .test_only = 1,
    },
    {
        .type = "test/fake",
        .apis = fake_apis,
        .max_nmodules = 4,
        .default_name = "test-fake",
        .default_shortname = "fake",
        .ops = &runtime_socket_ops,
        .header = FRAME_HEADER_SEED,
        .test_only = 1,
    },
    {
        .type = "test/fake-legacy",
        .apis = fake_apis,
        .max_nmodules = 4,
        .default_name = "test-fake-legacy",
        .default_shortname = "fakel",
        .ops = &runtime_socket_ops,
        .header = FRAME_HEADER_LEGACY,
        .test_only = 1,
    },
};
#define NTEST (sizeof test_types / sizeof test_types[0])

/* stratus-runtime's types, made from stratus/runtime_types.h on first use.
 * The process is found beside the stratus binary. */
#define NSTRATUS_MAX 8
static struct runtime_type stratus_types[NSTRATUS_MAX];
static size_t nstratus;

static void init_stratus_types(void)
{
    if (nstratus) return;
    const struct stratus_runtime_type *s;
    for (size_t i = 0; (s = stratus_runtime_type_at(i)) && nstratus < NSTRATUS_MAX; i++)
        stratus_types[nstratus++] = (struct runtime_type){
            .type = s->type,
            .apis = s->apis,
            .max_nmodules = s->max_nmodules,
            .default_name = s->default_name,
            .default_shortname = s->default_shortname,
            .ops = &runtime_socket_ops,
            .header = FRAME_HEADER_SEED,
            .default_command = "stratus-runtime",
        };
}

/* Declared types: owned copies. */
struct declared {
    struct runtime_type t;
    char **apis;
};
static struct declared *declared;
static size_t ndeclared;

static const struct runtime_type *builtin_find(const char *type)
{
    init_stratus_types();
    for (size_t i = 0; i < NTEST; i++)
        if (!strcmp(test_types[i].type, type)) return &test_types[i];
    for (size_t i = 0; i < nstratus; i++)
        if (!strcmp(stratus_types[i].type, type)) return &stratus_types[i];
    return NULL;
}

const struct runtime_type *runtime_type_find(const char *type)
{
    const struct runtime_type *t = builtin_find(type);
    for (size_t i = 0; !t && i < ndeclared; i++)
        if (!strcmp(declared[i].t.type, type)) t = &declared[i].t;
    return t;
}

const struct runtime_type *runtime_type_at(size_t i)
{
    init_stratus_types();
    if (i < NTEST) return &test_types[i];
    i -= NTEST;
    if (i < nstratus) return &stratus_types[i];
    i -= nstratus;
    return i < ndeclared ? &declared[i].t : NULL;
}

static void free_declared(struct declared *d)
{
    free((char *)d->t.type);
    free((char *)d->t.default_name);
    free((char *)d->t.default_shortname);
    free((char *)d->t.default_command);
    free((char *)d->t.socket_dir);
    for (size_t i = 0; d->apis && d->apis[i]; i++)
        free(d->apis[i]);
    free(d->apis);
}

void runtime_types_forget_declared(void)
{
    for (size_t i = 0; i < ndeclared; i++)
        free_declared(&declared[i]);
    free(declared);
    declared = NULL;
    ndeclared = 0;
}

static char *dup_or_null(const char *s, int *oom)
{
    if (!s) return NULL;
    char *c = strdup(s);
    if (!c) *oom = 1;
    return c;
}

int runtime_type_declare(const struct runtime_type_decl *decl, char err[RUNTIME_REASON_LEN])
{
    const char *type = decl->type;
    if (!type || !*type || strchr(type, ' ')) {
        snprintf(err, RUNTIME_REASON_LEN, "a declared runtime type needs a name without spaces");
        return -1;
    }
    if (!strncmp(type, "test/", 5) || runtime_type_find(type)) {
        snprintf(err, RUNTIME_REASON_LEN, "runtime type '%.64s' is %s; declare another name", type,
                 !strncmp(type, "test/", 5) ? "reserved for Stratus's tests" : "already defined");
        return -1;
    }
    if (!decl->command || !*decl->command) {
        snprintf(err, RUNTIME_REASON_LEN, "runtime type '%.64s' needs a command", type);
        return -1;
    }
    if (decl->max_nmodules < 1 || decl->max_nmodules > 128) {
        snprintf(err, RUNTIME_REASON_LEN, "runtime type '%.64s': max_nmodules must be 1..128",
                 type);
        return -1;
    }
    struct declared *grown = realloc(declared, (ndeclared + 1) * sizeof *declared);
    if (!grown) goto oom_nothing;
    declared = grown;
    struct declared *d = &declared[ndeclared];
    memset(d, 0, sizeof *d);
    size_t napis = 0;
    while (decl->apis && decl->apis[napis])
        napis++;
    int oom = 0;
    d->apis = calloc(napis + 1, sizeof *d->apis);
    if (!d->apis) oom = 1;
    for (size_t i = 0; !oom && i < napis; i++)
        d->apis[i] = dup_or_null(decl->apis[i], &oom);
    const char *last = strrchr(type, '/');
    d->t.type = dup_or_null(type, &oom);
    d->t.default_name = dup_or_null(decl->name ? decl->name : type, &oom);
    d->t.default_shortname = dup_or_null(decl->shortname ? decl->shortname
                                         : last          ? last + 1
                                                         : type,
                                         &oom);
    d->t.default_command = dup_or_null(decl->command, &oom);
    d->t.socket_dir = dup_or_null(decl->socket_dir, &oom);
    if (oom) {
        free_declared(d);
        goto oom_nothing;
    }
    d->t.apis = (const char *const *)d->apis;
    d->t.max_nmodules = decl->max_nmodules;
    d->t.ops = &runtime_socket_ops;
    d->t.header = decl->header;
    d->t.launch = decl->launch;
    d->t.declared = 1;
    ndeclared++;
    return 0;
oom_nothing:
    snprintf(err, RUNTIME_REASON_LEN, "out of memory");
    return -1;
}
