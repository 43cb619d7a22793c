/* The socket-backed runtime (runtime_socket_ops, see runtime_iface.h): a
 * runtime process started as `PROGRAM SOCKET_PATH` (or the original
 * Silverline manager's way, `sh -c "COMMAND INDEX"`), in a session and
 * process group of its own that is signalled whole, one AF_UNIX stream
 * connection, frames both ways.
 *
 * Output goes into a bounded write queue flushed by a prepare hook once per
 * loop iteration, so a burst of messages leaves in one write(). A message that
 * would pass the bound is refused (the caller logs the drop): a runtime that
 * stops reading costs the manager at most the bound, and control messages
 * refused this way are answered with an error instead of being lost silently.
 * Input is read into the protocol library's frame reader; a stream error
 * (oversized message, bad fragment) drops the connection like an EOF. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "event_loop.h"
#include "slog.h"
#include "stratus/runtime_iface.h"
#include "write_queue.h"

extern char **environ;

/* After a stop frame, how long the process gets before SIGTERM, and after
 * SIGTERM before SIGKILL. */
#define STOP_GRACE_MS 1000
#define TERM_GRACE_MS 1000
/* Reads per readiness event before letting other connections have a turn. */
#define READS_PER_EVENT 16
/* After the connection ended, how long to wait for the process's exit
 * status, which the crash reason names. */
#define EXIT_STATUS_WAIT_MS 1000

struct socket_backend {
    struct runtime *rt;
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    int listen_fd, conn_fd;
    uint32_t conn_events;
    pid_t pid;
    int stopping;
    loop_timer_id kill_timer;
    loop_timer_id status_timer; /* waiting for the exit status of a lost process */
    char lost_why[128];         /* what ended the connection */
    struct frame_reader *reader;
    struct write_queue out;
    uint8_t buf[65536];
};

static struct socket_backend *backend_of(const struct runtime *rt)
{
    return runtime_backend(rt);
}

static void close_listener(struct socket_backend *b)
{
    if (b->listen_fd >= 0) {
        loop_del_fd(runtime_loop(b->rt), b->listen_fd);
        close(b->listen_fd);
        b->listen_fd = -1;
        unlink(b->path);
    }
}

static void close_connection(struct socket_backend *b)
{
    if (b->conn_fd >= 0) {
        loop_del_fd(runtime_loop(b->rt), b->conn_fd);
        close(b->conn_fd);
        b->conn_fd = -1;
    }
}

static void cancel_kill_timer(struct socket_backend *b)
{
    if (b->kill_timer) {
        loop_timer_cancel(runtime_loop(b->rt), b->kill_timer);
        b->kill_timer = 0;
    }
    if (b->status_timer) {
        loop_timer_cancel(runtime_loop(b->rt), b->status_timer);
        b->status_timer = 0;
    }
}

/* "killed by signal 9 (SIGKILL)" or "exited with status 3". */
static void describe_status(int status, char *buf, size_t cap)
{
    if (WIFSIGNALED(status)) {
        const char *abbrev = sigabbrev_np(WTERMSIG(status));
        snprintf(buf, cap, "killed by signal %d (SIG%s)%s", WTERMSIG(status), abbrev ? abbrev : "?",
                 WCOREDUMP(status) ? ", core dumped" : "");
    } else {
        snprintf(buf, cap, "exited with status %d", WEXITSTATUS(status));
    }
}

/* The runtime process leads a process group of its own (it was started in
 * a new session): signalling the group reaches whatever it started too. */
static void kill_group(pid_t pid, int sig)
{
    if (pid > 0 && kill(-pid, sig) < 0) kill(pid, sig);
}

/* Tear down the connection and the process of a runtime that died or went
 * wrong; its process gets no grace, since its connection is gone. */
