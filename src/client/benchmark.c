/* `stratus benchmark`: a campaign of runtimes x files x engines through the
 * orchestrator, each item one module on a benchmarking runtime (one at a
 * time per runtime, the runtimes in parallel), with a progress line; the
 * records are stored in DIR (profile_store.h) with what the campaign knows
 * of them, and the table, CSV and SVG are written from there
 * (bench_report.h). `stratus benchmark report DIR` writes them again.
 *
 * The module UUIDs are made here, so the profile and control topics are
 * subscribed before any create goes out. An item is done when its module
 * has ended and its records came (or BENCH_RECORD_GRACE_MS after the end:
 * a module that failed before running publishes none). */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench_report.h"
#include "client.h"
#include "event_loop.h"
#include "exit_status.h"
#include "module_watch.h"
#include "profile_store.h"
#include "stratus/envelope.h"
#include "stratus/topic.h"
#include "stratus/uuid.h"

#define BENCH_LIST_MAX 64
#define BENCH_RECORD_GRACE_MS 3000
#define BENCH_TICK_MS 200

static void usage(FILE *out)
{
    fprintf(out,
            "usage: stratus benchmark --runtime R --file F [options]\n"
            "       stratus benchmark report [--baseline NAME] DIR\n"
            "\n"
            "Runs every file on every runtime with every engine, as benchmarking\n"
            "modules through the orchestrator (one at a time per runtime, the runtimes\n"
            "in parallel), then prints per runtime x file x engine the runs, median,\n"
            "mean, stddev, min and max of the wall time and the ratio to a baseline,\n"
            "and writes the records (DIR/profile.sqlite, DIR/TYPE.csv), the table\n"
            "(DIR/summary.csv) and a plot (DIR/summary.svg). `report DIR` prints and\n"
            "writes them again from DIR. With --opcodes: the instruction mix per file\n"
            "(DIR/mix.csv, DIR/mix.svg) from benchmarking/opcodes runtimes.\n"
            "\n"
            "  --runtime R        a benchmarking runtime (UUID, name or suffix; repeatable)\n"
            "  --file F           a module file of the runtimes' module directory\n"
            "                     (repeatable)\n"
            "  --engine E         an engine: stratus, or one of the manager's configured\n"
            "                     engines (repeatable; default: the runtime's default)\n"
            "  --repeat N         runs per item (default 10)\n"
            "  --limit S          seconds for each item's series (default: the runtime's)\n"
            "  --argv ARG         an argument of every run (repeatable, in order)\n"
            "  --interference K   run K copies of the file at once (the runtimes must be\n"
            "                     benchmarking/interference; each copy loops until --limit)\n"
            "  --opcodes          an opcode campaign (benchmarking/opcodes runtimes)\n"
            "  --shuffle          run the items in a random order\n"
            "  --baseline NAME    the engine or runtime the ratio compares with (default:\n"
            "                     the first --engine when there are several, else the\n"
            "                     first --runtime; for report DIR, the first stored)\n"
            "  --out DIR          where the results go (default: benchmark)\n"
            "%s",
            client_common_help);
}

struct bench_options {
    struct client_target target;
    const char *runtimes[BENCH_LIST_MAX], *files[BENCH_LIST_MAX], *engines[BENCH_LIST_MAX];
    size_t nruntimes, nfiles, nengines;
    long repeat;
    double limit;
    json_t *argv;
    long interference;
    int opcodes, shuffle;
    const char *baseline, *out;
};

struct bench_runtime {
    json_t *rec; /* the orchestrator's record */
    const char *uuid, *name;
    char *platform;
    long current; /* the item running on it, or -1 */
};

struct bench_item {
    size_t runtime;
    const char *file, *engine; /* engine NULL: the runtime's default */
    int started, done;
    unsigned records; /* bit per expected record type received */
    long long ended_ms;
};

struct campaign {
    struct bench_options *o;
    struct bench_runtime *rts;
    struct bench_item *items;
    size_t nitems, ndone;
    struct module_watch watch; /* item i is watch.mods[i] */
    struct profile_store *store;
    long long start_ms;
    int tty;
    unsigned expected; /* bits of the record types an item publishes */
};

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int fail(const char *fmt, const char *arg)
{
    fprintf(stderr, "stratus benchmark: ");
    fprintf(stderr, fmt, arg);
    fputc('\n', stderr);
    return 2;
}

