/* `stratus logs [-f] MODULE`: the module's output as the orchestrator kept
 * it (its last 64 KiB, also after it ended); -f then follows it live on
 * {realm}/proc/stdio/{module} until the module ends or Ctrl-C.
 *
 * With -f the live topic is subscribed before the kept output is fetched,
 * so nothing falls between the two; messages that arrived meanwhile and
 * are already at the end of the kept output are not printed twice. */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "http_client.h"
#include "module_watch.h"
#include "stratus/topic.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: stratus logs [-f] [options] MODULE\n"
            "\n"
            "Prints the output of a module (named by UUID, name or UUID suffix) as the\n"
            "orchestrator kept it: at least its last 64 KiB, also after it ended.\n"
            "\n"
            "  -f, --follow       then print new output as it comes, until the module\n"
            "                     ends or Ctrl-C\n"
            "%s",
            client_common_help);
}

struct early {
    char *data;
    size_t len;
};

struct follow {
    int live; /* the kept output is printed: print messages at once */
    struct early *early;
    size_t nearly, cap;
};

static void on_output(void *ctx, const char *topic, const void *payload, size_t len)
{
    (void)topic;
    struct follow *f = ctx;
    if (f->live) {
        fwrite(payload, 1, len, stdout);
        fflush(stdout);
        return;
    }
    if (f->nearly == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 16;
        struct early *p = realloc(f->early, cap * sizeof *p);
        if (!p) return;
        f->early = p;
        f->cap = cap;
    }
    char *copy = malloc(len ? len : 1);
    if (!copy) return;
    memcpy(copy, payload, len);
    f->early[f->nearly].data = copy;
    f->early[f->nearly++].len = len;
}

/* The number of early messages, from the first, that the kept output
 * already ends with. Cost: O(messages * their length). */
static size_t already_kept(const struct follow *f, const char *kept, size_t kept_len)
{
    for (size_t k = f->nearly; k > 0; k--) {
        size_t total = 0;
        for (size_t i = 0; i < k; i++)
            total += f->early[i].len;
        if (total > kept_len) continue;
        const char *p = kept + kept_len - total;
        int same = 1;
        for (size_t i = 0; i < k && same; i++) {
            same = !memcmp(p, f->early[i].data, f->early[i].len);
            p += f->early[i].len;
        }
        if (same) return k;
    }
    return 0;
}

static int print_kept(const struct client_target *t, const char *uuid, struct follow *f)
{
    char seg[128], path[200], err[CLIENT_ERR_LEN];
    http_path_segment_encode(uuid, seg, sizeof seg);
    snprintf(path, sizeof path, "/api/modules/%s/output", seg);
    char *body;
    size_t len;
    if (client_rest_get_raw(t, path, &body, &len, err) < 0) {
        fprintf(stderr, "stratus logs: %s\n", err);
        return -1;
    }
    fwrite(body, 1, len, stdout);
    if (f) {
        for (size_t i = already_kept(f, body, len); i < f->nearly; i++)
            fwrite(f->early[i].data, 1, f->early[i].len, stdout);
        f->live = 1;
    }
    fflush(stdout);
    free(body);
    return 0;
}

int client_logs_main(int argc, char **argv)
{
    static const struct option longopts[] = {{"follow", no_argument, NULL, 'f'},
                                             {"help", no_argument, NULL, 'h'},
                                             CLIENT_COMMON_OPTIONS,
                                             {NULL, 0, NULL, 0}};
    struct client_target t;
    client_target_init(&t);
    char err[CLIENT_ERR_LEN];
    int follow = 0;
    struct client_getopt g = {"logs", "fh", longopts, usage, &t, 0, 0};
    int c;
    while ((c = client_getopt(&g, argc, argv)) != -1) {
        if (c == CLIENT_GETOPT_EXIT) return g.status;
        follow = 1; /* 'f', the only option of its own */
    }
    if (optind + 1 != argc) {
        usage(stderr);
        return 2;
    }
    client_target_resolve(&t);
    json_t *rec;
    if (client_find_module(&t, argv[optind], &rec, err) < 0) {
        fprintf(stderr, "stratus logs: %s\n", err);
        return 1;
    }
    char uuid[UUID_STR_LEN];
    snprintf(uuid, sizeof uuid, "%s", json_string_value(json_object_get(rec, "uuid")));
    const char *state = json_string_value(json_object_get(rec, "state"));
    int ended = state && !strcmp(state, "D");
    json_decref(rec);
    if (!follow || ended) return print_kept(&t, uuid, NULL) < 0;

    struct follow f = {0};
    struct module_watch w;
    struct client_session *s = NULL;
    int code = 1;
    if (module_watch_init(&w, 1) < 0) return 1;
    snprintf(w.mods[0].uuid, sizeof w.mods[0].uuid, "%s", uuid);
    char topic[TOPIC_LAYOUT_MAX];
    if (client_session_open(&t, &s, err) < 0 ||
        topic_format(topic, sizeof topic, t.realm, TOPIC_STDIO, uuid) < 0 ||
        client_session_route(s, topic, on_output, &f, err) < 0 ||
        module_watch_start(&w, s, err) < 0) {
        fprintf(stderr, "stratus logs: %s\n", err);
        goto out;
    }
    /* A round trip through the broker, so the subscriptions are in place
     * before the kept output is read: run the loop briefly. */
    int never = 0;
    client_session_run(s, &never, 50);
    if (print_kept(&t, uuid, &f) < 0) goto out;
    /* The module may have ended while we subscribed. */
    if (client_find_module(&t, uuid, &rec, err) == 0) {
        state = json_string_value(json_object_get(rec, "state"));
        if (state && !strcmp(state, "D")) w.all_ended = 1;
        json_decref(rec);
    }
    /* The module's end, or Ctrl-C: both end the command normally. */
    client_session_run(s, &w.all_ended, UINT64_MAX);
    code = 0;
out:
    client_session_close(s);
    module_watch_clear(&w);
    for (size_t i = 0; i < f.nearly; i++)
        free(f.early[i].data);
    free(f.early);
    return code;
}
