/* `stratus run`: ask the orchestrator to run a module (or N copies) and say
 * where it went; with --wait, stream its output as it comes and exit with
 * its exit status (exit_status.h). Ctrl-C during --wait deletes the modules
 * and says so.
 *
 * The command makes the module UUIDs itself, so that it subscribes to their
 * output and to their runtimes' control topics before the create goes out:
 * a module that prints and exits in a millisecond loses nothing. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client.h"
#include "exit_status.h"
#include "module_watch.h"
#include "stratus/envelope.h"
#include "stratus/topic.h"
#include "stratus/uuid.h"

#define RUN_COPIES_MAX 1024
/* After Ctrl-C, how long the deleted modules' exits are awaited. */
#define RUN_STOP_WAIT_MS 10000

static void usage(FILE *out)
{
    fprintf(out,
            "usage: stratus run [options] FILE.wasm [--] [ARGS...]\n"
            "\n"
            "Asks the orchestrator to run the module FILE and prints its UUID and where\n"
            "it was placed, or that it is queued and why. With --wait it streams the\n"
            "module's output as it comes and exits with the module's exit status.\n"
            "\n"
            "A FILE that exists on this machine is stored in the orchestrator's module\n"
            "store (sent only when the store lacks its SHA-256) and the node that takes\n"
            "the module fetches it; any other FILE is a path inside the module directory\n"
            "of the runtime that takes it.\n"
            "\n"
            "  --runtime R           run it on runtime R (UUID, name or UUID suffix);\n"
            "                        default: the orchestrator picks one that fits\n"
            "  --name N              the module's name (default: FILE without .wasm;\n"
            "                        copies are named N-1, N-2, ...)\n"
            "  --env K=V             an environment variable (repeatable)\n"
            "  --dir D               a directory of the module directory the module may\n"
            "                        use (repeatable)\n"
            "  --channel PATH=TOPIC[:MODE]  a pub/sub channel: PATH as the module opens\n"
            "                        it, the real TOPIC, MODE r, w or rw (default rw)\n"
            "  --fault-crash restart|ignore  run a trapped module again (default ignore)\n"
            "  --copies N            run N copies (default 1)\n"
            "  --node-file           FILE is a path in the node's module directory even\n"
            "                        when it also exists here (nothing is uploaded)\n"
            "  --wait                stream the output and wait for the end\n"
            "  --json                print the orchestrator's answer as JSON\n"
            "%s"
            "\n"
            "Exit status with --wait: the module's exit code; %d if it trapped; %d if it\n"
            "was killed (stopped); %d if it could not be started (the reason is printed);\n"
            "%d after Ctrl-C (the module is stopped). With several copies, the first\n"
            "non-zero status of a copy. Without --wait: 0 once the orchestrator took it,\n"
            "%d if it refused.\n",
            client_common_help, CLIENT_EXIT_TRAPPED, CLIENT_EXIT_KILLED, CLIENT_EXIT_FAILED,
            CLIENT_EXIT_INTERRUPTED, CLIENT_EXIT_FAILED);
}

struct run_options {
    struct client_target target;
    const char *runtime, *name, *file, *fault_crash;
    json_t *argv, *env, *dirs, *channels;
    int copies, wait, json, node_file;
    /* An uploaded file: its SHA-256 and size; `file` is then its base name. */
    char sha256[65];
    uint64_t size;
};

static int fail(const char *fmt, const char *arg)
{
    fprintf(stderr, "stratus run: ");
    fprintf(stderr, fmt, arg);
    fputc('\n', stderr);
    return 2;
}

/* "PATH=TOPIC[:MODE]": the mode is the text after the last ':' when it is a
 * mode (topics may hold ':'). */
static int parse_channel(const char *text, json_t *channels)
{
    const char *eq = strchr(text, '=');
    if (!eq || eq == text || !eq[1]) return -1;
    char *topic = strdup(eq + 1);
    if (!topic) return -1;
    const char *mode = "rw";
    char *colon = strrchr(topic, ':');
    unsigned bits;
    if (colon && channel_mode_parse(colon + 1, &bits) == 0) {
        *colon = '\0';
        mode = colon + 1;
    }
    int rc = *topic ? 0 : -1;
    if (rc == 0)
        json_array_append_new(channels,
                              json_pack("{s:s%, s:s, s:s}", "path", text, (size_t)(eq - text),
                                        "topic", topic, "mode", mode));
    free(topic);
    return rc;
}

