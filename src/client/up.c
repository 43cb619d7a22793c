/* `stratus up` and `stratus down`: a whole local stack in one command. A
 * mosquitto broker on a free loopback port (or an existing broker with
 * --mqtt), `stratus orchestrator`, and `stratus manager` with a
 * linux/minimal and a linux runtime whose modules come from the current
 * directory (or --module-dir). Once everything answers, the addresses are
 * printed and written to the up file (client.h), where the client commands
 * find them; SIGINT, SIGTERM or SIGHUP stop everything, the manager first
 * (so it unregisters), the broker last. The children die with `up` even
 * when it is SIGKILLed (child_proc.h). --detach runs `up` in the
 * background; `stratus down` stops it. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "child_proc.h"
#include "client.h"
#include "event_loop.h"
#include "state_dir.h"

#define UP_READY_MS 20000
#define DOWN_WAIT_MS 30000

static void up_usage(FILE *out)
{
    fprintf(out, "usage: stratus up [options]\n"
                 "\n"
                 "Starts a complete local stack: a mosquitto broker on a free loopback port,\n"
                 "an orchestrator (REST API and dashboard), and a manager with a linux/minimal\n"
                 "runtime \"minimal\" and a linux runtime \"linux\" whose modules come from the\n"
                 "current directory. Prints how to reach everything and writes the addresses\n"
                 "where the client commands find them (so `stratus run --wait hello.wasm` works\n"
                 "with no flags). Ctrl-C or SIGTERM stops everything; nothing outlives `up`.\n"
                 "\n"
                 "  --mqtt HOST:PORT   use this broker instead of starting one\n"
                 "  --http ADDR:PORT   the orchestrator's REST API and dashboard (default\n"
                 "                     127.0.0.1:8000, or a free port when 8000 is taken)\n"
                 "  --realm R          topic prefix (default \"realm\")\n"
                 "  --db FILE          the orchestrator's SQLite database (default\n"
                 "                     STATE_DIR/up.db). It is kept across runs: modules still\n"
                 "                     running when the stack stops run again when it is back\n"
                 "                     (\":memory:\" keeps nothing)\n"
                 "  --module-dir DIR   where module files are found (default: the current\n"
                 "                     directory)\n"
                 "  --state-dir DIR    where the stack keeps its files: up.json (the\n"
                 "                     addresses), up.db, the logs in up-logs/ (default\n"
                 "                     $STRATUS_STATE_DIR, else $XDG_STATE_HOME/stratus, else\n"
                 "                     ~/.local/state/stratus)\n"
                 "  --name N           the manager's name (default \"local\")\n"
                 "  --profile DIR      also collect every profile record into DIR\n"
                 "                     (`stratus profile --out DIR`, docs/benchmarking.md)\n"
                 "  --detach           run in the background; `stratus down` stops it\n"
                 "  --help             this text\n");
}

struct up {
    char state_dir[PATH_MAX], up_file[PATH_MAX + 16], logs[PATH_MAX + 16];
    char module_dir[PATH_MAX], db[PATH_MAX + 16];
    char program[PATH_MAX]; /* stratus-net */
    struct net_address mqtt, http;
    char realm[CLIENT_REALM_MAX];
    const char *name;
    const char *profile_dir; /* --profile, or NULL */
    int own_broker, http_given, detach;
    struct child_proc broker, orchestrator, manager, profile;
    double manager_started; /* loop_wall_seconds() */
    int sigfd;
};

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

static const char *find_mosquitto(void)
{
    static const char *const dirs[] = {"/usr/sbin", "/usr/local/sbin", "/usr/bin",
                                       "/usr/local/bin"};
    static char path[PATH_MAX];
    const char *env = getenv("MOSQUITTO");
    if (env && access(env, X_OK) == 0) return env;
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        snprintf(path, sizeof path, "%s/mosquitto", dirs[i]);
        if (access(path, X_OK) == 0) return path;
    }
    return NULL;
}

/* stratus-net beside the running program. */
static int find_program(char *out, size_t cap)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) return -1;
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    if (!slash) return -1;
    *slash = '\0';
    return snprintf(out, cap, "%s/stratus-net", self) < (int)cap ? 0 : -1;
}

