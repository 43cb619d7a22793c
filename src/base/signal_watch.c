/* Signals on the event loop through a signalfd (see signal_watch.h). */
#define _GNU_SOURCE
#include "signal_watch.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "event_loop.h"

struct signal_watch {
    struct event_loop *loop;
    int fd;
    signal_watch_fn fn;
    void *ctx;
};

static void on_readable(void *ctx, uint32_t events)
{
    (void)events;
    struct signal_watch *w = ctx;
    struct signalfd_siginfo si;
    while (read(w->fd, &si, sizeof si) == (ssize_t)sizeof si)
        w->fn(w->ctx, (int)si.ssi_signo);
}

int signal_watch_start(struct event_loop *loop, const int *extra, signal_watch_fn fn, void *ctx,
                       struct signal_watch **out)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    for (const int *s = extra; s && *s; s++)
        sigaddset(&set, *s);
    if (sigprocmask(SIG_BLOCK, &set, NULL) < 0) return -1;
    signal(SIGPIPE, SIG_IGN);
    struct signal_watch *w = calloc(1, sizeof *w);
    if (!w) return -1;
    w->loop = loop;
    w->fn = fn;
    w->ctx = ctx;
    w->fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (w->fd < 0 || loop_add_fd(loop, w->fd, EPOLLIN, on_readable, w) < 0) {
        int e = errno;
        if (w->fd >= 0) close(w->fd);
        free(w);
        errno = e;
        return -1;
    }
    *out = w;
    return 0;
}

void signal_watch_free(struct signal_watch *w)
{
    if (!w) return;
    loop_del_fd(w->loop, w->fd);
    close(w->fd);
    free(w);
}

const char *signal_watch_name(int signo)
{
    switch (signo) {
    case SIGINT: return "SIGINT";
    case SIGTERM: return "SIGTERM";
    case SIGCHLD: return "SIGCHLD";
    case SIGHUP: return "SIGHUP";
    }
    return "a signal";
}
