/* `stratus profile --out DIR`: the profile collector. It subscribes to
 * {realm}/proc/profile/#, decodes each record with the protocol library's
 * decoder (stratus/profile_record.h), looks the module and its runtime up
 * in the orchestrator's REST API (runtime name, type, platform; module
 * name, file, argv, engine) and stores the record with them
 * (profile_store.h) until Ctrl-C. A record it cannot decode is logged and
 * skipped; a lookup that fails leaves the metadata empty, never the record
 * lost. */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client.h"
#include "event_loop.h"
#include "profile_store.h"
#include "slog.h"
#include "stratus/topic.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: stratus profile [--out DIR] [options]\n"
            "\n"
            "Collects the profile records runtimes publish (benchmarking, opcodes,\n"
            "opcodes_prefixed, interference, deployed) until Ctrl-C, and stores each\n"
            "with its module's and runtime's metadata from the orchestrator in\n"
            "DIR/profile.sqlite and DIR/TYPE.csv (appended to when they exist).\n"
            "\n"
            "  -o, --out DIR      where to store them (default: profile)\n"
            "  -q, --quiet        no line per stored record\n"
            "%s",
            client_common_help);
}

struct collector {
    const struct client_target *target;
    struct profile_store *store;
    int quiet;
    unsigned long stored, skipped;
};

static char *dump_or_null(const json_t *v)
{
    if (!v || json_is_null(v)) return NULL;
    if (json_is_string(v)) return strdup(json_string_value(v));
    return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
}

/* The metadata of a record: its strings are owned by the lookup. */
struct meta_lookup {
    struct profile_meta meta;
    json_t *runtime, *module;
    char *platform, *argv, *engine;
};

static void meta_lookup(const struct client_target *t, const char *runtime, const char *module,
                        struct meta_lookup *l)
{
    memset(l, 0, sizeof *l);
    l->meta.runtime = runtime;
    l->meta.module = module;
    char err[CLIENT_ERR_LEN];
    if (client_find_runtime(t, runtime, &l->runtime, err) == 0) {
        l->meta.runtime_name = client_json_str(l->runtime, "name");
        l->meta.runtime_type = client_json_str(l->runtime, "runtime_type");
        l->platform = dump_or_null(json_object_get(l->runtime, "platform"));
        l->meta.platform = l->platform;
    } else {
        slog(SLOG_WARNING, "profile", "runtime %s: %s", runtime, err);
    }
    if (client_find_module(t, module, &l->module, err) == 0) {
        json_t *args = json_object_get(l->module, "args");
        l->meta.module_name = client_json_str(l->module, "name");
        l->meta.file = client_json_str(l->module, "file");
        l->argv = dump_or_null(json_object_get(args, "argv"));
        l->engine = dump_or_null(json_object_get(args, "engine"));
        l->meta.argv = l->argv;
        l->meta.engine = l->engine;
    } else {
        slog(SLOG_WARNING, "profile", "module %s: %s", module, err);
    }
}

static void meta_lookup_clear(struct meta_lookup *l)
{
    json_decref(l->runtime);
    json_decref(l->module);
    free(l->platform);
    free(l->argv);
    free(l->engine);
}

int profile_topic_levels(const char *realm, const char *topic, char type[PROFILE_TYPE_MAX + 1],
                         char runtime[PROFILE_ID_MAX], char module[PROFILE_ID_MAX],
                         char err[CLIENT_ERR_LEN])
{
    struct topic_ref ref;
    if (topic_parse(realm, topic, &ref) != TOPIC_PROFILE) {
        snprintf(err, CLIENT_ERR_LEN, "not a profile topic");
        return -1;
    }
    if (ref.type_len > PROFILE_TYPE_MAX || ref.runtime_len >= PROFILE_ID_MAX ||
        ref.module_len >= PROFILE_ID_MAX) {
        snprintf(err, CLIENT_ERR_LEN, "a level of the topic is too long");
        return -1;
    }
    snprintf(type, PROFILE_TYPE_MAX + 1, "%.*s", (int)ref.type_len, ref.type);
    snprintf(runtime, PROFILE_ID_MAX, "%.*s", (int)ref.runtime_len, ref.runtime);
    snprintf(module, PROFILE_ID_MAX, "%.*s", (int)ref.module_len, ref.module);
    return 0;
}