enum {
    OPT_RUNTIME = 1,
    OPT_NAME,
    OPT_ENV,
    OPT_DIR,
    OPT_CHANNEL,
    OPT_FAULT,
    OPT_COPIES,
    OPT_WAIT,
    OPT_JSON,
    OPT_NODE_FILE
};

static int parse_args(int argc, char **argv, struct run_options *o)
{
    static const struct option longopts[] = {
        {"runtime", required_argument, NULL, OPT_RUNTIME},
        {"name", required_argument, NULL, OPT_NAME},
        {"env", required_argument, NULL, OPT_ENV},
        {"dir", required_argument, NULL, OPT_DIR},
        {"channel", required_argument, NULL, OPT_CHANNEL},
        {"fault-crash", required_argument, NULL, OPT_FAULT},
        {"copies", required_argument, NULL, OPT_COPIES},
        {"wait", no_argument, NULL, OPT_WAIT},
        {"json", no_argument, NULL, OPT_JSON},
        {"node-file", no_argument, NULL, OPT_NODE_FILE},
        {"help", no_argument, NULL, 'h'},
        CLIENT_COMMON_OPTIONS,
        {NULL, 0, NULL, 0},
    };
    o->copies = 1;
    o->argv = json_array();
    o->env = json_array();
    o->dirs = json_array();
    o->channels = json_array();
    client_target_init(&o->target);
    /* "+": the first non-option (the file) ends the options; what follows
     * are the module's arguments. */
    struct client_getopt g = {"run", "+h", longopts, usage, &o->target, 0, 0};
    int c;
    while ((c = client_getopt(&g, argc, argv)) != -1) {
        if (c == CLIENT_GETOPT_EXIT) return g.status == 0 ? 1 : g.status;
        char *end;
        switch (c) {
        case OPT_RUNTIME: o->runtime = optarg; break;
        case OPT_NAME: o->name = optarg; break;
        case OPT_ENV:
            if (!strchr(optarg, '=') || optarg[0] == '=')
                return fail("--env '%s': expected NAME=VALUE", optarg);
            json_array_append_new(o->env, json_string(optarg));
            break;
        case OPT_DIR: json_array_append_new(o->dirs, json_string(optarg)); break;
        case OPT_CHANNEL:
            if (parse_channel(optarg, o->channels) < 0)
                return fail("--channel '%s': expected PATH=TOPIC[:MODE]", optarg);
            break;
        case OPT_FAULT:
            if (strcmp(optarg, "restart") && strcmp(optarg, "ignore"))
                return fail("--fault-crash '%s': restart or ignore", optarg);
            o->fault_crash = optarg;
            break;
        case OPT_COPIES:
            errno = 0;
            o->copies = (int)strtol(optarg, &end, 10);
            if (errno || *end || end == optarg || o->copies < 1 || o->copies > RUN_COPIES_MAX)
                return fail("--copies '%s': a number 1-1024", optarg);
            break;
        case OPT_WAIT: o->wait = 1; break;
        case OPT_JSON: o->json = 1; break;
        case OPT_NODE_FILE: o->node_file = 1; break;
        }
    }
    if (optind >= argc) {
        usage(stderr);
        return 2;
    }
    o->file = argv[optind++];
    if (optind < argc && !strcmp(argv[optind], "--")) optind++;
    for (; optind < argc; optind++)
        json_array_append_new(o->argv, json_string(argv[optind]));
    return 0;
}

static void clear_options(struct run_options *o)
{
    json_decref(o->argv);
    json_decref(o->env);
    json_decref(o->dirs);
    json_decref(o->channels);
}

