/* The runtime types Stratus's own runtime process serves (`stratus-runtime`,
 * docs/runtimes.md): one table that the manager registers from and the
 * runtime process runs by, so that the two cannot disagree on a type's
 * apis, capacity or features. Types declared by users, and the test types,
 * live in the manager (runtime_iface.h). */
#ifndef STRATUS_RUNTIME_TYPES_H
#define STRATUS_RUNTIME_TYPES_H

#include <stdbool.h>
#include <stddef.h>

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
};

/* The type named `type`, or NULL. */
const struct stratus_runtime_type *stratus_runtime_type_find(const char *type);
/* The i-th type, NULL past the end. */
const struct stratus_runtime_type *stratus_runtime_type_at(size_t i);

#endif
