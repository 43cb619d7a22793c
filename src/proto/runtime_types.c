/* The table of stratus-runtime's types (see stratus/runtime_types.h). */
#include "stratus/runtime_types.h"

#include <string.h>

static const char *const linux_minimal_apis[] = {"wasm", "wasi", "stdio:in", "stdio:out", NULL};
static const char *const linux_apis[] = {
    "wasm", "wasi", "channels", "stdio:in", "stdio:out", "profile:deployed", NULL};
static const char *const benchmarking_apis[] = {"wasm", "wasi", "profile:benchmarking", NULL};
static const char *const opcodes_apis[] = {"wasm", "wasi", "profile:opcodes", NULL};
static const char *const interference_apis[] = {"wasm", "wasi", "profile:interference", NULL};

static const struct stratus_runtime_type types[] = {
    /* the one module of linux/minimal may take 1 GiB, each of linux's 128
       modules 256 MiB */
    {"linux/minimal", linux_minimal_apis, 1, "linux-minimal", "lm", false, false, false, 1024,
     STRATUS_MODE_RUN},
    {"linux", linux_apis, 128, "linux", "lx", true, true, true, 256, STRATUS_MODE_RUN},
    /* the benchmarking runtimes run one module (series) at a time */
    {"benchmarking", benchmarking_apis, 1, "benchmarking", "bm", false, false, false, 1024,
     STRATUS_MODE_BENCHMARK},
    {"benchmarking/opcodes", opcodes_apis, 1, "benchmarking-opcodes", "bo", false, false, false,
     1024, STRATUS_MODE_OPCODES},
    {"benchmarking/interference", interference_apis, 1, "benchmarking-interference", "bi", false,
     false, false, 1024, STRATUS_MODE_INTERFERENCE},
};

const struct stratus_runtime_type *stratus_runtime_type_find(const char *type)
{
    for (size_t i = 0; type && i < sizeof types / sizeof types[0]; i++)
        if (!strcmp(types[i].type, type)) return &types[i];
    return NULL;
}

const struct stratus_runtime_type *stratus_runtime_type_at(size_t i)
{
    return i < sizeof types / sizeof types[0] ? &types[i] : NULL;
}

static const char *const builtin_engines[] = {"stratus", "interp", "aot", "auto"};
const char stratus_builtin_engines_text[] = "stratus, interp, aot, auto";

bool stratus_engine_is_builtin(const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof builtin_engines / sizeof builtin_engines[0]; i++)
        if (strlen(builtin_engines[i]) == len && !strncmp(builtin_engines[i], name, len))
            return true;
    return false;
}
