/* The stack the client tests talk to: a mosquitto broker, `stratus
 * orchestrator` and `stratus manager` (name "node") with a linux/minimal
 * runtime "minimal" and a linux runtime "linux", whose module directory
 * holds the examples (hello, counter, echo), test modules (exit_code, spin,
 * trap, read_dir) and data/input.txt; and the flags that reach it. */
#ifndef STRATUS_TEST_CLIENT_STACK_H
#define STRATUS_TEST_CLIENT_STACK_H

#include <limits.h>

#include "harness.h"
#include "orc_stack.h"

struct client_stack {
    struct broker broker;
    struct orchestrator orc;
    struct proc manager;
    char moddir[PATH_MAX];
    char realm[64];
    char mqtt_flag[64], http_flag[64];
    const char *flags[8]; /* --mqtt A --http B --realm R, NULL-terminated */
};

/* Start everything (harness_init included) and wait until both runtimes
 * are alive. 0 or -1. */
int client_stack_start(struct client_stack *s, const char *realm);

#endif
