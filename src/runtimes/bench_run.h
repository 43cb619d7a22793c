/* The benchmarking runtime types' work on a module (docs/runtimes.md):
 * `benchmarking` runs a timed series (args.repeat runs, cut at args.limit,
 * each run a fresh instance of one loaded module, or a child process of an
 * external engine) and publishes the benchmarking record;
 * `benchmarking/opcodes` runs it once counting instructions and publishes
 * the opcodes and opcodes_prefixed records; `benchmarking/interference`
 * runs the modules of `file` (a:b:...) at once, each looping until
 * args.limit, and publishes each one's run times. */
#ifndef STRATUS_BENCH_RUN_H
#define STRATUS_BENCH_RUN_H

#include <jansson.h>

#include "module.h"

/* Run m as its runtime type's mode says (m->env->mode), on m's thread.
 * Returns the exit JSON: status exited with `runs` (runs done) and
 * `failed` (runs that failed), killed, or failed with a reason. */
json_t *bench_module_run(struct module *m);

#endif
