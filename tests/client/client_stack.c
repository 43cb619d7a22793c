/* The client tests' stack (see client_stack.h). */
#define _GNU_SOURCE
#include "client_stack.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static int copy_in(const struct client_stack *s, const char *from_dir, const char *name)
{
    char from[PATH_MAX + 64], to[PATH_MAX + 64];
    snprintf(from, sizeof from, "%s/%s", from_dir, name);
    snprintf(to, sizeof to, "%s/%s", s->moddir, name);
    return harness_copy_file(from, to);
}

int client_stack_start(struct client_stack *s, const char *realm)
{
    memset(s, 0, sizeof *s);
    harness_init();
    snprintf(s->realm, sizeof s->realm, "%s", realm);
    if (harness_tmpdir(s->moddir)) return -1;
    const char *examples[] = {"hello.wasm", "counter.wasm", "echo.wasm"};
    const char *tests[] = {"exit_code.wasm", "spin.wasm", "trap.wasm", "read_dir.wasm"};
    for (size_t i = 0; i < 3; i++)
        if (copy_in(s, CLIENT_EXAMPLES, examples[i])) return -1;
    for (size_t i = 0; i < 4; i++)
        if (copy_in(s, CLIENT_TEST_MODULES, tests[i])) return -1;
    char data[PATH_MAX + 16], input[PATH_MAX + 32];
    snprintf(data, sizeof data, "%s/data", s->moddir);
    snprintf(input, sizeof input, "%s/input.txt", data);
    mkdir(data, 0700);
    FILE *f = fopen(input, "w");
    if (!f) return -1;
    fputs("the data directory\n", f);
    fclose(f);
    if (broker_start(&s->broker, 0)) return -1;
    if (orchestrator_start(&s->orc, s->broker.port, realm, NULL, NULL)) return -1;
    const char *extra[] = {"--runtime",   "linux/minimal:minimal", "--runtime",
                           "linux:linux", "--module-dir",          s->moddir,
                           NULL};
    if (manager_start(&s->manager, &s->broker, realm, "node", extra)) return -1;
    if (http_wait_field(s->orc.http_port, "/api/runtimes/minimal/", "alive", "true", 15000) ||
        http_wait_field(s->orc.http_port, "/api/runtimes/linux/", "alive", "true", 15000))
        return -1;
    snprintf(s->mqtt_flag, sizeof s->mqtt_flag, "127.0.0.1:%d", s->broker.port);
    snprintf(s->http_flag, sizeof s->http_flag, "127.0.0.1:%d", s->orc.http_port);
    const char *f0[] = {"--mqtt", s->mqtt_flag, "--http", s->http_flag, "--realm", s->realm, NULL};
    memcpy(s->flags, f0, sizeof f0);
    return 0;
}
