/* Integration test harness (see harness.h): broker, child processes, MQTT
 * test client, JSON helpers. Written for tests, so failures print a reason
 * on stderr and return -1 rather than abort, letting the cmocka assertion in
 * the test name the step that failed. */
#define _GNU_SOURCE
#include "harness.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <netinet/in.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef ITEST_STRATUS_BIN
#define ITEST_STRATUS_BIN "stratus"
#endif
#ifndef ITEST_FAKE_RUNTIME
#define ITEST_FAKE_RUNTIME "fake_runtime"
#endif

/* ---- bookkeeping of what to clean up ---- */

#define MAX_TRACKED 64

static pid_t tracked_pids[MAX_TRACKED]; /* group ids, also for brokers */
static int n_tracked;
#define MAX_DIRS 1024
static char *tracked_dirs[MAX_DIRS]; /* strdup'd; freed at cleanup */
static int n_dirs;
static int initialised;
/* Exit statuses collected by harness_reap, a ring of recent ones. */
static pid_t reaped_pid[MAX_TRACKED];
static int reaped_status[MAX_TRACKED];
static int n_reaped;

static void track_pid(pid_t pid)
{
    for (int i = 0; i < n_tracked; i++)
        if (tracked_pids[i] == 0) {
            tracked_pids[i] = pid;
            return;
        }
    if (n_tracked < MAX_TRACKED) tracked_pids[n_tracked++] = pid;
}

static void untrack_pid(pid_t pid)
{
    for (int i = 0; i < n_tracked; i++)
        if (tracked_pids[i] == pid) {
            tracked_pids[i] = 0;
        }
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

void harness_reap(void)
{
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        /* Remember statuses of tracked processes for proc_poll_exit. */
        for (int i = 0; i < n_tracked; i++)
            if (tracked_pids[i] == pid) {
                reaped_pid[n_reaped % MAX_TRACKED] = pid;
                reaped_status[n_reaped % MAX_TRACKED] = status;
                n_reaped++;
            }
    }
}

void harness_cleanup(void)
{
    for (int i = 0; i < n_tracked; i++)
        if (tracked_pids[i] > 0) {
            kill(-tracked_pids[i], SIGKILL);
            kill(tracked_pids[i], SIGKILL);
        }
    /* Reap everything, including orphans we adopted as subreaper. */
    long long deadline = harness_now_ms() + 2000;
    while (harness_now_ms() < deadline) {
        int status;
        pid_t pid = waitpid(-1, &status, WNOHANG);
        if (pid < 0 && errno == ECHILD) break;
        if (pid == 0) usleep(10000);
    }
    for (int i = 0; i < n_tracked; i++)
        tracked_pids[i] = 0;
    n_tracked = 0;
    for (int i = 0; i < n_dirs; i++) {
        nftw(tracked_dirs[i], rm_entry, 16, FTW_DEPTH | FTW_PHYS);
        free(tracked_dirs[i]);
        tracked_dirs[i] = NULL;
    }
    n_dirs = 0;
}

static void on_fatal_signal(int sig)
{
    /* Best effort: kill the process groups so nothing outlives the test. */
    for (int i = 0; i < n_tracked; i++)
        if (tracked_pids[i] > 0) kill(-tracked_pids[i], SIGKILL);
    signal(sig, SIG_DFL);
    raise(sig);
}

static void cleanup_at_exit(void)
{
    harness_cleanup();
    mosquitto_lib_cleanup();
}

void harness_init(void)
{
    if (initialised) return;
    initialised = 1;
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    signal(SIGPIPE, SIG_IGN);
    int fatal[] = {SIGINT, SIGTERM, SIGABRT, SIGSEGV, SIGBUS, SIGHUP};
    for (size_t i = 0; i < sizeof fatal / sizeof fatal[0]; i++)
        signal(fatal[i], on_fatal_signal);
    mosquitto_lib_init();
    atexit(cleanup_at_exit);
    /* Managers keep their identity in a state directory: a private one per
     * test program, never the user's. */
    char state[PATH_MAX];
    if (harness_tmpdir(state) == 0) setenv("STRATUS_STATE_DIR", state, 1);
}

const char *harness_stratus_path(void)
{
    const char *e = getenv("STRATUS_BIN");
    return e && *e ? e : ITEST_STRATUS_BIN;
}