static void drop(struct socket_backend *b, const char *why)
{
    close_connection(b);
    close_listener(b);
    cancel_kill_timer(b);
    if (b->pid > 0) {
        kill_group(b->pid, SIGKILL);
        /* Reaped by the manager's SIGCHLD handling, unclaimed. */
        b->pid = 0;
    }
    runtime_connection_lost(b->rt, why);
}

static void on_status_timer(void *ctx)
{
    struct socket_backend *b = ctx;
    b->status_timer = 0;
    char why[200];
    snprintf(why, sizeof why, "%s; the runtime process did not exit and was killed", b->lost_why);
    drop(b, why);
}

/* The connection ended: the modules are reported crashed once the process's
 * exit status is known (usually within a millisecond), so the reason can
 * name the signal or status; a process that lingers is killed. */
static void lost_wait_status(struct socket_backend *b, const char *why)
{
    snprintf(b->lost_why, sizeof b->lost_why, "%s", why);
    close_connection(b);
    if (b->pid <= 0) {
        drop(b, why);
        return;
    }
    if (!b->status_timer && loop_timer_add(runtime_loop(b->rt), EXIT_STATUS_WAIT_MS,
                                           on_status_timer, b, &b->status_timer) < 0)
        drop(b, why);
}

/* Write what is queued and watch for writability only while something is
 * left (a level-triggered EPOLLOUT on an idle socket would spin). */
static void flush(void *ctx)
{
    struct socket_backend *b = ctx;
    if (b->conn_fd < 0) return;
    if (wq_pending(&b->out) && wq_flush(&b->out, b->conn_fd) < 0) {
        slog(SLOG_WARNING, runtime_log_component(b->rt), "write to the runtime: %s",
             strerror(errno));
        drop(b, "write to the runtime failed");
        return;
    }
    uint32_t want = EPOLLIN | (wq_pending(&b->out) ? EPOLLOUT : 0);
    if (want != b->conn_events) {
        loop_mod_fd(runtime_loop(b->rt), b->conn_fd, want);
        b->conn_events = want;
    }
}

static void on_connection(void *ctx, uint32_t events)
{
    struct socket_backend *b = ctx;
    if (events & EPOLLOUT) {
        flush(b);
        if (b->conn_fd < 0) return;
    }
    if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR))) return;
    int eof = 0;
    for (int i = 0; i < READS_PER_EVENT; i++) {
        ssize_t n = read(b->conn_fd, b->buf, sizeof b->buf);
        if (n > 0) {
            if (frame_reader_feed(b->reader, b->buf, (size_t)n) != FRAME_OK) {
                drop(b, "out of memory reading from the runtime");
                return;
            }
            if ((size_t)n < sizeof b->buf) break;
            continue;
        }
        if (n == 0) {
            eof = 1;
        } else if (errno == EINTR) {
            continue;
        } else if (errno != EAGAIN && errno != EWOULDBLOCK) {
            eof = 1;
        }
        break;
    }
    /* Messages that arrived before the end are still handled. */
    runtime_frames_ready(b->rt);
    if (b->conn_fd < 0) return;
    if (eof) {
        if (b->stopping) {
            close_connection(b);
        } else {
            lost_wait_status(b, frame_reader_pending(b->reader)
                                    ? "connection ended inside a message"
                                    : "connection closed");
        }
    }
}

static void on_listener(void *ctx, uint32_t events)
{
    struct socket_backend *b = ctx;
    int fd = accept4(b->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
        if (errno != EAGAIN && errno != EINTR)
            slog(SLOG_WARNING, runtime_log_component(b->rt), "accept: %s", strerror(errno));
        return;
    }
    /* One connection per runtime process: nobody else may connect later. */
    close_listener(b);
    b->conn_fd = fd;
    b->conn_events = EPOLLIN | EPOLLOUT;
    if (loop_add_fd(runtime_loop(b->rt), fd, b->conn_events, on_connection, b) < 0) {
        close(fd);
        b->conn_fd = -1;
        drop(b, "cannot watch the runtime connection");
        return;
    }
    slog(SLOG_DEBUG, runtime_log_component(b->rt), "runtime process connected");
}

