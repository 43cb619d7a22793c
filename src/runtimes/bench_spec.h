/* What a create asks of a benchmarking runtime (docs/runtimes.md): the
 * series (args.repeat, args.limit, args.ilimit), one argv per run
 * (args.argv as a list of lists, or one list for every run), one engine per
 * run (args.engine, a name or a list) and, for interference, the module
 * files of `file` separated by ':'. Parsed by the runtime process for the
 * benchmarking types only. */
#ifndef STRATUS_BENCH_SPEC_H
#define STRATUS_BENCH_SPEC_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BENCH_DEFAULT_LIMIT_S 60.0
#define BENCH_DEFAULT_ENGINE "stratus"
/* Modules of one interference series. */
#define BENCH_FILES_MAX 16

/* Every array and string is owned by the spec (bench_spec_free). */
struct bench_spec {
    unsigned repeat;   /* runs, default 1 */
    bool repeat_given; /* args.repeat was there (interference: at most that many runs) */
    double limit_s;    /* the whole series, default 60 */
    double ilimit_s;   /* one run, 0: none */
    size_t nargvs;     /* 0: every run takes the module's own argv */
    char ***argvs;     /* each NULL-terminated, without argv[0] */
    size_t nengines;   /* at least 1 after a parse */
    char **engines;    /* run i uses engines[i % nengines] */
    size_t nfiles;     /* `file` split at ':' (1 for a plain file) */
    char **files;
};

/* Parse a create frame's payload (JSON, checked with module_create_check)
 * for its `file` and benchmarking `args`. Returns 0, or -1 with a reason
 * (reason_cap bytes); out is then empty. O(len). */
int bench_spec_parse(const uint8_t *payload, size_t len, struct bench_spec *out, char *reason,
                     size_t reason_cap);
void bench_spec_free(struct bench_spec *spec);

/* The argv (without argv[0]) of run i: argvs[i % nargvs], or NULL when the
 * module's own argv applies. */
char **bench_spec_argv(const struct bench_spec *spec, size_t run);

#endif
