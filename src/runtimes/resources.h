/* CPU reservations for modules (args.resources: `period` and `runtime` in
 * ns): applied to the module's own thread, with SCHED_DEADLINE where the
 * kernel and our privileges allow it, else with a cgroup v2 `cpu.max` of a
 * threaded cgroup of the thread's own, else not at all, with a message
 * saying why. */
#ifndef STRATUS_RESOURCES_H
#define STRATUS_RESOURCES_H

#include <stddef.h>
#include <stdint.h>

#include "stratus/envelope.h"

enum resources_outcome {
    RES_DEADLINE,    /* SCHED_DEADLINE with runtime/period/deadline=period */
    RES_CGROUP,      /* cgroup v2 cpu.max; the cgroup is in cgroup_dir */
    RES_NOT_APPLIED, /* the module runs without a reservation */
    RES_INVALID,     /* the values make no sense; nothing was tried */
};

/* Bounds the values must keep (the kernel's deadline scheduler's, roughly). */
/* The bounds a create request is checked against (stratus/envelope.h). */
#define RES_PERIOD_MIN_NS MODULE_RES_PERIOD_MIN_NS /* 100 µs */
#define RES_PERIOD_MAX_NS MODULE_RES_PERIOD_MAX_NS /* 10 s */
#define RES_RUNTIME_MIN_NS MODULE_RES_RUNTIME_MIN_NS

struct resources_result {
    enum resources_outcome outcome;
    char message[512];    /* one line for the module log */
    char cgroup_dir[256]; /* RES_CGROUP: remove with resources_release */
};

/* Apply the reservation to the calling thread. `try_deadline` 0 skips
 * SCHED_DEADLINE (tests of the fallbacks). Fills *out. */
void resources_apply(uint64_t period_ns, uint64_t runtime_ns, int try_deadline,
                     struct resources_result *out);

/* Removes a cgroup made by resources_apply, once its thread has ended
 * (from another thread: a cgroup cannot be removed while it holds one).
 * Nothing to do for the other outcomes. */
void resources_release(struct resources_result *res);

#endif