const char *harness_fake_runtime_path(void)
{
    const char *e = getenv("FAKE_RUNTIME");
    return e && *e ? e : ITEST_FAKE_RUNTIME;
}

const char *harness_mosquitto_path(void)
{
    static char found[PATH_MAX];
    const char *e = getenv("MOSQUITTO");
    if (e && *e) return e;
    if (found[0]) return found;
    const char *fixed[] = {"/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto",
                           "/usr/bin/mosquitto"};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        if (access(fixed[i], X_OK) == 0) {
            snprintf(found, sizeof found, "%s", fixed[i]);
            return found;
        }
    const char *path = getenv("PATH");
    if (path) {
        char *copy = strdup(path), *save = NULL;
        for (char *dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
            char cand[PATH_MAX];
            snprintf(cand, sizeof cand, "%s/mosquitto", dir);
            if (access(cand, X_OK) == 0) {
                snprintf(found, sizeof found, "%s", cand);
                break;
            }
        }
        free(copy);
    }
    return found[0] ? found : "mosquitto";
}

int harness_tmpdir(char out[PATH_MAX])
{
    const char *base = getenv("TMPDIR");
    snprintf(out, PATH_MAX, "%s/stratus-itest-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(out)) {
        fprintf(stderr, "harness: mkdtemp: %s\n", strerror(errno));
        return -1;
    }
    if (n_dirs < MAX_DIRS && (tracked_dirs[n_dirs] = strdup(out))) n_dirs++;
    return 0;
}

long long harness_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

long long harness_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int harness_copy_file(const char *from, const char *to)
{
    FILE *in = fopen(from, "rb");
    if (!in) {
        fprintf(stderr, "harness: cannot open %s\n", from);
        return -1;
    }
    FILE *out = fopen(to, "wb");
    if (!out) {
        fclose(in);
        return -1;
    }
    char buf[65536];
    size_t n;
    int rc = 0;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0)
        if (fwrite(buf, 1, n, out) != n) rc = -1;
    fclose(in);
    if (fclose(out)) rc = -1;
    return rc;
}

int harness_copy_into(const char *from_dir, const char *name, const char *to_dir)
{
    char from[PATH_MAX + 64], to[PATH_MAX + 64];
    snprintf(from, sizeof from, "%s/%s", from_dir, name);
    snprintf(to, sizeof to, "%s/%s", to_dir, name);
    return harness_copy_file(from, to);
}

int harness_copy_module_padded(const char *from, const char *to, size_t pad)
{
    if (harness_copy_file(from, to) < 0) return -1;
    if (!pad) return 0;
    /* section id 0, size (LEB128), name length 3, "pad", payload */
    uint8_t head[16];
    size_t hn = 0, body = 1 + 3 + pad;
    head[hn++] = 0;
    for (size_t v = body;; v >>= 7) {
        head[hn++] = (uint8_t)((v & 0x7f) | (v >> 7 ? 0x80 : 0));
        if (!(v >> 7)) break;
    }
    head[hn++] = 3;
    memcpy(head + hn, "pad", 3);
    hn += 3;
    FILE *out = fopen(to, "ab"), *rnd = fopen("/dev/urandom", "rb");
    int rc = out && rnd && fwrite(head, 1, hn, out) == hn ? 0 : -1;
    char buf[65536];
    for (size_t left = pad; rc == 0 && left;) {
        size_t n = left < sizeof buf ? left : sizeof buf;
        if (fread(buf, 1, n, rnd) != n || fwrite(buf, 1, n, out) != n) rc = -1;
        left -= n;
    }
    if (rnd) fclose(rnd);
    if (out && fclose(out)) rc = -1;
    return rc;
}

pid_t harness_read_pidfile(const char *path, int timeout_ms)
{
    long long end = harness_now_ms() + timeout_ms;
    for (;;) {
        FILE *f = fopen(path, "r");
        int pid = 0;
        if (f) {
            if (fscanf(f, "%d", &pid) != 1) pid = 0;
            fclose(f);
        }
        if (pid > 0) return pid;
        if (harness_now_ms() >= end) return -1;
        usleep(10000);
    }
}

