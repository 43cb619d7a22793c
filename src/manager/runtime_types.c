/* The table of runtime types, found by path. Adding a type is one row: its
 * configuration, its operations (usually the shared socket-backed ones) and,
 * for socket-backed types, the frame header its process speaks. */
#include <string.h>

#include "stratus/runtime_iface.h"

static const char *const no_apis[] = {NULL};
static const char *const fake_apis[] = {"wasm", "wasi", "channels", "stdio:in", "stdio:out", NULL};
static const char *const linux_minimal_apis[] = {"wasm", "wasi", "stdio:in", "stdio:out", NULL};
static const char *const linux_apis[] = {
    "wasm", "wasi", "channels", "stdio:in", "stdio:out", "profile:deployed", NULL};

static const struct runtime_type types[] = {
    {
        .type = "test/reg",
        .apis = no_apis,
        .max_nmodules = 0,
        .default_name = "test-reg",
        .default_shortname = "reg",
        .ops = &runtime_null_ops,
    },
    {
        .type = "test/fake",
        .apis = fake_apis,
        .max_nmodules = 4,
        .default_name = "test-fake",
        .default_shortname = "fake",
        .ops = &runtime_socket_ops,
        .header = FRAME_HEADER_SEED,
    },
    {
        .type = "test/fake-legacy",
        .apis = fake_apis,
        .max_nmodules = 4,
        .default_name = "test-fake-legacy",
        .default_shortname = "fakel",
        .ops = &runtime_socket_ops,
        .header = FRAME_HEADER_LEGACY,
    },
    /* The runtime process of both linux types is stratus-runtime
     * (src/runtimes), found beside the stratus binary. */
    {
        .type = "linux/minimal",
        .apis = linux_minimal_apis,
        .max_nmodules = 1,
        .default_name = "linux-minimal",
        .default_shortname = "lm",
        .ops = &runtime_socket_ops,
        .header = FRAME_HEADER_SEED,
        .default_command = "stratus-runtime",
    },
    {
        .type = "linux",
        .apis = linux_apis,
        .max_nmodules = 128,
        .default_name = "linux",
        .default_shortname = "lx",
        .ops = &runtime_socket_ops,
        .header = FRAME_HEADER_SEED,
        .default_command = "stratus-runtime",
    },
};

const struct runtime_type *runtime_type_find(const char *type)
{
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (!strcmp(types[i].type, type)) return &types[i];
    return NULL;
}

const struct runtime_type *runtime_type_at(size_t i)
{
    return i < sizeof types / sizeof types[0] ? &types[i] : NULL;
}
