/* Unit tests of the daemons' signal watch: SIGTERM and an extra signal
 * (SIGCHLD) sent to the process arrive as calls on the event loop, once
 * each, with their numbers (pending signals come lowest number first); SIGPIPE no longer kills the
 * process; a watch freed stops reading. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "event_loop.h"
#include "signal_watch.h"

struct seen {
    struct event_loop *loop;
    int signos[8];
    int n;
};

static void on_signal(void *ctx, int signo)
{
    struct seen *s = ctx;
    if (s->n < 8) s->signos[s->n++] = signo;
    if (s->n == 2) loop_stop(s->loop);
}

static void on_deadline(void *ctx)
{
    loop_stop(ctx); /* the test fails below if it comes to this */
}

static void test_signals_arrive_on_the_loop(void **state)
{
    (void)state;
    struct seen s = {0};
    struct signal_watch *w = NULL;
    assert_int_equal(loop_new(&s.loop), 0);
    static const int also[] = {SIGCHLD, 0};
    assert_int_equal(signal_watch_start(s.loop, also, on_signal, &s, &w), 0);
    assert_non_null(w);
    assert_int_equal(kill(getpid(), SIGPIPE), 0); /* ignored: the test goes on */
    assert_int_equal(kill(getpid(), SIGCHLD), 0);
    assert_int_equal(kill(getpid(), SIGTERM), 0);
    assert_int_equal(loop_timer_add(s.loop, 5000, on_deadline, s.loop, NULL), 0);
    assert_int_equal(loop_run(s.loop), 0);
    assert_int_equal(s.n, 2);
    assert_int_equal(s.signos[0], SIGTERM);
    assert_int_equal(s.signos[1], SIGCHLD);
    assert_string_equal(signal_watch_name(SIGTERM), "SIGTERM");
    assert_string_equal(signal_watch_name(SIGINT), "SIGINT");
    signal_watch_free(w);
    signal_watch_free(NULL);
    loop_free(s.loop);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_signals_arrive_on_the_loop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
