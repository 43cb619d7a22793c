/* External engines (see bench_external.h). The child is started with
 * posix_spawn (safe in a threaded process), watched through a pidfd so its
 * end is seen the moment it happens (the wall time is the child's, not a
 * polling interval's), and its output read from one pipe for stdout and
 * stderr. */
#define _GNU_SOURCE
#include "bench_external.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* How often a run is looked at for a kill or a deadline. */
#define EXTERNAL_TICK_MS 20

struct words {
    char **v;
    size_t n;
};

static int words_add(struct words *w, char *word)
{
    if (!word) return -1;
    if (w->n + 2 > EXTERNAL_WORDS_MAX) {
        free(word);
        return -1;
    }
    char **grown = realloc(w->v, (w->n + 2) * sizeof *grown);
    if (!grown) {
        free(word);
        return -1;
    }
    w->v = grown;
    w->v[w->n++] = word;
    w->v[w->n] = NULL;
    return 0;
}

/* A growing string. */
struct text {
    char *s;
    size_t n, cap;
};

static int text_add(struct text *t, const char *s, size_t n)
{
    if (t->n + n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 64;
        while (cap < t->n + n + 1)
            cap *= 2;
        char *p = realloc(t->s, cap);
        if (!p) return -1;
        t->s = p;
        t->cap = cap;
    }
    memcpy(t->s + t->n, s, n);
    t->n += n;
    t->s[t->n] = '\0';
    return 0;
}

/* Add a placeholder's text: {file}, {dir}, {args} joined. Returns the
 * length of the placeholder at p, or 0 when p holds none. */
static size_t add_placeholder(struct text *t, const char *p, const char *file, const char *dir,
                              char *const *args, int *oom)
{
    const char *value = NULL;
    size_t len = 0;
    if (!strncmp(p, "{file}", 6)) {
        value = file;
        len = 6;
    } else if (!strncmp(p, "{dir}", 5)) {
        value = dir;
        len = 5;
    } else if (!strncmp(p, "{args}", 6)) {
        for (size_t i = 0; args && args[i]; i++)
            if ((i && text_add(t, " ", 1)) || text_add(t, args[i], strlen(args[i]))) *oom = 1;
        return 6;
    } else {
        return 0;
    }
    if (text_add(t, value, strlen(value))) *oom = 1;
    return len;
}

int external_argv_build(const char *template, const char *file, const char *dir, char *const *args,
                        char ***argv, char *reason, size_t cap)
{
    struct words w = {0};
    *argv = NULL;
    const char *p = template;
    int oom = 0;
    for (;;) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (!*p) break;
        /* A bare {args} word: one word per argument. */
        if (!strncmp(p, "{args}", 6) && (!p[6] || p[6] == ' ' || p[6] == '\t')) {
            for (size_t i = 0; args && args[i] && !oom; i++)
                oom = words_add(&w, strdup(args[i])) < 0;
            p += 6;
            if (oom) goto fail;
            continue;
        }
        struct text t = {0};
        char quote = 0;
        while (*p && (quote || (*p != ' ' && *p != '\t'))) {
            if (quote && *p == quote) {
                quote = 0;
                p++;
            } else if (!quote && (*p == '\'' || *p == '"')) {
                quote = *p++;
            } else {
                size_t n = add_placeholder(&t, p, file, dir, args, &oom);
                if (!n && text_add(&t, p, 1)) oom = 1;
                p += n ? n : 1;
            }
        }
        if (quote) {
            free(t.s);
            snprintf(reason, cap, "the engine's command template has an open quote");
            external_argv_free(w.v);
            return -1;
        }
        if (!oom && !t.s) t.s = strdup(""); /* '' is an empty word */
        if (oom || words_add(&w, t.s) < 0) goto fail;
    }
    if (!w.n) {
        snprintf(reason, cap, "the engine's command template is empty");
        return -1;
    }
    *argv = w.v;
    return 0;
fail:
    snprintf(reason, cap, "the engine's command is too long (or out of memory)");
    external_argv_free(w.v);
    return -1;
}

void external_argv_free(char **argv)
{
    for (size_t i = 0; argv && argv[i]; i++)
        free(argv[i]);
    free(argv);
}

static uint64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* environ plus the extra entries, the extra ones winning. */
static char **child_env(char **extra)
{
    size_t n = 0, k = 0, x = 0;
    while (environ && environ[n])
        n++;
    while (extra && extra[x])
        x++;
    char **env = calloc(n + x + 1, sizeof *env);
    if (!env) return NULL;
    for (size_t i = 0; i < n; i++) {
        size_t len = strcspn(environ[i], "=");
        int shadowed = 0;
        for (size_t j = 0; j < x && !shadowed; j++)
            shadowed = !strncmp(extra[j], environ[i], len + 1);
        if (!shadowed) env[k++] = environ[i];
    }
    for (size_t j = 0; j < x; j++)
        env[k++] = extra[j];
    return env;
}

