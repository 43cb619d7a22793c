/* The single event loop of a Stratus daemon (manager, orchestrator, local
 * stack, client commands): file descriptors with callbacks (epoll,
 * level-triggered), one-shot timers on the monotonic clock, and "prepare"
 * hooks run before every wait so that output produced during one iteration is
 * flushed in one write per connection. Everything runs on one thread.
 *
 * Costs: finding a watch by fd is O(1); the next timer deadline is O(1);
 * adding or cancelling a timer is O(log n) in the number of pending timers. */
#ifndef STRATUS_BASE_EVENT_LOOP_H
#define STRATUS_BASE_EVENT_LOOP_H

#include <stddef.h>
#include <stdint.h>

struct event_loop;

typedef void (*loop_fd_fn)(void *ctx, uint32_t events);
typedef void (*loop_timer_fn)(void *ctx);
typedef void (*loop_prepare_fn)(void *ctx);

/* 0 is never a valid timer id, so it can mean "no timer". */
typedef uint64_t loop_timer_id;

/* Create a loop. Returns 0 and *out (owned by the caller, loop_free), or -1. */
int loop_new(struct event_loop **out);
void loop_free(struct event_loop *loop);

/* Watch fd for `events` (EPOLLIN, EPOLLOUT). The loop does not own fd. A
 * callback may add, change or remove any watch, including its own. */
int loop_add_fd(struct event_loop *loop, int fd, uint32_t events, loop_fd_fn fn, void *ctx);
int loop_mod_fd(struct event_loop *loop, int fd, uint32_t events);
/* Stop watching fd (call before closing it). */
int loop_del_fd(struct event_loop *loop, int fd);

/* Call fn(ctx) once, delay_ms from now. Returns 0 and *id, or -1 on OOM. */
int loop_timer_add(struct event_loop *loop, uint64_t delay_ms, loop_timer_fn fn, void *ctx,
                   loop_timer_id *id);
/* Cancel a pending timer; unknown, fired or cancelled ids are ignored. */
void loop_timer_cancel(struct event_loop *loop, loop_timer_id id);
/* Number of pending timers. */
size_t loop_timer_count(const struct event_loop *loop);

/* Run fn(ctx) before every wait. Returns 0 or -1 on OOM. */
int loop_add_prepare(struct event_loop *loop, loop_prepare_fn fn, void *ctx);
void loop_del_prepare(struct event_loop *loop, loop_prepare_fn fn, void *ctx);

/* Milliseconds on the monotonic clock. */
uint64_t loop_now_ms(void);
/* Seconds (with the fraction) on the wall clock (CLOCK_REALTIME): the time
 * stamped into records that other processes read and compare. */
double loop_wall_seconds(void);

/* Run until loop_stop(). Returns 0, or -1 if epoll fails. */
int loop_run(struct event_loop *loop);
void loop_stop(struct event_loop *loop);

#endif