static int start_broker(struct up *u, char *err)
{
    const char *mosquitto = find_mosquitto();
    if (!mosquitto) {
        snprintf(err, CLIENT_ERR_LEN,
                 "mosquitto not found (`make deps` installs it), or use --mqtt");
        return -1;
    }
    char conf[PATH_MAX + 32], log[PATH_MAX + 32];
    snprintf(conf, sizeof conf, "%s/mosquitto.conf", u->state_dir);
    snprintf(log, sizeof log, "%s/broker.log", u->logs);
    /* A port picked now may be taken before mosquitto binds it: try again. */
    for (int attempt = 0; attempt < 5; attempt++) {
        int port = child_proc_free_port();
        FILE *f = fopen(conf, "w");
        if (port < 0 || !f) {
            if (f) fclose(f);
            snprintf(err, CLIENT_ERR_LEN, "cannot write %s: %s", conf, strerror(errno));
            return -1;
        }
        fprintf(f,
                "# written by `stratus up`\nlistener %d 127.0.0.1\nallow_anonymous true\n"
                "persistence false\n",
                port);
        /* mosquitto started as root switches to the user "mosquitto", and a
         * change of user clears the parent-death signal: it stays this user. */
        struct passwd *pw = getpwuid(getuid());
        if (pw) fprintf(f, "user %s\n", pw->pw_name);
        fclose(f);
        char *argv[] = {(char *)mosquitto, "-c", conf, NULL};
        if (child_proc_start(&u->broker, argv, log) < 0) {
            snprintf(err, CLIENT_ERR_LEN, "cannot start mosquitto: %s", strerror(errno));
            return -1;
        }
        long long deadline = now_ms() + 5000;
        while (now_ms() < deadline && !child_proc_reap(&u->broker)) {
            if (child_proc_port_accepts("127.0.0.1", port)) {
                snprintf(u->mqtt.host, sizeof u->mqtt.host, "127.0.0.1");
                u->mqtt.port = port;
                return 0;
            }
            sleep_ms(10);
        }
        child_proc_stop(&u->broker, 500);
    }
    snprintf(err, CLIENT_ERR_LEN, "mosquitto did not start (see %s)", log);
    return -1;
}

/* One GET of path: 1 when it answered and check() is happy with its JSON. */
static int rest_check(struct up *u, const char *path, int (*check)(json_t *, struct up *))
{
    struct client_target t;
    client_target_init(&t);
    t.http = u->http;
    char err[CLIENT_ERR_LEN];
    json_t *j;
    if (client_rest_get(&t, path, &j, NULL, err) < 0) return 0;
    int ok = check(j, u);
    json_decref(j);
    return ok;
}

/* Poll GET path until check() is happy with its JSON, the child died, or
 * the deadline passed. */
static int wait_rest(struct up *u, const char *path, int (*check)(json_t *, struct up *),
                     struct child_proc *child, long long deadline)
{
    while (now_ms() < deadline) {
        if (child_proc_reap(child)) return -1;
        if (rest_check(u, path, check)) return 0;
        sleep_ms(20);
    }
    return -1;
}

static int broker_connected(json_t *health, struct up *u)
{
    (void)u;
    return json_is_true(json_object_get(health, "broker"));
}

static int heard_since_start(json_t *runtime, struct up *u)
{
    return json_number_value(json_object_get(runtime, "last_seen")) >= u->manager_started;
}

/* Both runtimes heard since this manager started: the database of an
 * earlier run lists them alive at once, and a module placed before the new
 * manager subscribed to its runtimes' control topics would be lost. Once the
 * registration is heard, the subscriptions (made first on the same
 * connection) are in place. */
static int runtimes_alive(json_t *list, struct up *u)
{
    size_t i, alive = 0;
    json_t *r;
    json_array_foreach(json_object_get(list, "results"), i, r)
    {
        const char *uuid = json_string_value(json_object_get(r, "uuid"));
        char path[128];
        if (!json_is_true(json_object_get(r, "alive")) || !uuid ||
            snprintf(path, sizeof path, "/api/runtimes/%s/", uuid) >= (int)sizeof path)
            continue;
        /* the list has no last_seen: the runtime's own record has */
        alive += rest_check(u, path, heard_since_start);
    }
    return alive >= 2;
}

