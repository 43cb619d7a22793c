/* Signals of a daemon's event loop (manager, orchestrator): SIGINT and
 * SIGTERM (and any others the daemon asks for, e.g. SIGCHLD) are blocked
 * and read from a signalfd watched by the loop, so a handler runs on the
 * loop's thread like every other event; SIGPIPE is ignored (a closed socket
 * is an error code, not a death). */
#ifndef STRATUS_BASE_SIGNAL_WATCH_H
#define STRATUS_BASE_SIGNAL_WATCH_H

struct event_loop;
struct signal_watch;

/* Called on the loop for each signal that arrived. */
typedef void (*signal_watch_fn)(void *ctx, int signo);

/* Block SIGINT, SIGTERM and the signals of extra (a 0-terminated list, or
 * NULL), ignore SIGPIPE, and call fn(ctx, signo) for each one that arrives.
 * Returns 0 and *out (owned by the caller: signal_watch_free, before
 * loop_free), or -1 with errno set. */
int signal_watch_start(struct event_loop *loop, const int *extra, signal_watch_fn fn, void *ctx,
                       struct signal_watch **out);
/* Stop watching (the signals stay blocked). NULL is allowed. */
void signal_watch_free(struct signal_watch *w);

/* "SIGINT", "SIGTERM", ... for log lines. */
const char *signal_watch_name(int signo);

#endif
