/* Entry point of the `stratus` command: finds the subcommand and hands over.
 *
 * The command is two programs built from this file. `stratus` holds the
 * commands that need only the engine (exec, spectest), so that they start
 * like a native binary and pay for no library they do not use; every other
 * command (MQTT, HTTP, databases) lives in `stratus-net`, installed beside it,
 * which `stratus` runs in its own place (execv: same process, same pid, same
 * signals). One table names every command for both. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

#ifdef STRATUS_CLI_NET
#define CORE(fn) NULL
#define NET(fn) fn
#else
#define CORE(fn) fn
#define NET(fn) NULL
#endif

struct subcommand {
    const char *name;
    int (*main)(int argc, char **argv); /* NULL: the command is in the other program */
    const char *summary;
};

static const struct subcommand subcommands[] = {
    {"manager", NET(cmd_manager_main),
     "run a node manager: MQTT, registration, runtimes, channels"},
    {"orchestrator", NET(cmd_orchestrator_main),
     "run the orchestrator: registry, placement, queues, REST API and metrics"},
    {"up", NET(cmd_up_main), "start a whole local stack: broker, orchestrator, manager"},
    {"down", NET(cmd_down_main), "stop the stack of `stratus up`"},
    {"run", NET(cmd_run_main), "run a module somewhere in the fleet (--wait: see it end)"},
    {"stop", NET(cmd_stop_main), "stop modules"},
    {"list", NET(cmd_list_main), "the runtimes with their modules and queues"},
    {"status", NET(cmd_status_main), "the managers and runtimes: alive, load, last heard"},
    {"logs", NET(cmd_logs_main), "a module's output (-f: follow it)"},
    {"files", NET(cmd_files_main), "the module store: files uploaded for the nodes (ls, put, rm)"},
    {"exec", CORE(cmd_exec_main), "run a WebAssembly (WASI) module here and now"},
    {"compile", CORE(cmd_compile_main), "compile modules to native code (the compiled tier)"},
    {"spectest", CORE(cmd_spectest_main), "run a wast2json script against the engine"},
};

#define NCOMMANDS (sizeof subcommands / sizeof subcommands[0])

static void usage(FILE *out)
{
    fprintf(out, "usage: stratus COMMAND [ARGS...]\n\ncommands:\n");
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(out, "  %-13s %s\n", subcommands[i].name, subcommands[i].summary);
    fprintf(out, "\n`stratus COMMAND --help` describes each command.\n");
}

#ifndef STRATUS_CLI_NET
/* Run argv in stratus-net, the program beside this one. Returns only on
 * failure. */
static int run_in_net_program(char **argv)
{
    char path[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);
    if (n <= 0) {
        fprintf(stderr, "stratus: cannot find its own program: %s\n", strerror(errno));
        return 1;
    }
    path[n] = '\0';
    char *slash = strrchr(path, '/');
    const char name[] = "stratus-net";
    if (!slash || (size_t)(slash + 1 - path) + sizeof name > sizeof path) return 1;
    memcpy(slash + 1, name, sizeof name);
    execv(path, argv);
    fprintf(stderr, "stratus: cannot run %s: %s\n", path, strerror(errno));
    return 1;
}
#endif

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < NCOMMANDS; i++) {
        if (strcmp(argv[1], subcommands[i].name)) continue;
        if (subcommands[i].main) return subcommands[i].main(argc - 1, argv + 1);
#ifdef STRATUS_CLI_NET
        fprintf(stderr, "stratus-net: '%s' is a command of `stratus`\n", argv[1]);
        return 2;
#else
        return run_in_net_program(argv);
#endif
    }
    fprintf(stderr, "stratus: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