/* The original launch's socket directory (default /tmp/sl, where original
 * runtimes look): made 0700 if missing; an existing one must be ours, a
 * real directory, and writable by nobody else, or the socket could be
 * taken over. */
static int check_original_dir(struct runtime *rt, const char *dir)
{
    if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
        slog(SLOG_ERROR, runtime_log_component(rt), "socket directory %s: %s", dir,
             strerror(errno));
        return -1;
    }
    struct stat st;
    if (lstat(dir, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid() ||
        (st.st_mode & 022)) {
        slog(SLOG_ERROR, runtime_log_component(rt),
             "socket directory %s is not private (it must be a directory of this user that "
             "others cannot write to); remove it or set the type's socket_dir",
             dir);
        return -1;
    }
    return 0;
}

static int make_listener(struct socket_backend *b)
{
    struct runtime *rt = b->rt;
    const struct runtime_type *type = runtime_get_type(rt);
    int n;
    if (type->launch == RUNTIME_LAUNCH_ORIGINAL) {
        const char *dir = type->socket_dir ? type->socket_dir : "/tmp/sl";
        if (check_original_dir(rt, dir) < 0) return -1;
        n = snprintf(b->path, sizeof b->path, "%s/%02x.s", dir, runtime_index(rt));
    } else {
        n = snprintf(b->path, sizeof b->path, "%s/%s.sock", runtime_socket_dir(rt),
                     runtime_uuid(rt));
    }
    if (n < 0 || (size_t)n >= sizeof b->path) {
        slog(SLOG_ERROR, runtime_log_component(rt), "socket path too long");
        return -1;
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    memcpy(addr.sun_path, b->path, (size_t)n + 1);
    unlink(b->path);
    /* Created 0600 from the start: the umask covers the window before chmod. */
    mode_t old = umask(077);
    int rc = bind(fd, (struct sockaddr *)&addr, sizeof addr);
    umask(old);
    if (rc < 0 || chmod(b->path, 0600) < 0 || listen(fd, 1) < 0) {
        slog(SLOG_ERROR, runtime_log_component(rt), "socket %s: %s", b->path, strerror(errno));
        close(fd);
        unlink(b->path);
        return -1;
    }
    if (loop_add_fd(runtime_loop(rt), fd, EPOLLIN, on_listener, b) < 0) {
        close(fd);
        unlink(b->path);
        return -1;
    }
    b->listen_fd = fd;
    return 0;
}

/* What a runtime process inherits of the manager's environment: nothing
 * that could hold a secret (the broker password, tokens), only what
 * programs need to run and the sanitizers' settings of a test build. */
static int inherited(const char *entry)
{
    static const char *const names[] = {
        "PATH",
        "HOME",
        "USER",
        "LOGNAME",
        "LANG",
        "TZ",
        "TMPDIR",
        "LC_ALL",
        "LC_CTYPE",
        "LC_MESSAGES",
        "STRATUS_ALLOW_FREE_TOPICS",
        "STRATUS_AOT_CACHE",
        "STRATUS_CC",
        "ASAN_OPTIONS",
        "UBSAN_OPTIONS",
        "LSAN_OPTIONS",
        "MALLOC_ARENA_MAX",
    };
    size_t n = strcspn(entry, "=");
    if (!entry[n]) return 0;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strlen(names[i]) == n && !strncmp(entry, names[i], n)) return 1;
    return 0;
}

/* The inherited part of environ plus the runtime's variables; the strings
 * are owned by the block. */