static int add_to(const char **list, size_t *n, const char *v, const char *what)
{
    if (*n == BENCH_LIST_MAX) return fail("too many %s (at most 64)", what);
    list[(*n)++] = v;
    return 0;
}

/* 0: run; 1: done (help); 2: usage error. */
static int parse_args(int argc, char **argv, struct bench_options *o)
{
    enum {
        O_RUNTIME = 1,
        O_FILE,
        O_ENGINE,
        O_REPEAT,
        O_LIMIT,
        O_ARGV,
        O_INTERF,
        O_OPCODES,
        O_SHUFFLE,
        O_BASELINE,
        O_OUT
    };
    static const struct option longopts[] = {{"runtime", required_argument, NULL, O_RUNTIME},
                                             {"file", required_argument, NULL, O_FILE},
                                             {"engine", required_argument, NULL, O_ENGINE},
                                             {"repeat", required_argument, NULL, O_REPEAT},
                                             {"limit", required_argument, NULL, O_LIMIT},
                                             {"argv", required_argument, NULL, O_ARGV},
                                             {"interference", required_argument, NULL, O_INTERF},
                                             {"opcodes", no_argument, NULL, O_OPCODES},
                                             {"shuffle", no_argument, NULL, O_SHUFFLE},
                                             {"baseline", required_argument, NULL, O_BASELINE},
                                             {"out", required_argument, NULL, O_OUT},
                                             {"help", no_argument, NULL, 'h'},
                                             CLIENT_COMMON_OPTIONS,
                                             {NULL, 0, NULL, 0}};
    client_target_init(&o->target);
    o->repeat = 10;
    o->out = "benchmark";
    o->argv = json_array();
    struct client_getopt g = {"benchmark", "h", longopts, usage, &o->target, 0, 0};
    int c;
    char *end;
    while ((c = client_getopt(&g, argc, argv)) != -1) {
        if (c == CLIENT_GETOPT_EXIT) return g.status ? 2 : 1;
        switch (c) {
        case O_RUNTIME:
            if (add_to(o->runtimes, &o->nruntimes, optarg, "runtimes")) return 2;
            break;
        case O_FILE:
            if (!*optarg || strchr(optarg, ':')) return fail("bad --file '%s'", optarg);
            if (add_to(o->files, &o->nfiles, optarg, "files")) return 2;
            break;
        case O_ENGINE:
            if (!*optarg) return fail("empty --engine%s", "");
            if (add_to(o->engines, &o->nengines, optarg, "engines")) return 2;
            break;
        case O_REPEAT:
            o->repeat = strtol(optarg, &end, 10);
            if (*end || o->repeat < 1 || o->repeat > 1000000)
                return fail("--repeat takes 1..1000000, not '%s'", optarg);
            break;
        case O_LIMIT:
            o->limit = strtod(optarg, &end);
            if (*end || !(o->limit > 0) || o->limit > 86400)
                return fail("--limit takes seconds (0..86400], not '%s'", optarg);
            break;
        case O_ARGV: json_array_append_new(o->argv, json_string(optarg)); break;
        case O_INTERF:
            o->interference = strtol(optarg, &end, 10);
            if (*end || o->interference < 1 || o->interference > 16)
                return fail("--interference takes 1..16 copies, not '%s'", optarg);
            break;
        case O_OPCODES: o->opcodes = 1; break;
        case O_SHUFFLE: o->shuffle = 1; break;
        case O_BASELINE: o->baseline = optarg; break;
        case O_OUT: o->out = optarg; break;
        }
    }
    if (optind != argc) return fail("unexpected argument '%s'", argv[optind]);
    if (!o->nruntimes || !o->nfiles) {
        fprintf(stderr, "stratus benchmark: --runtime and --file are needed\n");
        usage(stderr);
        return 2;
    }
    if (o->opcodes && (o->nengines || o->interference))
        return fail("--opcodes runs the built-in engine once: no --engine or --interference%s", "");
    return 0;
}

/* ---- the campaign ---- */

static const char *const record_types[] = {"benchmarking", "interference", "opcodes",
                                           "opcodes_prefixed"};

static unsigned record_bit(const char *type)
{
    for (unsigned i = 0; i < 4; i++)
        if (!strcmp(type, record_types[i])) return 1u << i;
    return 0;
}

