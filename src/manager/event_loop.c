/* The epoll event loop of the manager (see event_loop.h). Watches are heap
 * records referenced from epoll; a removed watch is only marked dead and freed
 * after the current batch of events, so a callback may remove any watch
 * without leaving a dangling pointer in the batch. Timers are few (a handful
 * per runtime), so they live in an unsorted array scanned for the earliest. */
#include "event_loop.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

struct watch {
    int fd;
    int dead;
    loop_fd_fn fn;
    void *ctx;
    struct watch *next; /* all watches, for lookup by fd and freeing */
};

struct timer {
    loop_timer_id id;
    uint64_t due_ms;
    loop_timer_fn fn;
    void *ctx;
};

struct prepare {
    loop_prepare_fn fn;
    void *ctx;
};

struct event_loop {
    int epfd;
    int running;
    struct watch *watches;
    struct timer *timers;
    size_t ntimers, timers_cap;
    loop_timer_id next_id;
    struct prepare *prepares;
    size_t nprepares, prepares_cap;
};

uint64_t loop_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int loop_new(struct event_loop **out)
{
    struct event_loop *loop = calloc(1, sizeof *loop);
    if (!loop) return -1;
    loop->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (loop->epfd < 0) {
        free(loop);
        return -1;
    }
    loop->next_id = 1;
    *out = loop;
    return 0;
}

static void free_dead_watches(struct event_loop *loop)
{
    struct watch **pp = &loop->watches;
    while (*pp) {
        struct watch *w = *pp;
        if (w->dead) {
            *pp = w->next;
            free(w);
        } else {
            pp = &w->next;
        }
    }
}

void loop_free(struct event_loop *loop)
{
    if (!loop) return;
    while (loop->watches) {
        struct watch *w = loop->watches;
        loop->watches = w->next;
        free(w);
    }
    free(loop->timers);
    free(loop->prepares);
    close(loop->epfd);
    free(loop);
}

static struct watch *find_watch(struct event_loop *loop, int fd)
{
    for (struct watch *w = loop->watches; w; w = w->next)
        if (!w->dead && w->fd == fd) return w;
    return NULL;
}

int loop_add_fd(struct event_loop *loop, int fd, uint32_t events, loop_fd_fn fn, void *ctx)
{
    if (find_watch(loop, fd)) return -1;
    struct watch *w = calloc(1, sizeof *w);
    if (!w) return -1;
    w->fd = fd;
    w->fn = fn;
    w->ctx = ctx;
    struct epoll_event ev = {.events = events, .data.ptr = w};
    if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
        free(w);
        return -1;
    }
    w->next = loop->watches;
    loop->watches = w;
    return 0;
}

int loop_mod_fd(struct event_loop *loop, int fd, uint32_t events)
{
    struct watch *w = find_watch(loop, fd);
    if (!w) return -1;
    struct epoll_event ev = {.events = events, .data.ptr = w};
    return epoll_ctl(loop->epfd, EPOLL_CTL_MOD, fd, &ev) < 0 ? -1 : 0;
}

int loop_del_fd(struct event_loop *loop, int fd)
{
    struct watch *w = find_watch(loop, fd);
    if (!w) return -1;
    epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL);
    w->dead = 1;
    if (!loop->running) free_dead_watches(loop);
    return 0;
}

int loop_timer_add(struct event_loop *loop, uint64_t delay_ms, loop_timer_fn fn, void *ctx,
                   loop_timer_id *id)
{
    if (loop->ntimers == loop->timers_cap) {
        size_t cap = loop->timers_cap ? loop->timers_cap * 2 : 16;
        struct timer *t = realloc(loop->timers, cap * sizeof *t);
        if (!t) return -1;
        loop->timers = t;
        loop->timers_cap = cap;
    }
    struct timer *t = &loop->timers[loop->ntimers++];
    t->id = loop->next_id++;
    t->due_ms = loop_now_ms() + delay_ms;
    t->fn = fn;
    t->ctx = ctx;
    if (id) *id = t->id;
    return 0;
}

void loop_timer_cancel(struct event_loop *loop, loop_timer_id id)
{
    for (size_t i = 0; i < loop->ntimers; i++) {
        if (loop->timers[i].id == id) {
            loop->timers[i] = loop->timers[--loop->ntimers];
            return;
        }
    }
}

int loop_add_prepare(struct event_loop *loop, loop_prepare_fn fn, void *ctx)
{
    if (loop->nprepares == loop->prepares_cap) {
        size_t cap = loop->prepares_cap ? loop->prepares_cap * 2 : 8;
        struct prepare *p = realloc(loop->prepares, cap * sizeof *p);
        if (!p) return -1;
        loop->prepares = p;
        loop->prepares_cap = cap;
    }
    loop->prepares[loop->nprepares++] = (struct prepare){fn, ctx};
    return 0;
}

void loop_del_prepare(struct event_loop *loop, loop_prepare_fn fn, void *ctx)
{
    for (size_t i = 0; i < loop->nprepares; i++) {
        if (loop->prepares[i].fn == fn && loop->prepares[i].ctx == ctx) {
            memmove(&loop->prepares[i], &loop->prepares[i + 1],
                    (loop->nprepares - i - 1) * sizeof *loop->prepares);
            loop->nprepares--;
            return;
        }
    }
}

/* Fire every due timer. A timer callback may add or cancel timers, so the
 * earliest due one is searched afresh each time. */
static void run_timers(struct event_loop *loop)
{
    uint64_t now = loop_now_ms();
    for (;;) {
        size_t best = loop->ntimers;
        for (size_t i = 0; i < loop->ntimers; i++)
            if (loop->timers[i].due_ms <= now &&
                (best == loop->ntimers || loop->timers[i].due_ms < loop->timers[best].due_ms))
                best = i;
        if (best == loop->ntimers) return;
        struct timer t = loop->timers[best];
        loop->timers[best] = loop->timers[--loop->ntimers];
        t.fn(t.ctx);
        if (!loop->running) return;
    }
}

static int next_timeout_ms(struct event_loop *loop)
{
    if (!loop->ntimers) return -1;
    uint64_t now = loop_now_ms(), earliest = UINT64_MAX;
    for (size_t i = 0; i < loop->ntimers; i++)
        if (loop->timers[i].due_ms < earliest) earliest = loop->timers[i].due_ms;
    if (earliest <= now) return 0;
    uint64_t d = earliest - now;
    return d > 60000 ? 60000 : (int)d;
}

int loop_run(struct event_loop *loop)
{
    struct epoll_event events[64];
    loop->running = 1;
    while (loop->running) {
        /* Hooks may add or remove hooks; iterate by index over a snapshot count. */
        for (size_t i = 0; i < loop->nprepares && loop->running; i++)
            loop->prepares[i].fn(loop->prepares[i].ctx);
        if (!loop->running) break;
        int n = epoll_wait(loop->epfd, events, 64, next_timeout_ms(loop));
        if (n < 0) {
            if (errno == EINTR) continue;
            loop->running = 0;
            return -1;
        }
        for (int i = 0; i < n && loop->running; i++) {
            struct watch *w = events[i].data.ptr;
            if (!w->dead) w->fn(w->ctx, events[i].events);
        }
        free_dead_watches(loop);
        if (loop->running) run_timers(loop);
    }
    free_dead_watches(loop);
    return 0;
}

void loop_stop(struct event_loop *loop)
{
    loop->running = 0;
}
