/* `stratus stop MODULE...`: each module, named by UUID, name or UUID
 * suffix, is found through the REST API (the orchestrator's name rule), then
 * deleted with a request on {realm}/proc/control; the command waits until
 * each has ended (its `exited`, or the answer's state D for a queued or
 * killed module). */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "module_watch.h"
#include "stratus/envelope.h"
#include "stratus/uuid.h"

#define STOP_WAIT_MS 15000

static void usage(FILE *out)
{
    fprintf(out,
            "usage: stratus stop [options] MODULE...\n"
            "\n"
            "Stops modules (each named by UUID, name or UUID suffix) and waits until\n"
            "they have ended. Exits 0 when every one was stopped, 1 otherwise (an\n"
            "unknown, ambiguous or already ended module is an error).\n"
            "\n"
            "%s",
            client_common_help);
}

static void on_ended(void *ctx, struct watched_module *m)
{
    (void)ctx;
    printf("stopped %s (%s)\n", m->name, m->uuid);
    fflush(stdout);
}

int client_stop_main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"help", no_argument, NULL, 'h'}, CLIENT_COMMON_OPTIONS, {NULL, 0, NULL, 0}};
    struct client_target t;
    client_target_init(&t);
    char err[CLIENT_ERR_LEN];
    struct client_getopt g = {"stop", "h", longopts, usage, &t, 0, 0};
    int c;
    while ((c = client_getopt(&g, argc, argv)) != -1)
        if (c == CLIENT_GETOPT_EXIT) return g.status;
    if (optind >= argc) {
        usage(stderr);
        return 2;
    }
    client_target_resolve(&t);
    int failed = 0;
    struct module_watch w;
    if (module_watch_init(&w, (size_t)(argc - optind)) < 0) return 1;
    w.ended_fn = on_ended;
    /* Find every module first: a typo stops nothing of the others' work. */
    size_t n = 0;
    for (int i = optind; i < argc; i++) {
        json_t *rec;
        if (client_find_module(&t, argv[i], &rec, err) < 0) {
            fprintf(stderr, "stratus stop: %s\n", err);
            failed = 1;
            continue;
        }
        const char *uuid = json_string_value(json_object_get(rec, "uuid"));
        const char *name = json_string_value(json_object_get(rec, "name"));
        const char *state = json_string_value(json_object_get(rec, "state"));
        if (state && !strcmp(state, "D")) {
            fprintf(stderr, "stratus stop: module %s (%s) has already ended\n", name ? name : "",
                    uuid ? uuid : "");
            failed = 1;
        } else if (uuid && !module_watch_find(&w, uuid)) {
            struct watched_module *m = &w.mods[n++];
            snprintf(m->uuid, sizeof m->uuid, "%s", uuid);
            snprintf(m->name, sizeof m->name, "%s", name ? name : "");
        }
        json_decref(rec);
    }
    w.n = n;
    struct client_session *s = NULL;
    if (n == 0) goto out;
    if (client_session_open(&t, &s, err) < 0 || module_watch_start(&w, s, err) < 0) {
        fprintf(stderr, "stratus stop: %s\n", err);
        failed = 1;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        struct watched_module *m = &w.mods[i];
        char oid[UUID_STR_LEN];
        if (uuid_v4_generate(oid) < 0) break;
        json_t *req = envelope_request(oid, "delete",
                                       json_pack("{s:s, s:s}", "type", "module", "uuid", m->uuid));
        json_t *answer;
        int rc = client_session_ask(s, req, CLIENT_ANSWER_MS, &answer, err);
        json_decref(req);
        if (rc < 0) {
            fprintf(stderr, "stratus stop: %s: %s\n", m->name, err);
            failed = 1;
            module_watch_end(&w, m, NULL);
            continue;
        }
        json_t *data = json_object_get(answer, "data");
        json_t *details = json_object_get(data, "details");
        const char *result = json_string_value(json_object_get(data, "result"));
        const char *state = json_string_value(json_object_get(details, "state"));
        if (!result || strcmp(result, "ok")) {
            const char *reason = json_string_value(json_object_get(details, "reason"));
            fprintf(stderr, "stratus stop: %s: %s\n", m->name, reason ? reason : "refused");
            failed = 1;
            w.ended_fn = NULL;
            module_watch_end(&w, m, NULL);
            w.ended_fn = on_ended;
        } else if (state && !strcmp(state, "D")) {
            module_watch_end(&w, m, NULL); /* it was queued or killed: ended at once */
        }
        json_decref(answer);
    }
    if (client_session_run(s, &w.all_ended, STOP_WAIT_MS) != 0) {
        for (size_t i = 0; i < n; i++)
            if (!w.mods[i].ended)
                fprintf(stderr, "stratus stop: %s (%s) has not ended yet\n", w.mods[i].name,
                        w.mods[i].uuid);
        failed = 1;
    }
out:
    client_session_close(s);
    module_watch_clear(&w);
    return failed;
}
