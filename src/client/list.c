/* `stratus list`: the runtimes of the realm with their modules and
 * queues, from the REST API, as one table that fits the terminal (or JSON);
 * --watch redraws it every few seconds. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "table.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: stratus list [--all] [--watch SECONDS] [--json] [options]\n"
            "\n"
            "Shows the runtimes of the realm with their modules (state A alive, E\n"
            "exiting, K killed, Q queued, D ended) and the queue of modules that wait\n"
            "for any runtime, as a table that fits the terminal.\n"
            "\n"
            "  --all              also the modules that have ended\n"
            "  --watch SECONDS    redraw every SECONDS seconds until Ctrl-C\n"
            "  --json             {\"runtimes\", \"modules\", \"queued\"} as the REST API\n"
            "                     gives them\n"
            "%s",
            client_common_help);
}

static int fetch(const struct client_target *t, json_t **out, char *err)
{
    json_t *runtimes = NULL, *modules = NULL, *queued = NULL;
    if (client_rest_list(t, "/api/runtimes/", &runtimes, err) < 0 ||
        client_rest_list(t, "/api/modules/", &modules, err) < 0 ||
        client_rest_list(t, "/api/queued/", &queued, err) < 0) {
        json_decref(runtimes);
        json_decref(modules);
        json_decref(queued);
        return -1;
    }
    *out = json_pack("{s:o, s:o, s:o}", "runtimes", runtimes, "modules", modules, "queued", queued);
    return 0;
}

/* The queue reason of a queued module (from /api/queued/). */
static const char *queued_reason(json_t *queued, const char *uuid)
{
    size_t i;
    json_t *q;
    json_array_foreach(queued, i, q) if (uuid && client_json_str(q, "uuid") &&
                                         !strcmp(client_json_str(q, "uuid"),
                                                 uuid)) return client_json_str(q, "reason");
    return NULL;
}

static void add_module_row(struct table *tb, json_t *m, json_t *queued)
{
    const char *state = client_json_str(m, "state");
    const char *info = NULL;
    if (state && !strcmp(state, "Q")) info = queued_reason(queued, client_json_str(m, "uuid"));
    char name[160];
    snprintf(name, sizeof name, "  %s",
             client_json_str(m, "name") ? client_json_str(m, "name") : "-");
    const char *row[] = {name, client_json_str(m, "uuid"), client_json_str(m, "file"), state, info};
    table_add(tb, row);
}

static void print_table(json_t *doc, int all, FILE *out)
{
    json_t *runtimes = json_object_get(doc, "runtimes");
    json_t *modules = json_object_get(doc, "modules");
    json_t *queued = json_object_get(doc, "queued");
    static const char *const heads[] = {"RUNTIME / MODULE", "UUID", "TYPE / FILE", "STATE",
                                        "LOAD / REASON",    NULL};
    struct table tb;
    table_init(&tb, heads);
    size_t i, j;
    json_t *r, *m;
    json_array_foreach(runtimes, i, r)
    {
        char load[64];
        snprintf(load, sizeof load, "%lld/%lld",
                 (long long)json_integer_value(json_object_get(r, "nmodules")),
                 (long long)json_integer_value(json_object_get(r, "max_nmodules")));
        const char *row[] = {client_json_str(r, "name"), client_json_str(r, "uuid"),
                             client_json_str(r, "runtime_type"),
                             json_is_true(json_object_get(r, "alive")) ? "alive" : "dead", load};
        table_add(&tb, row);
        const char *ru = client_json_str(r, "uuid");
        json_array_foreach(modules, j, m)
        {
            const char *parent = client_json_str(m, "parent"), *state = client_json_str(m, "state");
            if (!parent || !ru || strcmp(parent, ru)) continue;
            if (!all && state && !strcmp(state, "D")) continue;
            add_module_row(&tb, m, queued);
        }
    }
    /* Modules on no runtime: the realm's queue, and ended ones never placed. */
    int header = 0;
    json_array_foreach(modules, j, m)
    {
        const char *state = client_json_str(m, "state");
        if (client_json_str(m, "parent") || (!all && state && !strcmp(state, "D"))) continue;
        if (!header) {
            const char *row[] = {"(no runtime)", NULL, NULL, NULL, NULL};
            table_add(&tb, row);
            header = 1;
        }
        add_module_row(&tb, m, queued);
    }
    if (tb.nrows == 0) {
        fprintf(out, "no runtimes and no modules in this realm\n");
    } else {
        table_print(&tb, out, table_terminal_width(out));
    }
    table_clear(&tb);
}

int client_list_main(int argc, char **argv)
{
    enum { OPT_ALL = 1, OPT_WATCH, OPT_JSON };
    static const struct option longopts[] = {{"all", no_argument, NULL, OPT_ALL},
                                             {"watch", required_argument, NULL, OPT_WATCH},
                                             {"json", no_argument, NULL, OPT_JSON},
                                             {"help", no_argument, NULL, 'h'},
                                             CLIENT_COMMON_OPTIONS,
                                             {NULL, 0, NULL, 0}};
    struct client_target t;
    client_target_init(&t);
    char err[CLIENT_ERR_LEN];
    int all = 0, json = 0;
    double watch = 0;
    struct client_getopt g = {"list", "h", longopts, usage, &t, 0, 0};
    int c;
    while ((c = client_getopt(&g, argc, argv)) != -1) {
        if (c == CLIENT_GETOPT_EXIT) return g.status;
        char *end;
        switch (c) {
        case OPT_ALL: all = 1; break;
        case OPT_JSON: json = 1; break;
        case OPT_WATCH:
            errno = 0;
            watch = strtod(optarg, &end);
            if (errno || *end || end == optarg || !(watch >= 0.1 && watch <= 86400)) {
                fprintf(stderr, "stratus list: --watch '%s': seconds, 0.1-86400\n", optarg);
                return 2;
            }
            break;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "stratus list: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    client_target_resolve(&t);
    for (;;) {
        json_t *doc;
        int ok = fetch(&t, &doc, err) == 0;
        if (watch > 0 && isatty(STDOUT_FILENO)) fputs("\033[H\033[2J", stdout);
        if (!ok) {
            fprintf(stderr, "stratus list: %s\n", err);
            if (watch <= 0) return 1;
        } else if (json) {
            char *text = json_dumps(doc, JSON_INDENT(2));
            if (text) printf("%s\n", text);
            free(text);
            json_decref(doc);
        } else {
            print_table(doc, all, stdout);
            json_decref(doc);
        }
        fflush(stdout);
        if (watch <= 0) return 0;
        struct timespec ts = {(time_t)watch, (long)((watch - (double)(time_t)watch) * 1e9)};
        nanosleep(&ts, NULL);
    }
}
