/* The epoll event loop shared by the daemons (see event_loop.h).
 *
 * Watches are heap records referenced from epoll and from a table indexed by
 * file descriptor, so finding the watch of an fd is one array access. A
 * removed watch leaves the table at once but is only freed after the current
 * batch of events, so a callback may remove any watch without leaving a
 * dangling pointer in the batch.
 *
 * Timers live in slots (reused through a free list) ordered by a binary
 * min-heap on (deadline, insertion order): the next deadline is the heap's
 * root, O(1); adding and cancelling are O(log n). A timer id carries its
 * slot and the slot's generation, so a stale id (fired or cancelled) is
 * recognised and ignored. */
#include "event_loop.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#define NO_POS UINT32_MAX

struct watch {
    int fd;
    loop_fd_fn fn;
    void *ctx;
    struct watch *next_dead; /* removed during a batch, freed after it */
};

struct timer_slot {
    uint32_t gen;      /* bumped each time the slot is freed */
    uint32_t heap_pos; /* index in the heap, or NO_POS when free */
    uint64_t due_ms;
    uint64_t seq; /* insertion order: equal deadlines fire first-in first-out */
    loop_timer_fn fn;
    void *ctx;
    uint32_t next_free;
};

struct prepare {
    loop_prepare_fn fn;
    void *ctx;
};

struct event_loop {
    int epfd;
    int running;
    struct watch **watch_by_fd; /* indexed by fd; NULL when not watched */
    size_t watch_cap;
    struct watch *dead;
    struct timer_slot *slots;
    uint32_t nslots, slots_cap, free_slot; /* free_slot: NO_POS when none */
    uint32_t *heap;                        /* slot indexes */
    uint32_t nheap;
    uint64_t next_seq;
    struct prepare *prepares;
    size_t nprepares, prepares_cap;
};

uint64_t loop_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

double loop_wall_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
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
    loop->free_slot = NO_POS;
    *out = loop;
    return 0;
}

static void free_dead_watches(struct event_loop *loop)
{
    while (loop->dead) {
        struct watch *w = loop->dead;
        loop->dead = w->next_dead;
        free(w);
    }
}

void loop_free(struct event_loop *loop)
{
    if (!loop) return;
    free_dead_watches(loop);
    for (size_t fd = 0; fd < loop->watch_cap; fd++)
        free(loop->watch_by_fd[fd]);
    free(loop->watch_by_fd);
    free(loop->slots);
    free(loop->heap);
    free(loop->prepares);
    close(loop->epfd);
    free(loop);
}

/* ---- file descriptors ---- */

static struct watch *find_watch(struct event_loop *loop, int fd)
{
    return fd >= 0 && (size_t)fd < loop->watch_cap ? loop->watch_by_fd[fd] : NULL;
}

static int grow_watch_table(struct event_loop *loop, int fd)
{
    if ((size_t)fd < loop->watch_cap) return 0;
    size_t cap = loop->watch_cap ? loop->watch_cap : 64;
    while (cap <= (size_t)fd)
        cap *= 2;
    struct watch **t = realloc(loop->watch_by_fd, cap * sizeof *t);
    if (!t) return -1;
    memset(t + loop->watch_cap, 0, (cap - loop->watch_cap) * sizeof *t);
    loop->watch_by_fd = t;
    loop->watch_cap = cap;
    return 0;
}

int loop_add_fd(struct event_loop *loop, int fd, uint32_t events, loop_fd_fn fn, void *ctx)
{
    if (fd < 0 || find_watch(loop, fd) || grow_watch_table(loop, fd) < 0) return -1;
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
    loop->watch_by_fd[fd] = w;
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
    loop->watch_by_fd[fd] = NULL;
    /* The fn pointer going NULL is what tells the current batch to skip it. */
    w->fn = NULL;
    w->next_dead = loop->dead;
    loop->dead = w;
    if (!loop->running) free_dead_watches(loop);
    return 0;
}

/* ---- timers ---- */

static int timer_before(const struct event_loop *loop, uint32_t a, uint32_t b)
{
    const struct timer_slot *x = &loop->slots[a], *y = &loop->slots[b];
    return x->due_ms < y->due_ms || (x->due_ms == y->due_ms && x->seq < y->seq);
}

static void heap_place(struct event_loop *loop, uint32_t pos, uint32_t slot)
{
    loop->heap[pos] = slot;
    loop->slots[slot].heap_pos = pos;
}

static void heap_up(struct event_loop *loop, uint32_t pos)
{
    uint32_t slot = loop->heap[pos];
    while (pos > 0) {
        uint32_t parent = (pos - 1) / 2;
        if (!timer_before(loop, slot, loop->heap[parent])) break;
        heap_place(loop, pos, loop->heap[parent]);
        pos = parent;
    }
    heap_place(loop, pos, slot);
}