static void progress(struct campaign *c, int final)
{
    if (!c->tty && !final) return;
    double elapsed = (double)(now_ms() - c->start_ms) / 1000.0;
    char eta[48] = "";
    if (c->ndone && c->ndone < c->nitems)
        snprintf(eta, sizeof eta, ", about %.0f s left",
                 elapsed / (double)c->ndone * (double)(c->nitems - c->ndone));
    fprintf(stderr, "%s%zu/%zu done, %.1f s elapsed%s%s", c->tty ? "\r\033[K" : "", c->ndone,
            c->nitems, elapsed, eta, final ? "\n" : "");
    fflush(stderr);
}

static void item_meta(struct campaign *c, size_t i, struct profile_meta *m, char *argv_text)
{
    struct bench_item *it = &c->items[i];
    struct bench_runtime *rt = &c->rts[it->runtime];
    memset(m, 0, sizeof *m);
    m->runtime = rt->uuid;
    m->runtime_name = rt->name;
    m->runtime_type = client_json_str(rt->rec, "runtime_type");
    m->platform = rt->platform;
    m->module = c->watch.mods[i].uuid;
    m->module_name = c->watch.mods[i].name;
    m->file = it->file;
    m->argv = argv_text;
    m->engine = it->engine ? it->engine : "stratus";
}

static void on_record(void *ctx, const char *topic, const void *payload, size_t len)
{
    struct campaign *c = ctx;
    char type[PROFILE_TYPE_MAX + 1], runtime[PROFILE_ID_MAX], module[PROFILE_ID_MAX];
    char err[CLIENT_ERR_LEN];
    if (profile_topic_levels(c->o->target.realm, topic, type, runtime, module, err) < 0) return;
    struct watched_module *w = module_watch_find(&c->watch, module);
    if (!w) return; /* not ours */
    size_t i = (size_t)(w - c->watch.mods);
    struct profile_record r;
    char perr[PROFILE_ERR_LEN] = "";
    if (profile_record_decode(type, payload, len, &r, perr) < 0) {
        fprintf(stderr, "\nstratus benchmark: %s: a %s record that does not decode: %s\n", w->name,
                type, perr);
        return;
    }
    char *argv_text = json_dumps(c->o->argv, JSON_COMPACT);
    struct profile_meta m;
    item_meta(c, i, &m, argv_text);
    if (profile_store_add(c->store, loop_wall_seconds(), &m, &r, NULL, err) < 0)
        fprintf(stderr, "\nstratus benchmark: %s: %s\n", w->name, err);
    else
        c->items[i].records |= record_bit(type);
    free(argv_text);
    profile_record_free(&r);
}

static void on_ended(void *ctx, struct watched_module *m)
{
    struct campaign *c = ctx;
    size_t i = (size_t)(m - c->watch.mods);
    c->items[i].ended_ms = now_ms();
    const char *status = json_string_value(json_object_get(m->exit, "status"));
    const char *reason = json_string_value(json_object_get(m->exit, "reason"));
    if (status && strcmp(status, "exited"))
        fprintf(stderr, "%sstratus benchmark: %s on %s: %s%s%s\n", c->tty ? "\r\033[K" : "",
                m->name, c->rts[c->items[i].runtime].name, status, reason ? ": " : "",
                reason ? reason : "");
}

static json_t *item_data(struct campaign *c, size_t i)
{
    struct bench_item *it = &c->items[i];
    const struct bench_options *o = c->o;
    json_t *args = json_object();
    if (!o->opcodes) {
        if (!o->interference) json_object_set_new(args, "repeat", json_integer(o->repeat));
        if (it->engine) json_object_set_new(args, "engine", json_string(it->engine));
    }
    if (o->limit > 0) json_object_set_new(args, "limit", json_real(o->limit));
    if (json_array_size(o->argv)) json_object_set(args, "argv", o->argv);
    char file[4096];
    size_t n = (size_t)snprintf(file, sizeof file, "%s", it->file);
    for (long k = 1; k < o->interference && n < sizeof file; k++)
        n += (size_t)snprintf(file + n, sizeof file - n, ":%s", it->file);
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:o}", "type", "module", "uuid",
                     c->watch.mods[i].uuid, "name", c->watch.mods[i].name, "file", file, "parent",
                     c->rts[it->runtime].uuid, "args", args);
}