pid_t proc_find_child(pid_t parent, const char *comm)
{
    DIR *d = opendir("/proc");
    if (!d) return -1;
    char want[64];
    snprintf(want, sizeof want, "(%s)", comm);
    pid_t found = -1;
    struct dirent *e;
    while (found < 0 && (e = readdir(d))) {
        char path[300], buf[512];
        snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
        FILE *f = fopen(path, "r");
        if (!f) continue;
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[n] = '\0';
        char *close_paren = strrchr(buf, ')');
        int ppid = 0;
        if (!strstr(buf, want) || !close_paren || sscanf(close_paren + 2, "%*c %d", &ppid) != 1)
            continue;
        if (ppid == parent) found = atoi(e->d_name);
    }
    closedir(d);
    return found;
}

long proc_status_kib(pid_t pid, const char *field)
{
    char path[64], line[256], pattern[64];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    snprintf(pattern, sizeof pattern, "%s: %%ld kB", field);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    long kib = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, pattern, &kib) == 1) break;
    fclose(f);
    return kib;
}

long proc_rss_kib(pid_t pid)
{
    return proc_status_kib(pid, "VmRSS");
}

int harness_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    int port = -1;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    close(fd);
    return port;
}

int harness_port_accepts(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return 0;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int ok = connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
    close(fd);
    return ok;
}

/* ---- processes ---- */

int proc_start(struct proc *p, char *const argv[])
{
    char dir[PATH_MAX];
    memset(p, 0, sizeof *p);
    if (harness_tmpdir(dir)) return -1;
    snprintf(p->log_path, sizeof p->log_path, "%s/output.log", dir);
    int fd = open(p->log_path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) {
        fprintf(stderr, "harness: open %s: %s\n", p->log_path, strerror(errno));
        return -1;
    }
    fflush(NULL);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        close(fd);
        fprintf(stderr, "harness: fork: %s\n", strerror(errno));
        return -1;
    }
    if (pid == 0) {
        setpgid(0, 0);
        /* If the test dies where no cleanup runs (a sanitizer abort), the
         * kernel still ends its children; their children see the socket
         * close and end too. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) _exit(127);
        int null = open("/dev/null", O_RDONLY);
        if (null >= 0) dup2(null, 0);
        dup2(fd, 1);
        dup2(fd, 2);
        signal(SIGPIPE, SIG_DFL);
        for (int s = 1; s < 32; s++)
            if (s != SIGKILL && s != SIGSTOP) signal(s, SIG_DFL);
        execv(argv[0], argv);
        dprintf(2, "harness: exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    setpgid(pid, pid); /* also from the parent, so kill(-pid) works at once */
    close(fd);
    p->pid = pid;
    track_pid(pid);
    return 0;
}

int manager_start(struct proc *p, const struct broker *b, const char *realm, const char *name,
                  const char *const *extra)
{
    char mqtt[64];
    snprintf(mqtt, sizeof mqtt, "127.0.0.1:%d", b->port);
    const char *argv[64];
    int n = 0;
    argv[n++] = harness_stratus_path();
    argv[n++] = "manager";
    argv[n++] = "--mqtt";
    argv[n++] = mqtt;
    argv[n++] = "--realm";
    argv[n++] = realm;
    argv[n++] = "--name";
    argv[n++] = name;
    for (int i = 0; extra && extra[i] && n < 62; i++)
        argv[n++] = extra[i];
    argv[n] = NULL;
    return proc_start(p, (char *const *)argv);
}

static int proc_poll_exit(struct proc *p)
{
    if (p->exited) return 1;
    int status;
    pid_t r = waitpid(p->pid, &status, WNOHANG);
    if (r == p->pid) {
        p->exited = 1;
        p->status = status;
        return 1;
    }
    if (r < 0 && errno == ECHILD) {
        /* reaped elsewhere: harness_reap kept the status */
        for (int i = 0; i < MAX_TRACKED; i++)
            if (reaped_pid[i] == p->pid) {
                p->exited = 1;
                p->status = reaped_status[i];
                return 1;
            }
        p->exited = 1;
        p->status = 0;
        return 1;
    }
    return 0;
}

