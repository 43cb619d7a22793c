/* Unit tests of CPU reservations for module threads (resources.h): bad
 * values are refused before anything is tried; a reservation applied on a
 * fresh thread is really in force (sched_getattr) when SCHED_DEADLINE is
 * reported, and the fallbacks either apply a cgroup or say why not. */
#define _GNU_SOURCE
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cmocka.h>

#include "resources.h"

struct dl_attr {
    uint32_t size, policy;
    uint64_t flags;
    int32_t nice;
    uint32_t priority;
    uint64_t runtime, deadline, period;
};

struct job {
    int try_deadline;
    struct resources_result res;
    struct dl_attr seen;
};

static void *apply_on_thread(void *arg)
{
    struct job *j = arg;
    resources_apply(10000000, 2000000, j->try_deadline, &j->res);
    memset(&j->seen, 0, sizeof j->seen);
    syscall(SYS_sched_getattr, 0, &j->seen, sizeof j->seen, 0);
    return NULL;
}

static void run_job(struct job *j)
{
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, apply_on_thread, j), 0);
    pthread_join(t, NULL);
}

static void test_invalid_values(void **state)
{
    (void)state;
    struct resources_result r;
    const uint64_t bad[][2] = {
        {0, 0}, {10000000, 0}, {10000000, 20000000}, {50000, 1000}, {20000000000ull, 1000000}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        resources_apply(bad[i][0], bad[i][1], 1, &r);
        assert_int_equal(r.outcome, RES_INVALID);
        assert_non_null(strstr(r.message, "refused"));
    }
}

static void test_deadline_or_reason(void **state)
{
    (void)state;
    struct job j = {.try_deadline = 1};
    run_job(&j);
    print_message("on this machine: %s\n", j.res.message);
    if (j.res.outcome == RES_DEADLINE) {
        assert_int_equal(j.seen.policy, 6);
        assert_int_equal(j.seen.runtime, 2000000);
        assert_int_equal(j.seen.period, 10000000);
        assert_non_null(strstr(j.res.message, "SCHED_DEADLINE"));
    } else {
        /* Refused: the message says why deadline scheduling failed. */
        assert_non_null(strstr(j.res.message, "SCHED_DEADLINE: "));
        assert_int_not_equal(j.seen.policy, 6);
    }
    resources_release(&j.res);
}

static void test_fallbacks(void **state)
{
    (void)state;
    struct job j = {.try_deadline = 0};
    run_job(&j);
    print_message("without SCHED_DEADLINE: %s\n", j.res.message);
    assert_int_not_equal(j.seen.policy, 6);
    if (j.res.outcome == RES_CGROUP) {
        struct stat st;
        assert_int_equal(stat(j.res.cgroup_dir, &st), 0);
        resources_release(&j.res);
        assert_int_not_equal(stat(j.res.cgroup_dir[0] ? j.res.cgroup_dir : "/nonexistent", &st), 0);
    } else {
        assert_int_equal(j.res.outcome, RES_NOT_APPLIED);
        assert_non_null(strstr(j.res.message, "could not be applied"));
        assert_non_null(strstr(j.res.message, "cgroup v2: "));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_invalid_values),
        cmocka_unit_test(test_deadline_or_reason),
        cmocka_unit_test(test_fallbacks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
