/* Unit tests of the shared event loop: timers fire once, in deadline order
 * (ties in the order they were added), and can be cancelled, also in bulk
 * against a model of the heap; stale ids are ignored; fd callbacks run on
 * readiness; a callback may remove another watch whose event is in the same
 * batch without that watch's callback running; prepare hooks run before each
 * wait. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
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
    /* before the adds: a deadline counts from its add, and a preemption
       between the adds and the run must not shorten the bound below */
    uint64_t start = loop_now_ms();
    assert_int_equal(loop_timer_add(t.loop, 30, timer_c, &t, NULL), 0);
    assert_int_equal(loop_timer_add(t.loop, 10, timer_a, &t, NULL), 0);
    assert_int_equal(loop_timer_add(t.loop, 20, timer_b, &t, &id_b), 0);
    assert_int_equal(loop_timer_add(t.loop, 50, timer_stop, &t, NULL), 0);
    assert_true(id_b != 0);
    loop_timer_cancel(t.loop, id_b);
    loop_timer_cancel(t.loop, 987654); /* unknown: ignored */
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

/* ---- many timers against a model ---- */

#define NT 300

struct bulk {
    struct event_loop *loop;
    int delay[NT];
    int cancelled[NT];
    int fired[NT];
    int order[NT];
    int nfired;
};

struct bulk_timer {
    struct bulk *b;
    int i;
};

static void bulk_fire(void *ctx)
{
    struct bulk_timer *t = ctx;
    t->b->fired[t->i]++;
    t->b->order[t->b->nfired++] = t->i;
}

static void bulk_stop(void *ctx)
{
    loop_stop(ctx);
}

static void test_many_timers_against_model(void **state)
{
    (void)state;
    static struct bulk b;
    static struct bulk_timer ctx[NT];
    srand(7);
    for (int attempt = 0;; attempt++) {
        memset(&b, 0, sizeof b);
        assert_int_equal(loop_new(&b.loop), 0);
        loop_timer_id ids[NT];
        uint64_t t0 = loop_now_ms();
        for (int i = 0; i < NT; i++) {
            b.delay[i] = rand() % 30; /* many equal deadlines: ties must keep add order */
            ctx[i] = (struct bulk_timer){&b, i};
            assert_int_equal(
                loop_timer_add(b.loop, (uint64_t)b.delay[i], bulk_fire, &ctx[i], &ids[i]), 0);
        }
        /* Cancel a third, some twice; cancelled slots get reused by new timers. */
        for (int i = 0; i < NT; i += 3) {
            loop_timer_cancel(b.loop, ids[i]);
            loop_timer_cancel(b.loop, ids[i]);
            b.cancelled[i] = 1;
        }
        int left = NT - (NT + 2) / 3;
        assert_int_equal((int)loop_timer_count(b.loop), left);
        assert_int_equal(loop_timer_add(b.loop, 60, bulk_stop, b.loop, NULL), 0);
        if (loop_now_ms() != t0 && attempt < 20) {
            /* The deadlines were not all taken in one millisecond, so the
             * model's order would not be exact: try again. */
            loop_free(b.loop);
            continue;
        }
        assert_int_equal(loop_run(b.loop), 0);
        assert_int_equal(b.nfired, left);
        for (int i = 0; i < NT; i++)
            assert_int_equal(b.fired[i], b.cancelled[i] ? 0 : 1);
        for (int k = 1; k < b.nfired; k++) {
            int p = b.order[k - 1], q = b.order[k];
            assert_true(b.delay[p] < b.delay[q] || (b.delay[p] == b.delay[q] && p < q));
        }
        /* Every id is stale now: cancelling any is harmless. */
        for (int i = 0; i < NT; i++)
            loop_timer_cancel(b.loop, ids[i]);
        assert_int_equal((int)loop_timer_count(b.loop), 0);
        loop_free(b.loop);
        return;
    }
}

static void test_stale_id_does_not_cancel_reused_slot(void **state)
{
    (void)state;
    struct trace t = {0};
    assert_int_equal(loop_new(&t.loop), 0);
    loop_timer_id old;
    assert_int_equal(loop_timer_add(t.loop, 5, timer_a, &t, &old), 0);
    loop_timer_cancel(t.loop, old);
    loop_timer_id fresh;
    assert_int_equal(loop_timer_add(t.loop, 5, timer_b, &t, &fresh), 0); /* same slot */
    assert_true(fresh != old);
    loop_timer_cancel(t.loop, old); /* stale: must not cancel the new timer */
    assert_int_equal(loop_timer_add(t.loop, 20, timer_stop, &t, NULL), 0);
    assert_int_equal(loop_run(t.loop), 0);
    assert_string_equal(t.order, "bs");
    loop_free(t.loop);
}

static void on_high_fd(void *ctx, uint32_t events)
{
    struct trace *t = ctx;
    (void)events;
    mark(t, 'h');
    loop_stop(t->loop);
}

/* Watches of descriptors far above the table's first size. */
static void test_high_fd(void **state)
{
    (void)state;
    struct trace t = {0};
    assert_int_equal(loop_new(&t.loop), 0);
    int p[2];
    assert_int_equal(pipe(p), 0);
    int high = dup2(p[0], 700);
    assert_int_equal(high, 700);
    assert_int_equal(write(p[1], "x", 1), 1);
    assert_int_equal(loop_add_fd(t.loop, high, EPOLLIN, on_high_fd, &t), 0);
    assert_int_equal(loop_mod_fd(t.loop, high, EPOLLIN), 0);
    assert_int_equal(loop_mod_fd(t.loop, 699, EPOLLIN), -1);
    assert_int_equal(loop_run(t.loop), 0);
    assert_string_equal(t.order, "h");
    assert_int_equal(loop_del_fd(t.loop, high), 0);
    assert_int_equal(loop_del_fd(t.loop, high), -1);
    close(high);
    close(p[0]);
    close(p[1]);
    loop_free(t.loop);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_timers_in_order_and_cancel),
        cmocka_unit_test(test_fd_removed_in_same_batch),
        cmocka_unit_test(test_timer_added_from_timer),
        cmocka_unit_test(test_many_timers_against_model),
        cmocka_unit_test(test_stale_id_does_not_cancel_reused_slot),
        cmocka_unit_test(test_high_fd),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