static void heap_down(struct event_loop *loop, uint32_t pos)
{
    uint32_t slot = loop->heap[pos];
    for (;;) {
        uint32_t child = 2 * pos + 1;
        if (child >= loop->nheap) break;
        if (child + 1 < loop->nheap && timer_before(loop, loop->heap[child + 1], loop->heap[child]))
            child++;
        if (!timer_before(loop, loop->heap[child], slot)) break;
        heap_place(loop, pos, loop->heap[child]);
        pos = child;
    }
    heap_place(loop, pos, slot);
}

/* Take the slot at heap position pos out of the heap and free the slot. */
static void heap_remove(struct event_loop *loop, uint32_t pos)
{
    uint32_t slot = loop->heap[pos];
    uint32_t last = loop->heap[--loop->nheap];
    if (pos < loop->nheap) {
        heap_place(loop, pos, last);
        heap_up(loop, pos);
        heap_down(loop, loop->slots[last].heap_pos);
    }
    struct timer_slot *s = &loop->slots[slot];
    s->heap_pos = NO_POS;
    s->gen++;
    s->next_free = loop->free_slot;
    loop->free_slot = slot;
}

static int alloc_slot(struct event_loop *loop, uint32_t *out)
{
    if (loop->free_slot != NO_POS) {
        *out = loop->free_slot;
        loop->free_slot = loop->slots[*out].next_free;
        return 0;
    }
    if (loop->nslots == loop->slots_cap) {
        uint32_t cap = loop->slots_cap ? loop->slots_cap * 2 : 16;
        if (cap >= NO_POS / 2) return -1;
        struct timer_slot *s = realloc(loop->slots, cap * sizeof *s);
        if (!s) return -1;
        loop->slots = s;
        uint32_t *h = realloc(loop->heap, cap * sizeof *h);
        if (!h) return -1;
        loop->heap = h;
        loop->slots_cap = cap;
    }
    *out = loop->nslots++;
    loop->slots[*out].gen = 1;
    return 0;
}

int loop_timer_add(struct event_loop *loop, uint64_t delay_ms, loop_timer_fn fn, void *ctx,
                   loop_timer_id *id)
{
    uint32_t slot;
    if (alloc_slot(loop, &slot) < 0) return -1;
    struct timer_slot *s = &loop->slots[slot];
    uint64_t now = loop_now_ms();
    s->due_ms = delay_ms > UINT64_MAX - now ? UINT64_MAX : now + delay_ms;
    s->seq = loop->next_seq++;
    s->fn = fn;
    s->ctx = ctx;
    loop->heap[loop->nheap] = slot;
    s->heap_pos = loop->nheap++;
    heap_up(loop, s->heap_pos);
    if (id) *id = ((uint64_t)s->gen << 32) | (uint64_t)(slot + 1);
    return 0;
}

void loop_timer_cancel(struct event_loop *loop, loop_timer_id id)
{
    uint64_t low = id & 0xffffffffu;
    if (low == 0 || low > loop->nslots) return;
    uint32_t slot = (uint32_t)(low - 1);
    struct timer_slot *s = &loop->slots[slot];
    if (s->gen != (uint32_t)(id >> 32) || s->heap_pos == NO_POS) return;
    heap_remove(loop, s->heap_pos);
}

size_t loop_timer_count(const struct event_loop *loop)
{
    return loop->nheap;
}

/* ---- prepare hooks ---- */

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

/* ---- running ---- */

/* Fire every timer due by now, earliest first. A callback may add or cancel
 * any timer. */
static void run_timers(struct event_loop *loop)
{
    uint64_t now = loop_now_ms();
    while (loop->running && loop->nheap > 0) {
        uint32_t slot = loop->heap[0];
        if (loop->slots[slot].due_ms > now) return;
        loop_timer_fn fn = loop->slots[slot].fn;
        void *ctx = loop->slots[slot].ctx;
        heap_remove(loop, 0);
        fn(ctx);
    }
}

static int next_timeout_ms(const struct event_loop *loop)
{
    if (!loop->nheap) return -1;
    uint64_t now = loop_now_ms(), due = loop->slots[loop->heap[0]].due_ms;
    if (due <= now) return 0;
    uint64_t d = due - now;
    return d > 60000 ? 60000 : (int)d;
}

int loop_run(struct event_loop *loop)
{
    struct epoll_event events[64];
    loop->running = 1;
    while (loop->running) {
        /* Hooks may add or remove hooks: iterate by index, re-reading the count. */
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
            if (w->fn) w->fn(w->ctx, events[i].events);
        }
        free_dead_watches(loop);
        run_timers(loop);
    }
    free_dead_watches(loop);
    return 0;
}

void loop_stop(struct event_loop *loop)
{
    loop->running = 0;
}