/* The module's default name: the file's base name without ".wasm". */
static void default_name(const char *file, char *out, size_t cap)
{
    const char *base = strrchr(file, '/');
    base = base ? base + 1 : file;
    size_t n = strlen(base);
    if (n > 5 && !strcmp(base + n - 5, ".wasm")) n -= 5;
    if (n >= cap) n = cap - 1;
    memcpy(out, base, n);
    out[n] = '\0';
}

static json_t *module_data(const struct run_options *o, const struct watched_module *m)
{
    json_t *args = json_object();
    if (json_array_size(o->argv)) json_object_set(args, "argv", o->argv);
    if (json_array_size(o->env)) json_object_set(args, "env", o->env);
    if (json_array_size(o->dirs)) json_object_set(args, "dirs", o->dirs);
    if (o->fault_crash) json_object_set_new(args, "fault_crash", json_string(o->fault_crash));
    json_t *data = json_pack("{s:s, s:s, s:s, s:s, s:o}", "type", "module", "uuid", m->uuid, "name",
                             m->name, "file", o->file, "args", args);
    if (json_array_size(o->channels)) json_object_set(data, "channels", o->channels);
    if (o->sha256[0]) {
        json_object_set_new(data, "file_sha256", json_string(o->sha256));
        json_object_set_new(data, "file_size", json_integer((json_int_t)o->size));
    }
    if (o->runtime) json_object_set_new(data, "parent", json_string(o->runtime));
    return data;
}

struct run_state {
    struct run_options *o;
    struct module_watch watch;
    int queued_any;
};

static void on_output(void *ctx, const char *topic, const void *payload, size_t len)
{
    (void)ctx;
    (void)topic;
    fwrite(payload, 1, len, stdout);
    fflush(stdout);
}

static void on_started(void *ctx, struct watched_module *m)
{
    struct run_state *st = ctx;
    if (st->queued_any && !st->o->json)
        fprintf(stderr, "stratus run: %s (%s) started on runtime %s\n", m->name, m->uuid,
                m->runtime);
}

static void on_ended(void *ctx, struct watched_module *m)
{
    struct run_state *st = ctx;
    const char *reason = json_string_value(json_object_get(m->exit, "reason"));
    int code = client_exit_status(m->exit);
    if (st->o->wait &&
        (code == CLIENT_EXIT_FAILED || code == CLIENT_EXIT_TRAPPED || code == CLIENT_EXIT_KILLED) &&
        reason)
        fprintf(stderr, "stratus run: %s: %s\n", m->name, reason);
}

/* One answer (result and details) about module m: say where it went. 0 when
 * it was taken, -1 when refused (m is then ended). */
static int report_answer(struct run_state *st, struct watched_module *m, json_t *result)
{
    const char *ok = json_string_value(json_object_get(result, "result"));
    json_t *details = json_object_get(result, "details");
    if (!ok || strcmp(ok, "ok")) {
        const char *reason = json_string_value(json_object_get(details, "reason"));
        fprintf(stderr, "stratus run: %s: refused: %s\n", m->name, reason ? reason : "no reason");
        module_watch_end(&st->watch, m, json_pack("{s:s}", "status", "failed"));
        return -1;
    }
    const char *state = json_string_value(json_object_get(details, "state"));
    const char *reason = json_string_value(json_object_get(details, "reason"));
    const char *parent = json_string_value(json_object_get(details, "parent"));
    const char *parent_name = json_string_value(json_object_get(details, "parent_name"));
    FILE *out = st->o->wait ? stderr : stdout;
    const char *prefix = st->o->wait ? "stratus run: " : "";
    if (state && !strcmp(state, "Q")) {
        st->queued_any = 1;
        if (!st->o->json)
            fprintf(out, "%s%s %s queued: %s\n", prefix, m->uuid, m->name,
                    reason ? reason : "waiting for room");
    } else if (state && !strcmp(state, "D")) {
        const char *status = json_string_value(json_object_get(details, "status"));
        fprintf(stderr, "stratus run: %s: ended at once (%s)%s%s\n", m->name,
                status ? status : "failed", reason ? ": " : "", reason ? reason : "");
        json_t *exit = json_object();
        json_object_set(exit, "status", json_object_get(details, "status"));
        json_object_set(exit, "exit_code", json_object_get(details, "exit_code"));
        if (!m->ended)
            module_watch_end(&st->watch, m, exit);
        else
            json_decref(exit);
    } else if (!st->o->json && (!st->o->wait || isatty(STDERR_FILENO))) {
        /* With --wait, where it runs is news for people, not for scripts. */
        fprintf(out, "%s%s %s on runtime %s (%s)\n", prefix, m->uuid, m->name,
                parent_name ? parent_name : "?", parent ? parent : "?");
    }
    if (parent) snprintf(m->runtime, sizeof m->runtime, "%s", parent);
    return 0;
}

