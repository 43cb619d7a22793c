/* Unit tests of the manager's event loop: timers fire once, in deadline
 * order, and can be cancelled; fd callbacks run on readiness; a callback may
 * remove another watch whose event is in the same batch without that watch's
 * callback running; prepare hooks run before each wait. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <cmocka.h>

#include "event_loop.h"

struct trace {
    struct event_loop *loop;
    char order[32];
    int n;
    int fds[2][2];
    int fired_b;
    int prepares;
};

static void mark(struct trace *t, char c)
{
    if (t->n < 31) t->order[t->n++] = c;
    t->order[t->n] = '\0';
}

static void timer_a(void *ctx)
{
    mark(ctx, 'a');
}
static void timer_b(void *ctx)
{
    mark(ctx, 'b');
}
static void timer_c(void *ctx)
{
    mark(ctx, 'c');
}
static void timer_stop(void *ctx)
{
    struct trace *t = ctx;
    mark(t, 's');
    loop_stop(t->loop);
}

static void test_timers_in_order_and_cancel(void **state)
{
    (void)state;
    struct trace t = {0};
    assert_int_equal(loop_new(&t.loop), 0);
    loop_timer_id id_b;
    assert_int_equal(loop_timer_add(t.loop, 30, timer_c, &t, NULL), 0);
    assert_int_equal(loop_timer_add(t.loop, 10, timer_a, &t, NULL), 0);
    assert_int_equal(loop_timer_add(t.loop, 20, timer_b, &t, &id_b), 0);
    assert_int_equal(loop_timer_add(t.loop, 50, timer_stop, &t, NULL), 0);
    assert_true(id_b != 0);
    loop_timer_cancel(t.loop, id_b);
    loop_timer_cancel(t.loop, 987654); /* unknown: ignored */
    uint64_t start = loop_now_ms();
    assert_int_equal(loop_run(t.loop), 0);
    assert_true(loop_now_ms() - start >= 50);
    assert_string_equal(t.order, "acs");
    loop_free(t.loop);
}

/* Both pipes are readable in the same batch; whichever runs first removes
 * the other, which then must not run. */
static void on_read(void *ctx, uint32_t events)
{
    struct trace *t = ctx;
    (void)events;
    mark(t, 'r');
    loop_del_fd(t->loop, t->fds[0][0]);
    loop_del_fd(t->loop, t->fds[1][0]);
    loop_stop(t->loop);
}

static void prepare(void *ctx)
{
    ((struct trace *)ctx)->prepares++;
}

static void test_fd_removed_in_same_batch(void **state)
{
    (void)state;
    struct trace t = {0};
    assert_int_equal(loop_new(&t.loop), 0);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(pipe(t.fds[i]), 0);
        assert_int_equal(write(t.fds[i][1], "x", 1), 1);
        assert_int_equal(loop_add_fd(t.loop, t.fds[i][0], EPOLLIN, on_read, &t), 0);
    }
    assert_int_equal(loop_add_fd(t.loop, t.fds[0][0], EPOLLIN, on_read, &t), -1); /* twice */
    assert_int_equal(loop_add_prepare(t.loop, prepare, &t), 0);
    assert_int_equal(loop_run(t.loop), 0);
    assert_string_equal(t.order, "r");
    assert_int_equal(t.prepares, 1);
    loop_del_prepare(t.loop, prepare, &t);
    assert_int_equal(loop_mod_fd(t.loop, t.fds[0][0], EPOLLIN), -1); /* gone */
    for (int i = 0; i < 2; i++) {
        close(t.fds[i][0]);
        close(t.fds[i][1]);
    }
    loop_free(t.loop);
}

static void on_timer_adds_timer(void *ctx)
{
    struct trace *t = ctx;
    mark(t, 'x');
    loop_timer_add(t->loop, 0, timer_stop, t, NULL);
}

static void test_timer_added_from_timer(void **state)
{
    (void)state;
    struct trace t = {0};
    assert_int_equal(loop_new(&t.loop), 0);
    assert_int_equal(loop_timer_add(t.loop, 0, on_timer_adds_timer, &t, NULL), 0);
    assert_int_equal(loop_run(t.loop), 0);
    assert_string_equal(t.order, "xs");
    loop_free(t.loop);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_timers_in_order_and_cancel),
        cmocka_unit_test(test_fd_removed_in_same_batch),
        cmocka_unit_test(test_timer_added_from_timer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
