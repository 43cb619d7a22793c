/* External engines of the benchmarking runtimes: a command template from
 * the manager's configuration (`engines`, e.g. "iwasm --dir=. {file}
 * {args}") run as a child process per run, in a process group of its own
 * in the module directory, its output passed on as the module's, timed with
 * wait4's rusage, and killed (the whole group) at its deadline or when the
 * module is deleted. */
#ifndef STRATUS_BENCH_EXTERNAL_H
#define STRATUS_BENCH_EXTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EXTERNAL_WORDS_MAX 4096

/* Expand template into a NULL-terminated argv (malloc'd, each word too:
 * external_argv_free). Words split at blanks; '...' and "..." quote;
 * {file} is file, {dir} dir; a word that is exactly {args} becomes the
 * words of args (NULL-terminated, may be NULL), elsewhere {args} is them
 * joined by spaces. Returns 0, or -1 with a reason (an empty template,
 * an open quote, too many words, no memory). O(length of the result). */
int external_argv_build(const char *template, const char *file, const char *dir, char *const *args,
                        char ***argv, char *reason, size_t cap);
void external_argv_free(char **argv);

struct external_run {
    char **argv;          /* from external_argv_build; borrowed */
    const char *dir;      /* working directory */
    char **env;           /* extra NAME=value entries (NULL-terminated, may be NULL) */
    uint64_t deadline_us; /* CLOCK_MONOTONIC µs; 0: none */
    atomic_bool *killed;  /* checked every few ms */
    int (*output)(void *user, const uint8_t *buf, size_t len);
    void *user;
    /* Out. */
    uint64_t wall_us, utime_us, stime_us;
    int exit_code; /* the exit status, or 128 + signal */
    bool cut;      /* killed at the deadline */
    bool stopped;  /* killed because *killed was set */
};

/* Run it to its end. Returns 0 (the child ran; see the out fields), or -1
 * with a reason when it could not be started. */
int external_run(struct external_run *r, char *reason, size_t cap);

#endif