/* Send item i's create; a refusal ends the item at once. */
static int start_item(struct client_session *s, struct campaign *c, size_t i)
{
    struct bench_item *it = &c->items[i];
    it->started = 1;
    c->rts[it->runtime].current = (long)i;
    char oid[UUID_STR_LEN];
    if (uuid_v4_generate(oid) < 0) return -1;
    json_t *req = envelope_request(oid, "create", item_data(c, i));
    json_t *answer;
    char err[CLIENT_ERR_LEN];
    int rc = client_session_ask(s, req, CLIENT_ANSWER_MS, &answer, err);
    json_decref(req);
    if (rc < 0) {
        fprintf(stderr, "\nstratus benchmark: %s\n", err);
        return -1;
    }
    json_t *data = json_object_get(answer, "data");
    const char *ok = json_string_value(json_object_get(data, "result"));
    if (!ok || strcmp(ok, "ok")) {
        const char *reason =
            json_string_value(json_object_get(json_object_get(data, "details"), "reason"));
        struct watched_module *m = &c->watch.mods[i];
        fprintf(stderr, "%sstratus benchmark: %s refused on %s: %s\n", c->tty ? "\r\033[K" : "",
                m->name, c->rts[it->runtime].name, reason ? reason : "no reason");
        module_watch_end(&c->watch, m, json_pack("{s:s}", "status", "refused"));
        it->ended_ms -= BENCH_RECORD_GRACE_MS; /* no record will come */
    }
    json_decref(answer);
    return 0;
}

/* Mark what is done and start what may start. */
static int step(struct client_session *s, struct campaign *c)
{
    long long now = now_ms();
    for (size_t i = 0; i < c->nitems; i++) {
        struct bench_item *it = &c->items[i];
        if (!it->started || it->done || !c->watch.mods[i].ended) continue;
        if ((it->records & c->expected) == c->expected ||
            now - it->ended_ms > BENCH_RECORD_GRACE_MS) {
            it->done = 1;
            c->ndone++;
            c->rts[it->runtime].current = -1;
        }
    }
    for (size_t i = 0; i < c->nitems; i++) {
        struct bench_item *it = &c->items[i];
        if (it->started || c->rts[it->runtime].current >= 0) continue;
        if (start_item(s, c, i) < 0) return -1;
    }
    progress(c, 0);
    return 0;
}

static int resolve_runtimes(struct campaign *c)
{
    char err[CLIENT_ERR_LEN];
    for (size_t r = 0; r < c->o->nruntimes; r++) {
        struct bench_runtime *rt = &c->rts[r];
        rt->current = -1;
        if (client_find_runtime(&c->o->target, c->o->runtimes[r], &rt->rec, err) < 0) {
            fprintf(stderr, "stratus benchmark: %s\n", err);
            return -1;
        }
        rt->uuid = client_json_str(rt->rec, "uuid");
        rt->name = client_json_str(rt->rec, "name");
        const char *type = client_json_str(rt->rec, "runtime_type");
        const char *want = c->o->opcodes        ? "benchmarking/opcodes"
                           : c->o->interference ? "benchmarking/interference"
                                                : "benchmarking";
        if (!rt->uuid || !rt->name || !type || strcmp(type, want)) {
            fprintf(stderr, "stratus benchmark: runtime %s is of type %s, not %s\n",
                    c->o->runtimes[r], type ? type : "?", want);
            return -1;
        }
        json_t *platform = json_object_get(rt->rec, "platform");
        if (platform && !json_is_null(platform))
            rt->platform = json_dumps(platform, JSON_COMPACT | JSON_ENCODE_ANY);
        for (size_t k = 0; k < r; k++)
            if (!strcmp(c->rts[k].uuid, rt->uuid)) {
                fail("runtime %s is named twice", rt->name);
                return -1;
            }
    }
    return 0;
}

static int make_items(struct campaign *c)
{
    const struct bench_options *o = c->o;
    size_t ne = o->nengines ? o->nengines : 1;
    c->nitems = o->nruntimes * o->nfiles * ne;
    c->items = calloc(c->nitems, sizeof *c->items);
    if (!c->items || module_watch_init(&c->watch, c->nitems) < 0) return -1;
    size_t n = 0;
    for (size_t f = 0; f < o->nfiles; f++)
        for (size_t e = 0; e < ne; e++)
            for (size_t r = 0; r < o->nruntimes; r++)
                c->items[n++] = (struct bench_item){.runtime = r,
                                                    .file = o->files[f],
                                                    .engine = o->nengines ? o->engines[e] : NULL};
    if (o->shuffle) {
        unsigned seed = (unsigned)now_ms() ^ (unsigned)getpid();
        for (size_t i = c->nitems; i > 1; i--) {
            size_t j = (size_t)rand_r(&seed) % i;
            struct bench_item t = c->items[i - 1];
            c->items[i - 1] = c->items[j];
            c->items[j] = t;
        }
    }
    for (size_t i = 0; i < c->nitems; i++) {
        struct watched_module *m = &c->watch.mods[i];
        if (uuid_v4_generate(m->uuid) < 0) return -1;
        snprintf(m->name, sizeof m->name, "bench-%zu-%s", i + 1, c->items[i].file);
    }
    c->watch.ended_fn = on_ended;
    c->watch.ctx = c;
    return 0;
}

