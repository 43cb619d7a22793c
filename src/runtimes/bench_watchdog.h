/* The deadlines of a benchmarking module's runs on the built-in engine: a
 * thread that interrupts the instance in a slot once its deadline (the
 * run's args.ilimit or the series' args.limit) has passed, and says so in
 * the slot's `cut` flag. It sleeps on the module's lock and killed_cond, so
 * arming a deadline or killing the module wakes it at once. */
#ifndef STRATUS_BENCH_WATCHDOG_H
#define STRATUS_BENCH_WATCHDOG_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "module.h"

struct bench_watchdog {
    struct module *m;
    pthread_t thread;
    bool running, stop;                 /* under m->lock */
    uint64_t deadline_us[MODULE_SLOTS]; /* CLOCK_MONOTONIC µs, 0: none; under m->lock */
    atomic_bool cut[MODULE_SLOTS];      /* the slot's run was interrupted at its deadline */
};

/* Start the thread. 0 or -1. */
int bench_watchdog_start(struct bench_watchdog *w, struct module *m);
/* Arm slot's deadline (and clear its cut flag) / disarm it. */
void bench_watchdog_arm(struct bench_watchdog *w, int slot, uint64_t deadline_us);
void bench_watchdog_disarm(struct bench_watchdog *w, int slot);
/* Stop and join the thread (after bench_watchdog_start succeeded). */
void bench_watchdog_stop(struct bench_watchdog *w);

/* CLOCK_MONOTONIC in µs. */
uint64_t bench_now_us(void);

#endif