static void pass_output(struct external_run *r, int fd, bool *open)
{
    uint8_t buf[65536];
    ssize_t got = read(fd, buf, sizeof buf);
    if (got > 0) {
        if (r->output) r->output(r->user, buf, (size_t)got);
    } else if (got == 0 || (errno != EINTR && errno != EAGAIN)) {
        *open = false;
    }
}

int external_run(struct external_run *r, char *reason, size_t cap)
{
    int pipefd[2];
    if (pipe2(pipefd, O_CLOEXEC) < 0) {
        snprintf(reason, cap, "cannot make a pipe: %s", strerror(errno));
        return -1;
    }
    char **env = child_env(r->env);
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&attr);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
    posix_spawn_file_actions_adddup2(&fa, pipefd[1], 2);
    if (r->dir) posix_spawn_file_actions_addchdir_np(&fa, r->dir);
    posix_spawnattr_setpgroup(&attr, 0);
    sigset_t none;
    sigemptyset(&none);
    posix_spawnattr_setsigmask(&attr, &none);
    sigset_t dflt;
    sigemptyset(&dflt);
    sigaddset(&dflt, SIGPIPE);
    posix_spawnattr_setsigdefault(&attr, &dflt);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
                                        POSIX_SPAWN_SETSIGDEF);
    pid_t pid;
    uint64_t t0 = mono_us();
    int rc = env ? posix_spawnp(&pid, r->argv[0], &fa, &attr, r->argv, env) : ENOMEM;
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    free(env);
    close(pipefd[1]);
    if (rc != 0) {
        close(pipefd[0]);
        snprintf(reason, cap, "cannot run '%.100s': %s", r->argv[0], strerror(rc));
        return -1;
    }
    fcntl(pipefd[0], F_SETFL, O_NONBLOCK);
    int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    bool out_open = true, ended = false;
    int status = 0;
    struct rusage ru;
    memset(&ru, 0, sizeof ru);
    r->cut = r->stopped = false;
    while (!ended) {
        struct pollfd fds[2];
        int n = 0;
        if (pidfd >= 0) fds[n++] = (struct pollfd){.fd = pidfd, .events = POLLIN};
        int out_at = -1;
        if (out_open) {
            out_at = n;
            fds[n++] = (struct pollfd){.fd = pipefd[0], .events = POLLIN};
        }
        int tick = pidfd >= 0 ? EXTERNAL_TICK_MS : 1;
        if (r->deadline_us) {
            uint64_t now = mono_us();
            uint64_t left_ms = r->deadline_us > now ? (r->deadline_us - now + 999) / 1000 : 0;
            if (left_ms < (uint64_t)tick) tick = (int)left_ms;
        }
        if (poll(fds, (nfds_t)n, tick) < 0 && errno != EINTR) break;
        if (out_at >= 0 && fds[out_at].revents) pass_output(r, pipefd[0], &out_open);
        pid_t w = wait4(pid, &status, WNOHANG, &ru);
        if (w == pid) {
            ended = true;
            break;
        }
        bool cut = r->deadline_us && mono_us() >= r->deadline_us;
        bool stop = r->killed && atomic_load(r->killed);
        if (cut || stop) {
            kill(-pid, SIGKILL);
            kill(pid, SIGKILL);
            r->cut = cut;
            r->stopped = stop;
            while (wait4(pid, &status, 0, &ru) < 0 && errno == EINTR) {
            }
            ended = true;
        }
    }
    r->wall_us = mono_us() - t0;
    /* What the child wrote just before it ended (its children may keep the
     * pipe open: only what is there now). */
    while (out_open) {
        struct pollfd pf = {.fd = pipefd[0], .events = POLLIN};
        if (poll(&pf, 1, 0) <= 0) break;
        pass_output(r, pipefd[0], &out_open);
    }
    kill(-pid, SIGKILL); /* anything the engine left behind */
    if (pidfd >= 0) close(pidfd);
    close(pipefd[0]);
    r->utime_us = (uint64_t)ru.ru_utime.tv_sec * 1000000u + (uint64_t)ru.ru_utime.tv_usec;
    r->stime_us = (uint64_t)ru.ru_stime.tv_sec * 1000000u + (uint64_t)ru.ru_stime.tv_usec;
    r->exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return 0;
}