static int start_orchestrator(struct up *u, char *err)
{
    char mqtt[NET_HOST_MAX + 16], http[NET_HOST_MAX + 16], log[PATH_MAX + 32];
    snprintf(log, sizeof log, "%s/orchestrator.log", u->logs);
    net_address_format(&u->mqtt, mqtt, sizeof mqtt);
    for (int attempt = 0; attempt < 5; attempt++) {
        /* Port 0, or the default taken: a free port of our choosing, since
         * the address must be known to be written down. */
        if (!u->http_given && (attempt > 0 || u->http.port == 0 ||
                               child_proc_port_accepts(u->http.host, u->http.port)))
            u->http.port = child_proc_free_port();
        net_address_format(&u->http, http, sizeof http);
        char *argv[] = {u->program, "orchestrator", "--mqtt", mqtt, "--realm", u->realm,
                        "--db",     u->db,          "--http", http, NULL};
        if (child_proc_start(&u->orchestrator, argv, log) < 0) {
            snprintf(err, CLIENT_ERR_LEN, "cannot start the orchestrator: %s", strerror(errno));
            return -1;
        }
        if (wait_rest(u, "/healthz", broker_connected, &u->orchestrator, now_ms() + UP_READY_MS) ==
            0)
            return 0;
        child_proc_stop(&u->orchestrator, 2000);
        if (u->http_given) break;
    }
    snprintf(err, CLIENT_ERR_LEN, "the orchestrator did not start (see %s)", log);
    return -1;
}

static int start_manager(struct up *u, char *err)
{
    char mqtt[NET_HOST_MAX + 16], log[PATH_MAX + 32];
    snprintf(log, sizeof log, "%s/manager.log", u->logs);
    net_address_format(&u->mqtt, mqtt, sizeof mqtt);
    char *argv[] = {
        u->program,   "manager",     "--mqtt",        mqtt,          "--realm",
        u->realm,     "--name",      (char *)u->name, "--runtime",   "linux/minimal:minimal",
        "--runtime",  "linux:linux", "--module-dir",  u->module_dir, "--state-dir",
        u->state_dir, NULL};
    u->manager_started = loop_wall_seconds(); /* the orchestrator's clock */
    if (child_proc_start(&u->manager, argv, log) < 0) {
        snprintf(err, CLIENT_ERR_LEN, "cannot start the manager: %s", strerror(errno));
        return -1;
    }
    if (wait_rest(u, "/api/runtimes/", runtimes_alive, &u->manager, now_ms() + UP_READY_MS) == 0)
        return 0;
    snprintf(err, CLIENT_ERR_LEN, "the manager's runtimes did not register (see %s)", log);
    return -1;
}

/* --profile DIR: the collector, once the orchestrator it asks is up. */
static int start_profile(struct up *u, char *err)
{
    char mqtt[NET_HOST_MAX + 16], http[NET_HOST_MAX + 16], log[PATH_MAX + 32];
    snprintf(log, sizeof log, "%s/profile.log", u->logs);
    net_address_format(&u->mqtt, mqtt, sizeof mqtt);
    net_address_format(&u->http, http, sizeof http);
    char *argv[] = {u->program, "profile", "--out",  (char *)u->profile_dir,
                    "--mqtt",   mqtt,      "--http", http,
                    "--realm",  u->realm,  NULL};
    if (child_proc_start(&u->profile, argv, log) < 0) {
        snprintf(err, CLIENT_ERR_LEN, "cannot start the profile collector: %s", strerror(errno));
        return -1;
    }
    return 0;
}