/* Send the create (or create_batch) and read the answer. Returns 0 when
 * every module was taken, 1 when some were refused, -1 when no answer came. */
static int send_create(struct client_session *s, struct run_state *st)
{
    struct run_options *o = st->o;
    json_t *request;
    char oid[UUID_STR_LEN];
    if (uuid_v4_generate(oid) < 0) return -1;
    if (st->watch.n == 1) {
        request = envelope_request(oid, "create", module_data(o, &st->watch.mods[0]));
    } else {
        json_t *mods = json_array();
        for (size_t i = 0; i < st->watch.n; i++)
            json_array_append_new(mods, module_data(o, &st->watch.mods[i]));
        json_t *batch = json_pack("{s:o}", "modules", mods);
        if (o->runtime) json_object_set_new(batch, "parent", json_string(o->runtime));
        request = envelope_request(oid, "create_batch", batch);
    }
    json_t *answer;
    char err[CLIENT_ERR_LEN];
    int rc = client_session_ask(s, request, CLIENT_ANSWER_MS, &answer, err);
    json_decref(request);
    if (rc < 0) {
        fprintf(stderr, "stratus run: %s\n", err);
        return -1;
    }
    json_t *data = json_object_get(answer, "data");
    if (o->json) {
        char *text = json_dumps(json_object_get(data, "details"), JSON_INDENT(2));
        if (text) printf("%s\n", text);
        free(text);
        fflush(stdout);
    }
    int refused = 0;
    if (st->watch.n == 1) {
        refused += report_answer(st, &st->watch.mods[0], data) < 0;
    } else {
        json_t *results = json_object_get(json_object_get(data, "details"), "modules");
        const char *ok = json_string_value(json_object_get(data, "result"));
        if (!json_is_array(results)) {
            /* The whole batch refused. */
            for (size_t i = 0; i < st->watch.n; i++)
                refused += report_answer(st, &st->watch.mods[i], data) < 0;
        } else {
            for (size_t i = 0; i < st->watch.n; i++) {
                json_t *r = json_array_get(results, i);
                if (!r && ok && strcmp(ok, "ok")) r = data;
                refused += report_answer(st, &st->watch.mods[i], r) < 0;
            }
        }
    }
    json_decref(answer);
    return refused ? 1 : 0;
}

static void stop_modules(struct client_session *s, struct run_state *st)
{
    char topic[TOPIC_LAYOUT_MAX];
    topic_format(topic, sizeof topic, client_session_realm(s), TOPIC_CONTROL, NULL);
    for (size_t i = 0; i < st->watch.n; i++) {
        struct watched_module *m = &st->watch.mods[i];
        if (m->ended) continue;
        fprintf(stderr, "stratus run: interrupted: stopping %s (%s)\n", m->name, m->uuid);
        char oid[UUID_STR_LEN];
        if (uuid_v4_generate(oid) < 0) continue;
        json_t *req = envelope_request(oid, "delete",
                                       json_pack("{s:s, s:s}", "type", "module", "uuid", m->uuid));
        client_session_publish(s, topic, req);
        json_decref(req);
    }
}

static int final_status(struct run_state *st)
{
    for (size_t i = 0; i < st->watch.n; i++) {
        int code = client_exit_status(st->watch.mods[i].exit);
        if (code) return code;
    }
    return 0;
}

