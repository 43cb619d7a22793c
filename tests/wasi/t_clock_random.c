/* Test program: clocks (realtime, monotonic, CPU time, resolutions), sleeping
 * through poll_oneoff, and random_get. Prints only what must hold. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <wasi/api.h>

static uint64_t now(__wasi_clockid_t id)
{
    __wasi_timestamp_t t = 0;
    if (__wasi_clock_time_get(id, 1, &t) != 0) return 0;
    return t;
}

int main(void)
{
    uint64_t real = now(__WASI_CLOCKID_REALTIME);
    printf("realtime after 2020: %s\n", real > UINT64_C(1577836800) * 1000000000u ? "yes" : "no");
    uint64_t m1 = now(__WASI_CLOCKID_MONOTONIC);
    uint64_t m2 = now(__WASI_CLOCKID_MONOTONIC);
    printf("monotonic non-decreasing: %s\n", m1 && m2 >= m1 ? "yes" : "no");
    for (__wasi_clockid_t id = 0; id < 4; id++) {
        __wasi_timestamp_t res = 0;
        __wasi_errno_t e = __wasi_clock_res_get(id, &res);
        printf("clock %u: res ok %s\n", (unsigned)id,
               e == 0 && res > 0 && res <= 1000000 ? "yes" : "no");
    }
    __wasi_timestamp_t dummy;
    printf("bad clock: errno %u\n", (unsigned)__wasi_clock_res_get(9, &dummy));
    volatile uint64_t spin = 0;
    uint64_t c1 = now(__WASI_CLOCKID_PROCESS_CPUTIME_ID);
    for (int i = 0; i < 3000000; i++)
        spin += (uint64_t)i;
    uint64_t c2 = now(__WASI_CLOCKID_PROCESS_CPUTIME_ID);
    printf("cpu time advances: %s\n", c2 > c1 ? "yes" : "no");

    uint64_t before = now(__WASI_CLOCKID_MONOTONIC);
    struct timespec ts = {0, 20 * 1000 * 1000};
    nanosleep(&ts, NULL);
    uint64_t slept = now(__WASI_CLOCKID_MONOTONIC) - before;
    printf("slept at least 20ms: %s\n", slept >= 20000000u ? "yes" : "no");

    /* Two subscriptions: the earlier clock fires, userdata comes back. */
    __wasi_subscription_t subs[2];
    memset(subs, 0, sizeof subs);
    subs[0].userdata = 111;
    subs[0].u.tag = __WASI_EVENTTYPE_CLOCK;
    subs[0].u.u.clock.id = __WASI_CLOCKID_MONOTONIC;
    subs[0].u.u.clock.timeout = 60000000000u; /* far later than subs[1] */
    subs[1].userdata = 222;
    subs[1].u.tag = __WASI_EVENTTYPE_CLOCK;
    subs[1].u.u.clock.id = __WASI_CLOCKID_MONOTONIC;
    subs[1].u.u.clock.timeout = now(__WASI_CLOCKID_MONOTONIC) + 1000000u;
    subs[1].u.u.clock.flags = __WASI_SUBCLOCKFLAGS_SUBSCRIPTION_CLOCK_ABSTIME;
    __wasi_event_t ev[2];
    __wasi_size_t nev = 0;
    __wasi_errno_t e = __wasi_poll_oneoff(subs, ev, 2, &nev);
    printf("poll: errno %u, events %u, userdata %llu\n", (unsigned)e, (unsigned)nev,
           (unsigned long long)ev[0].userdata);

    uint8_t a[64], b[64], zero[64] = {0};
    memset(a, 0, sizeof a);
    memset(b, 0, sizeof b);
    printf("random_get: %u %u\n", (unsigned)__wasi_random_get(a, sizeof a),
           (unsigned)__wasi_random_get(b, sizeof b));
    printf("random differs: %s\n", memcmp(a, b, sizeof a) && memcmp(a, zero, 64) ? "yes" : "no");
    printf("sched_yield: %u\n", (unsigned)__wasi_sched_yield());
    return 0;
}
