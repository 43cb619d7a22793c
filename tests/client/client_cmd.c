/* Client commands as child processes (see client_cmd.h). */
#define _GNU_SOURCE
#include "client_cmd.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

int cmd_start(struct cmd *c, const char *const *flags, const char *const *argv)
{
    memset(c, 0, sizeof *c);
    c->out_fd = c->err_fd = -1;
    const char *args[96];
    size_t n = 0;
    args[n++] = harness_stratus_path();
    args[n++] = argv[0];
    for (size_t i = 0; flags && flags[i] && n < 60; i++)
        args[n++] = flags[i];
    for (size_t i = 1; argv[i] && n < 94; i++)
        args[n++] = argv[i];
    args[n] = NULL;
    int out[2], err[2];
    if (pipe2(out, O_CLOEXEC) < 0) return -1;
    if (pipe2(err, O_CLOEXEC) < 0) {
        close(out[0]);
        close(out[1]);
        return -1;
    }
    fflush(NULL);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        setpgid(0, 0);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) _exit(127);
        int null = open("/dev/null", O_RDONLY);
        if (null >= 0) dup2(null, 0);
        dup2(out[1], 1);
        dup2(err[1], 2);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        for (int s = 1; s < 32; s++)
            if (s != SIGKILL && s != SIGSTOP) signal(s, SIG_DFL);
        execv(args[0], (char *const *)args);
        _exit(127);
    }
    setpgid(pid, pid);
    close(out[1]);
    close(err[1]);
    c->pid = pid;
    c->out_fd = out[0];
    c->err_fd = err[0];
    c->out = calloc(1, 1);
    c->err = calloc(1, 1);
    return 0;
}

static void append(char **buf, size_t *len, const char *data, size_t n)
{
    char *p = realloc(*buf, *len + n + 1);
    if (!p) return;
    memcpy(p + *len, data, n);
    *len += n;
    p[*len] = '\0';
    *buf = p;
}

/* Read what is there within ms; 1 when both pipes are at their end. */
static int pump(struct cmd *c, int ms)
{
    struct pollfd p[2];
    int n = 0;
    if (c->out_fd >= 0) p[n++] = (struct pollfd){.fd = c->out_fd, .events = POLLIN};
    if (c->err_fd >= 0) p[n++] = (struct pollfd){.fd = c->err_fd, .events = POLLIN};
    if (n == 0) return 1;
    if (poll(p, (nfds_t)n, ms) <= 0) return 0;
    for (int i = 0; i < n; i++) {
        if (!p[i].revents) continue;
        char buf[8192];
        ssize_t r = read(p[i].fd, buf, sizeof buf);
        int is_out = p[i].fd == c->out_fd;
        if (r > 0) {
            if (is_out)
                append(&c->out, &c->out_len, buf, (size_t)r);
            else
                append(&c->err, &c->err_len, buf, (size_t)r);
        } else if (r == 0 || errno != EINTR) {
            close(p[i].fd);
            if (is_out)
                c->out_fd = -1;
            else
                c->err_fd = -1;
        }
    }
    return c->out_fd < 0 && c->err_fd < 0;
}

static int occurrences(const char *text, const char *needle)
{
    int n = 0;
    for (const char *p = text; (p = strstr(p, needle)); p++)
        n++;
    return n;
}

int cmd_wait_output_count(struct cmd *c, const char *needle, int count, int timeout_ms)
{
    long long deadline = harness_now_ms() + timeout_ms;
    while (occurrences(c->out, needle) < count) {
        long long left = deadline - harness_now_ms();
        if (left <= 0) return -1;
        if (pump(c, (int)(left < 50 ? left : 50)) && occurrences(c->out, needle) < count) return -1;
    }
    return 0;
}

int cmd_wait_output(struct cmd *c, const char *needle, int timeout_ms)
{
    return cmd_wait_output_count(c, needle, 1, timeout_ms);
}

int cmd_finish(struct cmd *c, int timeout_ms)
{
    long long deadline = harness_now_ms() + timeout_ms;
    while (!pump(c, 50))
        if (harness_now_ms() > deadline) break;
    int status;
    pid_t r;
    while ((r = waitpid(c->pid, &status, WNOHANG)) == 0 && harness_now_ms() < deadline)
        usleep(5000);
    if (r != c->pid) {
        kill(-c->pid, SIGKILL);
        waitpid(c->pid, &status, 0);
        c->status = -1;
    } else {
        c->status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    if (c->out_fd >= 0) close(c->out_fd);
    if (c->err_fd >= 0) close(c->err_fd);
    c->out_fd = c->err_fd = -1;
    c->pid = 0;
    if (c->status != 0)
        fprintf(stderr, "[cmd status %d]\n--- stdout:\n%s--- stderr:\n%s---\n", c->status, c->out,
                c->err);
    return c->status;
}

int cmd_run(struct cmd *c, int timeout_ms, const char *const *flags, const char *const *argv)
{
    if (cmd_start(c, flags, argv) < 0) return -1;
    return cmd_finish(c, timeout_ms);
}

void cmd_free(struct cmd *c)
{
    if (c->pid > 0) {
        kill(-c->pid, SIGKILL);
        waitpid(c->pid, NULL, 0);
    }
    if (c->out_fd >= 0) close(c->out_fd);
    if (c->err_fd >= 0) close(c->err_fd);
    free(c->out);
    free(c->err);
    memset(c, 0, sizeof *c);
}