static int write_up_file(struct up *u, char *err)
{
    char mqtt[NET_HOST_MAX + 16], http[NET_HOST_MAX + 16], url[NET_HOST_MAX + 32];
    net_address_format(&u->mqtt, mqtt, sizeof mqtt);
    net_address_format(&u->http, http, sizeof http);
    snprintf(url, sizeof url, "http://%s/", http);
    json_t *doc =
        json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "pid", (json_int_t)getpid(),
                  "mqtt", mqtt, "http", http, "realm", u->realm, "dashboard", url, "module_dir",
                  u->module_dir, "state_dir", u->state_dir, "logs", u->logs, "db", u->db);
    char tmp[PATH_MAX + 32];
    snprintf(tmp, sizeof tmp, "%s.tmp", u->up_file);
    int rc = doc && json_dump_file(doc, tmp, JSON_INDENT(2)) == 0 && rename(tmp, u->up_file) == 0;
    json_decref(doc);
    if (!rc) {
        snprintf(err, CLIENT_ERR_LEN, "cannot write %s: %s", u->up_file, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}

/* The up file names this process (not a newer `up`'s). */
static void remove_up_file(struct up *u)
{
    json_t *doc = json_load_file(u->up_file, 0, NULL);
    if (json_integer_value(json_object_get(doc, "pid")) == (json_int_t)getpid()) unlink(u->up_file);
    json_decref(doc);
}

/* What the up file says, for people. */
static void print_addresses(const char *up_file, FILE *out)
{
    json_t *doc = json_load_file(up_file, 0, NULL);
    const char *mqtt = json_string_value(json_object_get(doc, "mqtt"));
    const char *http = json_string_value(json_object_get(doc, "http"));
    fprintf(
        out,
        "stratus up: the local stack is up (realm %s)\n"
        "  broker      %s\n"
        "  REST API    http://%s/api/\n"
        "  dashboard   %s\n"
        "  runtimes    minimal (linux/minimal), linux (linux); modules from %s\n"
        "  files       %s (addresses), logs in %s\n"
        "next: stratus run --wait hello.wasm, stratus list, stratus status, stratus logs NAME\n",
        json_string_value(json_object_get(doc, "realm")), mqtt ? mqtt : "?", http ? http : "?",
        json_string_value(json_object_get(doc, "dashboard")),
        json_string_value(json_object_get(doc, "module_dir")), up_file,
        json_string_value(json_object_get(doc, "logs")));
    fflush(out);
    json_decref(doc);
}

static void stop_all(struct up *u)
{
    child_proc_stop(&u->profile, 3000);
    child_proc_stop(&u->manager, 8000);
    child_proc_stop(&u->orchestrator, 5000);
    child_proc_stop(&u->broker, 3000);
}

static const char *describe_exit(int status, char *buf, size_t cap)
{
    if (WIFEXITED(status))
        snprintf(buf, cap, "exited with status %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(buf, cap, "was killed by signal %d", WTERMSIG(status));
    else
        snprintf(buf, cap, "ended");
    return buf;
}

/* Wait for a signal or a child's end. Returns 0 on a signal, 1 when a
 * child ended on its own. */
static int serve(struct up *u)
{
    struct child_proc *children[] = {&u->broker, &u->orchestrator, &u->manager, &u->profile};
    for (;;) {
        struct signalfd_siginfo si;
        ssize_t n = read(u->sigfd, &si, sizeof si);
        if (n != (ssize_t)sizeof si) {
            if (errno == EINTR) continue;
            return 0;
        }
        if (si.ssi_signo != SIGCHLD) {
            fprintf(stderr, "stratus up: %s: stopping the stack\n", strsignal((int)si.ssi_signo));
            return 0;
        }
        for (size_t i = 0; i < 4; i++) {
            int was = children[i]->pid > 0;
            if (was && child_proc_reap(children[i])) {
                char how[64];
                fprintf(stderr, "stratus up: the %s %s (see %s): stopping the stack\n",
                        children[i]->what, describe_exit(children[i]->status, how, sizeof how),
                        u->logs);
                return 1;
            }
        }
    }
}

static int block_signals(struct up *u)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGCHLD);
    if (sigprocmask(SIG_BLOCK, &set, NULL) < 0) return -1;
    u->sigfd = signalfd(-1, &set, SFD_CLOEXEC);
    return u->sigfd < 0 ? -1 : 0;
}

/* --detach: the parent waits until the background `up` wrote the up file
 * (or failed) and prints what it printed. */
static int detach(struct up *u)
{
    char log[PATH_MAX + 32];
    snprintf(log, sizeof log, "%s/up.log", u->logs);
    int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        fprintf(stderr, "stratus up: cannot write %s: %s\n", log, strerror(errno));
        return -1;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        setsid();
        int in = open("/dev/null", O_RDONLY);
        if (in >= 0) dup2(in, 0);
        dup2(fd, 1);
        dup2(fd, 2);
        close(fd);
        return 0; /* carry on as the stack's `up` */
    }
    close(fd);
    long long deadline = now_ms() + 3 * UP_READY_MS;
    while (now_ms() < deadline) {
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            fprintf(stderr, "stratus up: the stack did not start; its log (%s):\n", log);
            FILE *f = fopen(log, "r");
            char line[1024];
            while (f && fgets(line, sizeof line, f))
                fputs(line, stderr);
            if (f) fclose(f);
            exit(1);
        }
        json_t *doc = json_load_file(u->up_file, 0, NULL);
        int ready = json_integer_value(json_object_get(doc, "pid")) == (json_int_t)pid;
        json_decref(doc);
        if (ready) {
            print_addresses(u->up_file, stdout);
            printf("running in the background (pid %d); `stratus down` stops it\n", (int)pid);
            exit(0);
        }
        sleep_ms(20);
    }
    fprintf(stderr, "stratus up: the stack did not start in time (see %s)\n", log);
    kill(pid, SIGTERM);
    exit(1);
}