static int run(struct run_options *o)
{
    struct run_state st = {.o = o};
    if (module_watch_init(&st.watch, (size_t)o->copies) < 0) return CLIENT_EXIT_FAILED;
    st.watch.started = on_started;
    st.watch.ended_fn = on_ended;
    st.watch.ctx = &st;
    char base[100];
    if (o->name)
        snprintf(base, sizeof base, "%s", o->name);
    else
        default_name(o->file, base, sizeof base);
    for (int i = 0; i < o->copies; i++) {
        struct watched_module *m = &st.watch.mods[i];
        if (uuid_v4_generate(m->uuid) < 0) return CLIENT_EXIT_FAILED;
        if (o->copies == 1)
            snprintf(m->name, sizeof m->name, "%s", base);
        else
            snprintf(m->name, sizeof m->name, "%s-%d", base, i + 1);
    }
    client_target_resolve(&o->target);
    struct stat local;
    if (!o->node_file && stat(o->file, &local) == 0 && S_ISREG(local.st_mode)) {
        char err[CLIENT_ERR_LEN];
        int uploaded;
        if (client_file_upload(&o->target, o->file, o->sha256, &o->size, &uploaded, err) < 0) {
            fprintf(stderr, "stratus run: %s\n", err);
            module_watch_clear(&st.watch);
            return CLIENT_EXIT_FAILED;
        }
        const char *slash = strrchr(o->file, '/');
        if (slash) o->file = slash + 1;
    }
    /* The create is checked here as the manager will check it, so that a
     * mistake is told before anything is sent. */
    json_t *probe = module_data(o, &st.watch.mods[0]);
    char cerr[ENVELOPE_ERR_LEN];
    int bad = module_create_check(probe, cerr);
    json_decref(probe);
    if (bad < 0) {
        fprintf(stderr, "stratus run: %s\n", cerr);
        module_watch_clear(&st.watch);
        return 2;
    }
    struct client_session *s;
    char err[CLIENT_ERR_LEN];
    if (client_session_open(&o->target, &s, err) < 0) {
        fprintf(stderr, "stratus run: %s\n", err);
        module_watch_clear(&st.watch);
        return CLIENT_EXIT_FAILED;
    }
    int code = 0;
    if (o->wait) {
        for (size_t i = 0; i < st.watch.n; i++) {
            char topic[TOPIC_LAYOUT_MAX];
            if (topic_format(topic, sizeof topic, o->target.realm, TOPIC_STDIO,
                             st.watch.mods[i].uuid) < 0 ||
                client_session_route(s, topic, on_output, &st, err) < 0) {
                fprintf(stderr, "stratus run: %s\n", err);
                code = CLIENT_EXIT_FAILED;
                goto out;
            }
        }
        if (module_watch_start(&st.watch, s, err) < 0) {
            fprintf(stderr, "stratus run: %s\n", err);
            code = CLIENT_EXIT_FAILED;
            goto out;
        }
    }
    int sent = send_create(s, &st);
    if (sent < 0) {
        /* Ctrl-C before the answer: the create may have gone out, so the
         * modules (whose UUIDs are ours) are deleted all the same. */
        if (client_session_interrupted(s)) {
            stop_modules(s, &st);
            code = CLIENT_EXIT_INTERRUPTED;
        } else {
            code = CLIENT_EXIT_FAILED;
        }
        goto out;
    }
    if (!o->wait) {
        code = sent ? CLIENT_EXIT_FAILED : 0;
        goto out;
    }
    int rc = client_session_run(s, &st.watch.all_ended, UINT64_MAX);
    if (rc == 2) {
        stop_modules(s, &st);
        /* A second Ctrl-C stops waiting. */
        client_session_run(s, &st.watch.all_ended, RUN_STOP_WAIT_MS);
        if (!st.watch.all_ended)
            fprintf(stderr, "stratus run: the modules did not confirm their end\n");
        code = CLIENT_EXIT_INTERRUPTED;
        goto out;
    }
    code = final_status(&st);
out:
    client_session_close(s);
    module_watch_clear(&st.watch);
    return code;
}

int client_run_main(int argc, char **argv)
{
    struct run_options o;
    memset(&o, 0, sizeof o);
    int rc = parse_args(argc, argv, &o);
    if (rc == 0)
        rc = run(&o);
    else if (rc == 1)
        rc = 0;
    clear_options(&o);
    return rc;
}
