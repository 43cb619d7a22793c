/* `stratus status`: the realm's managers and their runtimes, alive or not,
 * with load and the time since each was last heard, from the REST API. */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client.h"
#include "http_client.h"
#include "table.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: stratus status [--json] [options]\n"
            "\n"
            "Shows the managers of the realm and their runtimes: alive or not, load\n"
            "(modules running of the runtime's max_nmodules), modules queued, and how long\n"
            "ago each was last heard (registration or keepalive).\n"
            "\n"
            "  --json             {\"managers\", \"runtimes\"} with every stored field\n"
            "%s",
            client_common_help);
}

static void ago(json_t *when, char *buf, size_t cap)
{
    if (!json_is_number(when) || json_number_value(when) <= 0) {
        snprintf(buf, cap, "never");
        return;
    }
    double d = (double)time(NULL) - json_number_value(when);
    if (d < 0) d = 0;
    if (d < 120)
        snprintf(buf, cap, "%.0f s ago", d);
    else if (d < 7200)
        snprintf(buf, cap, "%.0f min ago", d / 60);
    else
        snprintf(buf, cap, "%.1f h ago", d / 3600);
}

static void add_runtime(struct table *tb, json_t *r)
{
    char load[64], seen[32], name[160], queued[16];
    snprintf(name, sizeof name, "  %s",
             client_json_str(r, "name") ? client_json_str(r, "name") : "-");
    snprintf(load, sizeof load, "%lld/%lld",
             (long long)json_integer_value(json_object_get(r, "nmodules")),
             (long long)json_integer_value(json_object_get(r, "max_nmodules")));
    snprintf(queued, sizeof queued, "%zu", json_array_size(json_object_get(r, "queued")));
    ago(json_object_get(r, "last_seen"), seen, sizeof seen);
    const char *row[] = {name,
                         client_json_str(r, "uuid"),
                         client_json_str(r, "runtime_type"),
                         json_is_true(json_object_get(r, "alive")) ? "alive" : "dead",
                         load,
                         queued,
                         seen};
    table_add(tb, row);
}

int client_status_main(int argc, char **argv)
{
    static const struct option longopts[] = {{"json", no_argument, NULL, 'j'},
                                             {"help", no_argument, NULL, 'h'},
                                             CLIENT_COMMON_OPTIONS,
                                             {NULL, 0, NULL, 0}};
    struct client_target t;
    client_target_init(&t);
    char err[CLIENT_ERR_LEN];
    int json = 0;
    struct client_getopt g = {"status", "h", longopts, usage, &t, 0, 0};
    int c;
    while ((c = client_getopt(&g, argc, argv)) != -1) {
        if (c == CLIENT_GETOPT_EXIT) return g.status;
        json = 1; /* 'j', the only option of its own */
    }
    if (optind < argc) {
        fprintf(stderr, "stratus status: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    client_target_resolve(&t);
    json_t *managers, *list;
    if (client_rest_list(&t, "/api/managers/", &managers, err) < 0) {
        fprintf(stderr, "stratus status: %s\n", err);
        return 1;
    }
    if (client_rest_list(&t, "/api/runtimes/", &list, err) < 0) {
        fprintf(stderr, "stratus status: %s\n", err);
        json_decref(managers);
        return 1;
    }
    /* The list lacks the last keepalive: one lookup per runtime. */
    json_t *runtimes = json_array();
    size_t i;
    json_t *r;
    json_array_foreach(list, i, r)
    {
        char seg[128], path[200];
        json_t *full;
        if (!client_json_str(r, "uuid") ||
            http_path_segment_encode(client_json_str(r, "uuid"), seg, sizeof seg) < 0)
            continue;
        snprintf(path, sizeof path, "/api/runtimes/%s/", seg);
        if (client_rest_get(&t, path, &full, NULL, err) == 0)
            json_array_append_new(runtimes, full);
        else
            json_array_append(runtimes, r);
    }
    json_decref(list);
    if (json) {
        json_t *doc = json_pack("{s:o, s:o}", "managers", managers, "runtimes", runtimes);
        char *text = json_dumps(doc, JSON_INDENT(2));
        if (text) printf("%s\n", text);
        free(text);
        json_decref(doc);
        return 0;
    }
    static const char *const heads[] = {
        "MANAGER / RUNTIME", "UUID", "TYPE", "STATE", "LOAD", "QUEUED", "LAST HEARD", NULL};
    struct table tb;
    table_init(&tb, heads);
    json_t *m;
    json_array_foreach(managers, i, m)
    {
        char seen[32];
        ago(json_object_get(m, "seen_at"), seen, sizeof seen);
        const char *row[] = {client_json_str(m, "name"),
                             client_json_str(m, "uuid"),
                             "manager",
                             json_is_true(json_object_get(m, "alive")) ? "alive" : "dead",
                             NULL,
                             NULL,
                             seen};
        table_add(&tb, row);
        size_t k;
        json_array_foreach(runtimes, k, r)
        {
            const char *parent = client_json_str(r, "parent");
            if (parent && client_json_str(m, "uuid") && !strcmp(parent, client_json_str(m, "uuid")))
                add_runtime(&tb, r);
        }
    }
    /* Runtimes whose manager is unknown. */
    int header = 0;
    json_array_foreach(runtimes, i, r)
    {
        const char *parent = client_json_str(r, "parent");
        int known = 0;
        size_t k;
        json_array_foreach(managers, k, m) if (parent && client_json_str(m, "uuid") &&
                                               !strcmp(parent, client_json_str(m, "uuid"))) known =
            1;
        if (known) continue;
        if (!header) {
            const char *row[] = {"(no manager)", NULL, NULL, NULL, NULL, NULL, NULL};
            table_add(&tb, row);
            header = 1;
        }
        add_runtime(&tb, r);
    }
    if (tb.nrows == 0)
        printf("no managers and no runtimes in this realm\n");
    else
        table_print(&tb, stdout, table_terminal_width(stdout));
    table_clear(&tb);
    json_decref(managers);
    json_decref(runtimes);
    return 0;
}
