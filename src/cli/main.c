/* Entry point of the `stratus` command: finds the subcommand and hands over. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

struct subcommand {
    const char *name;
    int (*main)(int argc, char **argv);
    const char *summary;
};

static const struct subcommand subcommands[] = {
#ifdef STRATUS_HAVE_CMD_MANAGER
    {"manager", cmd_manager_main, "run a node manager: MQTT, registration, runtimes, channels"},
#endif
#ifdef STRATUS_HAVE_CMD_EXEC
    {"exec", cmd_exec_main, "run a WebAssembly (WASI) module here and now"},
#endif
#ifdef STRATUS_HAVE_CMD_SPECTEST
    {"spectest", cmd_spectest_main, "run a wast2json script against the engine"},
#endif
};

static void usage(FILE *out)
{
    fprintf(out, "usage: stratus COMMAND [ARGS...]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof subcommands / sizeof subcommands[0]; i++)
        fprintf(out, "  %-10s %s\n", subcommands[i].name, subcommands[i].summary);
    fprintf(out, "\n`stratus COMMAND --help` describes each command.\n");
}

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
    for (size_t i = 0; i < sizeof subcommands / sizeof subcommands[0]; i++)
        if (!strcmp(argv[1], subcommands[i].name))
            return subcommands[i].main(argc - 1, argv + 1);
    fprintf(stderr, "stratus: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
