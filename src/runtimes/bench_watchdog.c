/* The benchmarking runs' watchdog (see bench_watchdog.h). */
#define _GNU_SOURCE
#include "bench_watchdog.h"

#include <errno.h>
#include <string.h>
#include <time.h>

/* How often the watchdog looks even when nothing wakes it. */
#define WATCHDOG_MAX_SLEEP_US 100000u

uint64_t bench_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void *watchdog_thread(void *arg)
{
    struct bench_watchdog *w = arg;
    struct module *m = w->m;
    pthread_mutex_lock(&m->lock);
    while (!w->stop) {
        uint64_t now = bench_now_us(), next = now + WATCHDOG_MAX_SLEEP_US;
        for (int i = 0; i < MODULE_SLOTS; i++) {
            if (!w->deadline_us[i]) continue;
            if (w->deadline_us[i] <= now) {
                /* A run whose instance is not in its slot yet is stopped by
                 * the flag (run_request.stop) as it gets there. */
                atomic_store(&w->cut[i], true);
                if (m->inst[i]) sw_instance_interrupt(m->inst[i]);
                if (m->ctx[i]) swasi_ctx_wake(m->ctx[i]);
                w->deadline_us[i] = 0;
            } else if (w->deadline_us[i] < next) {
                next = w->deadline_us[i];
            }
        }
        struct timespec until = {(time_t)(next / 1000000u), (long)(next % 1000000u) * 1000};
        pthread_cond_timedwait(&m->killed_cond, &m->lock, &until);
    }
    pthread_mutex_unlock(&m->lock);
    return NULL;
}

int bench_watchdog_start(struct bench_watchdog *w, struct module *m)
{
    memset(w, 0, sizeof *w);
    w->m = m;
    for (int i = 0; i < MODULE_SLOTS; i++)
        atomic_init(&w->cut[i], false);
    if (pthread_create(&w->thread, NULL, watchdog_thread, w) != 0) return -1;
    w->running = true;
    return 0;
}

void bench_watchdog_arm(struct bench_watchdog *w, int slot, uint64_t deadline_us)
{
    pthread_mutex_lock(&w->m->lock);
    atomic_store(&w->cut[slot], false);
    w->deadline_us[slot] = deadline_us ? deadline_us : 1; /* 1: already passed */
    pthread_cond_broadcast(&w->m->killed_cond);
    pthread_mutex_unlock(&w->m->lock);
}

void bench_watchdog_disarm(struct bench_watchdog *w, int slot)
{
    pthread_mutex_lock(&w->m->lock);
    w->deadline_us[slot] = 0;
    pthread_mutex_unlock(&w->m->lock);
}

void bench_watchdog_stop(struct bench_watchdog *w)
{
    if (!w->running) return;
    pthread_mutex_lock(&w->m->lock);
    w->stop = true;
    pthread_cond_broadcast(&w->m->killed_cond);
    pthread_mutex_unlock(&w->m->lock);
    pthread_join(w->thread, NULL);
    w->running = false;
}
