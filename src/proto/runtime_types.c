/* The table of stratus-runtime's types (see stratus/runtime_types.h). */
#include "stratus/runtime_types.h"

#include <string.h>

static const char *const linux_minimal_apis[] = {"wasm", "wasi", "stdio:in", "stdio:out", NULL};
static const char *const linux_apis[] = {
    "wasm", "wasi", "channels", "stdio:in", "stdio:out", "profile:deployed", NULL};

static const struct stratus_runtime_type types[] = {
    /* the one module of linux/minimal may take 1 GiB, each of linux's 128
       modules 256 MiB */
    {"linux/minimal", linux_minimal_apis, 1, "linux-minimal", "lm", false, false, false, 1024},
    {"linux", linux_apis, 128, "linux", "lx", true, true, true, 256},
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
