/* The runtime types Stratus's own runtime process serves (`stratus-runtime`,
 * docs/runtimes.md): one table that the manager registers from and the
 * runtime process runs by, so that the two cannot disagree on a type's
 * apis, capacity or features. Types declared by users, and the test types,
 * live in the manager (runtime_iface.h). */
#ifndef STRATUS_RUNTIME_TYPES_H
#define STRATUS_RUNTIME_TYPES_H

#include <stdbool.h>
#include <stddef.h>

/* What the runtime does with a module. */
enum stratus_runtime_mode {
    STRATUS_MODE_RUN,          /* run it once (linux, linux/minimal) */
    STRATUS_MODE_BENCHMARK,    /* a timed series of runs, a benchmarking record */
    STRATUS_MODE_OPCODES,      /* one run counting instructions, the opcode records */
    STRATUS_MODE_INTERFERENCE, /* several modules at once, each looping until the limit */
};

struct stratus_runtime_type {
    const char *type;         /* runtime_type, e.g. "linux/minimal" */
    const char *const *apis;  /* NULL-terminated */
    int max_nmodules;         /* 1..128 */
    const char *default_name; /* the runtime's name when none is given */
    const char *default_shortname;
    bool profile;   /* deployed profile records at each exit */
    bool keepalive; /* keepalives with the modules' state every few seconds */
    bool channels;  /* modules may open channels (stratus.channel_open) */
    /* Default memory cap of one module in MiB (the manager configuration's
       runtimes[].max_memory replaces it, a create's args.max_memory may
       lower it). */
    unsigned max_memory_mib;
    enum stratus_runtime_mode mode;
};

/* The type named `type`, or NULL. */
const struct stratus_runtime_type *stratus_runtime_type_find(const char *type);
/* The i-th type, NULL past the end. */
const struct stratus_runtime_type *stratus_runtime_type_at(size_t i);

/* The built-in engine's names for the benchmarking types' args.engine:
 * "stratus" (the default) and "interp" for the interpreter, "aot" and
 * "auto" for the compiled tier (stratus/aot.h's names). An external engine
 * of the manager's configuration may not take one of them. len: the
 * name's length. */
bool stratus_engine_is_builtin(const char *name, size_t len);
/* The names as one text for messages ("stratus, interp, aot, auto"). */
extern const char stratus_builtin_engines_text[];

#endif