#define CHILD_VARS 7
static char **child_environment(struct runtime *rt, char *vars[CHILD_VARS])
{
    const struct runtime_type *type = runtime_get_type(rt);
    const char *dir = runtime_module_dir(rt);
    if (asprintf(&vars[0], "STRATUS_RUNTIME_TYPE=%s", type->type) < 0) vars[0] = NULL;
    if (asprintf(&vars[1], "STRATUS_RUNTIME_NAME=%s", runtime_name(rt)) < 0) vars[1] = NULL;
    if (asprintf(&vars[2], "STRATUS_RUNTIME_UUID=%s", runtime_uuid(rt)) < 0) vars[2] = NULL;
    if (asprintf(&vars[3], "STRATUS_MODULE_DIR=%s", dir ? dir : ".") < 0) vars[3] = NULL;
    if (asprintf(&vars[4], "STRATUS_REALM=%s", runtime_realm(rt)) < 0) vars[4] = NULL;
    if (runtime_max_memory(rt) &&
        asprintf(&vars[5], "STRATUS_RUNTIME_MAX_MEMORY=%u", runtime_max_memory(rt)) < 0)
        vars[5] = NULL;
    if (runtime_file_dir(rt) &&
        asprintf(&vars[6], "STRATUS_FILE_CACHE=%s", runtime_file_dir(rt)) < 0)
        vars[6] = NULL;
    size_t n = 0;
    while (environ && environ[n])
        n++;
    char **env = calloc(n + CHILD_VARS + 1, sizeof *env);
    if (!env) return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (inherited(environ[i])) env[k++] = environ[i];
    for (int i = 0; i < CHILD_VARS; i++)
        if (vars[i]) env[k++] = vars[i];
    env[k] = NULL;
    return env;
}

/* A type's default program is a bare name ("stratus-runtime"): it is looked
 * for beside the running `stratus` binary (an installed tree), then in the
 * build tree this manager was built in, so neither needs configuration. A
 * configured program (--runtime-command) is used as given. */
static const char *resolve_default_program(const char *name, char *buf, size_t cap)
{
    if (!name || strchr(name, '/')) return name;
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = '\0';
            if ((size_t)snprintf(buf, cap, "%s/%s", exe, name) < cap && access(buf, X_OK) == 0)
                return buf;
        }
    }
#ifdef STRATUS_BUILD_RUNTIME_DIR
    if ((size_t)snprintf(buf, cap, "%s/%s", STRATUS_BUILD_RUNTIME_DIR, name) < cap &&
        access(buf, X_OK) == 0)
        return buf;
#endif
    return NULL;
}

static int spawn_process(struct socket_backend *b)
{
    struct runtime *rt = b->rt;
    const struct runtime_type *type = runtime_get_type(rt);
    char found[PATH_MAX];
    const char *program = runtime_command(rt);
    if (!program)
        program = type->declared
                      ? type->default_command
                      : resolve_default_program(type->default_command, found, sizeof found);
    if (!program) {
        slog(SLOG_ERROR, runtime_log_component(rt),
             "no program for runtime type %s (use "
             "--runtime-command %s=PATH)",
             runtime_get_type(rt)->type, runtime_get_type(rt)->type);
        return -1;
    }
    char *vars[CHILD_VARS] = {0};
    char **env = child_environment(rt, vars);
    char *argv[4] = {(char *)program, b->path, NULL, NULL};
    char *shell_command = NULL;
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    if (type->launch == RUNTIME_LAUNCH_ORIGINAL) {
        /* As the original manager: through the shell, with the runtime's
         * index, in the module directory (files are relative to it). */
        if (asprintf(&shell_command, "%s %d", program, runtime_index(rt)) < 0) shell_command = NULL;
        argv[0] = "/bin/sh";
        argv[1] = "-c";
        argv[2] = shell_command;
        const char *dir = runtime_module_dir(rt);
        if (dir) posix_spawn_file_actions_addchdir_np(&actions, dir);
    }
    /* The manager blocks the signals it reads from a signalfd and ignores
     * SIGPIPE; the runtime process must start with neither. */
    posix_spawnattr_t attr;
    sigset_t none, defaults;
    sigemptyset(&none);
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGPIPE);
    sigaddset(&defaults, SIGINT);
    sigaddset(&defaults, SIGTERM);
    sigaddset(&defaults, SIGCHLD);
    posix_spawnattr_init(&attr);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &defaults);
    /* A session of its own: its process group is stopped whole. */
    posix_spawnattr_setflags(&attr,
                             POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSID);
    int rc = !env || (type->launch == RUNTIME_LAUNCH_ORIGINAL && !shell_command) ? ENOMEM
             : type->declared && type->launch == RUNTIME_LAUNCH_STRATUS
                 ? posix_spawnp(&b->pid, argv[0], &actions, &attr, argv, env)
                 : posix_spawn(&b->pid, argv[0], &actions, &attr, argv, env);
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&actions);
    free(shell_command);
    free(env);
    for (int i = 0; i < CHILD_VARS; i++)
        free(vars[i]);
    if (rc != 0) {
        slog(SLOG_ERROR, runtime_log_component(rt), "cannot run %s: %s", program, strerror(rc));
        b->pid = 0;
        return -1;
    }
    slog(SLOG_DEBUG, runtime_log_component(rt), "runtime process %s started, pid %d", program,
         (int)b->pid);
    return 0;
}