int proc_wait_exit(struct proc *p, int timeout_ms)
{
    long long deadline = harness_now_ms() + timeout_ms;
    for (;;) {
        if (proc_poll_exit(p)) return 0;
        if (harness_now_ms() >= deadline) return -1;
        usleep(5000);
    }
}

int proc_alive(struct proc *p)
{
    return p->pid > 0 && !proc_poll_exit(p);
}

int proc_signal(struct proc *p, int sig)
{
    if (p->pid <= 0 || p->exited) return -1;
    return kill(p->pid, sig);
}

void proc_kill(struct proc *p)
{
    if (p->pid <= 0) return;
    kill(-p->pid, SIGKILL);
    if (!p->exited) kill(p->pid, SIGKILL);
    proc_wait_exit(p, 5000);
    harness_reap();
    untrack_pid(p->pid);
}

int proc_group_wait_empty(struct proc *p, int timeout_ms)
{
    long long deadline = harness_now_ms() + timeout_ms;
    for (;;) {
        harness_reap();
        if (kill(-p->pid, 0) < 0 && errno == ESRCH) return 0;
        if (harness_now_ms() >= deadline) return -1;
        usleep(10000);
    }
}

char *proc_log_read(struct proc *p)
{
    FILE *f = fopen(p->log_path, "rb");
    if (!f) return NULL;
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    size_t n;
    while (buf && (n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (cap - len < 2) {
            char *grown = realloc(buf, cap * 2);
            if (!grown) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = grown;
            cap *= 2;
        }
    }
    fclose(f);
    if (buf) buf[len] = 0;
    return buf;
}

int proc_log_wait(struct proc *p, const char *needle, int timeout_ms)
{
    long long deadline = harness_now_ms() + timeout_ms;
    for (;;) {
        char *log = proc_log_read(p);
        int found = log && strstr(log, needle);
        free(log);
        if (found) return 0;
        if (harness_now_ms() >= deadline) return -1;
        usleep(10000);
    }
}

/* ---- broker ---- */

static int broker_try_start(struct broker *b, int port, const char *password_file,
                            const char *extra_conf)
{
    char conf[PATH_MAX + 16];
    snprintf(conf, sizeof conf, "%s/mosquitto.conf", b->dir);
    snprintf(b->log_path, sizeof b->log_path, "%s/broker.log", b->dir);
    FILE *f = fopen(conf, "w");
    if (!f) return -1;
    struct passwd *pw = getpwuid(geteuid());
    fprintf(f,
            "listener %d 127.0.0.1\n"
            "allow_anonymous %s\n"
            "persistence false\n"
            "max_queued_messages 0\n"
            "set_tcp_nodelay true\n"
            "log_dest file %s\n"
            "log_type error\nlog_type warning\nlog_type notice\n"
            "log_type subscribe\nlog_type unsubscribe\n",
            port, password_file ? "false" : "true", b->log_path);
    if (password_file) fprintf(f, "password_file %s\n", password_file);
    if (extra_conf) fputs(extra_conf, f);
    /* Run as root, mosquitto would switch to its own user and could no
     * longer write to our private directory. */
    if (pw) fprintf(f, "user %s\n", pw->pw_name);
    fclose(f);

    static struct proc broker_proc[MAX_TRACKED];
    static int next;
    struct proc *p = &broker_proc[next++ % MAX_TRACKED];
    const char *argv[] = {harness_mosquitto_path(), "-c", conf, NULL};
    if (proc_start(p, (char *const *)argv)) return -1;
    b->pid = p->pid;
    b->port = port;
    long long deadline = harness_now_ms() + 5000;
    while (harness_now_ms() < deadline) {
        if (harness_port_accepts(port)) return 0;
        if (!proc_alive(p)) break;
        usleep(10000);
    }
    proc_kill(p);
    b->pid = 0;
    return -1;
}

int broker_start(struct broker *b, int port)
{
    return broker_start_auth(b, port, NULL);
}

int broker_start_auth(struct broker *b, int port, const char *password_file)
{
    memset(b, 0, sizeof *b);
    if (harness_tmpdir(b->dir)) return -1;
    for (int attempt = 0; attempt < 5; attempt++) {
        int use = port ? port : harness_free_port();
        if (use > 0 && broker_try_start(b, use, password_file, NULL) == 0) return 0;
        if (port) break;
    }
    fprintf(stderr, "harness: could not start %s\n", harness_mosquitto_path());
    return -1;
}

int broker_start_conf(struct broker *b, const char *extra_conf)
{
    memset(b, 0, sizeof *b);
    if (harness_tmpdir(b->dir)) return -1;
    for (int attempt = 0; attempt < 5; attempt++) {
        int use = harness_free_port();
        if (use > 0 && broker_try_start(b, use, NULL, extra_conf) == 0) return 0;
    }
    fprintf(stderr, "harness: could not start %s\n", harness_mosquitto_path());
    return -1;
}

int broker_start_tls(struct broker *b, const char *ca, const char *cert, const char *key,
                     int *tls_port)
{
    memset(b, 0, sizeof *b);
    if (harness_tmpdir(b->dir)) return -1;
    for (int attempt = 0; attempt < 5; attempt++) {
        int plain = harness_free_port(), tls = harness_free_port();
        if (plain <= 0 || tls <= 0 || plain == tls) continue;
        char extra[3 * PATH_MAX + 128];
        snprintf(extra, sizeof extra, "listener %d 127.0.0.1\ncafile %s\ncertfile %s\nkeyfile %s\n",
                 tls, ca, cert, key);
        if (broker_try_start(b, plain, NULL, extra) == 0) {
            /* The plain listener answering does not mean the TLS one does. */
            long long deadline = harness_now_ms() + 5000;
            while (!harness_port_accepts(tls) && harness_now_ms() < deadline)
                usleep(10000);
            *tls_port = tls;
            return 0;
        }
    }
    fprintf(stderr, "harness: could not start %s with TLS\n", harness_mosquitto_path());
    return -1;
}

void broker_stop(struct broker *b)
{
    if (b->pid > 0) {
        kill(-b->pid, SIGKILL);
        kill(b->pid, SIGKILL);
        waitpid(b->pid, NULL, 0);
        untrack_pid(b->pid);
        b->pid = 0;
    }
}

/* Scan the broker log for subscribe lines "<time>: <client id> <qos> <topic>"
 * of exactly `topic`; returns their number and the highest QoS seen. */
static int broker_scan_subscribes(const struct broker *b, const char *topic, int *max_qos)
{
    FILE *f = fopen(b->log_path, "r");
    if (!f) return -1;
    char line[4096];
    int count = 0;
    size_t tl = strlen(topic);
    *max_qos = -1;
    while (fgets(line, sizeof line, f)) {
        size_t l = strlen(line);
        while (l && (line[l - 1] == '\n' || line[l - 1] == '\r'))
            line[--l] = 0;
        if (l <= tl + 3 || strcmp(line + l - tl, topic) || line[l - tl - 1] != ' ') continue;
        char q = line[l - tl - 2];
        if ((q == '0' || q == '1' || q == '2') && line[l - tl - 3] == ' ') {
            count++;
            if (q - '0' > *max_qos) *max_qos = q - '0';
        }
    }
    fclose(f);
    return count;
}

int broker_subscribe_count(const struct broker *b, const char *topic)
{
    int qos;
    return broker_scan_subscribes(b, topic, &qos);
}

int broker_subscribe_qos(const struct broker *b, const char *topic)
{
    int qos;
    return broker_scan_subscribes(b, topic, &qos) > 0 ? qos : -1;
}

/* ---- MQTT test client ---- */

struct qnode {
    struct message *m;
    struct qnode *next;
};

struct mqtt_client {
    struct mosquitto *mosq;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct qnode *head, *tail;
    int connected;
    int connack_rc;
    int suback_mid; /* last acknowledged subscribe or unsubscribe */
};

void message_free(struct message *m)
{
    if (!m) return;
    free(m->topic);
    free(m->payload);
    if (m->json) json_decref(m->json);
    free(m);
}

static void on_connect(struct mosquitto *mosq, void *obj, int rc, int flags,
                       const mosquitto_property *props)
{
    (void)mosq;
    (void)flags;
    (void)props;
    struct mqtt_client *c = obj;
    pthread_mutex_lock(&c->lock);
    c->connected = rc == 0 ? 1 : -1;
    c->connack_rc = rc;
    pthread_cond_broadcast(&c->cond);
    pthread_mutex_unlock(&c->lock);
}

static void on_subscribe(struct mosquitto *mosq, void *obj, int mid, int qos_count,
                         const int *granted, const mosquitto_property *props)
{
    (void)mosq;
    (void)qos_count;
    (void)granted;
    (void)props;
    struct mqtt_client *c = obj;
    pthread_mutex_lock(&c->lock);
    c->suback_mid = mid;
    pthread_cond_broadcast(&c->cond);
    pthread_mutex_unlock(&c->lock);
}

static void on_unsubscribe(struct mosquitto *mosq, void *obj, int mid,
                           const mosquitto_property *props)
{
    on_subscribe(mosq, obj, mid, 0, NULL, props);
}

static void on_message(struct mosquitto *mosq, void *obj, const struct mosquitto_message *msg,
                       const mosquitto_property *props)
{
    (void)mosq;
    (void)props;
    struct mqtt_client *c = obj;
    struct message *m = calloc(1, sizeof *m);
    struct qnode *n = calloc(1, sizeof *n);
    if (!m || !n) {
        free(m);
        free(n);
        return;
    }
    m->topic = strdup(msg->topic);
    m->len = (size_t)msg->payloadlen;
    m->payload = malloc(m->len + 1);
    if (!m->topic || !m->payload) {
        message_free(m);
        free(n);
        return;
    }
    if (m->len) memcpy(m->payload, msg->payload, m->len);
    m->payload[m->len] = 0;
    m->json = json_loadb(m->payload, m->len, 0, NULL);
    m->t_us = harness_now_us();
    m->t_ms = m->t_us / 1000;
    n->m = m;
    pthread_mutex_lock(&c->lock);
    if (c->tail)
        c->tail->next = n;
    else
        c->head = n;
    c->tail = n;
    pthread_cond_broadcast(&c->cond);
    pthread_mutex_unlock(&c->lock);
}

static void deadline_ts(struct timespec *ts, long long deadline_ms)
{
    ts->tv_sec = deadline_ms / 1000;
    ts->tv_nsec = (deadline_ms % 1000) * 1000000;
}

int client_connect(struct mqtt_client **out, int port, const char *id)
{
    return client_connect_auth(out, port, id, NULL, NULL);
}

int client_connect_auth(struct mqtt_client **out, int port, const char *id, const char *user,
                        const char *password)
{
    *out = NULL;
    struct mqtt_client *c = calloc(1, sizeof *c);
    if (!c) return -1;
    pthread_mutex_init(&c->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&c->cond, &ca);
    pthread_condattr_destroy(&ca);
    c->mosq = mosquitto_new(id, true, c);
    if (!c->mosq) {
        free(c);
        return -1;
    }
    mosquitto_int_option(c->mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
    /* A publish must not wait behind our own unacknowledged PUBACK (Nagle
     * against the broker's delayed ACK costs 40 ms a message). */
    mosquitto_int_option(c->mosq, MOSQ_OPT_TCP_NODELAY, 1);
    mosquitto_connect_v5_callback_set(c->mosq, on_connect);
    mosquitto_subscribe_v5_callback_set(c->mosq, on_subscribe);
    mosquitto_unsubscribe_v5_callback_set(c->mosq, on_unsubscribe);
    mosquitto_message_v5_callback_set(c->mosq, on_message);
    if (user) mosquitto_username_pw_set(c->mosq, user, password);
    int rc = mosquitto_connect(c->mosq, "127.0.0.1", port, 30);
    if (rc == MOSQ_ERR_SUCCESS) rc = mosquitto_loop_start(c->mosq);
    if (rc != MOSQ_ERR_SUCCESS) {
        fprintf(stderr, "harness: client connect: %s\n", mosquitto_strerror(rc));
        mosquitto_destroy(c->mosq);
        free(c);
        return -1;
    }
    long long deadline = harness_now_ms() + 5000;
    struct timespec ts;
    deadline_ts(&ts, deadline);
    pthread_mutex_lock(&c->lock);
    while (c->connected == 0 && pthread_cond_timedwait(&c->cond, &c->lock, &ts) == 0)
        ;
    int ok = c->connected == 1;
    pthread_mutex_unlock(&c->lock);
    if (!ok) {
        fprintf(stderr, "harness: client got no CONNACK\n");
        client_free(c);
        return -1;
    }
    *out = c;
    return 0;
}

void client_free(struct mqtt_client *c)
{
    if (!c) return;
    mosquitto_disconnect(c->mosq);
    mosquitto_loop_stop(c->mosq, false);
    mosquitto_destroy(c->mosq);
    client_clear(c);
    pthread_mutex_destroy(&c->lock);
    pthread_cond_destroy(&c->cond);
    free(c);
}

static int wait_ack(struct mqtt_client *c, int mid)
{
    struct timespec ts;
    deadline_ts(&ts, harness_now_ms() + 5000);
    pthread_mutex_lock(&c->lock);
    /* mids grow, so any later acknowledgement also covers ours */
    while (c->suback_mid < mid && pthread_cond_timedwait(&c->cond, &c->lock, &ts) == 0)
        ;
    int ok = c->suback_mid >= mid;
    pthread_mutex_unlock(&c->lock);
    return ok ? 0 : -1;
}

int client_subscribe(struct mqtt_client *c, const char *filter, int qos)
{
    int mid = 0;
    int rc = mosquitto_subscribe(c->mosq, &mid, filter, qos);
    if (rc != MOSQ_ERR_SUCCESS) {
        fprintf(stderr, "harness: subscribe %s: %s\n", filter, mosquitto_strerror(rc));
        return -1;
    }
    return wait_ack(c, mid);
}

int client_unsubscribe(struct mqtt_client *c, const char *filter)
{
    int mid = 0;
    if (mosquitto_unsubscribe(c->mosq, &mid, filter) != MOSQ_ERR_SUCCESS) return -1;
    return wait_ack(c, mid);
}

int client_publish(struct mqtt_client *c, const char *topic, const void *payload, size_t len,
                   int qos)
{
    int rc = mosquitto_publish(c->mosq, NULL, topic, (int)len, payload, qos, false);
    if (rc != MOSQ_ERR_SUCCESS) {
        fprintf(stderr, "harness: publish %s: %s\n", topic, mosquitto_strerror(rc));
        return -1;
    }
    return 0;
}

int client_publish_str(struct mqtt_client *c, const char *topic, const char *text)
{
    return client_publish(c, topic, text, strlen(text), 1);
}

int client_publish_json(struct mqtt_client *c, const char *topic, const json_t *msg)
{
    char *text = json_dumps(msg, JSON_COMPACT);
    if (!text) return -1;
    int rc = client_publish_str(c, topic, text);
    free(text);
    return rc;
}

static int message_matches(const struct message *m, const char *filter, message_pred pred,
                           void *ctx)
{
    bool match = false;
    if (mosquitto_topic_matches_sub(filter, m->topic, &match) != MOSQ_ERR_SUCCESS || !match)
        return 0;
    return pred ? pred(m, ctx) : 1;
}

int client_wait(struct mqtt_client *c, const char *filter, int timeout_ms, message_pred pred,
                void *ctx, struct message **out)
{
    if (out) *out = NULL;
    struct timespec ts;
    deadline_ts(&ts, harness_now_ms() + timeout_ms);
    pthread_mutex_lock(&c->lock);
    for (;;) {
        struct qnode *prev = NULL;
        for (struct qnode *n = c->head; n; prev = n, n = n->next) {
            if (!message_matches(n->m, filter, pred, ctx)) continue;
            if (prev)
                prev->next = n->next;
            else
                c->head = n->next;
            if (c->tail == n) c->tail = prev;
            pthread_mutex_unlock(&c->lock);
            if (out)
                *out = n->m;
            else
                message_free(n->m);
            free(n);
            return 0;
        }
        if (pthread_cond_timedwait(&c->cond, &c->lock, &ts) != 0) break;
    }
    pthread_mutex_unlock(&c->lock);
    return -1;
}

#define MAX_CONDS 16

struct json_conds {
    int n;
    const char *path[MAX_CONDS];
    const char *value[MAX_CONDS];
};

static int json_conds_pred(const struct message *m, void *ctx)
{
    struct json_conds *jc = ctx;
    if (!m->json) return 0;
    for (int i = 0; i < jc->n; i++)
        if (!json_at_equals(m->json, jc->path[i], jc->value[i])) return 0;
    return 1;
}

int client_wait_json(struct mqtt_client *c, const char *filter, int timeout_ms,
                     struct message **out, ...)
{
    struct json_conds jc = {0};
    va_list ap;
    va_start(ap, out);
    const char *path;
    while ((path = va_arg(ap, const char *)) && jc.n < MAX_CONDS) {
        jc.path[jc.n] = path;
        jc.value[jc.n] = va_arg(ap, const char *);
        jc.n++;
    }
    va_end(ap);
    return client_wait(c, filter, timeout_ms, json_conds_pred, &jc, out);
}

int client_count(struct mqtt_client *c, const char *filter, message_pred pred, void *ctx)
{
    int count = 0;
    pthread_mutex_lock(&c->lock);
    for (struct qnode *n = c->head; n; n = n->next)
        count += message_matches(n->m, filter, pred, ctx);
    pthread_mutex_unlock(&c->lock);
    return count;
}

int client_discard(struct mqtt_client *c, const char *filter, message_pred pred, void *ctx)
{
    struct qnode *gone = NULL;
    int n = 0;
    pthread_mutex_lock(&c->lock);
    struct qnode **pp = &c->head, *prev = NULL;
    while (*pp) {
        struct qnode *q = *pp;
        if (message_matches(q->m, filter, pred, ctx)) {
            *pp = q->next;
            if (c->tail == q) c->tail = prev;
            q->next = gone;
            gone = q;
            n++;
        } else {
            prev = q;
            pp = &q->next;
        }
    }
    pthread_mutex_unlock(&c->lock);
    while (gone) {
        struct qnode *next = gone->next;
        message_free(gone->m);
        free(gone);
        gone = next;
    }
    return n;
}

void client_clear(struct mqtt_client *c)
{
    pthread_mutex_lock(&c->lock);
    struct qnode *n = c->head;
    c->head = c->tail = NULL;
    pthread_mutex_unlock(&c->lock);
    while (n) {
        struct qnode *next = n->next;
        message_free(n->m);
        free(n);
        n = next;
    }
}

/* ---- JSON helpers ---- */

json_t *json_at(json_t *root, const char *path)
{
    char key[256];
    json_t *cur = root;
    while (cur && *path) {
        const char *dot = strchr(path, '.');
        size_t l = dot ? (size_t)(dot - path) : strlen(path);
        if (l >= sizeof key) return NULL;
        memcpy(key, path, l);
        key[l] = 0;
        if (json_is_object(cur))
            cur = json_object_get(cur, key);
        else if (json_is_array(cur) && l && strspn(key, "0123456789") == l)
            cur = json_array_get(cur, strtoul(key, NULL, 10));
        else
            cur = NULL;
        path += l + (dot ? 1 : 0);
    }
    return cur;
}

const char *json_str_at(json_t *root, const char *path)
{
    return json_string_value(json_at(root, path));
}

int json_at_equals(json_t *root, const char *path, const char *text)
{
    json_t *v = json_at(root, path);
    char num[32];
    if (!v) return 0;
    switch (json_typeof(v)) {
    case JSON_STRING: return !strcmp(json_string_value(v), text);
    case JSON_INTEGER:
        snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v));
        return !strcmp(num, text);
    case JSON_TRUE: return !strcmp(text, "true");
    case JSON_FALSE: return !strcmp(text, "false");
    case JSON_NULL: return !strcmp(text, "null");
    default: return 0;
    }
}

/* ---- protocol helpers ---- */

char *random_uuid(void)
{
    unsigned char b[16];
    if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b) return NULL;
    b[6] = (unsigned char)((b[6] & 0x0F) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3F) | 0x80);
    char *s = malloc(37);
    if (!s) return NULL;
    snprintf(s, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
             b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
             b[14], b[15]);
    return s;
}

json_t *request_new(const char *action, json_t *data, char **object_id_out)
{
    char *id = random_uuid();
    if (!id) {
        json_decref(data);
        return NULL;
    }
    json_t *msg = json_pack("{s:s, s:s, s:s, s:o}", "object_id", id, "action", action, "type",
                            "req", "data", data);
    if (object_id_out)
        *object_id_out = id;
    else
        free(id);
    return msg;
}

int harness_cmp_ll(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return x < y ? -1 : x > y;
}