static int run_campaign(struct bench_options *o)
{
    struct campaign c = {.o = o, .tty = isatty(STDERR_FILENO)};
    c.expected = o->opcodes        ? record_bit("opcodes") | record_bit("opcodes_prefixed")
                 : o->interference ? record_bit("interference")
                                   : record_bit("benchmarking");
    client_target_resolve(&o->target);
    c.rts = calloc(o->nruntimes, sizeof *c.rts);
    struct client_session *s = NULL;
    char err[CLIENT_ERR_LEN];
    int code = 1;
    if (!c.rts || resolve_runtimes(&c) < 0 || make_items(&c) < 0) goto out;
    if (profile_store_open(o->out, &c.store, err) < 0) {
        fprintf(stderr, "stratus benchmark: %s\n", err);
        goto out;
    }
    char filter[TOPIC_LAYOUT_MAX];
    snprintf(filter, sizeof filter, "%s/proc/profile/#", o->target.realm);
    if (client_session_open(&o->target, &s, err) < 0 ||
        client_session_route(s, filter, on_record, &c, err) < 0 ||
        module_watch_start(&c.watch, s, err) < 0) {
        fprintf(stderr, "stratus benchmark: %s\n", err);
        goto out;
    }
    int never = 0;
    client_session_run(s, &never, 50); /* the subscriptions are in place */
    c.start_ms = now_ms();
    int lost = 0;
    while (c.ndone < c.nitems) {
        if (step(s, &c) < 0) {
            lost = 1;
            /* No answer from the orchestrator: what is stored is reported. */
            fprintf(stderr, "stratus benchmark: stopping; the results so far are in %s\n", o->out);
            break;
        }
        if (c.ndone == c.nitems) break;
        if (client_session_run(s, &never, BENCH_TICK_MS) == 2) {
            fprintf(stderr, "\nstratus benchmark: interrupted; the results so far are in %s\n",
                    o->out);
            break;
        }
    }
    progress(&c, 1);
    profile_store_close(c.store);
    c.store = NULL;
    size_t rows;
    /* The default baseline is the first engine (or runtime) given, whatever
     * order --shuffle ran them in. */
    const char *baseline = o->baseline        ? o->baseline
                           : o->nengines > 1  ? o->engines[0]
                           : o->nruntimes > 1 ? c.rts[0].name
                                              : NULL;
    if (bench_report_write(o->out, baseline, stdout, &rows, err) < 0) {
        fprintf(stderr, "stratus benchmark: %s\n", err);
        goto out;
    }
    printf("results in %s/\n", o->out);
    code = lost ? 1 : c.ndone == c.nitems ? 0 : CLIENT_EXIT_INTERRUPTED;
out:
    client_session_close(s);
    profile_store_close(c.store);
    module_watch_clear(&c.watch);
    if (c.rts)
        for (size_t r = 0; r < o->nruntimes; r++) {
            json_decref(c.rts[r].rec);
            free(c.rts[r].platform);
        }
    free(c.rts);
    free(c.items);
    return code;
}

static int report_main(int argc, char **argv)
{
    static const struct option longopts[] = {{"baseline", required_argument, NULL, 'b'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    const char *baseline = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "b:h", longopts, NULL)) != -1) {
        if (c == 'b') {
            baseline = optarg;
        } else if (c == 'h') {
            usage(stdout);
            return 0;
        } else {
            usage(stderr);
            return 2;
        }
    }
    if (optind + 1 != argc) {
        usage(stderr);
        return 2;
    }
    char err[CLIENT_ERR_LEN];
    if (bench_report_write(argv[optind], baseline, stdout, NULL, err) < 0) {
        fprintf(stderr, "stratus benchmark report: %s\n", err);
        return 1;
    }
    return 0;
}

int client_benchmark_main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "report")) return report_main(argc - 1, argv + 1);
    struct bench_options o;
    memset(&o, 0, sizeof o);
    int rc = parse_args(argc, argv, &o);
    if (rc == 0)
        rc = run_campaign(&o);
    else if (rc == 1)
        rc = 0;
    json_decref(o.argv);
    return rc;
}