static int socket_start(struct runtime *rt, json_t *registration)
{
    (void)registration;
    struct socket_backend *b = backend_of(rt);
    if (!b) {
        b = calloc(1, sizeof *b);
        if (!b) return -1;
        b->rt = rt;
        b->listen_fd = b->conn_fd = -1;
        b->reader = frame_reader_new(runtime_get_type(rt)->header, 0);
        if (!b->reader || loop_add_prepare(runtime_loop(rt), flush, b) < 0) {
            frame_reader_free(b->reader);
            free(b);
            return -1;
        }
        wq_init(&b->out, 0);
        runtime_set_backend(rt, b);
    } else {
        /* A restart: nothing of the previous process may leak into this one. */
        close_connection(b);
        close_listener(b);
        frame_reader_free(b->reader);
        b->reader = frame_reader_new(runtime_get_type(rt)->header, 0);
        if (!b->reader) return -1;
        wq_reset(&b->out);
    }
    b->stopping = 0;
    if (make_listener(b) < 0) return -1;
    if (spawn_process(b) < 0) {
        close_listener(b);
        return -1;
    }
    return 0;
}

static int socket_send(struct runtime *rt, uint8_t h1, uint8_t h2, const void *payload, size_t len)
{
    struct socket_backend *b = backend_of(rt);
    if (!b || b->stopping || (b->conn_fd < 0 && b->listen_fd < 0)) return -1;
    enum frame_header_kind kind = runtime_get_type(rt)->header;
    size_t size = frame_encoded_size(kind, len);
    uint8_t *dst = wq_reserve(&b->out, size);
    if (!dst) return -1;
    size_t written = 0;
    if (frame_encode(kind, h1, h2, payload, len, dst, size, &written) != FRAME_OK ||
        written != size) {
        /* Cannot happen with a size from frame_encoded_size; undo the space. */
        b->out.tail -= size;
        return -1;
    }
    return 0;
}

static int socket_receive(struct runtime *rt, struct frame_message *msg)
{
    struct socket_backend *b = backend_of(rt);
    if (!b || b->conn_fd < 0) return RUNTIME_RECV_NONE;
    int rc = frame_reader_next(b->reader, msg);
    if (rc == 1) return RUNTIME_RECV_FRAME;
    if (rc < 0) {
        slog(SLOG_ERROR, runtime_log_component(rt), "bad stream from the runtime: %s",
             frame_strerror(rc));
        drop(b, frame_strerror(rc));
    }
    return RUNTIME_RECV_NONE;
}