static int parse_up_args(int argc, char **argv, struct up *u, const char **state_dir_flag,
                         const char **db_flag, const char **module_dir_flag)
{
    enum { O_MQTT = 1, O_HTTP, O_REALM, O_DB, O_MODDIR, O_STATE, O_NAME, O_DETACH, O_PROFILE };
    static const struct option longopts[] = {{"mqtt", required_argument, NULL, O_MQTT},
                                             {"http", required_argument, NULL, O_HTTP},
                                             {"realm", required_argument, NULL, O_REALM},
                                             {"db", required_argument, NULL, O_DB},
                                             {"module-dir", required_argument, NULL, O_MODDIR},
                                             {"state-dir", required_argument, NULL, O_STATE},
                                             {"name", required_argument, NULL, O_NAME},
                                             {"detach", no_argument, NULL, O_DETACH},
                                             {"profile", required_argument, NULL, O_PROFILE},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    char aerr[NET_ADDRESS_ERR_LEN];
    u->own_broker = 1;
    u->name = "local";
    snprintf(u->realm, sizeof u->realm, "%s", CLIENT_DEFAULT_REALM);
    net_address_parse("--http", CLIENT_DEFAULT_HTTP, 8000, 0, &u->http, aerr);
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case O_MQTT:
            if (net_address_parse("--mqtt", optarg, 1883, 1, &u->mqtt, aerr) < 0) goto bad;
            u->own_broker = 0;
            break;
        case O_HTTP:
            if (net_address_parse("--http", optarg, 8000, 0, &u->http, aerr) < 0) goto bad;
            u->http_given = u->http.port != 0; /* 0: any free port */
            break;
        case O_REALM:
            if (!*optarg || strlen(optarg) >= sizeof u->realm || strpbrk(optarg, "+#/")) {
                fprintf(stderr, "stratus up: --realm '%s': a topic level without /, + or #\n",
                        optarg);
                return 2;
            }
            snprintf(u->realm, sizeof u->realm, "%s", optarg);
            break;
        case O_DB: *db_flag = optarg; break;
        case O_MODDIR: *module_dir_flag = optarg; break;
        case O_STATE: *state_dir_flag = optarg; break;
        case O_NAME: u->name = optarg; break;
        case O_DETACH: u->detach = 1; break;
        case O_PROFILE: u->profile_dir = optarg; break;
        case 'h': up_usage(stdout); return 1;
        default:
            fprintf(stderr, "stratus up: unknown or incomplete option '%s'\n", argv[optind - 1]);
            up_usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "stratus up: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    return 0;
bad:
    fprintf(stderr, "stratus up: %s\n", aerr);
    return 2;
}

int client_up_main(int argc, char **argv)
{
    struct up u;
    memset(&u, 0, sizeof u);
    u.sigfd = -1;
    u.broker.what = "broker";
    u.orchestrator.what = "orchestrator";
    u.manager.what = "manager";
    u.profile.what = "profile collector";
    const char *state_flag = NULL, *db_flag = NULL, *moddir_flag = NULL;
    int rc = parse_up_args(argc, argv, &u, &state_flag, &db_flag, &moddir_flag);
    if (rc) return rc == 1 ? 0 : rc;

    char *state = state_dir_default(state_flag);
    if (!state || strlen(state) >= sizeof u.state_dir) {
        fprintf(stderr, "stratus up: no state directory (give --state-dir)\n");
        free(state);
        return 1;
    }
    snprintf(u.state_dir, sizeof u.state_dir, "%s", state);
    free(state);
    snprintf(u.logs, sizeof u.logs, "%s/up-logs", u.state_dir);
    if (state_dir_make(u.logs) < 0) {
        fprintf(stderr, "stratus up: cannot make %s: %s\n", u.logs, strerror(errno));
        return 1;
    }
    if (getenv("STRATUS_UP_FILE") && *getenv("STRATUS_UP_FILE"))
        snprintf(u.up_file, sizeof u.up_file, "%s", getenv("STRATUS_UP_FILE"));
    else
        snprintf(u.up_file, sizeof u.up_file, "%s/up.json", u.state_dir);
    if (db_flag)
        snprintf(u.db, sizeof u.db, "%s", db_flag);
    else
        snprintf(u.db, sizeof u.db, "%s/up.db", u.state_dir);
    if (!realpath(moddir_flag ? moddir_flag : ".", u.module_dir)) {
        fprintf(stderr, "stratus up: module directory '%s': %s\n", moddir_flag ? moddir_flag : ".",
                strerror(errno));
        return 1;
    }
    if (find_program(u.program, sizeof u.program) < 0) {
        fprintf(stderr, "stratus up: cannot find stratus-net beside this program\n");
        return 1;
    }
    json_t *running;
    if (client_up_file_read(&running) == 0) {
        fprintf(stderr,
                "stratus up: a stack is already up (pid %lld, dashboard %s); "
                "`stratus down` stops it\n",
                (long long)json_integer_value(json_object_get(running, "pid")),
                json_string_value(json_object_get(running, "dashboard")) ?: "?");
        json_decref(running);
        return 1;
    }
    if (u.detach && detach(&u) < 0) return 1;
    if (block_signals(&u) < 0) {
        fprintf(stderr, "stratus up: cannot take signals: %s\n", strerror(errno));
        return 1;
    }
    /* A fresh set of logs for this run. */
    static const char *const logs[] = {"broker.log", "orchestrator.log", "manager.log",
                                       "profile.log"};
    for (size_t i = 0; i < sizeof logs / sizeof logs[0]; i++) {
        char p[PATH_MAX + 32];
        snprintf(p, sizeof p, "%s/%s", u.logs, logs[i]);
        unlink(p);
    }
    char err[CLIENT_ERR_LEN];
    int code = 1;
    if ((u.own_broker && start_broker(&u, err) < 0) || start_orchestrator(&u, err) < 0 ||
        start_manager(&u, err) < 0 || (u.profile_dir && start_profile(&u, err) < 0) ||
        write_up_file(&u, err) < 0) {
        fprintf(stderr, "stratus up: %s\n", err);
        goto out;
    }
    print_addresses(u.up_file, stdout);
    if (u.profile_dir) printf("  profiles    collected into %s\n", u.profile_dir);
    printf("Ctrl-C stops everything.\n");
    fflush(stdout);
    code = serve(&u);
out:
    remove_up_file(&u);
    stop_all(&u);
    fprintf(stderr, "stratus up: stopped\n");
    if (u.sigfd >= 0) close(u.sigfd);
    return code;
}

static void down_usage(FILE *out)
{
    fprintf(out, "usage: stratus down [--state-dir DIR]\n"
                 "\n"
                 "Stops the stack that `stratus up` (or `stratus up --detach`) runs and waits\n"
                 "until everything has stopped. Exits 1 when no stack is up.\n"
                 "\n"
                 "  --state-dir DIR    the stack's state directory (as given to `up`)\n"
                 "  --help             this text\n");
}

int client_down_main(int argc, char **argv)
{
    static const struct option longopts[] = {{"state-dir", required_argument, NULL, 's'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        if (c == 's') {
            setenv("STRATUS_STATE_DIR", optarg, 1);
        } else if (c == 'h') {
            down_usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "stratus down: unknown or incomplete option '%s'\n", argv[optind - 1]);
            down_usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "stratus down: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    json_t *doc;
    if (client_up_file_read(&doc) != 0) {
        fprintf(stderr, "stratus down: no stack is up\n");
        return 1;
    }
    pid_t pid = (pid_t)json_integer_value(json_object_get(doc, "pid"));
    json_decref(doc);
    if (kill(pid, SIGTERM) < 0) {
        fprintf(stderr, "stratus down: cannot signal pid %d: %s\n", (int)pid, strerror(errno));
        return 1;
    }
    long long deadline = now_ms() + DOWN_WAIT_MS;
    while (now_ms() < deadline) {
        if (kill(pid, 0) < 0 && errno == ESRCH) {
            printf("stratus down: stopped the stack (pid %d)\n", (int)pid);
            return 0;
        }
        /* A zombie (our own child in tests) counts as gone. */
        char path[64], st = 0;
        snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
        FILE *f = fopen(path, "r");
        if (f) {
            if (fscanf(f, "%*d %*s %c", &st) != 1) st = 0;
            fclose(f);
        }
        if (st == 'Z') {
            printf("stratus down: stopped the stack (pid %d)\n", (int)pid);
            return 0;
        }
        sleep_ms(20);
    }
    fprintf(stderr, "stratus down: pid %d is still running after %d s\n", (int)pid,
            DOWN_WAIT_MS / 1000);
    return 1;
}