static void on_record(void *ctx, const char *topic, const void *payload, size_t len)
{
    struct collector *c = ctx;
    char type[PROFILE_TYPE_MAX + 1], runtime[PROFILE_ID_MAX], module[PROFILE_ID_MAX];
    char err[CLIENT_ERR_LEN];
    if (profile_topic_levels(c->target->realm, topic, type, runtime, module, err) < 0) {
        slog(SLOG_WARNING, "profile", "skipped a message on %s: %s", topic, err);
        c->skipped++;
        return;
    }
    struct profile_record r;
    char perr[PROFILE_ERR_LEN] = "";
    if (profile_record_decode(type, payload, len, &r, perr) < 0) {
        slog(SLOG_WARNING, "profile", "skipped a %s record of module %s (%zu bytes): %s", type,
             module, len, perr);
        c->skipped++;
        return;
    }
    struct meta_lookup l;
    meta_lookup(c->target, runtime, module, &l);
    long long id = 0;
    if (profile_store_add(c->store, loop_wall_seconds(), &l.meta, &r, &id, err) < 0) {
        slog(SLOG_ERROR, "profile", "%s record of module %s: %s", type, module, err);
        c->skipped++;
    } else {
        c->stored++;
        if (!c->quiet)
            slog(SLOG_INFO, "profile", "stored %s record %lld of module %s (%s) on %s", type, id,
                 l.meta.module_name ? l.meta.module_name : "?", module,
                 l.meta.runtime_name ? l.meta.runtime_name : runtime);
    }
    meta_lookup_clear(&l);
    profile_record_free(&r);
}

int client_profile_main(int argc, char **argv)
{
    static const struct option longopts[] = {{"out", required_argument, NULL, 'o'},
                                             {"quiet", no_argument, NULL, 'q'},
                                             {"help", no_argument, NULL, 'h'},
                                             CLIENT_COMMON_OPTIONS,
                                             {NULL, 0, NULL, 0}};
    struct client_target t;
    client_target_init(&t);
    const char *out = "profile";
    int quiet = 0;
    struct client_getopt g = {"profile", "o:qh", longopts, usage, &t, 0, 0};
    int c;
    while ((c = client_getopt(&g, argc, argv)) != -1) {
        if (c == CLIENT_GETOPT_EXIT) return g.status;
        if (c == 'o') out = optarg;
        if (c == 'q') quiet = 1;
    }
    if (optind != argc) {
        usage(stderr);
        return 2;
    }
    client_target_resolve(&t);
    char err[CLIENT_ERR_LEN];
    struct collector col = {.target = &t, .quiet = quiet};
    if (profile_store_open(out, &col.store, err) < 0) {
        fprintf(stderr, "stratus profile: %s\n", err);
        return 1;
    }
    struct client_session *s = NULL;
    char filter[TOPIC_LAYOUT_MAX];
    snprintf(filter, sizeof filter, "%s/proc/profile/#", t.realm);
    if (client_session_open(&t, &s, err) < 0 ||
        client_session_route(s, filter, on_record, &col, err) < 0) {
        fprintf(stderr, "stratus profile: %s\n", err);
        client_session_close(s);
        profile_store_close(col.store);
        return 1;
    }
    /* The session quiets the shared log for one-shot commands; the
     * collector is long-running, and its log is how it reports. */
    slog_set_level(quiet ? SLOG_WARNING : SLOG_INFO);
    /* A round trip through the broker puts the subscription in place
     * before the command says it is collecting (scripts wait for that). */
    int never = 0;
    client_session_run(s, &never, 50);
    printf("collecting %s into %s\n", filter, out);
    fflush(stdout);
    client_session_run(s, &never, UINT64_MAX);
    slog(SLOG_INFO, "profile", "stopped: %lu records stored, %lu skipped", col.stored, col.skipped);
    client_session_close(s);
    profile_store_close(col.store);
    return 0;
}