static void on_kill_timer(void *ctx)
{
    struct socket_backend *b = ctx;
    b->kill_timer = 0;
    if (b->pid <= 0) return;
    if (b->stopping == 1) {
        slog(SLOG_WARNING, runtime_log_component(b->rt), "runtime did not stop; SIGTERM");
        kill_group(b->pid, SIGTERM);
        b->stopping = 2;
        loop_timer_add(runtime_loop(b->rt), TERM_GRACE_MS, on_kill_timer, b, &b->kill_timer);
    } else {
        slog(SLOG_WARNING, runtime_log_component(b->rt), "runtime ignored SIGTERM; SIGKILL");
        kill_group(b->pid, SIGKILL);
    }
}

static void socket_stop(struct runtime *rt)
{
    struct socket_backend *b = backend_of(rt);
    if (!b || b->pid <= 0) {
        if (b) {
            close_connection(b);
            close_listener(b);
        }
        runtime_stopped(rt);
        return;
    }
    close_listener(b);
    if (b->conn_fd >= 0) {
        /* Stop frame, then the grace period; the process exits on its own. */
        socket_send(rt, FRAME_CONTROL, FRAME_STOP_RUNTIME, NULL, 0);
        flush(b);
        b->stopping = 1;
        loop_timer_add(runtime_loop(rt), STOP_GRACE_MS, on_kill_timer, b, &b->kill_timer);
    } else {
        /* Not connected: it cannot read a stop frame. */
        kill_group(b->pid, SIGTERM);
        b->stopping = 2;
        loop_timer_add(runtime_loop(rt), TERM_GRACE_MS, on_kill_timer, b, &b->kill_timer);
    }
}

static int socket_child_exited(struct runtime *rt, pid_t pid, int status)
{
    struct socket_backend *b = backend_of(rt);
    if (!b || b->pid <= 0 || b->pid != pid) return 0;
    b->pid = 0;
    /* Whatever the runtime started ends with it. */
    kill(-pid, SIGKILL);
    int waited = b->status_timer != 0;
    cancel_kill_timer(b);
    char how[96];
    describe_status(status, how, sizeof how);
    slog(b->stopping ? SLOG_DEBUG : SLOG_WARNING, runtime_log_component(rt), "runtime process %s",
         how);
    if (b->stopping) {
        close_connection(b);
        runtime_stopped(rt);
    } else {
        /* Usually the EOF came first; if the process died before it ever
         * connected, this is the only news of it. */
        char why[256];
        snprintf(why, sizeof why, "the runtime process %s (%s)", how,
                 waited ? b->lost_why : "before its connection ended");
        drop(b, why);
    }
    return 1;
}

static void socket_release(struct runtime *rt)
{
    struct socket_backend *b = backend_of(rt);
    if (!b) return;
    close_connection(b);
    close_listener(b);
    cancel_kill_timer(b);
    if (b->pid > 0) kill_group(b->pid, SIGKILL);
    loop_del_prepare(runtime_loop(rt), flush, b);
    frame_reader_free(b->reader);
    wq_free(&b->out);
    free(b);
    runtime_set_backend(rt, NULL);
}

const struct runtime_ops runtime_socket_ops = {
    .start = socket_start,
    .send = socket_send,
    .receive = socket_receive,
    .stop = socket_stop,
    .child_exited = socket_child_exited,
    .release = socket_release,
};

/* ---- the null backend: a runtime with no process (test/reg) ---- */

static int null_start(struct runtime *rt, json_t *registration)
{
    (void)rt;
    (void)registration;
    return 0;
}

static int null_send(struct runtime *rt, uint8_t h1, uint8_t h2, const void *payload, size_t len)
{
    (void)rt;
    (void)h1;
    (void)h2;
    (void)payload;
    (void)len;
    return -1;
}

static int null_receive(struct runtime *rt, struct frame_message *msg)
{
    (void)rt;
    (void)msg;
    return RUNTIME_RECV_NONE;
}

const struct runtime_ops runtime_null_ops = {
    .start = null_start,
    .send = null_send,
    .receive = null_receive,
};
